"""Working-day calendar for mainland China (State Council holiday notices).

A :class:`WorkdayCalendar` precomputes, once per instance, for every day from
``FIRST_YEAR``-01-01 to ``LAST_YEAR``-12-31:

* whether the day is a working day,
* the cumulative number of working days before it (its *working-day ordinal*),
* the positions of all working days in order,
* the cumulative number of *provisional* days (days in a year for which neither the
  official data nor an administrator-entered year is available).

With these tables every query (``add_workdays``, ``workdays_between``,
``provisional_between`` ...) is a handful of list look-ups: constant time in ``n``.

Data sources, in increasing order of precedence:

1. Monday-Friday working, Saturday/Sunday rest (the fallback for unknown years,
   which are then *provisional*);
2. the official data shipped with ``chinese_calendar`` (``official=True``);
3. administrator-entered years (:class:`YearData`), which replace 1+2 for their year;
4. administrator-entered single-day overrides, applied on top of everything.

This module is pure Python and must not import Django.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time

__all__ = [
    "DEADLINE_TIME",
    "FIRST_YEAR",
    "LAST_YEAR",
    "OFFICIAL_YEARS",
    "SHANGHAI",
    "CalendarRangeError",
    "WorkdayCalendar",
    "YearData",
]

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
FIRST_YEAR = 2004
LAST_YEAR = 2099

#: Local time-of-day at which a working-day deadline falls due.
DEADLINE_TIME = time(23, 59, 59)

_FIRST_DAY = date(FIRST_YEAR, 1, 1)
_LAST_DAY = date(LAST_YEAR, 12, 31)
_BASE_ORD = _FIRST_DAY.toordinal()
_NUM_DAYS = _LAST_DAY.toordinal() - _BASE_ORD + 1


class CalendarRangeError(ValueError):
    """A date (given or computed) lies outside ``FIRST_YEAR``..``LAST_YEAR``."""

    def __init__(self, day: date | None = None, message: str | None = None):
        self.day = day
        if message is None:
            message = (
                f"{day.isoformat() if day is not None else 'date'} is outside the supported "
                f"calendar range {_FIRST_DAY.isoformat()}..{_LAST_DAY.isoformat()}"
            )
        super().__init__(message)


def _load_official() -> tuple[frozenset[int], frozenset[date], frozenset[date]]:
    """Read chinese_calendar's data tables once (never queried per call)."""
    try:
        from chinese_calendar import constants
    except ImportError:  # pragma: no cover - the package is a hard dependency
        return frozenset(), frozenset(), frozenset()
    holidays = frozenset(constants.holidays)
    workdays = frozenset(constants.workdays)
    if not holidays:  # pragma: no cover
        return frozenset(), frozenset(), frozenset()
    # Same coverage rule as chinese_calendar._validate_date: min..max year of holidays.
    lo = max(min(holidays).year, FIRST_YEAR)
    hi = min(max(holidays).year, LAST_YEAR)
    return frozenset(range(lo, hi + 1)), holidays, workdays


_OFFICIAL_YEARS, _OFFICIAL_HOLIDAYS, _OFFICIAL_WORKDAYS = _load_official()

#: Years covered by the installed chinese_calendar package (within FIRST_YEAR..LAST_YEAR).
OFFICIAL_YEARS: frozenset[int] = _OFFICIAL_YEARS


def _check_date(day: object) -> None:
    if isinstance(day, datetime):
        raise TypeError(
            "expected a date, got a datetime; convert it to its Asia/Shanghai local date first"
        )
    if not isinstance(day, date):
        raise TypeError(f"expected a date, got {type(day).__name__}")


@dataclass(frozen=True)
class YearData:
    """An administrator-entered year.

    ``holidays`` are days off that would otherwise (Monday-Friday) be working days;
    ``workdays`` are make-up working days that would otherwise (weekend) be rest days.
    An entered year replaces the official data for that year entirely.
    """

    year: int
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        # Accept any iterable for convenience, store frozensets (keeps the class hashable).
        if not isinstance(self.holidays, frozenset):
            object.__setattr__(self, "holidays", frozenset(self.holidays))
        if not isinstance(self.workdays, frozenset):
            object.__setattr__(self, "workdays", frozenset(self.workdays))

    def errors(self) -> list[str]:
        """Problems that make the data contradictory (a subset of :meth:`validate`)."""
        problems: list[str] = []
        if not isinstance(self.year, int) or not FIRST_YEAR <= self.year <= LAST_YEAR:
            problems.append(
                f"Year {self.year} is outside the supported range {FIRST_YEAR}-{LAST_YEAR}."
            )
        for kind, days in (("Holiday", self.holidays), ("Make-up working day", self.workdays)):
            for day in sorted(days, key=_sort_key):
                if not isinstance(day, date) or isinstance(day, datetime):
                    problems.append(f"{kind} {day!r} is not a date.")
                elif day.year != self.year:
                    problems.append(f"{kind} {day.isoformat()} is not in year {self.year}.")
        for day in sorted(self.holidays & self.workdays, key=_sort_key):
            problems.append(f"{_fmt(day)} is both a holiday and a make-up working day.")
        return problems

    def validate(self) -> list[str]:
        """Return human-readable problems (English); an empty list means valid."""
        problems = self.errors()
        both = self.holidays & self.workdays
        for day in sorted(self.holidays - both, key=_sort_key):
            if _is_plain_date(day) and day.year == self.year and day.weekday() >= 5:
                problems.append(
                    f"Holiday {day.isoformat()} ({_weekday(day)}) is already a rest day."
                )
        for day in sorted(self.workdays - both, key=_sort_key):
            if _is_plain_date(day) and day.year == self.year and day.weekday() < 5:
                problems.append(
                    f"Make-up working day {day.isoformat()} ({_weekday(day)}) "
                    "is already a working day."
                )
        return problems


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _weekday(day: date) -> str:
    """English weekday name, independent of the process locale."""
    return _WEEKDAYS[day.weekday()]


def _is_plain_date(value: object) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def _sort_key(value: object) -> tuple[int, str]:
    if _is_plain_date(value):
        return (0, value.isoformat())  # type: ignore[union-attr]
    return (1, repr(value))


def _fmt(value: object) -> str:
    return value.isoformat() if _is_plain_date(value) else repr(value)  # type: ignore[union-attr]


class WorkdayCalendar:
    """Precomputed working-day calendar for ``FIRST_YEAR``..``LAST_YEAR``.

    :param years: administrator-entered years, as a mapping ``year -> YearData`` or an
        iterable of :class:`YearData`. Each replaces the official data for its year.
    :param days: single-day overrides ``date -> is working day``, applied last.
    :param official: use chinese_calendar's official data for the years it covers.
    :raises ValueError: contradictory entered data (see :meth:`YearData.errors`),
        duplicate years, or a mapping key that differs from ``YearData.year``.
    :raises CalendarRangeError: an entered year or override date out of range.

    Instances are not modified after construction and are safe to share between threads.
    """

    __slots__ = (
        "_cum",
        "_overrides",
        "_pos",
        "_prov_cum",
        "_work",
        "entered_years",
        "official_years",
    )

    def __init__(
        self,
        years: Mapping[int, YearData] | Iterable[YearData] = (),
        days: Mapping[date, bool] | Iterable[tuple[date, bool]] = (),
        *,
        official: bool = True,
    ) -> None:
        entered = self._collect_years(years)
        overrides = dict(days.items() if isinstance(days, Mapping) else days)
        for day, value in overrides.items():
            _check_date(day)
            if not _FIRST_DAY <= day <= _LAST_DAY:
                raise CalendarRangeError(day)
            overrides[day] = bool(value)

        official_years = (_OFFICIAL_YEARS - entered.keys()) if official else frozenset()
        self.official_years: frozenset[int] = frozenset(official_years)
        self.entered_years: frozenset[int] = frozenset(entered)
        self._overrides = overrides

        # --- per-day working flag and provisional flag --------------------------------
        work = bytearray(_NUM_DAYS)
        prov = bytearray(_NUM_DAYS)
        # Weekday of the first day; Monday == 0.
        wd0 = _FIRST_DAY.weekday()
        for i in range(_NUM_DAYS):
            if (wd0 + i) % 7 < 5:
                work[i] = 1
        for year in range(FIRST_YEAR, LAST_YEAR + 1):
            if year not in entered and year not in official_years:
                start = date(year, 1, 1).toordinal() - _BASE_ORD
                end = date(year, 12, 31).toordinal() - _BASE_ORD + 1
                prov[start:end] = b"\x01" * (end - start)
        for d in _OFFICIAL_HOLIDAYS:
            if d.year in official_years:
                work[d.toordinal() - _BASE_ORD] = 0
        for d in _OFFICIAL_WORKDAYS:
            if d.year in official_years:
                work[d.toordinal() - _BASE_ORD] = 1
        for data in entered.values():
            for d in data.holidays:
                work[d.toordinal() - _BASE_ORD] = 0
            for d in data.workdays:
                work[d.toordinal() - _BASE_ORD] = 1
        for d, value in overrides.items():
            work[d.toordinal() - _BASE_ORD] = 1 if value else 0

        # --- cumulative tables ---------------------------------------------------------
        cum = [0] * (_NUM_DAYS + 1)  # cum[i] = working days among day indices [0, i)
        prov_cum = [0] * (_NUM_DAYS + 1)
        pos: list[int] = []
        c = p = 0
        for i in range(_NUM_DAYS):
            if work[i]:
                pos.append(i)
                c += 1
            p += prov[i]
            cum[i + 1] = c
            prov_cum[i + 1] = p
        self._work = bytes(work)
        self._cum = tuple(cum)
        self._pos = tuple(pos)
        self._prov_cum = tuple(prov_cum)

    @staticmethod
    def _collect_years(years: Mapping[int, YearData] | Iterable[YearData]) -> dict[int, YearData]:
        entered: dict[int, YearData] = {}
        if isinstance(years, Mapping):
            items = list(years.items())
        else:
            items = [(None, y) for y in years]
        for key, data in items:
            if not isinstance(data, YearData):
                raise TypeError(f"expected YearData, got {type(data).__name__}")
            if key is not None and key != data.year:
                raise ValueError(f"Mapping key {key} does not match YearData.year {data.year}.")
            if not isinstance(data.year, int) or not FIRST_YEAR <= data.year <= LAST_YEAR:
                raise CalendarRangeError(
                    None,
                    f"Entered year {data.year} is outside the supported range "
                    f"{FIRST_YEAR}-{LAST_YEAR}",
                )
            if data.year in entered:
                raise ValueError(f"Year {data.year} was entered more than once.")
            problems = data.errors()
            if problems:
                raise ValueError(f"Invalid data for year {data.year}: " + " ".join(problems))
            entered[data.year] = data
        return entered

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _index(day: date) -> int:
        if isinstance(day, datetime) or not isinstance(day, date):
            _check_date(day)
        i = day.toordinal() - _BASE_ORD
        if not 0 <= i < _NUM_DAYS:
            raise CalendarRangeError(day)
        return i

    @staticmethod
    def _day(index: int) -> date:
        return date.fromordinal(index + _BASE_ORD)

    def _beyond(self, day: date, n: int) -> CalendarRangeError:
        direction = "after" if n > 0 else "before"
        return CalendarRangeError(
            None,
            f"the {abs(n)}-th working day {direction} {day.isoformat()} is outside the "
            f"supported calendar range {_FIRST_DAY.isoformat()}..{_LAST_DAY.isoformat()}",
        )

    # ------------------------------------------------------------------ queries
    @property
    def overrides(self) -> Mapping[date, bool]:
        """The single-day overrides this calendar was built with (a copy)."""
        return dict(self._overrides)

    def is_known_year(self, year: int) -> bool:
        """True if the year has official or administrator-entered data."""
        return year in self.official_years or year in self.entered_years

    def is_workday(self, day: date) -> bool:
        return self._work[self._index(day)] == 1

    def is_provisional(self, day: date) -> bool:
        """True if ``day`` lies in a year known to neither the official data nor an entry.

        Single-day overrides do not change this: the rest of the year is still a guess.
        """
        i = self._index(day)
        return self._prov_cum[i + 1] != self._prov_cum[i]

    def provisional_between(self, a: date, b: date) -> bool:
        """True if any day in ``[min(a, b), max(a, b)]`` is provisional."""
        i, j = self._index(a), self._index(b)
        if j < i:
            i, j = j, i
        return self._prov_cum[j + 1] != self._prov_cum[i]

    def add_workdays(self, day: date, n: int) -> date:
        """The ``n``-th working day after ``day`` (``day`` itself not counted).

        ``n < 0``: the ``|n|``-th working day before ``day``; ``n == 0``: ``day`` itself.
        """
        i = self._index(day)
        if n > 0:
            k = self._cum[i + 1] + n - 1
            if k >= len(self._pos):
                raise self._beyond(day, n)
        elif n < 0:
            k = self._cum[i] + n
            if k < 0:
                raise self._beyond(day, n)
        else:
            return day
        return date.fromordinal(self._pos[k] + _BASE_ORD)

    def workdays_between(self, a: date, b: date) -> int:
        """Number of working days ``d`` with ``a < d <= b``; its negative if ``b < a``."""
        return self._cum[self._index(b) + 1] - self._cum[self._index(a) + 1]

    def next_workday(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        return self.add_workdays(day, 1)

    def previous_workday(self, day: date) -> date:
        """The last working day strictly before ``day``."""
        return self.add_workdays(day, -1)

    def workday_ordinal(self, day: date) -> int:
        """Number of working days from ``FIRST_YEAR``-01-01 strictly before ``day``."""
        return self._cum[self._index(day)]

    def workday_at(self, ordinal: int) -> date:
        """The working day with the given 0-based ordinal (inverse of :meth:`workday_ordinal`
        on working days)."""
        if not 0 <= ordinal < len(self._pos):
            raise CalendarRangeError(
                None,
                f"working-day ordinal {ordinal} is outside the supported calendar range "
                f"{_FIRST_DAY.isoformat()}..{_LAST_DAY.isoformat()}",
            )
        return date.fromordinal(self._pos[ordinal] + _BASE_ORD)

    def workday_deadline(self, moment: datetime | date, n: int) -> datetime:
        """Deadline of a working-day clock.

        The event's calendar day ``D`` is ``moment``'s local date in Asia/Shanghai
        (a plain ``date`` is taken as ``D`` directly). Returns 23:59:59 Asia/Shanghai of
        ``add_workdays(D, n)``.

        :raises ValueError: ``moment`` is a naive datetime.
        """
        if isinstance(moment, datetime):
            if moment.tzinfo is None or moment.utcoffset() is None:
                raise ValueError("moment must be timezone-aware (got a naive datetime)")
            day = moment.astimezone(SHANGHAI).date()
        elif isinstance(moment, date):
            day = moment
        else:
            raise TypeError(f"expected a datetime, got {type(moment).__name__}")
        return datetime.combine(self.add_workdays(day, n), DEADLINE_TIME, tzinfo=SHANGHAI)

    def __repr__(self) -> str:
        return (
            f"<WorkdayCalendar official={_years_text(self.official_years)} "
            f"entered={_years_text(self.entered_years)} overrides={len(self._overrides)}>"
        )


def _years_text(years: frozenset[int]) -> str:
    if not years:
        return "none"
    ys = sorted(years)
    if ys[-1] - ys[0] + 1 == len(ys):
        return f"{ys[0]}-{ys[-1]}" if len(ys) > 1 else str(ys[0])
    return ",".join(map(str, ys))
