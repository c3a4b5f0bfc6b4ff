"""The calendar in force: official data plus the rows administrators entered.

Each process keeps one built :class:`WorkdayCalendar` and the revision it was built from;
:func:`current_calendar` reads the revision (one indexed query) and rebuilds when it moved.
"""

from __future__ import annotations

import secrets
import threading
from datetime import date

from taxdesk.worktime.calendar import WorkdayCalendar, YearData

from .models import CalendarDay, CalendarRevision, CalendarYear

_lock = threading.Lock()
_built: tuple[int, WorkdayCalendar] | None = None


def _revision() -> int:
    value = CalendarRevision.objects.filter(pk=1).values_list("revision", flat=True).first()
    return value or 0


def year_data(row: CalendarYear) -> YearData:
    return YearData(
        row.year,
        frozenset(date.fromisoformat(d) for d in row.holidays),
        frozenset(date.fromisoformat(d) for d in row.workdays),
    )


def build_calendar() -> WorkdayCalendar:
    years = [year_data(row) for row in CalendarYear.objects.all()]
    days = dict(CalendarDay.objects.values_list("date", "is_workday"))
    return WorkdayCalendar(years, days)


def current_calendar() -> WorkdayCalendar:
    global _built
    revision = _revision()
    built = _built
    if built is not None and built[0] == revision:
        return built[1]
    with _lock:
        calendar = build_calendar()
        _built = (revision, calendar)
    return calendar


def bump_revision() -> None:
    """Mark the calendar data changed (inside the changing transaction).

    The new revision is random rather than a counter: a revision written by a transaction
    that rolls back can never come back later with other data behind it.
    """
    global _built
    revision = secrets.randbits(62)
    if not CalendarRevision.objects.filter(pk=1).update(revision=revision):
        CalendarRevision.objects.update_or_create(pk=1, defaults={"revision": revision})
    _built = None
