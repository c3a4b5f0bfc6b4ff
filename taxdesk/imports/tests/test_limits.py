"""Uploads cannot take the server down (issue 11): files small on disk and huge unpacked, made
here, each end as a failed job with its Chinese message, read with bounded memory; the upload
request reads nothing of the file; a run past its time limit fails as timed out; a normal
1,000-row file still imports."""

from __future__ import annotations

import datetime
import io
import struct
import tracemalloc
import zipfile

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core.files.uploadedfile import SimpleUploadedFile

from taxdesk.customers.models import Taxpayer
from taxdesk.imports import actions, rows, tasks, xlsx
from taxdesk.imports.actions import create_job, start_import
from taxdesk.imports.models import ImportJob
from taxdesk.imports.tests.test_scale import generated
from taxdesk.imports.xlsx import LimitExceeded, Limits, UnreadableFile, XlsxWorkbook
from taxdesk.testing.imports import TAXPAYER_HEADERS

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
MB = 1024 * 1024
# What checking one of these files may allocate at its peak (Python's heap, tracemalloc).
PEAK_BYTES = 50 * MB
TOO_LARGE_TO_READ = "文件的部件 xl/worksheets/sheet1.xml 中的单元格、标记或嵌套过大，无法读取。"
HEADER_ROW = (
    "<row r='1'>"
    + "".join(f"<c t='inlineStr'><is><t>{header}</t></is></c>" for header in TAXPAYER_HEADERS)
    + "</row>"
)


def repeated(head: str, unit: str, times: int, tail: str) -> tuple[bytes, bytes, int, bytes]:
    """A part written as ``head``, ``unit`` ``times`` over, ``tail`` (streamed into the zip)."""
    return head.encode(), unit.encode(), times, tail.encode()


def package(
    sheet="<sheetData>" + HEADER_ROW + "</sheetData>",
    *,
    styles=None,
    strings=None,
    dimension: str = "",
    extra: dict | None = None,
) -> bytes:
    """An .xlsx package whose worksheet, styles and shared strings are given as text, or as
    ``repeated(...)`` to be streamed (a part of hundreds of MB never exists in memory)."""
    rels = [f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>']
    parts = {
        "_rels/.rels": f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
        f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{MAIN}" xmlns:r="{REL}">'
        '<sheets><sheet name="纳税人" sheetId="1" r:id="rId1"/></sheets></workbook>',
    }
    if isinstance(sheet, str):
        sheet = f'<worksheet xmlns="{MAIN}">{dimension}{sheet}</worksheet>'
    parts["xl/worksheets/sheet1.xml"] = sheet
    if strings is not None:
        rels.append(
            f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
        )
        parts["xl/sharedStrings.xml"] = strings
    if styles is not None:
        rels.append(f'<Relationship Id="rId3" Type="{REL}/styles" Target="styles.xml"/>')
        parts["xl/styles.xml"] = styles
    parts["xl/_rels/workbook.xml.rels"] = (
        f'<Relationships xmlns="{PKG}">{"".join(rels)}</Relationships>'
    )
    parts.update(extra or {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            if isinstance(content, str):
                archive.writestr(name, content)
                continue
            head, unit, times, tail = content
            with archive.open(name, "w") as member:
                member.write(head)
                block = unit * 10_000
                for _ in range(times // 10_000):
                    member.write(block)
                member.write(unit * (times % 10_000))
                member.write(tail)
    return buffer.getvalue()


def unpacked(content: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return sum(info.file_size for info in archive.infolist())


def lie_about_size(content: bytes, name: str, size: int) -> bytes:
    """The package with ``name``'s uncompressed size in its local header and in the central
    directory replaced by ``size`` (the data, and its CRC, left as they are)."""
    data = bytearray(content)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        local = archive.getinfo(name).header_offset
    struct.pack_into("<L", data, local + 22, size)
    encoded = name.encode()
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        name_length = struct.unpack_from("<H", data, at + 28)[0]
        if bytes(data[at + 46 : at + 46 + name_length]) == encoded:
            struct.pack_into("<L", data, at + 24, size)
            return bytes(data)
        at = data.find(b"PK\x01\x02", at + 4)
    raise AssertionError(f"{name} is not in the central directory")


def checked(cast, content: bytes, name: str = "bomb.xlsx") -> tuple[ImportJob, int]:
    """Upload ``content`` and check it at once (IMPORTS_INLINE); the job and the peak of
    Python's heap while it was checked."""
    upload = SimpleUploadedFile(name, content)
    tracemalloc.start()
    try:
        job = create_job(kind="taxpayers", file=upload, by=cast.sales_a)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return ImportJob.objects.get(pk=job.pk), peak


def assert_failed(job: ImportJob, peak: int, message: str) -> None:
    assert (job.state, job.failure) == ("failed", message)
    assert job.finished_at is not None
    assert (job.total_rows, job.valid_rows, job.created_count) == (0, 0, 0)
    assert peak < PEAK_BYTES, f"peak {peak / MB:.1f} MB"


# --------------------------------------------------------------------------- styles
@pytest.mark.parametrize("declared", ['count="3000000"', 'count="1"', ""])
def test_a_styles_bomb_fails_the_job(cast, imports_inline, declared):
    """Three million <xf> (54 MB unpacked, about 130 KB on disk): refused at the declared
    count, or after the 64,000th when the count lies or is missing."""
    styles = repeated(
        f'<styleSheet xmlns="{MAIN}"><cellXfs {declared}>',
        '<xf numFmtId="0"/>',
        3_000_000,
        "</cellXfs></styleSheet>",
    )
    content = package(styles=styles)
    assert len(content) < MB < 50 * MB < unpacked(content)
    job, peak = checked(cast, content)
    assert_failed(job, peak, "文件的单元格样式数量超过 64000 个。")


def test_too_many_number_formats_fail_the_job(cast, imports_inline):
    styles = repeated(
        f'<styleSheet xmlns="{MAIN}"><numFmts>',
        '<numFmt numFmtId="200" formatCode="yyyy-mm-dd"/>',
        200_000,
        "</numFmts></styleSheet>",
    )
    job, peak = checked(cast, package(styles=styles))
    assert_failed(job, peak, "文件的数字格式数量超过 64000 个。")


# --------------------------------------------------------------------------- shared strings
def test_a_shared_strings_bomb_that_declares_its_count_fails_before_it_is_read(
    cast, imports_inline
):
    strings = repeated(
        f'<sst xmlns="{MAIN}" count="3000000" uniqueCount="3000000">',
        "<si><t>x</t></si>",
        3_000_000,
        "</sst>",
    )
    content = package(strings=strings)
    assert len(content) < MB < 40 * MB < unpacked(content)
    job, peak = checked(cast, content)
    assert_failed(job, peak, "文件的共享字符串数量超过 1000000 个。")


def test_a_shared_strings_bomb_whose_count_lies_is_stopped_while_streaming(
    cast, imports_inline, settings
):
    """The count says 1; the strings are counted as they are read (the limit lowered to keep
    the test short: the count is the same code at any limit)."""
    settings.IMPORTS_MAX_SHARED_STRINGS = 100_000
    strings = repeated(
        f'<sst xmlns="{MAIN}" count="1" uniqueCount="1">',
        "<si><t>纳税人</t></si>",
        2_000_000,
        "</sst>",
    )
    content = package(strings=strings)
    assert len(content) < MB < 40 * MB < unpacked(content)
    job, peak = checked(cast, content)
    assert_failed(job, peak, "文件的共享字符串数量超过 100000 个。")


def test_shared_strings_that_unpack_beyond_their_limit_fail_before_they_are_read(
    cast, imports_inline
):
    strings = repeated(f'<sst xmlns="{MAIN}">', "<si><t>x</t></si>", 4_000_000, "</sst>")
    content = package(strings=strings)
    assert unpacked(content) > 64 * MB
    job, peak = checked(cast, content)
    assert_failed(job, peak, "文件的部件 xl/sharedStrings.xml 解压后超过 64 MB。")


# --------------------------------------------------------------------------- the package
def test_a_member_whose_header_lies_about_its_size_is_stopped(cast, imports_inline):
    """The headers say 100 bytes; the data inflates to 54 MB. Reading stops right after the
    declared size."""
    styles = repeated(
        f'<styleSheet xmlns="{MAIN}"><cellXfs>',
        '<xf numFmtId="0"/>',
        3_000_000,
        "</cellXfs></styleSheet>",
    )
    content = lie_about_size(package(styles=styles), "xl/styles.xml", 100)
    assert unpacked(content) < MB
    job, peak = checked(cast, content)
    assert_failed(job, peak, "文件已损坏：部件 xl/styles.xml 解压后的大小超过其声明的大小。")


def test_a_package_or_a_part_that_unpacks_beyond_its_limit_fails_before_it_is_read(
    cast, imports_inline, settings
):
    """The central directory's sizes are checked first (the limits lowered so that the test
    compresses megabytes, not hundreds of them)."""
    settings.IMPORTS_MAX_PART_MB = 4
    settings.IMPORTS_MAX_UNPACKED_MB = 6
    padding = repeated("", " ", 5 * MB, "")
    job, peak = checked(cast, package(extra={"xl/media/padding.bin": padding}))
    assert_failed(job, peak, "文件的部件 xl/media/padding.bin 解压后超过 4 MB。")

    halves = {f"xl/media/half{n}.bin": repeated("", " ", 3 * MB + 1, "") for n in (1, 2)}
    job, peak = checked(cast, package(extra=halves))
    assert_failed(job, peak, "文件解压后超过 6 MB，请拆分成较小的文件。")


def test_a_huge_cell_or_deep_nesting_is_stopped(cast, imports_inline):
    """One cell of 30 MB of text, or a million nested elements: more than the reader may hold
    at once."""
    cell = repeated(
        f"<worksheet xmlns='{MAIN}'><sheetData>{HEADER_ROW}<row r='2'><c t='inlineStr'><is><t>",
        "税",
        10 * MB,
        "</t></is></c></row></sheetData></worksheet>",
    )
    job, peak = checked(cast, package(sheet=cell))
    assert_failed(job, peak, TOO_LARGE_TO_READ)
    nesting = repeated(
        f"<worksheet xmlns='{MAIN}'><sheetData>{HEADER_ROW}<row r='2'>", "<c>", 1_000_000, ""
    )
    job, peak = checked(cast, package(sheet=nesting))
    assert_failed(job, peak, TOO_LARGE_TO_READ)


# --------------------------------------------------------------------------- rows and columns
@pytest.mark.parametrize(
    "sheet, message",
    [
        # A row numbered beyond the header row and 300,000 rows below it.
        (f"<sheetData>{HEADER_ROW}<row r='300002'><c><v>1</v></c></row></sheetData>", "rows"),
        # A cell in column 1,001 (ALM).
        (f"<sheetData>{HEADER_ROW}<row r='2'><c r='ALM2'><v>1</v></c></row></sheetData>", "cols"),
        # A reference beyond Excel's last column in the header row.
        ("<sheetData><row r='1'><c r='ZZZZZZZZZZZZ1'><v>1</v></c></row></sheetData>", "cols"),
    ],
)
def test_rows_or_columns_beyond_the_limits_fail_the_job(cast, imports_inline, sheet, message):
    job, peak = checked(cast, package(sheet=sheet))
    assert_failed(
        job,
        peak,
        "文件超过 300000 行，请拆分成较小的文件。" if message == "rows" else "工作表超过 1000 列。",
    )


def test_rows_are_counted_whatever_their_numbers_say(cast, imports_inline, settings):
    """Rows all numbered 2, one more than the limit (lowered to keep the test short): counted
    as they come."""
    settings.IMPORTS_MAX_ROWS = 1000
    sheet = repeated(
        f"<worksheet xmlns='{MAIN}'><sheetData>{HEADER_ROW}",
        "<row r='2'><c><v>1</v></c></row>",
        1001,
        "</sheetData></worksheet>",
    )
    job, peak = checked(cast, package(sheet=sheet))
    assert_failed(job, peak, "文件超过 1000 行，请拆分成较小的文件。")


@pytest.mark.parametrize(
    "reference, message",
    [
        ("A1:XFD1048576", "文件超过 300000 行，请拆分成较小的文件。"),
        ("A1:N400000", "文件超过 300000 行，请拆分成较小的文件。"),
        ("A1:ALM2", "工作表超过 1000 列。"),
        ("A1:XFD2", "工作表超过 1000 列。"),
    ],
)
def test_a_huge_dimension_fails_the_job_before_the_rows_are_read(
    cast, imports_inline, monkeypatch, reference, message
):
    read = []
    original = XlsxWorkbook.rows
    monkeypatch.setattr(
        XlsxWorkbook, "rows", lambda self, *a, **k: read.append(a) or original(self, *a, **k)
    )
    job, peak = checked(cast, package(dimension=f'<dimension ref="{reference}"/>'))
    assert_failed(job, peak, message)
    assert read == []


# --------------------------------------------------------------------------- the reader alone
def test_too_many_members_are_refused_before_zipfile_reads_them():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n in range(101):
            archive.writestr(f"m{n}", "")
    buffer.seek(0)
    with pytest.raises(LimitExceeded) as refused:
        XlsxWorkbook(buffer, limits=Limits(members=100))
    assert (refused.value.limit, refused.value.maximum) == ("members", 100)


def test_a_compression_other_than_deflate_is_unreadable():
    """bzip2 and lzma inflate without bound in one call of zipfile's reader: refused."""
    content = package(styles=f'<styleSheet xmlns="{MAIN}"/>')
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(content)) as source,
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_BZIP2) as target,
    ):
        for info in source.infolist():
            target.writestr(info.filename, source.read(info.filename))
    buffer.seek(0)
    with pytest.raises(UnreadableFile) as refused:
        XlsxWorkbook(buffer, limits=Limits())
    assert not isinstance(refused.value, LimitExceeded)
    assert "compression" in str(refused.value)


def test_the_time_limit_stops_the_reader_as_it_inflates():
    workbook = XlsxWorkbook(io.BytesIO(package()), limits=Limits())
    assert [n for n, _values in workbook.rows("纳税人")] == [1]
    late = XlsxWorkbook(io.BytesIO(package()), limits=Limits())
    late.deadline = 0.0  # long past
    with pytest.raises(LimitExceeded) as stopped:
        list(late.rows("纳税人"))
    assert stopped.value.limit == "time"


# --------------------------------------------------------------------------- the request
@pytest.mark.parametrize("path", ["/api/imports/", "/imports/new/"])
def test_the_upload_request_reads_nothing_of_the_file(
    cast, client_for, settings, tmp_path, monkeypatch, django_capture_on_commit_callbacks, path
):
    """The request keeps the file and queues the check: with a broker, the task leaves after
    commit; no reader is opened before it runs, and the run fails the job."""
    from taxdesk.celery import app

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.IMPORTS_INLINE = False
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    queued = []
    monkeypatch.setattr(tasks.run_import, "delay", lambda *args: queued.append(args))
    opened = []
    original = XlsxWorkbook.__init__

    def recorded(self, *args, **kwargs):
        opened.append(args)
        original(self, *args, **kwargs)

    monkeypatch.setattr(XlsxWorkbook, "__init__", recorded)
    styles = repeated(
        f'<styleSheet xmlns="{MAIN}"><cellXfs>',
        '<xf numFmtId="0"/>',
        3_000_000,
        "</cellXfs></styleSheet>",
    )
    upload = SimpleUploadedFile("bomb.xlsx", package(styles=styles))
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(cast.sales_a).post(path, {"kind": "taxpayers", "file": upload})
    assert response.status_code in (201, 302), response.content[:300]
    job = ImportJob.objects.get()
    assert (job.state, job.failure) == ("uploaded", "")
    assert opened == []  # the request did not open the workbook
    assert queued == [(job.pk, "validate")]

    assert tasks.run_import(*queued[0]) == "failed"
    job.refresh_from_db()
    assert (job.state, job.failure) == ("failed", "文件的单元格样式数量超过 64000 个。")
    assert len(opened) == 1


# --------------------------------------------------------------------------- time
def test_a_check_past_its_time_limit_fails_as_timed_out(cast, imports_inline, settings):
    settings.IMPORTS_TIME_LIMIT_SECONDS = 0
    job = create_job(kind="taxpayers", file=generated(5), by=cast.sales_a)
    job = ImportJob.objects.get(pk=job.pk)
    assert (job.state, job.failure) == ("failed", "超时：运行超过 1 分钟，已停止。")
    assert job.valid_rows == 0


def test_an_import_stops_between_chunks_at_its_deadline(cast, imports_inline, monkeypatch):
    """The deadline passes after the first chunk: that chunk stays imported, the job fails
    as timed out and says how far it got."""
    monkeypatch.setattr(rows, "BATCH_SIZE", 10)
    job = create_job(kind="taxpayers", file=generated(25), by=cast.sales_a)
    job = ImportJob.objects.get(pk=job.pk)
    assert (job.state, job.valid_rows) == ("validated", 25)
    asked = []

    def past(deadline):
        asked.append(deadline)
        return len(asked) > 1

    monkeypatch.setattr(rows, "past", past)
    start_import(job, by=cast.sales_a)
    job = ImportJob.objects.get(pk=job.pk)
    assert (job.state, job.failure) == ("failed", "超时：运行超过 30 分钟，已停止。")
    assert job.created_count == 10
    assert Taxpayer.objects.filter(name__startswith="导入企业").count() == 10
    assert all(deadline is not None for deadline in asked)


def test_the_task_has_celery_time_limits_and_its_soft_limit_fails_the_job(
    cast, settings, tmp_path, monkeypatch
):
    settings.MEDIA_ROOT = tmp_path / "media"
    assert tasks.run_import.soft_time_limit == settings.IMPORTS_TIME_LIMIT_SECONDS + 60
    assert tasks.run_import.time_limit == tasks.run_import.soft_time_limit + 60
    settings.IMPORTS_INLINE = False
    job = create_job(kind="taxpayers", file=generated(3), by=cast.sales_a)

    def interrupted(*args, **kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(actions, "check_file", interrupted)
    assert tasks.run_import(job.pk, "validate") == "failed"
    job.refresh_from_db()
    assert (job.state, job.failure) == ("failed", "超时：运行超过 30 分钟，已停止。")


# --------------------------------------------------------------------------- normal files
def test_a_normal_1000_row_file_still_imports(cast, imports_inline):
    job = create_job(kind="taxpayers", file=generated(1000), by=cast.sales_a)
    job = ImportJob.objects.get(pk=job.pk)
    assert (job.state, job.total_rows, job.valid_rows, job.error_count) == (
        "validated",
        1000,
        1000,
        0,
    )
    start_import(job, by=cast.sales_a)
    job = ImportJob.objects.get(pk=job.pk)
    assert (job.state, job.created_count) == ("done", 1000)
    assert Taxpayer.objects.filter(name__startswith="导入企业").count() == 1000


def test_the_reader_keeps_within_its_limits_on_a_file_as_excel_writes_it():
    """Shared strings, styles and a dimension, as Excel writes them, well within the limits."""
    strings = "".join(f"<si><t>{text}</t></si>" for text in ("纳税人识别号", "名称", "甲"))
    sheet = (
        "<sheetData><row r='1'><c r='A1' t='s'><v>0</v></c><c r='B1' t='s'><v>1</v></c></row>"
        "<row r='2'><c r='A2' t='s'><v>2</v></c><c r='B2' s='1'><v>45926</v></c></row>"
        "</sheetData><mergeCells count='1'><mergeCell ref='C1:D1'/></mergeCells>"
    )
    # A style with children (its alignment) keeps its number format.
    styles = (
        f'<styleSheet xmlns="{MAIN}"><cellXfs count="2"><xf/><xf numFmtId="14" '
        'applyNumberFormat="1"><alignment horizontal="center"/></xf></cellXfs></styleSheet>'
    )
    content = package(
        sheet=sheet,
        strings=f'<sst xmlns="{MAIN}" count="3" uniqueCount="3">{strings}</sst>',
        styles=styles,
        dimension='<dimension ref="A1:B2"/>',
    )
    workbook = XlsxWorkbook(io.BytesIO(content), limits=Limits())
    assert workbook.dimension_rows("纳税人") == 2
    assert list(workbook.rows("纳税人")) == [
        (1, ["纳税人识别号", "名称"]),
        (2, ["甲", datetime.datetime(2025, 9, 26)]),
    ]
    assert xlsx.column_index("XFD1") == 16_383


def test_the_limits_come_from_the_environment(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAXDESK_", "DATABASE_URL"))}
    env.update(
        TAXDESK_VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="taxdesk.settings",
        TAXDESK_IMPORT_MAX_UNPACKED_MB="40",
        TAXDESK_IMPORT_MAX_PART_MB="30",
        TAXDESK_IMPORT_MAX_SHARED_STRINGS_MB="6",
        TAXDESK_IMPORT_MAX_SHARED_STRINGS="1000",
        TAXDESK_IMPORT_MAX_STYLES="500",
        TAXDESK_IMPORT_MAX_ROWS="2000",
        TAXDESK_IMPORT_MAX_COLUMNS="99999",
        TAXDESK_IMPORT_TIME_LIMIT_MINUTES="5",
        TAXDESK_WORKER_MAX_MEMORY_MB="512",
    )
    script = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "from taxdesk.imports.tasks import run_import\n"
        "from taxdesk.imports.xlsx import Limits\n"
        "l = Limits.from_settings()\n"
        "print(l.unpacked_bytes, l.part_bytes, l.shared_strings_bytes, l.shared_strings,"
        " l.styles, l.rows, l.columns, settings.IMPORTS_TIME_LIMIT_SECONDS,"
        " run_import.soft_time_limit, run_import.time_limit,"
        " settings.CELERY_WORKER_MAX_MEMORY_PER_CHILD)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        str(40 * MB),
        str(30 * MB),
        str(6 * MB),
        "1000",
        "500",
        "2000",
        "16384",  # never beyond Excel's last column
        "300",
        "360",
        "420",
        str(512 * 1024),
    ]
