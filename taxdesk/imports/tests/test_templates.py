"""The downloadable templates: Chinese headers the importer reads back, drop-down lists, an
example row; and a template filled in as it comes is imported."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from taxdesk.imports.actions import create_job
from taxdesk.imports.columns import DEVICE_COLUMNS, TAXPAYER_COLUMNS
from taxdesk.imports.models import ImportJob
from taxdesk.testing.imports import (
    DEVICE_HEADERS,
    TAXPAYER_HEADERS,
)

EXPECTED_TAXPAYER_HEADERS = [
    "纳税人识别号",
    "纳税人名称",
    "地址",
    "所属区县",
    "主管税务机关",
    "纳税人类型",
    "认定日期",
    "发票种类",
    "办公时间",
    "联系人",
    "联系人类型",
    "联系人手机",
    "联系电话",
]
EXPECTED_DEVICE_HEADERS = ["设备类型", "设备编号", "出库单号", "入库日期", "供应商"]


def download(client, kind):
    response = client.get(f"/imports/template/{kind}.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "attachment" in response["Content-Disposition"]
    return load_workbook(io.BytesIO(b"".join(response.streaming_content)))


@pytest.mark.parametrize(
    "kind, sheet, headers",
    [
        ("taxpayers", "纳税人", EXPECTED_TAXPAYER_HEADERS),
        ("devices", "设备", EXPECTED_DEVICE_HEADERS),
    ],
)
def test_template_opens_with_the_chinese_headers(cast, client_for, kind, sheet, headers):
    workbook = download(client_for(cast.sales_a), kind)
    data = workbook.worksheets[0]
    assert data.title == sheet
    assert [c.value for c in data[1]] == headers
    assert [c.value for c in data[1]] == (
        TAXPAYER_HEADERS if kind == "taxpayers" else DEVICE_HEADERS
    )
    # The header row is styled, required columns stand out, and each has a note.
    number = data["A1"]
    assert number.font.bold
    assert number.fill.fgColor.rgb.endswith("C00000")
    assert "必填" in number.comment.text
    assert data.freeze_panes == "A2"
    # The example sits on a second sheet, under the same headers.
    example = workbook["填写示例"]
    assert [c.value for c in example[1]] == headers
    assert example.cell(row=2, column=1).value


def test_taxpayer_template_lists_the_choices_and_the_units_tax_offices(cast, client_for):
    workbook = download(client_for(cast.sales_a), "taxpayers")
    data = workbook["纳税人"]
    options = workbook["选项"]
    assert options.sheet_state == "hidden"
    lists = {}
    for check in data.data_validations.dataValidation:
        column = str(check.sqref).split(":")[0].rstrip("0123456789")
        lists[column] = check.formula1
    letter = {c.key: chr(ord("A") + i) for i, c in enumerate(TAXPAYER_COLUMNS)}
    assert set(lists) == {letter["tax_office"], letter["taxpayer_type"], letter["contact_role"]}

    def words(formula):
        cells = formula.split("!")[1].replace("$", "")
        return [c.value for row in options[cells] for c in row]

    assert words(lists[letter["taxpayer_type"]]) == ["一般纳税人", "小规模纳税人"]
    # Unit A serves tax office A only.
    assert words(lists[letter["tax_office"]]) == ["税务局A"]
    # Text columns keep leading zeros and long numbers as typed.
    assert data.column_dimensions[letter["number"]].number_format == "@"
    assert data.column_dimensions[letter["contact_mobile"]].number_format == "@"


def test_device_template_lists_the_device_types(cast, client_for):
    workbook = download(client_for(cast.admin_a), "devices")
    checks = workbook["设备"].data_validations.dataValidation
    assert len(checks) == 1
    cells = checks[0].formula1.split("!")[1].replace("$", "")
    assert [c.value for row in workbook["选项"][cells] for c in row] == [
        "金税盘",
        "税控盘",
        "报税盘",
        "税务UKey",
    ]


@pytest.mark.parametrize("kind", ["taxpayers", "devices"])
def test_the_templates_example_row_is_a_valid_row(cast, client_for, imports_inline, kind):
    """The example row, copied onto the data sheet as it is, passes the check."""
    workbook = download(client_for(cast.sales_a), kind)
    data, example = workbook.worksheets[0], workbook["填写示例"]
    columns = TAXPAYER_COLUMNS if kind == "taxpayers" else DEVICE_COLUMNS
    for index in range(1, len(columns) + 1):
        data.cell(row=2, column=index, value=example.cell(row=2, column=index).value)
    out = io.BytesIO()
    workbook.save(out)
    from django.core.files.uploadedfile import SimpleUploadedFile

    job = create_job(
        kind=kind, file=SimpleUploadedFile("filled.xlsx", out.getvalue()), by=cast.sales_a
    )
    job = ImportJob.objects.get(pk=job.pk)
    assert job.state == "validated"
    assert (job.total_rows, job.valid_rows, job.error_count) == (1, 1, 0), job.errors


def test_unknown_template_is_404_and_taxpayers_get_none(cast, client_for):
    assert client_for(cast.sales_a).get("/imports/template/contracts.xlsx").status_code == 404
    assert client_for(cast.taxpayer_pa1).get("/imports/template/taxpayers.xlsx").status_code == 403


def test_template_needs_a_signed_in_user(client):
    response = client.get("/imports/template/taxpayers.xlsx")
    assert response.status_code == 302
    assert "/login" in response["Location"]
