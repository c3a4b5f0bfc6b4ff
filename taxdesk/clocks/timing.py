"""When a clock falls due, given what it counts, its pauses and the calendar in force."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from taxdesk.worktime.calendar import WorkdayCalendar
from taxdesk.worktime.hours import WorkingHours, add_working_time, working_time_between

from .choices import ClockKind


@dataclass(frozen=True)
class Due:
    at: datetime
    provisional: bool


def _local_date(moment: datetime):
    return timezone.localtime(moment).date()


def compute_due(
    *,
    kind: str,
    started_at: datetime,
    calendar: WorkdayCalendar,
    workdays: int | None = None,
    work_seconds: int | None = None,
    working_hours: str = "",
    pauses: list[tuple[datetime, datetime]] = (),
) -> Due:
    """The due time of a clock, extended by the time it spent in closed pauses.

    A pause extends a clock by what it would have consumed of the clock's own measure:
    whole working days for a working-day clock, working time for a working-time clock,
    clock time for a clock-time one.
    """
    start_day = _local_date(started_at)
    if kind == ClockKind.WORKDAYS:
        extra = sum(calendar.workdays_between(_local_date(a), _local_date(b)) for a, b in pauses)
        due = calendar.workday_deadline(started_at, workdays + extra)
    elif kind == ClockKind.WORKTIME:
        hours = WorkingHours.parse(working_hours)
        extra = sum((working_time_between(a, b, hours, calendar) for a, b in pauses), timedelta())
        due = add_working_time(started_at, timedelta(seconds=work_seconds) + extra, hours, calendar)
    elif kind == ClockKind.WALL:
        extra = sum((b - a for a, b in pauses), timedelta())
        return Due(started_at + timedelta(seconds=work_seconds) + extra, False)
    else:
        raise ValueError(f"unknown clock kind {kind!r}")
    return Due(due, calendar.provisional_between(start_day, _local_date(due)))
