"""The streaming .xlsx reader against files openpyxl writes and hand-written packages of the
forms other writers (Excel, WPS) use: inline strings, rich text, cells without references,
the 1904 calendar, strict namespaces, a declared dimension."""

from __future__ import annotations

import datetime
import io
import zipfile
import zlib

import pytest
from openpyxl import Workbook, load_workbook

from taxdesk.imports.xlsx import UnreadableFile, XlsxWorkbook, column_index

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT = "http://purl.oclc.org/ooxml/spreadsheetml/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"


def package(
    sheet_xml: str,
    *,
    strings: str | None = None,
    styles: str | None = None,
    workbook_pr: str = "",
    ns: str = MAIN,
) -> io.BytesIO:
    """A minimal .xlsx package around one worksheet named 数据."""
    buffer = io.BytesIO()
    rels = [f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>']
    if strings is not None:
        rels.append(
            f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
        )
    if styles is not None:
        rels.append(f'<Relationship Id="rId3" Type="{REL}/styles" Target="styles.xml"/>')
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
            f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{ns}" xmlns:r="{REL}">{workbook_pr}'
            '<sheets><sheet name="数据" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{PKG}">{"".join(rels)}</Relationships>',
        )
        archive.writestr(
            "xl/worksheets/sheet1.xml", f'<worksheet xmlns="{ns}">{sheet_xml}</worksheet>'
        )
        if strings is not None:
            archive.writestr("xl/sharedStrings.xml", f'<sst xmlns="{ns}">{strings}</sst>')
        if styles is not None:
            archive.writestr("xl/styles.xml", f'<styleSheet xmlns="{ns}">{styles}</styleSheet>')
    buffer.seek(0)
    return buffer


def rows_of(file, sheet="数据", **options):
    workbook = XlsxWorkbook(file)
    try:
        return list(workbook.rows(sheet, **options))
    finally:
        workbook.close()


def test_column_index():
    assert [column_index(ref) for ref in ("A1", "Z9", "AA10", "AB3", "ZZ1")] == [
        0,
        25,
        26,
        27,
        701,
    ]


def test_reads_what_openpyxl_writes_as_openpyxl_reads_it():
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "数据"
    sheet.append(["纳税人识别号", "名称", 3, 2.5, True, None, "=1+1"])
    sheet.append([datetime.date(2025, 9, 26), datetime.datetime(2025, 1, 2, 3, 4, 5)])
    sheet.append([datetime.timedelta(hours=5), "  带空格 ", -7, 1e20])
    sheet["C5"] = "第五行"
    workbook.create_sheet("其他")["A1"] = "别处"
    buffer = io.BytesIO()
    workbook.save(buffer)

    buffer.seek(0)
    theirs = load_workbook(buffer, read_only=True, data_only=True)["数据"]
    expected = {
        number: list(values)
        for number, values in enumerate(theirs.iter_rows(values_only=True), start=1)
        if any(v is not None for v in values)
    }
    buffer.seek(0)
    mine = dict(rows_of(buffer))

    def trimmed(values):
        values = list(values)
        while values and values[-1] is None:
            values.pop()
        return values

    assert {n: trimmed(v) for n, v in mine.items()} == {n: trimmed(v) for n, v in expected.items()}
    assert mine[2][0] == datetime.datetime(2025, 9, 26)
    assert mine[3][0] == datetime.timedelta(hours=5)
    assert mine[1][2] == 3 and isinstance(mine[1][2], int)
    assert 4 not in mine  # a row the file does not hold is not invented


def test_inline_and_rich_strings_and_cells_without_references():
    sheet = (
        '<dimension ref="A1:C3"/><sheetData>'
        '<row r="1"><c t="inlineStr"><is><t>识别号</t></is></c>'
        '<c t="inlineStr"><is><r><t>杭州</t></r><r><rPr/><t>某公司</t></r></is></c>'
        '<c t="s"><v>0</v></c></row>'
        '<row><c t="s"><v>1</v></c><c><v>42</v></c><c t="str"><v>公式结果</v></c></row>'
        '<row r="5"><c r="C5" t="b"><v>1</v></c><c r="D5" t="e"><v>#N/A</v></c></row>'
        "</sheetData>"
    )
    strings = (
        "<si><t>纯文本</t></si>"
        "<si><r><t>富</t></r><r><t>文本_x000D_</t></r>"
        "<rPh sb='0' eb='1'><t>フリガナ</t></rPh></si>"
    )
    rows = rows_of(package(sheet, strings=strings))
    assert rows == [
        (1, ["识别号", "杭州某公司", "纯文本"]),
        (2, ["富文本\r", 42, "公式结果"]),
        (5, [None, None, True, "#N/A"]),
    ]
    workbook = XlsxWorkbook(package(sheet, strings=strings))
    assert workbook.dimension_rows("数据") == 3
    assert workbook.worksheet_names == ["数据"]


def test_dates_by_style_custom_format_and_1904_calendar():
    styles = (
        '<numFmts count="1"><numFmt numFmtId="176" formatCode="yyyy&quot;年&quot;m&quot;月'
        '&quot;d&quot;日&quot;"/></numFmts>'
        '<cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="176"/>'
        '<xf numFmtId="49"/></cellXfs>'
    )
    sheet = (
        "<sheetData><row r='1'>"
        "<c r='A1' s='1'><v>45926</v></c><c r='B1' s='2'><v>45926</v></c>"
        "<c r='C1' s='3'><v>45926</v></c><c r='D1'><v>45926.5</v></c>"
        "</row></sheetData>"
    )
    rows = rows_of(package(sheet, styles=styles))
    assert rows == [
        (
            1,
            [datetime.datetime(2025, 9, 26), datetime.datetime(2025, 9, 26), 45926, 45926.5],
        )
    ]
    mac = rows_of(package(sheet, styles=styles, workbook_pr='<workbookPr date1904="1"/>'))
    assert mac[0][1][0] == datetime.datetime(2029, 9, 27)


def test_strict_namespace_and_max_col_and_min_row():
    sheet = (
        "<sheetData><row r='1'><c r='A1'><v>1</v></c><c r='E1'><v>5</v></c></row>"
        "<row r='2'><c r='B2'><v>2</v></c></row></sheetData>"
    )
    file = package(sheet, ns=STRICT)
    assert rows_of(file, max_col=3) == [(1, [1]), (2, [None, 2])]
    file.seek(0)
    assert rows_of(file, min_row=2) == [(2, [None, 2])]


@pytest.mark.parametrize(
    "content",
    [b"not a zip at all", b"PK\x03\x04 broken"],
)
def test_not_a_workbook(content):
    with pytest.raises(UnreadableFile):
        XlsxWorkbook(io.BytesIO(content))


def test_workbook_without_sheets_is_unreadable():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", f'<workbook xmlns="{MAIN}"><sheets/></workbook>')
    with pytest.raises(UnreadableFile):
        XlsxWorkbook(buffer)


def test_broken_sheet_xml_is_reported_while_reading():
    file = package("<sheetData><row r='1'><c><v>1</v></c></row><row r='2'><c><v>2")
    workbook = XlsxWorkbook(file)
    with pytest.raises(UnreadableFile):
        list(workbook.rows("数据"))


def test_a_chart_sheet_before_the_data_is_skipped():
    from openpyxl.chart import BarChart, Reference

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Sheet1"
    sheet.append(["纳税人识别号", "名称"])
    sheet.append(["x", "y"])
    chart_sheet = workbook.create_chartsheet("图表", 0)
    chart = BarChart()
    chart.add_data(Reference(sheet, min_col=1, min_row=1, max_row=2))
    chart_sheet.add_chart(chart)
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    assert XlsxWorkbook(buffer).worksheet_names == ["Sheet1"]
    buffer.seek(0)
    assert rows_of(buffer, "Sheet1")[0] == (1, ["纳税人识别号", "名称"])


def test_number_formats_of_conditional_formats_do_not_make_dates():
    from openpyxl.formatting.rule import Rule
    from openpyxl.styles.differential import DifferentialStyle
    from openpyxl.styles.numbers import NumberFormat

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "数据"
    sheet.append(["纳税人识别号", "金额"])
    sheet.append(["x", 45000])
    sheet["B2"].number_format = "0.000"
    # openpyxl gives the conditional format's number format the same id (164).
    style = DifferentialStyle(numFmt=NumberFormat(numFmtId=164, formatCode="yyyy-mm-dd"))
    sheet.conditional_formatting.add("C1:C10", Rule(type="expression", dxf=style, formula=["1"]))
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    assert rows_of(buffer)[1] == (2, ["x", 45000])


def test_forms_other_writers_use_for_styles_rows_and_iso_dates():
    sheet = (
        "<sheetData><row r='1.0'><c r='A1' s=''><v>7</v></c>"
        "<c r='B1' t='d'><v>2025-09-26T08:30:00Z</v></c>"
        "<c r='C1' t='d'><v>2025-09-26</v></c><c r='D1' t='d'><v>10:20:30</v></c>"
        "</row></sheetData>"
    )
    ((number, values),) = rows_of(package(sheet))
    assert number == 1
    assert values[0] == 7
    assert values[1] == datetime.datetime(2025, 9, 26, 8, 30)
    assert values[2] in (datetime.date(2025, 9, 26), datetime.datetime(2025, 9, 26))
    assert values[3] == datetime.time(10, 20, 30)


def test_a_damaged_member_is_an_unreadable_file():
    """Compressed bytes that do not inflate (zlib's own error) are reported as any
    unreadable file, not as a crash."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook>" + "".join(map(str, range(3000))))
    data = bytearray(buffer.getvalue())
    start = data.index(b"xl/workbook.xml") + len("xl/workbook.xml")  # the local header's name
    data[start + 8 : start + 24] = b"\xff" * 16  # inside the deflate stream right after it
    with pytest.raises(UnreadableFile) as caught:
        XlsxWorkbook(io.BytesIO(bytes(data)))
    assert isinstance(caught.value.__cause__, zlib.error)


def test_dates_in_the_formats_of_a_chinese_excel():
    """Built-in formats 27–36 and 50–58 (yyyy"年"m"月"d"日" and the like) are dates and times
    whose codes a Chinese Excel leaves out of the file."""
    styles = (
        '<cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="31"/><xf numFmtId="57"/>'
        '<xf numFmtId="32"/></cellXfs>'
    )
    sheet = (
        "<sheetData><row r='1'>"
        "<c r='A1' s='1'><v>45926</v></c><c r='B1' s='2'><v>45901</v></c>"
        "<c r='C1' s='3'><v>0.4375</v></c><c r='D1'><v>45926</v></c>"
        "</row></sheetData>"
    )
    ((_number, values),) = rows_of(package(sheet, styles=styles))
    assert values == [
        datetime.datetime(2025, 9, 26),
        datetime.datetime(2025, 9, 1),
        datetime.time(10, 30),
        45926,
    ]
