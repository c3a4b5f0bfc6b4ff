"""Module-level working-day helpers delegating to the active calendar.

Every function takes an optional keyword ``calendar``; ``None`` means
:func:`taxdesk.workdays.calendar.get_calendar`. Pure Python, no Django.
"""

from __future__ import annotations

from datetime import date, datetime

from taxdesk.worktime.calendar import WorkdayCalendar, get_calendar
from taxdesk.worktime.hours import (
    DEFAULT_HOURS,
    WorkingHours,
    add_working_time,
    working_time_between,
)

__all__ = [
    "DEFAULT_HOURS",
    "WorkingHours",
    "add_workdays",
    "add_working_time",
    "is_workday",
    "provisional_between",
    "workday_deadline",
    "workdays_between",
    "working_time_between",
]


def _cal(calendar: WorkdayCalendar | None) -> WorkdayCalendar:
    return get_calendar() if calendar is None else calendar


def is_workday(day: date, *, calendar: WorkdayCalendar | None = None) -> bool:
    """True if ``day`` is a working day."""
    return _cal(calendar).is_workday(day)


def add_workdays(day: date, n: int, *, calendar: WorkdayCalendar | None = None) -> date:
    """The ``n``-th working day after ``day`` (before it if ``n < 0``; ``day`` if 0)."""
    return _cal(calendar).add_workdays(day, n)


def workdays_between(a: date, b: date, *, calendar: WorkdayCalendar | None = None) -> int:
    """Number of working days ``d`` with ``a < d <= b`` (negated if ``b < a``)."""
    return _cal(calendar).workdays_between(a, b)


def workday_deadline(
    moment: datetime, n: int, *, calendar: WorkdayCalendar | None = None
) -> datetime:
    """23:59:59 Asia/Shanghai of the ``n``-th working day after ``moment``'s local date."""
    return _cal(calendar).workday_deadline(moment, n)


def provisional_between(a: date, b: date, *, calendar: WorkdayCalendar | None = None) -> bool:
    """True if any day between ``a`` and ``b`` (inclusive) lies in a provisional year."""
    return _cal(calendar).provisional_between(a, b)
