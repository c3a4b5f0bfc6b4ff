"""Working hours and working-time arithmetic (working-time clocks).

Working time runs only inside a service unit's opening intervals on working days.
For an aware ``moment`` with Asia/Shanghai local date ``D`` and local time ``t``::

    T(moment) = (working days strictly before D) * day_length
                + (working time elapsed on D up to t, or 0 if D is not a working day)

``working_time_between(a, b) = T(b) - T(a)`` and ``add_working_time(m, d)`` is the
earliest moment ``r`` with ``T(r) = T(m) + d``. Everything is computed in integer
microseconds from the calendar's precomputed working-day ordinals, so each call is
constant time in the duration and exact to the microsecond. The calendar to count on is
always passed in explicitly; there is no module-level default calendar.

This module is pure Python and must not import Django.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, time, timedelta

from .calendar import SHANGHAI, CalendarRangeError, WorkdayCalendar

__all__ = [
    "DEFAULT_HOURS",
    "WorkingHours",
    "add_working_time",
    "working_time_between",
]

_US_PER_SECOND = 1_000_000
_US_PER_MINUTE = 60 * _US_PER_SECOND
_US_PER_HOUR = 60 * _US_PER_MINUTE


def _time_to_us(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * _US_PER_SECOND + t.microsecond


def _us_to_time(us: int) -> time:
    seconds, micro = divmod(us, _US_PER_SECOND)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return time(hour, minute, second, micro)


def _format_time(t: time) -> str:
    if t.microsecond:
        return t.isoformat(timespec="microseconds")
    if t.second:
        return t.isoformat(timespec="seconds")
    return t.isoformat(timespec="minutes")


_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_RANGE_SPLIT_RE = re.compile(r"\s*[-–~]\s*")  # '-', en dash or tilde
_LIST_SPLIT_RE = re.compile(r"\s*[,，;；]\s*")  # ASCII or full-width comma / semicolon


def _parse_time(text: str, whole: str) -> time:
    m = _TIME_RE.match(text)
    if not m:
        raise ValueError(f"Invalid time {text!r} in working hours {whole!r}; expected HH:MM.")
    hour, minute, second = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"Invalid time {text!r} in working hours {whole!r}.")
    return time(hour, minute, second)


class WorkingHours:
    """One day's opening intervals, e.g. 09:00-12:00 and 13:00-18:00.

    Immutable and hashable. Intervals must be non-empty, sorted, and separated by a gap
    (touching intervals such as 09:00-12:00,12:00-18:00 must be written as one interval).
    Times must be naive; seconds and microseconds are allowed.
    """

    __slots__ = ("_before", "_hash", "_intervals", "_length", "_spans")

    DEFAULT: WorkingHours  # set below the class body

    def __init__(self, intervals: Iterable[tuple[time, time]]) -> None:
        items = tuple(tuple(pair) for pair in intervals)
        if not items:
            raise ValueError("Working hours need at least one opening interval.")
        spans: list[tuple[int, int]] = []
        for pair in items:
            if len(pair) != 2:
                raise ValueError(f"An opening interval must be a (start, end) pair, got {pair!r}.")
            start, end = pair
            for t in (start, end):
                if not isinstance(t, time):
                    raise ValueError(f"Opening times must be datetime.time values, got {t!r}.")
                if t.tzinfo is not None:
                    raise ValueError(f"Opening times must not carry a time zone, got {t!r}.")
            if not start < end:
                raise ValueError(
                    f"Opening interval {_format_time(start)}-{_format_time(end)} "
                    "must start before it ends."
                )
            s, e = _time_to_us(start), _time_to_us(end)
            if spans and s <= spans[-1][1]:
                prev = _us_to_time(spans[-1][0]), _us_to_time(spans[-1][1])
                what = "touches" if s == spans[-1][1] else "overlaps or precedes"
                raise ValueError(
                    f"Opening interval {_format_time(start)}-{_format_time(end)} {what} "
                    f"{_format_time(prev[0])}-{_format_time(prev[1])}; intervals must be "
                    "sorted and separated by a break."
                )
            spans.append((s, e))
        before: list[int] = []
        acc = 0
        for s, e in spans:
            before.append(acc)
            acc += e - s
        object.__setattr__(self, "_intervals", tuple((a, b) for a, b in items))
        object.__setattr__(self, "_spans", tuple(spans))
        object.__setattr__(self, "_before", tuple(before))
        object.__setattr__(self, "_length", acc)
        object.__setattr__(self, "_hash", hash(tuple(spans)))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("WorkingHours is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("WorkingHours is immutable")

    def __reduce__(self):
        return (WorkingHours, (self._intervals,))

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        """Parse ``"09:00-12:00,13:00-18:00"`` (spaces, full-width commas, ``;``, en dash
        and ``~`` tolerated). Raises ValueError on bad text."""
        if not isinstance(text, str):
            raise ValueError(f"Working hours must be text, got {type(text).__name__}.")
        stripped = text.strip()
        if not stripped:
            raise ValueError("Working hours text is empty.")
        intervals = []
        for part in _LIST_SPLIT_RE.split(stripped):
            bounds = _RANGE_SPLIT_RE.split(part.strip())
            if len(bounds) != 2 or not all(bounds):
                raise ValueError(
                    f"Invalid opening interval {part!r} in working hours {text!r}; "
                    "expected HH:MM-HH:MM."
                )
            intervals.append((_parse_time(bounds[0], text), _parse_time(bounds[1], text)))
        return cls(intervals)

    @property
    def intervals(self) -> tuple[tuple[time, time], ...]:
        return self._intervals

    @property
    def day_length(self) -> timedelta:
        """Total opening time of one working day."""
        return timedelta(microseconds=self._length)

    @property
    def opens(self) -> time:
        return self._intervals[0][0]

    @property
    def closes(self) -> time:
        return self._intervals[-1][1]

    def elapsed(self, t: time) -> timedelta:
        """Opening time elapsed on a working day from midnight up to local time ``t``."""
        return timedelta(microseconds=self._elapsed_us(_time_to_us(t)))

    def is_open(self, t: time) -> bool:
        """True if ``start <= t < end`` for some opening interval."""
        us = _time_to_us(t)
        return any(s <= us < e for s, e in self._spans)

    def _elapsed_us(self, us: int) -> int:
        total = 0
        for s, e in self._spans:
            if us <= s:
                break
            if us < e:
                return total + us - s
            total += e - s
        return total

    def _time_at(self, r: int) -> int:
        """Earliest time of day (us) at which ``r`` (0 < r <= length) us have elapsed."""
        spans, before = self._spans, self._before
        for k in range(len(spans) - 1, -1, -1):
            if r > before[k]:
                return spans[k][0] + r - before[k]
        raise AssertionError("unreachable")  # pragma: no cover

    def __str__(self) -> str:
        return ",".join(f"{_format_time(a)}-{_format_time(b)}" for a, b in self._intervals)

    def __repr__(self) -> str:
        return f"WorkingHours.parse({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WorkingHours):
            return NotImplemented
        return self._spans == other._spans

    def __hash__(self) -> int:
        return self._hash


DEFAULT_HOURS = WorkingHours([(time(9), time(12)), (time(13), time(18))])
WorkingHours.DEFAULT = DEFAULT_HOURS


def _local(moment: datetime, name: str) -> datetime:
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got a naive datetime)")
    return moment.astimezone(SHANGHAI)


def _check_calendar(calendar: object) -> None:
    if not isinstance(calendar, WorkdayCalendar):
        raise TypeError(
            f"calendar must be a WorkdayCalendar (the calendar in force), "
            f"got {type(calendar).__name__}"
        )


def _t_us(local: datetime, hours: WorkingHours, cal: WorkdayCalendar) -> int:
    """T(moment) in microseconds, for a datetime already in Asia/Shanghai."""
    day = local.date()
    t = cal.workday_ordinal(day) * hours._length
    if cal.is_workday(day):
        t += hours._elapsed_us(_time_to_us(local.time()))
    return t


def _as_us(duration: timedelta) -> int:
    return (duration.days * 86_400 + duration.seconds) * _US_PER_SECOND + duration.microseconds


def add_working_time(
    moment: datetime,
    duration: timedelta,
    hours: WorkingHours,
    calendar: WorkdayCalendar,
) -> datetime:
    """The earliest moment at which ``duration`` of working time has run since ``moment``.

    An event outside the opening hours starts counting at the next opening. Landing
    exactly on the end of an interval returns that end (e.g. 12:00, not 13:00).
    ``duration`` must be >= 0; 0 returns ``moment`` itself (converted to Asia/Shanghai).
    The result is an aware datetime in Asia/Shanghai.

    ``calendar`` is required (there is no default): pass the calendar in force, with the
    administrator's corrections (``taxdesk.workdays.store.current_calendar()``).
    """
    local = _local(moment, "moment")
    _check_calendar(calendar)
    if not isinstance(duration, timedelta):
        raise TypeError(f"duration must be a timedelta, got {type(duration).__name__}")
    if duration < timedelta(0):
        raise ValueError("duration of working time must not be negative")
    if not duration:
        return local
    length = hours._length
    target = _t_us(local, hours, calendar) + _as_us(duration)
    k, r = divmod(target, length)
    if r == 0:  # ends exactly at the close of a working day
        k -= 1
        r = length
    try:
        day = calendar.workday_at(k)
    except CalendarRangeError:
        raise CalendarRangeError(
            None,
            f"adding {duration} of working time to {local.isoformat()} goes beyond the "
            "supported calendar range",
        ) from None
    return datetime.combine(day, _us_to_time(hours._time_at(r)), tzinfo=SHANGHAI)


def working_time_between(
    a: datetime,
    b: datetime,
    hours: WorkingHours,
    calendar: WorkdayCalendar,
) -> timedelta:
    """Working time from ``a`` to ``b`` (negative if ``b`` is before ``a``).

    ``calendar`` is required (there is no default): pass the calendar in force.
    """
    la, lb = _local(a, "a"), _local(b, "b")
    _check_calendar(calendar)
    return timedelta(microseconds=_t_us(lb, hours, calendar) - _t_us(la, hours, calendar))
