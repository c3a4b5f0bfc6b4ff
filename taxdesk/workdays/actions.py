"""Entering and correcting the calendar. Every change moves the open clocks it touches."""

from __future__ import annotations

import re
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from taxdesk.core import audit
from taxdesk.core.errors import field_error as _field_error
from taxdesk.core.scoping import ADD, CHANGE, DELETE, scope_filter
from taxdesk.worktime.calendar import FIRST_YEAR, LAST_YEAR, WorkdayCalendar

from .models import CALENDAR_SCOPE, CalendarDay, CalendarYear
from .signals import calendar_changed
from .store import bump_revision, year_data

_RANGE_MARK = re.compile(r"\s*(?:\.\.|~|至)\s*")


def parse_dates(text: str, *, field: str) -> list[date]:
    """Dates from text: one per line or separated by commas; ``a..b`` (or ``a~b``) is a range."""
    days: set[date] = set()
    for token in re.split(r"[,，;；\s]+", _RANGE_MARK.sub("..", text)):
        if not token:
            continue
        try:
            if ".." in token:
                first, _sep, last = token.partition("..")
                start, end = date.fromisoformat(first), date.fromisoformat(last)
                if end < start:
                    raise ValueError
                days.update(start + timedelta(days=i) for i in range((end - start).days + 1))
            else:
                days.add(date.fromisoformat(token))
        except ValueError:
            raise _field_error(
                field,
                _(
                    "“%(token)s” is not a date like 2027-01-01 or a range like "
                    "2027-02-05..2027-02-11."
                )
                % {"token": token},
                "bad_date",
            ) from None
    return sorted(days)


def _require(by, action: str) -> None:
    if scope_filter(CALENDAR_SCOPE, by, action) is None:
        raise ValidationError(_("You may not change the calendar."), code="forbidden")


def _check_year(year: int, holidays: list[date], workdays: list[date]) -> None:
    problems: dict[str, list[str]] = {}
    if not FIRST_YEAR <= year <= LAST_YEAR:
        problems.setdefault("year", []).append(
            _("The calendar covers %(first)s to %(last)s.")
            % {"first": FIRST_YEAR, "last": LAST_YEAR}
        )
    for field, days in (("holidays", holidays), ("workdays", workdays)):
        for day in days:
            if day.year != year:
                problems.setdefault(field, []).append(
                    _("%(day)s is not in %(year)s.") % {"day": day, "year": year}
                )
    for day in sorted(set(holidays) & set(workdays)):
        problems.setdefault("workdays", []).append(
            _("%(day)s cannot be both a holiday and a make-up working day.") % {"day": day}
        )
    for day in workdays:
        if day.weekday() < 5 and day not in holidays:
            problems.setdefault("workdays", []).append(
                _(
                    "%(day)s is a weekday, already a working day; a make-up working day falls "
                    "on a weekend."
                )
                % {"day": day}
            )
    if problems:
        raise ValidationError(
            {
                field: [ValidationError(message, code="conflict") for message in messages]
                for field, messages in problems.items()
            }
        )


def _after_change(years: set[int]) -> None:
    bump_revision()
    transaction.on_commit(lambda: calendar_changed.send(sender=CalendarYear, years=sorted(years)))


def enter_year(
    *, year: int, holidays: list[date], workdays: list[date], notice: str, by
) -> CalendarYear:
    """Enter (or correct) a whole year from the State Council notice."""
    existing = CalendarYear.objects.filter(year=year).first()
    _require(by, CHANGE if existing else ADD)
    _check_year(year, holidays, workdays)
    with transaction.atomic(), audit.acting(by):
        row = existing or CalendarYear(year=year)
        row.holidays = [d.isoformat() for d in sorted(holidays)]
        row.workdays = [d.isoformat() for d in sorted(workdays)]
        row.notice = notice
        row.full_clean()
        row.save()
        _after_change({year})
    return row


def _calendar_without(day: date) -> WorkdayCalendar:
    years = [year_data(row) for row in CalendarYear.objects.all()]
    days = dict(CalendarDay.objects.exclude(date=day).values_list("date", "is_workday"))
    return WorkdayCalendar(years, days)


def add_day_override(*, day: date, is_workday: bool, reason: str, by) -> CalendarDay:
    """Make one day a working day or a rest day whatever the rest of the data says."""
    _require(by, ADD)
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise _field_error(
            "date",
            _("The calendar covers %(first)s to %(last)s.")
            % {"first": FIRST_YEAR, "last": LAST_YEAR},
            "out_of_range",
        )
    if not reason.strip():
        raise _field_error("reason", _("Say why the day is changed."), "required")
    if CalendarDay.objects.filter(date=day).exists():
        raise _field_error(
            "date",
            _("%(day)s already has a correction; remove it first.") % {"day": day},
            "duplicate",
        )
    if _calendar_without(day).is_workday(day) == is_workday:
        message = (
            _("%(day)s is already a working day.")
            if is_workday
            else _("%(day)s is already a rest day.")
        )
        raise _field_error("is_workday", message % {"day": day}, "no_change")
    with transaction.atomic(), audit.acting(by):
        row = CalendarDay.objects.create(date=day, is_workday=is_workday, reason=reason.strip())
        _after_change({day.year})
    return row


def remove_day_override(row: CalendarDay, *, by) -> None:
    _require(by, DELETE)
    with transaction.atomic(), audit.acting(by):
        row.delete()
        _after_change({row.date.year})
