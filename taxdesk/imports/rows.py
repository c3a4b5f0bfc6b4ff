"""The row pipeline both kinds share. Checking reads the workbook a chunk of rows at a time,
checks each row's cells, the chunk against the rest of the file and against the database, and
keeps the valid rows' cleaned values in a spool file. Importing reads the spool a chunk at a
time, checks the chunk against the database again and writes its valid rows in one
transaction.

Memory stays bounded: a chunk of ``BATCH_SIZE`` rows is held at a time; what must be
remembered across the whole file (which numbers, serials and delivery notes were seen, on which
row) lives in a temporary on-disk SQLite file; only the first ``MAX_STORED_ERRORS`` errors are
kept. The reader's limits (``xlsx.Limits``) bound what the file may make it hold.

Time: a run is given a ``deadline`` (``time.monotonic()``); the reader checks it as the file
inflates and both phases between chunks, and the job fails as timed out.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from taxdesk.core import audit
from taxdesk.core.choices import AuditSource

from .columns import COLUMNS
from .models import MAX_STORED_ERRORS
from .sheets import SheetReader, cell_date, cell_text
from .xlsx import LimitExceeded, UnreadableFile

BATCH_SIZE = 1000
# At most this often (seconds) a run writes its progress.
PROGRESS_EVERY = 0.5
# The longest a stored cell value or message may be.
MAX_VALUE_LENGTH = 200


class FileProblem(Exception):
    """The file as a whole cannot be read (a job fails with the message)."""


def unreadable(exc: Exception | None = None) -> FileProblem:
    """The job's failure for a file the reader refused: the limit it went beyond, or that it
    cannot be read at all."""
    if isinstance(exc, LimitExceeded):
        return FileProblem(_limit_message(exc))
    return FileProblem(_("The file cannot be read as an .xlsx workbook."))


def timed_out() -> FileProblem:
    return FileProblem(
        _("Timed out: the run took longer than %(minutes)s minutes and was stopped.")
        % {"minutes": max(settings.IMPORTS_TIME_LIMIT_SECONDS // 60, 1)}
    )


def _limit_message(exc: LimitExceeded) -> str:
    values = {"max": exc.maximum, "part": exc.part}
    if exc.limit == "time":
        return str(timed_out())
    if exc.limit == "rows":
        return _("The file has more than %(max)s rows; split it into smaller files.") % values
    messages = {
        "unpacked": _("The file unpacks to more than %(max)s MB; split it into smaller files."),
        "part": _("The part %(part)s of the file unpacks to more than %(max)s MB."),
        "damaged": _(
            "The file is damaged: its part %(part)s unpacks to more than its header declares."
        ),
        "members": _("The file holds more than %(max)s parts or entries."),
        "structure": _(
            "The part %(part)s of the file has a cell, a tag or a nesting too large to read."
        ),
        "styles": _("The file has more than %(max)s cell styles."),
        "number_formats": _("The file has more than %(max)s number formats."),
        "shared_strings": _("The file has more than %(max)s shared strings."),
        "columns": _("The sheet has more than %(max)s columns."),
    }
    return messages[exc.limit] % values


def past(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline


@dataclass
class Row:
    """One data row: the cells as read, the values as cleaned, and what is wrong with it."""

    number: int
    raw: dict
    data: dict = field(default_factory=dict)
    problems: list[tuple[str, str, str]] = field(default_factory=list)
    existing: object = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, key: str, message, code: str) -> None:
        self.problems.append((key, str(message), code))

    def fail_with(self, key: str, exc: ValidationError) -> None:
        """Report a validator's error (its message with its parameters, and its code)."""
        for error in exc.error_list:
            message = error.message
            if error.params:
                message = message % error.params
            self.fail(key, message, error.code or "invalid")


class ErrorSink:
    """The errors of a run: the first ``cap`` stored as dicts, all of them counted."""

    def __init__(
        self,
        headers: dict[str, str],
        cap: int | None = None,
        items: list[dict] | None = None,
        count: int = 0,
    ):
        self.headers = headers
        self.cap = MAX_STORED_ERRORS if cap is None else cap
        self.items: list[dict] = list(items or [])
        self.count = count

    def add(self, row: int, key: str, value, message, code: str) -> None:
        self.count += 1
        if len(self.items) < self.cap:
            self.items.append(
                {
                    "row": row,
                    "column": self.headers.get(key, key),
                    "value": cell_text(value)[:MAX_VALUE_LENGTH],
                    "message": str(message)[: MAX_VALUE_LENGTH * 2],
                    "code": code,
                }
            )

    def add_row(self, row: Row) -> None:
        for key, message, code in row.problems:
            self.add(row.number, key, row.raw.get(key), message, code)


class SeenKeys:
    """Keys seen earlier in the file and the row that had them, kept on disk, not in memory.

    SQLite's private temporary database (an empty file name) lives in a small page cache and
    spills to a temporary file that is removed when it is closed.
    """

    def __init__(self):
        self._db = sqlite3.connect("", isolation_level=None)
        self._db.execute("PRAGMA cache_size=-4096")  # about 4 MB of pages in memory
        self._db.execute(
            "CREATE TABLE seen (ns TEXT, key TEXT, row INTEGER, payload TEXT, "
            "PRIMARY KEY (ns, key)) WITHOUT ROWID"
        )
        self._db.execute("BEGIN")

    def first(self, ns: str, key: str, row: int, payload: str = "") -> tuple[int, str] | None:
        """``None`` the first time ``key`` is seen; afterwards the first row and its payload."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO seen VALUES (?, ?, ?, ?)", (ns, key, row, payload)
        )
        if cursor.rowcount == 1:
            return None
        return self._db.execute(
            "SELECT row, payload FROM seen WHERE ns = ? AND key = ?", (ns, key)
        ).fetchone()

    def close(self) -> None:
        self._db.close()


def chunks(items: Iterable, size: int) -> Iterator[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# ----------------------------------------------------------------------------- cell checks
def take_text(row: Row, key: str, max_length: int, *, required: bool = False) -> str:
    """The cell as text, checked for presence and length; stored in ``row.data`` if given."""
    value = cell_text(row.raw.get(key))
    if not value:
        if required:
            row.fail(key, _("This column is required."), "required")
        return ""
    if len(value) > max_length:
        row.fail(
            key,
            _("At most %(max)s characters (this has %(length)s).")
            % {"max": max_length, "length": len(value)},
            "too_long",
        )
        return ""
    row.data[key] = value
    return value


def word_lookup(words: dict[str, str], choices) -> dict[str, str]:
    """Every way a cell may name a choice: the template's words, the stored values and the
    labels in the current language, compared without case."""
    table = {value.lower(): value for value in choices.values}
    table.update({str(label).lower(): value for value, label in choices.choices})
    table.update({word.lower(): value for word, value in words.items()})
    return table


def take_choice(row: Row, key: str, table: dict[str, str], shown: Iterable[str]) -> str:
    value = cell_text(row.raw.get(key))
    if not value:
        return ""
    found = table.get(value.lower())
    if found is None:
        row.fail(
            key,
            _("“%(value)s” is not one of: %(choices)s.")
            % {"value": value, "choices": "、".join(shown)},
            "bad_choice",
        )
        return ""
    row.data[key] = found
    return found


def take_date(
    row: Row,
    key: str,
    *,
    required: bool = False,
    today: date | None = None,
    future_message=None,
    future_code: str = "future_date",
):
    raw = row.raw.get(key)
    if cell_text(raw) == "":
        if required:
            row.fail(key, _("This column is required."), "required")
        return None
    value = cell_date(raw)
    if value is None:
        row.fail(
            key,
            _("“%(value)s” is not a date (write it like 2025-09-26).") % {"value": cell_text(raw)},
            "bad_date",
        )
        return None
    if today is not None and value > today:
        row.fail(key, future_message or _("The date cannot be in the future."), future_code)
        return None
    row.data[key] = value
    return value


# ----------------------------------------------------------------------------- the importers
class Importer:
    """What one kind of row means: how its cells are checked, and how valid rows are written.

    ``parse`` checks one row's cells (no database); ``check`` checks a chunk of parsed rows
    against the database (a few queries per chunk, never per row); ``write`` writes a chunk
    of valid rows inside the caller's transaction and returns (created, updated, unchanged).
    """

    kind = ""
    # The column naming the record: a file may name each record once.
    key_column = ""

    def __init__(self, job, by=None):
        self.job = job
        self.unit = job.service_unit
        self.by = by
        self.today = timezone.localdate()

    def prepare(self) -> None:
        pass

    def parse(self, number: int, values: dict) -> Row:
        raise NotImplementedError

    def check_file(self, rows: list[Row], seen: SeenKeys) -> None:
        header = self.headers[self.key_column]
        for row in rows:
            key = row.data.get(self.key_column)
            if not key:
                continue
            first = seen.first(self.key_column, key, row.number)
            if first is not None:
                row.fail(
                    self.key_column,
                    _("Row %(row)s has the same %(column)s: a file may name each record once.")
                    % {"row": first[0], "column": header},
                    "duplicate_in_file",
                )

    def check(self, rows: list[Row]) -> None:
        raise NotImplementedError

    def write(self, rows: list[Row]) -> tuple[int, int, int]:
        raise NotImplementedError

    def dump(self, data: dict) -> dict:
        """A row's cleaned values as JSON (for the spool)."""
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in data.items()}

    def load(self, data: dict) -> dict:
        """The cleaned values back from :meth:`dump`."""
        return dict(data)

    @property
    def headers(self) -> dict[str, str]:
        return {column.key: column.header for column in COLUMNS[self.kind]}


@dataclass
class Outcome:
    errors: ErrorSink | None
    total: int = 0
    valid: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class Spool:
    """The valid rows of a checked file, cleaned, one JSON line each, in a temporary file
    (then kept with the job): the import reads them back instead of parsing the workbook and
    cleaning every cell again."""

    def __init__(self):
        self.file = tempfile.NamedTemporaryFile(suffix=".jsonl")

    def add(self, importer: Importer, row: Row) -> None:
        line = {
            "n": row.number,
            "r": {k: cell_text(v)[:MAX_VALUE_LENGTH] for k, v in row.raw.items() if v is not None},
            "d": importer.dump(row.data),
        }
        self.file.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode())
        self.file.write(b"\n")

    def close(self) -> None:
        self.file.close()


def _report(progress, outcome, expected, last: list[float], force=False) -> None:
    now = time.monotonic()
    if progress and (force or now - last[0] >= PROGRESS_EVERY):
        progress(outcome, expected)
        last[0] = now


def _readable(rows: Iterator) -> Iterator:
    """The reader's rows; a part of the file that cannot be parsed fails the whole job."""
    try:
        yield from rows
    except UnreadableFile as exc:
        raise unreadable(exc) from exc


def check_file(
    job,
    importer: Importer,
    *,
    spool: Spool,
    progress: Callable[[Outcome, int | None], None] | None = None,
    deadline: float | None = None,
) -> Outcome:
    """Read the job's workbook chunk by chunk and check every row; nothing is written but
    the valid rows' cleaned values, into ``spool``."""
    outcome = Outcome(ErrorSink(importer.headers))
    last = [time.monotonic()]
    most = settings.IMPORTS_MAX_ROWS
    with job.file.open("rb") as handle:
        try:
            reader = SheetReader(handle, job.kind, deadline=deadline)
        except Exception as exc:
            raise unreadable(exc) from exc
        seen = SeenKeys()
        try:
            _report(progress, outcome, reader.expected_rows, last, force=True)
            for column in reader.missing:
                outcome.errors.add(
                    1,
                    column.key,
                    "",
                    _("The column “%(header)s” is missing from the header row.")
                    % {"header": column.header},
                    "missing_column",
                )
            for header in reader.repeated:
                outcome.errors.add(
                    1,
                    header,
                    header,
                    _("The column “%(header)s” appears twice in the header row.")
                    % {"header": header},
                    "repeated_column",
                )
            if outcome.errors.count:
                return outcome
            importer.prepare()
            for chunk in chunks(_readable(reader.rows()), BATCH_SIZE):
                if past(deadline):
                    raise timed_out()
                if outcome.total + len(chunk) > most:
                    raise FileProblem(
                        _("The file has more than %(max)s rows; split it into smaller files.")
                        % {"max": most}
                    )
                rows = [importer.parse(number, values) for number, values in chunk]
                importer.check_file(rows, seen)
                importer.check(rows)
                for row in rows:
                    if row.ok:
                        outcome.valid += 1
                        spool.add(importer, row)
                    else:
                        outcome.errors.add_row(row)
                outcome.total += len(rows)
                _report(progress, outcome, reader.expected_rows, last)
            _report(progress, outcome, reader.expected_rows, last, force=True)
        finally:
            seen.close()
            reader.close()
    return outcome


def spooled_rows(importer: Importer, handle) -> Iterator[Row]:
    for line in handle:
        if not line.strip():
            continue
        item = json.loads(line)
        yield Row(item["n"], item["r"], importer.load(item["d"]))


def import_rows(
    job,
    importer: Importer,
    *,
    by,
    errors: ErrorSink,
    progress: Callable[[Outcome, int | None], None] | None = None,
    on_chunk: Callable[[Outcome], None] | None = None,
    deadline: float | None = None,
) -> Outcome:
    """Write the checked rows chunk by chunk, each chunk in one transaction after checking it
    again against the database as it is now (a row that became invalid is reported and
    skipped). A failing chunk leaves the database as it was for that chunk; past the
    ``deadline`` no further chunk starts."""
    outcome = Outcome(errors)
    last = [time.monotonic()]
    importer.prepare()
    with job.rows_file.open("rb") as handle:
        for rows in chunks(spooled_rows(importer, handle), BATCH_SIZE):
            if past(deadline):
                raise timed_out()
            with transaction.atomic(), audit.acting(by, source=AuditSource.TASK):
                importer.check(rows)
                created, updated, unchanged = importer.write([r for r in rows if r.ok])
            outcome.created += created
            outcome.updated += updated
            outcome.unchanged += unchanged
            for row in rows:
                if row.ok:
                    outcome.valid += 1
                else:
                    errors.add_row(row)
            outcome.total += len(rows)
            if on_chunk:
                on_chunk(outcome)
            _report(progress, outcome, None, last)
    _report(progress, outcome, None, last, force=True)
    return outcome
