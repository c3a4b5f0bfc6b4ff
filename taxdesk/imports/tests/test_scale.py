"""A generated 2,000-row file imports whole; the check holds one chunk of rows at a time, so
its memory and its queries do not grow with the rows (the 100,000-row figure is the
benchmark's, not a test's)."""

from __future__ import annotations

import io
import tracemalloc

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook

from taxdesk.customers.models import Contact, Taxpayer
from taxdesk.imports import rows as pipeline
from taxdesk.imports.actions import create_job, start_import
from taxdesk.imports.models import ImportJob
from taxdesk.imports.rows import Spool, check_file
from taxdesk.imports.taxpayers import TaxpayerImporter
from taxdesk.testing.imports import (
    TAXPAYER_HEADERS,
    complete_taxpayer,
    taxpayer_row,
)


def generated(count: int, start: int = 1) -> SimpleUploadedFile:
    """A file of ``count`` complete rows, streamed by a write-only workbook."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("纳税人")
    sheet.append(TAXPAYER_HEADERS)
    for n in range(start, start + count):
        sheet.append(taxpayer_row(**complete_taxpayer(n, "税务局A")))
    out = io.BytesIO()
    workbook.save(out)
    return SimpleUploadedFile(f"generated-{count}.xlsx", out.getvalue())


def test_a_generated_2000_row_file_imports(cast, imports_inline):
    job = create_job(kind="taxpayers", file=generated(2000), by=cast.sales_a)
    job = ImportJob.objects.get(pk=job.pk)
    assert (job.total_rows, job.valid_rows, job.error_count) == (2000, 2000, 0)
    start_import(job, by=cast.sales_a)
    job = ImportJob.objects.get(pk=job.pk)
    assert (job.state, job.created_count, job.processed_rows) == ("done", 2000, 2000)
    assert Taxpayer.objects.filter(name__startswith="导入企业").count() == 2000
    assert Contact.objects.filter(taxpayer__name__startswith="导入企业").count() == 2000
    assert (
        Taxpayer.objects.filter(name__startswith="导入企业", entered_at__isnull=True).count() == 0
    )


def _check_peak(cast, count: int) -> tuple[int, int]:
    """Peak memory (bytes) and queries of checking a generated file of ``count`` rows."""
    job = create_job(kind="taxpayers", file=generated(count, start=100_000), by=cast.sales_a)
    job = ImportJob.objects.get(pk=job.pk)
    spool = Spool()
    tracemalloc.start()
    try:
        with CaptureQueriesContext(connection) as queries:
            outcome = check_file(job, TaxpayerImporter(job, by=cast.sales_a), spool=spool)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        spool.close()
    assert (outcome.total, outcome.valid) == (count, count)
    return peak, len(queries.captured_queries)


def test_checking_holds_one_chunk_at_a_time(cast, imports_inline, monkeypatch):
    monkeypatch.setattr(pipeline, "BATCH_SIZE", 100)
    _check_peak(cast, 50)  # warm the caches (translations, phone metadata, content types)
    small_peak, small_queries = _check_peak(cast, 300)
    big_peak, big_queries = _check_peak(cast, 2000)
    # 1,700 more rows: the same chunk in memory. What grows is openpyxl's reader, which
    # keeps each parsed row's emptied XML element (about 80 bytes a row); a row held by
    # the check would weigh kilobytes. (Allocator noise in a long suite reaches ~260 bytes.)
    per_row = (big_peak - small_peak) / 1700
    assert per_row < 600, (small_peak, big_peak)
    # Queries per chunk, never per row.
    assert big_queries - small_queries <= (2000 - 300) // 100
