"""Export of a filtered list to .xlsx (ObjectListView.export_columns): the whole filtered,
scoped queryset with the column headers in Chinese, a link that keeps the filters, and a
number of queries that does not grow with the rows."""

from __future__ import annotations

import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from taxdesk.clocks.actions import start_deadline
from taxdesk.customers.models import Taxpayer
from taxdesk.testing.cast import EXPECTED_VIEW

SH = ZoneInfo("Asia/Shanghai")
CLOCK_HEADERS = ["时限规则", "记录", "服务单位", "开始时间", "到期时间", "暂定", "状态", "停止时间"]


def export(client, path, **params):
    response = client.get(path, {**params, "export": "xlsx"})
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "attachment" in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = workbook.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    return sheet, rows[0], rows[1:]


def new_taxpayers(cast, count, unit="a", start=0):
    made = []
    for n in range(start, start + count):
        taxpayer = Taxpayer.objects.create(
            number=f"91330100EXP{n:07d}",
            name=f"导出企业{n}",
            service_unit=cast.units[f"unit_{unit}"],
            tax_office=cast.offices[f"office_{unit}"],
        )
        start_deadline(
            taxpayer,
            "INS-06",
            started_at=datetime(2025, 9, 26, 10, tzinfo=SH),
            service_unit=taxpayer.service_unit,
            taxpayer=taxpayer,
            by=cast.root,
        )
        made.append(taxpayer)
    return made


# --------------------------------------------------------------------------- clocks
def test_clock_export_has_the_filtered_scoped_rows_and_chinese_headers(cast, client_for):
    start_deadline(
        cast.pa1,
        "MNT-04",
        started_at=datetime(2025, 9, 30, 16, tzinfo=SH),
        service_unit=cast.unit_a,
        taxpayer=cast.pa1,
        by=cast.dispatcher_a,
    )
    client = client_for(cast.admin_a)
    _sheet, headers, rows = export(client, "/clocks/", rule="INS-06")
    assert list(headers) == CLOCK_HEADERS
    # Unit A's INS-06 clocks only: not its MNT-04 one, not unit B's or C's.
    assert sorted(r[1] for r in rows) == sorted([str(cast.pa1), str(cast.pa2)])
    first = rows[0]
    assert first[0].startswith("INS-06")
    assert first[2] == "服务单位A"
    assert first[3] == datetime(2025, 9, 26, 10, 0)  # local time, as Excel shows it
    assert first[5] == "否"
    assert first[6] == "计时中"  # the status's label, not its code
    assert first[7] is None


@pytest.mark.parametrize("username", sorted(EXPECTED_VIEW))
def test_clock_export_is_scoped_like_the_list(cast, client_for, username):
    _sheet, _headers, rows = export(client_for(cast.users[username]), "/clocks/")
    expected = {str(cast.deadlines[k].record) for k in EXPECTED_VIEW[username]["clocks"]}
    assert {r[1] for r in rows} == expected


def test_export_has_every_row_not_just_the_page(cast, client_for):
    new_taxpayers(cast, 55)  # with pa1 and pa2: 57 clocks, more than a page of 50
    client = client_for(cast.admin_a)
    page = client.get("/clocks/").content.decode()
    assert page.count('data-testid="remaining"') == 50
    _sheet, _headers, rows = export(client, "/clocks/")
    assert len(rows) == 57


def test_export_queries_do_not_grow_with_the_rows(cast, client_for, django_assert_max_num_queries):
    client = client_for(cast.admin_a)
    export(client, "/clocks/")  # warm the session and the content types

    def count():
        with CaptureQueriesContext(connection) as ctx:
            _sheet, _headers, rows = export(client, "/clocks/")
        return len(ctx.captured_queries), len(rows)

    before, rows_before = count()
    new_taxpayers(cast, 30)
    after, rows_after = count()
    assert rows_after == rows_before + 30
    assert after == before
    with django_assert_max_num_queries(before):
        export(client, "/clocks/")


def test_list_page_links_to_the_export_with_its_filters(cast, client_for):
    client = client_for(cast.admin_a)
    html = client.get("/clocks/", {"rule": "INS-06", "cursor": "abc"}).content.decode()
    link = re.search(r'id="export-link"[^>]*href="([^"]+)"', html).group(1)
    assert link.startswith("/clocks/?")
    assert "rule=INS-06" in link and "export=xlsx" in link
    assert "cursor" not in link
    # The htmx table swap carries the link for the new filters along (out of band).
    partial = client.get("/clocks/", {"rule": "MNT-04"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-swap-oob="true"' in partial
    assert "rule=MNT-04&amp;export=xlsx" in partial
    assert "<html" not in partial


def test_a_list_without_export_columns_has_no_link_and_ignores_the_parameter(cast, client_for):
    client = client_for(cast.admin_a)
    html = client.get("/units/").content.decode()
    assert 'id="export-link"' not in html
    response = client.get("/units/", {"export": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


def test_text_that_looks_like_a_formula_stays_text(cast, client_for):
    Taxpayer.objects.filter(pk=cast.pa1.pk).update(name='=HYPERLINK("http://x","y")')
    sheet, _headers, _rows = export(client_for(cast.admin_a), "/clocks/", rule="INS-06")
    cells = [row[1] for row in sheet.iter_rows(min_row=2)]
    assert all(cell.data_type == "s" for cell in cells)
    assert any(cell.value.startswith("=HYPERLINK") for cell in cells)


# --------------------------------------------------------------------------- audit trail
def test_audit_export_is_the_users_trail_with_chinese_headers(cast, client_for):
    _sheet, headers, rows = export(client_for(cast.admin_b), "/audit/", record="企业")
    assert list(headers) == [
        "时间",
        "用户名",
        "操作",
        "记录",
        "变更内容",
        "来源",
        "IP 地址",
        "请求编号",
    ]
    records = {r[3] for r in rows}
    assert str(cast.pb1) in records
    assert not any("pa1" in r or "pc1" in r for r in records)


def test_audit_export_is_refused_to_who_may_not_search_the_trail(cast, client_for):
    assert client_for(cast.technician_a).get("/audit/", {"export": "xlsx"}).status_code == 403
