"""Reading and writing .xlsx files: the templates, the streaming row reader, cell values,
and the error report.

Reading uses the streaming reader of ``xlsx.py`` (values only, a row at a time from the zip,
several times faster than openpyxl's read-only mode), so memory does not grow with the rows.
Writing uses openpyxl's write-only workbooks, which spool rows to a temporary file.
"""

from __future__ import annotations

import datetime
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet.datavalidation import DataValidation

from .columns import COLUMNS, SHEET_NAMES, Column
from .xlsx import XlsxWorkbook

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Rows of the template that carry the drop-down lists.
TEMPLATE_ROWS = 100000
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
REQUIRED_FILL = PatternFill("solid", fgColor="C00000")
HEADER_FONT = Font(bold=True, color="FFFFFF")
_SPACES = re.compile(r"[\s\u3000\u00a0]+")


# ----------------------------------------------------------------------------- cell values
def cell_text(value) -> str:
    """A cell as the text a person typed: numbers without ``.0``, dates as ``YYYY-MM-DD``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("\u3000", " ").replace("\u00a0", " ").strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")


def cell_date(value) -> datetime.date | None:
    """A date from a date cell, an Excel serial number or typed text; ``None`` if it is none."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 1 <= value < 2958466:  # the serial numbers Excel can show as a date
            converted = from_excel(value)
            return converted.date() if isinstance(converted, datetime.datetime) else converted
        return None
    text = _SPACES.sub("", cell_text(value))
    text = re.sub(r"\s*00:00(:00)?$", "", text)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def header_key(value) -> str:
    """A header as the importer compares it: no spaces, no required-marker."""
    text = _SPACES.sub("", cell_text(value))
    for marker in ("（必填）", "(必填)", "*", "＊"):
        text = text.replace(marker, "")
    return text


def safe_cell(ws, value):
    """A write-only cell; text is always text (never a formula) and free of characters XML
    cannot carry."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell = WriteOnlyCell(ws, value)
        # A cell starting with "=" would otherwise be written as a formula (spreadsheet
        # injection through a name or an address typed by someone else).
        cell.data_type = "s"
        return cell
    return WriteOnlyCell(ws, value)


# ----------------------------------------------------------------------------- reading
@dataclass
class SheetReader:
    """The data rows of an uploaded workbook, one at a time, as ``{column key: value}``.

    The sheet named like the template's data sheet is read, or else the first sheet; row 1
    holds the headers. Unknown columns are ignored; missing required columns are reported.
    The reader's limits are the settings'; ``deadline`` (``time.monotonic()``) stops it.
    """

    file: object
    kind: str
    columns: tuple[Column, ...] = ()
    positions: dict[str, int] = field(default_factory=dict)
    missing: list[Column] = field(default_factory=list)
    repeated: list[str] = field(default_factory=list)
    expected_rows: int | None = None
    deadline: float | None = None

    def __post_init__(self):
        self.columns = COLUMNS[self.kind]
        self.workbook = XlsxWorkbook(self.file, deadline=self.deadline)
        name = SHEET_NAMES[self.kind]
        sheets = self.workbook.worksheet_names
        self.sheet = name if name in sheets else sheets[0]
        # Some writers declare no size (or a wrong one): the count is only for the progress.
        last = self.workbook.dimension_rows(self.sheet)
        self.expected_rows = max(last - 1, 0) if last else None
        rows = self.workbook.rows(self.sheet)
        header_row, values = next(rows, (0, []))
        rows.close()
        by_header = {column.header: column for column in self.columns}
        for index, value in enumerate(values if header_row == 1 else ()):
            column = by_header.get(header_key(value))
            if column is None:
                continue
            if column.key in self.positions:
                self.repeated.append(column.header)
                continue
            self.positions[column.key] = index
        self.missing = [c for c in self.columns if c.required and c.key not in self.positions]
        self.width = max(self.positions.values(), default=-1) + 1

    def rows(self) -> Iterator[tuple[int, dict]]:
        """``(row number, values)`` for every row below the headers that is not blank."""
        if self.width == 0:
            return
        positions = self.positions
        for number, values in self.workbook.rows(self.sheet, min_row=2, max_col=self.width):
            size = len(values)
            row = {
                key: (values[index] if index < size else None) for key, index in positions.items()
            }
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in row.values()):
                continue
            yield number, row

    def close(self):
        self.workbook.close()


# ----------------------------------------------------------------------------- writing
def spool(workbook):
    """Save a workbook into a temporary file (removed when closed), positioned at its start."""
    out = tempfile.TemporaryFile()
    workbook.save(out)
    out.seek(0)
    return out


def _options_sheet(workbook, lists: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """A hidden sheet holding the drop-down lists; returns each list's range formula."""
    sheet = workbook.create_sheet("选项")
    sheet.sheet_state = "hidden"
    formulas = {}
    for index, (key, words) in enumerate(lists.items(), start=1):
        letter = get_column_letter(index)
        sheet.cell(row=1, column=index, value=key)
        for row, word in enumerate(words, start=2):
            sheet.cell(row=row, column=index, value=word)
        formulas[key] = f"'选项'!${letter}$2:${letter}${len(words) + 1}"
    return formulas


def build_template(kind: str, tax_offices: list[tuple[str, str]] | None = None) -> Workbook:
    """The import template of ``kind``: styled headers with notes, drop-down lists, text and
    date formats, and an example row on a second sheet.

    ``tax_offices`` — the (name, code) pairs the user's unit serves — become the drop-down
    of 主管税务机关.
    """
    columns = COLUMNS[kind]
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_NAMES[kind]
    sheet.freeze_panes = "A2"
    lists = {c.key: c.choices for c in columns if c.choices}
    if tax_offices:
        lists["tax_office"] = tuple(name for name, _code in tax_offices)
    formulas = _options_sheet(workbook, lists)
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        cell = sheet.cell(row=1, column=index, value=column.header)
        cell.font = HEADER_FONT
        cell.fill = REQUIRED_FILL if column.required else HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center")
        note = ("必填。" if column.required else "") + column.note
        if note:
            cell.comment = Comment(note, "TaxDesk", width=300, height=110)
        sheet.column_dimensions[letter].width = column.width
        if column.text or column.date:
            # The column's format applies to what a person types in: text keeps leading
            # zeros and 18-character numbers as typed.
            sheet.column_dimensions[letter].number_format = "@" if column.text else "yyyy-mm-dd"
        if column.key in formulas:
            check = DataValidation(
                type="list",
                formula1=formulas[column.key],
                allow_blank=True,
                showErrorMessage=column.key != "tax_office",  # an office may be typed by code
                errorTitle=column.header,
                error="请从列表中选择。",
            )
            check.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
            sheet.add_data_validation(check)
    sheet.row_dimensions[1].height = 22

    example = workbook.create_sheet("填写示例", 1)
    example.append([c.header for c in columns])
    values = []
    for column in columns:
        value = column.example
        if column.key == "tax_office" and tax_offices:
            value = tax_offices[0][0]
        values.append(value)
    example.append(values)
    example.append([])
    example.append(["说明：第一行为表头，请勿修改；红色表头为必填项。每行一条记录，空行将被忽略。"])
    example.append(
        ["再次导入同一识别号或设备编号时，更新原记录而不会重复登记；留空的单元格不修改原值。"]
    )
    for index, column in enumerate(columns, start=1):
        example.cell(row=1, column=index).font = Font(bold=True)
        example.column_dimensions[get_column_letter(index)].width = column.width
    return workbook


def error_report(job) -> Workbook:
    """The stored row errors of a job as a workbook (row, column, value, reason)."""
    from django.utils.translation import gettext as _

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Errors")[:31])
    sheet.append([_("Row"), _("Column"), _("Value"), _("Reason")])
    for error in job.errors:
        sheet.append(
            [
                error.get("row"),
                safe_cell(sheet, error.get("column", "")),
                safe_cell(sheet, error.get("value", "")),
                safe_cell(sheet, error.get("message", "")),
            ]
        )
    return workbook
