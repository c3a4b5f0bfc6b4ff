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

Limits (``Limits``, from settings): a package is refused before any of it is parsed when its
central directory declares too many members, a member or the whole larger unpacked than
allowed, or a compression other than deflate. While a member inflates, its bytes are counted:
it may not grow beyond what it declared (a lying header), the package beyond its limit, and no
more than ``Limits.span_bytes`` bytes nor ``span_elements`` elements may pass without the
parser releasing what it holds (one row, one shared string, one style), which bounds a single
huge cell, tag or nesting. The counts the
format declares (shared strings, styles, the sheet's dimension) are checked when read and
again while streaming, as are the rows and columns. Each refusal is a ``LimitExceeded`` naming
the limit; a ``deadline`` (``time.monotonic()``) stops a read that runs too long the same way.
"""

from __future__ import annotations

import copy
import posixpath
import re
import struct
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
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
    OverflowError,
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


class LimitExceeded(UnreadableFile):
    """The file goes beyond one of the reader's limits.

    ``limit`` names it: ``unpacked`` (the package, MB), ``part`` (one member, MB; ``part``
    names the member), ``damaged`` (a member inflates beyond the size it declares),
    ``members``, ``structure`` (more than ``Limits.span_bytes`` or ``span_elements`` held at
    once: a huge cell or tag, or deep nesting), ``styles``, ``number_formats``,
    ``shared_strings``, ``rows``, ``columns``, ``time`` (the deadline passed); ``maximum`` is
    the limit's value.
    """

    def __init__(self, limit: str, maximum: int = 0, part: str = ""):
        self.limit, self.maximum, self.part = limit, maximum, part
        super().__init__(f"{limit} limit ({maximum}) exceeded{f' in {part}' if part else ''}")


MB = 1024 * 1024
# Excel's own maximum: the last column is XFD (16,384).
EXCEL_COLUMNS = 16_384


@dataclass(frozen=True)
class Limits:
    """What a package may hold. ``rows`` counts the data rows below a header row."""

    unpacked_bytes: int = 400 * MB
    part_bytes: int = 300 * MB
    shared_strings_bytes: int = 64 * MB
    shared_strings: int = 1_000_000
    styles: int = 64_000
    rows: int = 300_000
    columns: int = 1_000
    # The most a parser may take in without releasing what it holds (a row, a shared string,
    # a style): bytes, about 1,000 times a row of the templates (Excel's longest cell text,
    # 32,767 characters, escaped, is under 300 KB); and elements, 50 times a row of 1,000
    # cells. Held elements cost up to 90 times their bytes (nested ones): the two together
    # keep what is held under about 35 MB.
    span_bytes: int = 1 * MB
    span_elements: int = 50_000
    members: int = 10_000

    @classmethod
    def from_settings(cls) -> Limits:
        from django.conf import settings

        return cls(
            unpacked_bytes=settings.IMPORTS_MAX_UNPACKED_MB * MB,
            part_bytes=settings.IMPORTS_MAX_PART_MB * MB,
            shared_strings_bytes=settings.IMPORTS_MAX_SHARED_STRINGS_MB * MB,
            shared_strings=settings.IMPORTS_MAX_SHARED_STRINGS,
            styles=settings.IMPORTS_MAX_STYLES,
            rows=settings.IMPORTS_MAX_ROWS,
            columns=min(settings.IMPORTS_MAX_COLUMNS, EXCEL_COLUMNS),
        )


class _Inflating:
    """A member's bytes as they inflate, counted: never more than the member declared (a
    header that lies stops the read), nor the package more than its limit; at most
    ``span`` bytes between two calls of ``release()`` (what the parser holds); and not after
    the deadline. ``iterparse`` reads it 16 KB at a time."""

    def __init__(self, raw, name: str, declared: int, budget: list[int], limits, deadline):
        self._raw = raw
        self.name = name
        self._declared = declared
        self._budget = budget  # [bytes the package may still inflate]
        self._limits = limits
        self._deadline = deadline
        self.count = 0
        self.mark = 0

    def release(self) -> None:
        """The parser let go of what it held: the span starts again here."""
        self.mark = self.count

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(64 * 1024), b""))
        data = self._raw.read(size)
        got = len(data)
        self.count += got
        self._budget[0] -= got
        if self.count > self._declared:
            raise LimitExceeded("damaged", part=self.name)
        if self._budget[0] < 0:
            raise LimitExceeded("unpacked", self._limits.unpacked_bytes // MB)
        if self.count - self.mark > self._limits.span_bytes:
            raise LimitExceeded("structure", part=self.name)
        if self._deadline is not None and time.monotonic() >= self._deadline:
            raise LimitExceeded("time")
        return data

    def close(self) -> None:
        self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_END_OF_DIRECTORY = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_END = struct.Struct("<4sQ2H2L4Q")


def _declared_members(file) -> int | None:
    """The number of members the zip's end-of-central-directory record declares (read before
    ``zipfile`` builds an object for each of them); ``None`` when there is no such record
    (``zipfile`` then reports the file as broken)."""
    file.seek(0, 2)
    size = file.tell()
    tail_size = min(size, _END_OF_DIRECTORY.size + 0xFFFF)
    file.seek(size - tail_size)
    tail = file.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _END_OF_DIRECTORY.size:
        return None
    total = _END_OF_DIRECTORY.unpack_from(tail, at)[4]
    if total == 0xFFFF and at >= _ZIP64_LOCATOR.size:
        # ZIP64: the locator before the record points at the real count.
        locator = _ZIP64_LOCATOR.unpack_from(tail, at - _ZIP64_LOCATOR.size)
        if locator[0] == b"PK\x06\x07" and locator[2] + _ZIP64_END.size <= size:
            file.seek(locator[2])
            record = file.read(_ZIP64_END.size)
            if record[:4] == b"PK\x06\x06":
                total = _ZIP64_END.unpack(record)[7]
    return total


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _unescape(text: str) -> str:
    """OOXML writes characters XML cannot carry as ``_xHHHH_`` (``_x005F_`` is ``_``)."""
    if "_x" not in text:
        return text
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)


def column_index(reference: str) -> int:
    """0-based column of a cell reference such as ``B12`` (``A`` is 0). Four letters or more
    (beyond Excel's XFD) give 18,278, the index of ``AAAA``: beyond any column limit."""
    letters = _COLUMN.match(reference)
    if letters is None:
        raise UnreadableFile(f"bad cell reference {reference!r}")
    letters = letters.group()
    if len(letters) > 3:
        return 18_278
    index = 0
    for char in letters.upper():
        index = index * 26 + ord(char) - 64
    return index - 1


def _last_cell(reference: str) -> tuple[int | None, int | None]:
    """(row, 0-based column) of the last cell of a range such as ``A1:N100`` (either may be
    missing: ``A:N``, ``1:100``)."""
    last = reference.rpartition(":")[2].replace("$", "")
    letters = _COLUMN.match(last)
    column = column_index(last) if letters else None
    digits = last[letters.end() :] if letters else last
    row = int(digits) if digits.isdigit() and len(digits) < 12 else None
    return row, column


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


def _walk(source: _Inflating, limits: Limits, most: int | None = None):
    """``(event, element)`` of a small part, each element dropped from its parent once its
    end has been seen (read what you need of it then; the parent keeps its attributes):
    memory holds the open elements only. At most ``most`` elements, when given."""
    stack = []
    seen = 0
    for event, element in iterparse(source, events=("start", "end")):
        if event == "start":
            seen += 1
            if most is not None and seen > most:
                raise LimitExceeded("members", most, part=source.name)
            stack.append(element)
            if len(stack) > limits.span_elements:
                raise LimitExceeded("structure", part=source.name)
            yield event, element
            continue
        stack.pop()
        yield event, element
        if stack:
            del stack[-1][:]
        source.release()


class XlsxWorkbook:
    """An opened ``.xlsx`` package: its sheet names, and the rows of any of its sheets.

    ``limits`` default to the settings' (``Limits.from_settings``); ``deadline`` is a
    ``time.monotonic()`` value after which reading stops (``LimitExceeded("time")``).
    """

    def __init__(self, file, *, limits: Limits | None = None, deadline: float | None = None):
        self.limits = limits if limits is not None else Limits.from_settings()
        self.deadline = deadline
        try:
            self._check_directory(file)
            self.archive = zipfile.ZipFile(file)
            self._check_members()
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
            with self._open(workbook_path) as source:
                for event, element in _walk(source, self.limits):
                    if event != "end":
                        continue
                    tag = _local(element.tag)
                    if tag == "sheet":
                        rel = next(
                            (v for k, v in element.attrib.items() if _local(k) == "id"), None
                        )
                        target = targets.get(rel)
                        if target is not None and target[1] in names:
                            self.sheets.append((element.get("name", ""), target[1], target[0]))
                            if len(self.sheets) > self.limits.members:
                                raise LimitExceeded("members", self.limits.members)
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
            if self._strings_path is not None:
                self._check_size(self.archive.getinfo(self._strings_path))
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
    def _check_directory(self, file) -> None:
        """Before ``zipfile`` reads the central directory: how many members it declares."""
        declared = _declared_members(file)
        file.seek(0)
        if declared is not None and declared > self.limits.members:
            raise LimitExceeded("members", self.limits.members)

    def _check_members(self) -> None:
        """The central directory's declared sizes, before anything is inflated."""
        total = 0
        for info in self.archive.infolist():
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                # Excel and every other writer deflate; other methods inflate without bound
                # in one call of zipfile's reader.
                raise UnreadableFile(f"{info.filename}: compression {info.compress_type}")
            self._check_size(info)
            total += info.file_size
            if total > self.limits.unpacked_bytes:
                raise LimitExceeded("unpacked", self.limits.unpacked_bytes // MB)
        self._budget = [self.limits.unpacked_bytes]

    def _part_limit(self, name: str) -> int:
        if name == getattr(self, "_strings_path", None):
            return self.limits.shared_strings_bytes
        return self.limits.part_bytes

    def _check_size(self, info: zipfile.ZipInfo) -> None:
        limit = self._part_limit(info.filename)
        if info.file_size > limit:
            raise LimitExceeded("part", limit // MB, part=info.filename)

    def _open(self, name: str) -> _Inflating:
        """A member, counted as it inflates. zipfile would stop at the size the header
        declares and fail the CRC; it is let go on up to the member's limit, so that the count
        stops a header that lies (one read after the declared size) and names it as such."""
        info = self.archive.getinfo(name)
        self._check_size(info)
        relaxed = copy.copy(info)
        relaxed.file_size = self._part_limit(name) + 1
        return _Inflating(
            self.archive.open(relaxed),
            name,
            info.file_size,
            self._budget,
            self.limits,
            self.deadline,
        )

    def _office_document(self) -> str:
        try:
            source = self._open("_rels/.rels")
        except KeyError:
            return "xl/workbook.xml"
        with source:
            for event, element in _walk(source, self.limits, self.limits.members):
                if (
                    event == "end"
                    and _local(element.tag) == "Relationship"
                    and element.get("Type", "").endswith("/" + _OFFICE_DOCUMENT)
                ):
                    return element.get("Target", "").lstrip("/")
        return "xl/workbook.xml"

    def _relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """``{relationship id: (kind, path in the archive)}`` of a part."""
        folder, name = posixpath.split(part)
        rels = posixpath.join(folder, "_rels", name + ".rels")
        found = {}
        try:
            source = self._open(rels)
        except KeyError:
            return found
        with source:
            for event, element in _walk(source, self.limits, self.limits.members):
                if event != "end" or element.tag != f"{{{_RELATIONSHIPS}}}Relationship":
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
        most = self.limits.styles
        custom: dict[int, str] = {}
        custom_seen = 0
        formats: list[int] = []
        # Only the formats of <numFmts> and the styles of <cellXfs> count: conditional formats
        # (<dxfs>) have number formats of their own, whose ids may repeat the cells' ones.
        in_cell_xfs = in_num_fmts = False
        with self._open(path) as source:
            for event, element in _walk(source, self.limits):
                tag = _local(element.tag)
                if tag in ("cellXfs", "numFmts"):
                    opening = event == "start"
                    limit = "styles" if tag == "cellXfs" else "number_formats"
                    if opening and _declared(element, "count") > most:
                        raise LimitExceeded(limit, most)
                    if tag == "cellXfs":
                        in_cell_xfs = opening
                    else:
                        in_num_fmts = opening
                elif event != "end":
                    continue
                elif tag == "numFmt" and in_num_fmts:
                    # Excel's longest format code is 255 characters.
                    custom[int(element.get("numFmtId", "0"))] = element.get("formatCode", "")[:255]
                    custom_seen += 1
                    if custom_seen > most:
                        raise LimitExceeded("number_formats", most)
                elif tag == "xf" and in_cell_xfs:
                    formats.append(int(element.get("numFmtId", "0")))
                    if len(formats) > most:
                        raise LimitExceeded("styles", most)
        dates, durations = set(), set()
        kinds: dict[int, tuple[bool, bool]] = {}
        for index, format_id in enumerate(formats):
            kind = kinds.get(format_id)
            if kind is None:
                code = custom.get(format_id) or BUILTIN_FORMATS.get(format_id, "General")
                kind = kinds[format_id] = (
                    is_date_format(code)
                    or (format_id in _EAST_ASIAN_DATES and format_id not in custom),
                    is_timedelta_format(code),
                )
            if kind[0]:
                dates.add(index)
            if kind[1]:
                durations.add(index)
        return frozenset(dates), frozenset(durations)

    def _shared_strings(self) -> list[str]:
        if self._strings is None:
            strings: list[str] = []
            most = self.limits.shared_strings
            most_held = self.limits.span_elements
            if self._strings_path is not None:
                root = None
                held = 0
                with self._open(self._strings_path) as source:
                    for event, element in iterparse(source, events=("start", "end")):
                        if event == "start":
                            held += 1
                            if held > most_held:
                                raise LimitExceeded("structure", part=source.name)
                            if root is None:
                                root = element
                                namespace = element.tag[: -len(_local(element.tag))]
                                si, t, r = namespace + "si", namespace + "t", namespace + "r"
                                # uniqueCount is the table's size; count, when alone, is.
                                declared = _declared(element, "uniqueCount")
                                if declared < 0:
                                    declared = _declared(element, "count")
                                if declared > most:
                                    raise LimitExceeded("shared_strings", most)
                            continue
                        if element.tag == si:
                            strings.append(_text_of(element, t, r))
                            if len(strings) > most:
                                raise LimitExceeded("shared_strings", most)
                            root.clear()
                            source.release()
                            held = 0
            self._strings = strings
        return self._strings

    # ------------------------------------------------------------------------- a sheet
    def dimension_rows(self, sheet: str) -> int | None:
        """The last row the sheet's ``<dimension>`` declares, if it declares one (it comes
        before the data; only the part before the first row is read). A dimension beyond
        the row or column limit stops here (``LimitExceeded``)."""
        try:
            with self._open(self._path(sheet)) as source:
                for held, (_event, element) in enumerate(iterparse(source, events=("start",))):
                    if held >= self.limits.span_elements:
                        raise LimitExceeded("structure", part=source.name)
                    tag = _local(element.tag)
                    if tag == "dimension":
                        row, column = _last_cell(element.get("ref", ""))
                        self._check_cell(row or 0, column or 0)
                        return row
                    if tag in ("sheetData", "row"):
                        return None
        except _BROKEN as exc:
            raise UnreadableFile(str(exc)) from exc
        return None

    def _check_cell(self, row: int, column: int) -> None:
        """A row number or a 0-based column beyond the limits (a header row and
        ``Limits.rows`` below it; ``Limits.columns``)."""
        if row > self.limits.rows + 1:
            raise LimitExceeded("rows", self.limits.rows)
        if column >= self.limits.columns:
            raise LimitExceeded("columns", self.limits.columns)

    def _path(self, sheet: str) -> str:
        for name, path, _kind in self.sheets:
            if name == sheet:
                return path
        raise KeyError(sheet)

    def rows(self, sheet: str, *, min_row: int = 1, max_col: int | None = None) -> Iterator:
        """``(row number, [values])`` for every row of the sheet from ``min_row``, with
        ``values[i]`` the value of the i-th column (``None`` when empty); rows the file does
        not contain are skipped. Reading stops at the end of the sheet's data."""
        try:
            strings = self._shared_strings()
            dates, durations, epoch = self.date_styles, self.duration_styles, self.epoch
            most_rows = self.limits.rows + 1  # the header row and the data rows below it
            most_columns = self.limits.columns
            width = most_columns if max_col is None else min(max_col, most_columns)
            most_held = self.limits.span_elements
            with self._open(self._path(sheet)) as source:
                parent = None
                row_number = rows_seen = held = 0
                for event, element in iterparse(source, events=("start", "end")):
                    if event == "start":
                        held += 1
                        if held > most_held:
                            raise LimitExceeded("structure", part=source.name)
                        if parent is None and _local(element.tag) == "sheetData":
                            parent = element
                            namespace = element.tag[: -len("sheetData")]
                            row_tag, cell_tag = namespace + "row", namespace + "c"
                            v_tag, is_tag = namespace + "v", namespace + "is"
                            t_tag, r_tag = namespace + "t", namespace + "r"
                        continue
                    if parent is None:
                        continue
                    if element.tag != row_tag:
                        if element is parent:
                            break  # what follows the data (merged cells, validations…)
                        continue
                    given = element.get("r")
                    row_number = int(float(given)) if given else row_number + 1
                    rows_seen += 1
                    if row_number > most_rows or rows_seen > most_rows:
                        raise LimitExceeded("rows", self.limits.rows)
                    if row_number >= min_row:
                        values: list = []
                        column = -1
                        for cell in element:
                            if cell.tag != cell_tag:
                                continue
                            reference = cell.get("r")
                            column = column_index(reference) if reference else column + 1
                            if column >= width:
                                if column >= most_columns:
                                    raise LimitExceeded("columns", most_columns)
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
                    source.release()
                    held = 0
        except _BROKEN as exc:
            raise UnreadableFile(str(exc)) from exc


def _declared(element, attribute: str) -> int:
    """A count an element declares (``-1`` when it declares none or not a number)."""
    value = element.get(attribute, "")
    return int(value) if value.isdigit() and len(value) < 19 else -1


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
