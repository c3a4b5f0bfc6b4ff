"""Spreadsheets for the import tests: files built with openpyxl from rows of cells, valid
taxpayer numbers and serials, and a fixture that runs import jobs at once in the test."""

from __future__ import annotations

import contextlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook
from stdnum.cn import uscc

from taxdesk.imports.columns import DEVICE_COLUMNS, TAXPAYER_COLUMNS
from taxdesk.testing.cast import UNIT_A_STAFF, UNIT_B_STAFF

TAXPAYER_HEADERS = [c.header for c in TAXPAYER_COLUMNS]
DEVICE_HEADERS = [c.header for c in DEVICE_COLUMNS]


def taxpayer_number(n: int, prefix: str = "9133010") -> str:
    """A valid 统一社会信用代码 (check character included), different for every ``n``."""
    base = f"{prefix}{n:010d}"[:17]
    return base + uscc.calc_check_digit(base)


def mobile(n: int) -> str:
    return f"138{n:08d}"


def serial(n: int, prefix: str = "66") -> str:
    return f"{prefix}{n:010d}"


def xlsx_bytes(headers: list | None, rows: list[list], sheet: str | None = None) -> bytes:
    workbook = Workbook()
    ws = workbook.active
    if sheet:
        ws.title = sheet
    if headers is not None:
        ws.append(headers)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def xlsx_upload(headers, rows, name="file.xlsx", sheet=None) -> SimpleUploadedFile:
    return SimpleUploadedFile(
        name,
        xlsx_bytes(headers, rows, sheet),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def taxpayer_row(**cells) -> list:
    """A row of the taxpayer template by column key (number, name, tax_office …)."""
    return [cells.get(c.key) for c in TAXPAYER_COLUMNS]


def device_row(**cells) -> list:
    return [cells.get(c.key) for c in DEVICE_COLUMNS]


def taxpayers_upload(rows: list[dict], name="taxpayers.xlsx") -> SimpleUploadedFile:
    return xlsx_upload(TAXPAYER_HEADERS, [taxpayer_row(**r) for r in rows], name)


def devices_upload(rows: list[dict], name="devices.xlsx") -> SimpleUploadedFile:
    return xlsx_upload(DEVICE_HEADERS, [device_row(**r) for r in rows], name)


def read_xlsx(content: bytes):
    """All rows of the first sheet of a downloaded workbook, as tuples of values."""
    workbook = load_workbook(io.BytesIO(content))
    return workbook, [tuple(r) for r in workbook.worksheets[0].iter_rows(values_only=True)]


def complete_taxpayer(n: int, office: str, **extra) -> dict:
    """A row whose record is complete (INS-06): every required field and a mobile."""
    return {
        "number": taxpayer_number(n),
        "name": f"导入企业{n}",
        "address": f"文三路{n}号",
        "district": "西湖区",
        "tax_office": office,
        "taxpayer_type": "一般纳税人",
        "approved_on": "2025-01-15",
        "invoice_types": "增值税专用发票、增值税普通发票",
        "contact_name": f"联系人{n}",
        "contact_mobile": mobile(n),
        **extra,
    }


@pytest.fixture
def imports_inline(settings, tmp_path, monkeypatch):
    """Import jobs run at once in the test (no thread, no worker); files under tmp_path.

    A run freezes the objects alive before it out of the garbage collector's passes, after one
    full collection (``actions._long_lived_objects_frozen``). In a test process, whose heap
    holds the whole suite, that collection takes 0.1-0.3 s, more than the small files of the
    tests take to import, and the freeze speeds up nothing: runs here skip it. What the freeze
    does is proven by its own test (test_runs.py).
    """
    from taxdesk.imports import actions

    settings.IMPORTS_INLINE = True
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(actions, "_long_lived_objects_frozen", contextlib.nullcontext)
    return settings


@pytest.fixture
def jobs(cast, imports_inline):
    """Checked import jobs in units A and B (a clean one and one with an error in A)."""
    from taxdesk.imports.actions import create_job

    made = {}
    made["a_clean"] = create_job(
        kind="taxpayers",
        file=taxpayers_upload([complete_taxpayer(1, "税务局A")], name="a_clean.xlsx"),
        by=cast.sales_a,
    )
    made["a_devices"] = create_job(
        kind="devices",
        file=devices_upload(
            [
                {
                    "device_type": "金税盘",
                    "serial": serial(1),
                    "delivery_note": "CK-A-1",
                    "received_on": "2025-09-01",
                }
            ],
            name="a_devices.xlsx",
        ),
        by=cast.admin_a,
    )
    made["b_clean"] = create_job(
        kind="taxpayers",
        file=taxpayers_upload([complete_taxpayer(2, "税务局B")], name="b_clean.xlsx"),
        by=cast.admin_b,
    )
    for job in made.values():
        job.refresh_from_db()
    return made


# Which of the jobs above each member of the cast may see.
JOBS_VIEW = {
    "root": {"a_clean", "a_devices", "b_clean"},
    **{name: {"a_clean", "a_devices"} for name in UNIT_A_STAFF},
    **{name: {"b_clean"} for name in UNIT_B_STAFF},
    "supervisor_x": {"a_clean", "a_devices", "b_clean"},
    "supervisor_y": set(),
    "tax_a": set(),
    "taxpayer_pa1": set(),
}
