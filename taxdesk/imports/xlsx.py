"""A streaming reader of the cell values of an ``.xlsx`` worksheet.

openpyxl's read-only mode builds an object per shared string and a dict per cell; for a file
of 100,000 rows that alone took most of an import's check. This reader parses the same parts
of the package (the workbook, its relationships, the styles for date formats, the shared
strings, one worksheet) with the standard library's C XML parser and keeps per cell only its
value, as openpyxl's ``values_only`` gives it: text, a number (``int`` when integral), a
``bool``, or a ``datetime`` (``timedelta`` for duration formats) when the cell's number format
is a date. Formulas are read as their stored result (``data_only``).

Memory: one row at a time, plus the shared-string table (which the file's own format requires
to be at hand for any row).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from xml.etree.ElementTree import ParseError, iterparse

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import (
    CALENDAR_MAC_1904,
    CALENDAR_WINDOWS_1900,
    from_excel,
    from_ISO8601,
)

_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
# What reading a damaged or unusual package can raise: zip, inflate, XML and value errors, an
# encrypted member (RuntimeError), a compression zipfile lacks (NotImplementedError).
_BROKEN = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    ParseError,
    KeyError,
    ValueError,
    IndexError,
    OSError,
    RuntimeError,
    NotImplementedError,
)
_OFFICE_DOCUMENT = "officeDocument"
# Built-in number formats whose codes the file does not carry because they depend on the
# reader's locale; in the Chinese one (as in Japanese and Korean) all are dates or times,
# e.g. 31 yyyy"年"m"月"d"日", 57 yyyy"年"m"月", 32 h"时"mm"分" (ECMA-376, 18.8.30). A date
# typed in a Chinese Excel often has one of them; openpyxl does not know them.
_EAST_ASIAN_DATES = frozenset(range(27, 37)) | frozenset(range(50, 59))
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
_COLUMN = re.compile(r"[A-Za-z]+")


class UnreadableFile(Exception):
    """The file is not an .xlsx workbook this reader can read."""


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _unescape(text: str) -> str:
    """OOXML writes characters XML cannot carry as ``_xHHHH_`` (``_x005F_`` is ``_``)."""
    if "_x" not in text:
        return text
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)


def column_index(reference: str) -> int:
    """0-based column of a cell reference such as ``B12`` (``A`` is 0)."""
    letters = _COLUMN.match(reference)
    if letters is None:
        raise UnreadableFile(f"bad cell reference {reference!r}")
    index = 0
    for char in letters.group().upper():
        index = index * 26 + ord(char) - 64
    return index - 1


def _text_of(element, t_tag: str, r_tag: str) -> str:
    """The plain text of a string item (``<si>`` or ``<is>``): its ``<t>`` and the ``<t>`` of
    its rich-text runs, without phonetic guides (``<rPh>``)."""
    parts = []
    for child in element:
        if child.tag == t_tag:
            parts.append(child.text or "")
        elif child.tag == r_tag:
            for run_text in child.iter(t_tag):
                parts.append(run_text.text or "")
    return _unescape("".join(parts))


class XlsxWorkbook:
    """An opened ``.xlsx`` package: its sheet names, and the rows of any of its sheets."""

    def __init__(self, file):
        try:
            self.archive = zipfile.ZipFile(file)
            names = set(self.archive.namelist())
            workbook_path = self._office_document()
            if workbook_path not in names:
                raise UnreadableFile("the workbook part is missing")
            self._dir = posixpath.dirname(workbook_path)
            targets = self._relationships(workbook_path)
            # (name, path, kind): kind "worksheet", or "chartsheet" and the like.
            self.sheets: list[tuple[str, str, str]] = []
            self.epoch = CALENDAR_WINDOWS_1900
            styles_path = strings_path = None
            for _event, element in iterparse(self.archive.open(workbook_path)):
                tag = _local(element.tag)
                if tag == "sheet":
                    rel = next((v for k, v in element.attrib.items() if _local(k) == "id"), None)
                    target = targets.get(rel)
                    if target is not None and target[1] in names:
                        self.sheets.append((element.get("name", ""), target[1], target[0]))
                elif tag == "workbookPr" and element.get("date1904") in ("1", "true"):
                    self.epoch = CALENDAR_MAC_1904
            for kind, path in targets.values():
                if kind == "styles":
                    styles_path = path
                elif kind == "sharedStrings":
                    strings_path = path
            if not self.worksheet_names:
                raise UnreadableFile("the workbook has no worksheet")
            self._strings_path = strings_path if strings_path in names else None
            self._strings: list[str] | None = None
            self.date_styles, self.duration_styles = self._styles(
                styles_path if styles_path in names else None
            )
        except _BROKEN as exc:
            raise UnreadableFile(str(exc)) from exc

    @property
    def worksheet_names(self) -> list[str]:
        """The names of the sheets that hold cells (not chart sheets), in the file's order."""
        return [name for name, _path, kind in self.sheets if kind == "worksheet"]

    def close(self) -> None:
        self.archive.close()

    # ------------------------------------------------------------------------- the package
    def _office_document(self) -> str:
        try:
            source = self.archive.open("_rels/.rels")
        except KeyError:
            return "xl/workbook.xml"
        for _event, element in iterparse(source):
            if _local(element.tag) == "Relationship" and (
                element.get("Type", "").endswith("/" + _OFFICE_DOCUMENT)
            ):
                return element.get("Target", "").lstrip("/")
        return "xl/workbook.xml"

    def _relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """``{relationship id: (kind, path in the archive)}`` of a part."""
        folder, name = posixpath.split(part)
        rels = posixpath.join(folder, "_rels", name + ".rels")
        found = {}
        try:
            source = self.archive.open(rels)
        except KeyError:
            return found
        for _event, element in iterparse(source):
            if element.tag != f"{{{_RELATIONSHIPS}}}Relationship":
                continue
            target = element.get("Target", "")
            if element.get("TargetMode") == "External":
                continue
            if target.startswith("/"):
                path = target.lstrip("/")
            else:
                path = posixpath.normpath(posixpath.join(folder, target))
            kind = element.get("Type", "").rpartition("/")[2]
            found[element.get("Id")] = (kind, path)
        return found

    def _styles(self, path: str | None) -> tuple[frozenset[int], frozenset[int]]:
        """The cell styles (``s`` of a cell) whose number format shows a date or a duration."""
        if path is None:
            return frozenset(), frozenset()
        custom: dict[int, str] = {}
        formats: list[int] = []
        # Only the formats of <numFmts> and the styles of <cellXfs> count: conditional formats
        # (<dxfs>) have number formats of their own, whose ids may repeat the cells' ones.
        in_cell_xfs = in_num_fmts = False
        for event, element in iterparse(self.archive.open(path), events=("start", "end")):
            tag = _local(element.tag)
            if tag == "cellXfs":
                in_cell_xfs = event == "start"
            elif tag == "numFmts":
                in_num_fmts = event == "start"
            elif event != "end":
                continue
            elif tag == "numFmt" and in_num_fmts:
                custom[int(element.get("numFmtId", "0"))] = element.get("formatCode", "")
            elif tag == "xf" and in_cell_xfs:
                formats.append(int(element.get("numFmtId", "0")))
        dates, durations = set(), set()
        for index, format_id in enumerate(formats):
            code = custom.get(format_id) or BUILTIN_FORMATS.get(format_id, "General")
            if is_date_format(code) or (format_id in _EAST_ASIAN_DATES and format_id not in custom):
                dates.add(index)
            if is_timedelta_format(code):
                durations.add(index)
        return frozenset(dates), frozenset(durations)

    def _shared_strings(self) -> list[str]:
        if self._strings is None:
            strings: list[str] = []
            if self._strings_path is not None:
                root = None
                for event, element in iterparse(
                    self.archive.open(self._strings_path), events=("start", "end")
                ):
                    if event == "start":
                        if root is None:
                            root = element
                            namespace = element.tag[: -len(_local(element.tag))]
                            si, t, r = namespace + "si", namespace + "t", namespace + "r"
                        continue
                    if element.tag == si:
                        strings.append(_text_of(element, t, r))
                        root.clear()
            self._strings = strings
        return self._strings

    # ------------------------------------------------------------------------- a sheet
    def dimension_rows(self, sheet: str) -> int | None:
        """The last row the sheet's ``<dimension>`` declares, if it declares one (it comes
        before the data; only the part before the first row is read)."""
        with self.archive.open(self._path(sheet)) as source:
            for _event, element in iterparse(source, events=("start",)):
                tag = _local(element.tag)
                if tag == "dimension":
                    ref = element.get("ref", "")
                    digits = "".join(ch for ch in ref.rpartition(":")[2] if ch.isdigit())
                    return int(digits) if digits else None
                if tag in ("sheetData", "row"):
                    return None
        return None

    def _path(self, sheet: str) -> str:
        for name, path, _kind in self.sheets:
            if name == sheet:
                return path
        raise KeyError(sheet)

    def rows(self, sheet: str, *, min_row: int = 1, max_col: int | None = None) -> Iterator:
        """``(row number, [values])`` for every row of the sheet from ``min_row``, with
        ``values[i]`` the value of the i-th column (``None`` when empty); rows the file does
        not contain are skipped."""
        strings = self._shared_strings()
        dates, durations, epoch = self.date_styles, self.duration_styles, self.epoch
        try:
            with self.archive.open(self._path(sheet)) as source:
                parent = None
                row_number = 0
                for event, element in iterparse(source, events=("start", "end")):
                    if event == "start":
                        if parent is None and _local(element.tag) == "sheetData":
                            parent = element
                            namespace = element.tag[: -len("sheetData")]
                            row_tag, cell_tag = namespace + "row", namespace + "c"
                            v_tag, is_tag = namespace + "v", namespace + "is"
                            t_tag, r_tag = namespace + "t", namespace + "r"
                        continue
                    if parent is None or element.tag != row_tag:
                        continue
                    given = element.get("r")
                    row_number = int(float(given)) if given else row_number + 1
                    if row_number >= min_row:
                        values: list = []
                        column = -1
                        for cell in element:
                            if cell.tag != cell_tag:
                                continue
                            reference = cell.get("r")
                            column = column_index(reference) if reference else column + 1
                            if max_col is not None and column >= max_col:
                                continue
                            value = _cell_value(
                                cell, strings, dates, durations, epoch, v_tag, is_tag, t_tag, r_tag
                            )
                            if value is None:
                                continue
                            if column >= len(values):
                                values.extend([None] * (column + 1 - len(values)))
                            values[column] = value
                        yield row_number, values
                    parent.clear()
        except _BROKEN as exc:
            raise UnreadableFile(str(exc)) from exc


def _cell_value(cell, strings, dates, durations, epoch, v_tag, is_tag, t_tag, r_tag):
    kind = cell.get("t", "n")
    if kind == "inlineStr":
        item = cell.find(is_tag)
        return None if item is None else _text_of(item, t_tag, r_tag)
    raw = cell.findtext(v_tag)
    if raw is None or raw == "":
        return None
    if kind == "s":
        return strings[int(raw)]
    if kind == "n":
        number = float(raw) if any(ch in raw for ch in ".eE") else int(raw)
        style = cell.get("s")
        if style and int(style) in dates:
            try:
                return from_excel(number, epoch, timedelta=int(style) in durations)
            except (OverflowError, ValueError):
                return "#VALUE!"
        return number
    if kind == "b":
        return raw.strip() in ("1", "true")
    if kind == "d":
        try:
            return from_ISO8601(raw)
        except ValueError:
            return raw
    return _unescape(raw)  # "str" (a formula's text), "e" (an error such as #N/A)
