"""The calendar in force (store) and the actions that enter and correct it.

rules.md, "What the source leaves open": a clock that runs into a year nobody has entered yet
counts weekdays and is provisional; it is recomputed when the year is entered.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db.models import F

from taxdesk.clocks.actions import start_deadline, stop_deadline
from taxdesk.clocks.models import Deadline
from taxdesk.core.choices import AuditAction, AuditSource
from taxdesk.core.models import AuditEntry
from taxdesk.customers.models import Taxpayer
from taxdesk.workdays import store
from taxdesk.workdays.actions import (
    add_day_override,
    enter_year,
    parse_dates,
    remove_day_override,
)
from taxdesk.workdays.models import CalendarDay, CalendarRevision, CalendarYear
from taxdesk.workdays.store import bump_revision, current_calendar

SH = ZoneInfo("Asia/Shanghai")
SPRING_2027 = [date(2027, 2, d) for d in range(5, 12)]


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def new_taxpayer(cast) -> Taxpayer:
    n = Taxpayer.objects.count() + 1
    return Taxpayer.objects.create(
        number=f"91330100CAL{n:07d}",
        name=f"企业历{n}",
        service_unit=cast.unit_a,
        tax_office=cast.office_a,
    )


def start(record, rule, at, by):
    return start_deadline(
        record, rule, started_at=at, service_unit=record.service_unit, taxpayer=record, by=by
    )


def codes(exc: ValidationError) -> dict[str, list[str]]:
    return {field: [e.code for e in errors] for field, errors in exc.error_dict.items()}


def calendar_entries():
    return AuditEntry.objects.filter(
        content_type__in=[
            ContentType.objects.get_for_model(CalendarYear),
            ContentType.objects.get_for_model(CalendarDay),
        ]
    )


@pytest.fixture
def provisional(cast):
    """INS-06 started Tuesday 2026-12-29: 12-30, 12-31 and Friday 2027-01-01 (a weekday guess)."""
    clock = start(new_taxpayer(cast), "INS-06", sh(2026, 12, 29, 10), cast.sales_a)
    clock.refresh_from_db()
    assert clock.provisional is True
    assert clock.due_at == sh(2027, 1, 1, 23, 59, 59)
    return clock


# ----------------------------------------------------------------- provisional clocks
@pytest.mark.rule("INS-06")
def test_ins_06_clock_into_an_unknown_year_is_provisional(cast, provisional):
    assert 2027 not in current_calendar().official_years
    # A clock that stays inside a known year is not.
    assert not Deadline.objects.get(pk=cast.clock_pa1.pk).provisional


@pytest.mark.rule("INS-06")
def test_ins_06_entering_2027_recomputes_the_provisional_clock(
    cast, provisional, django_capture_on_commit_callbacks
):
    other = start(new_taxpayer(cast), "INS-06", sh(2027, 2, 4, 10), cast.sales_a)
    assert other.due_at == sh(2027, 2, 9, 23, 59, 59)  # Fri 5, Mon 8, Tue 9 as weekdays
    cast_clock_due = Deadline.objects.get(pk=cast.clock_pa1.pk).due_at
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        row = enter_year(
            year=2027,
            holidays=[date(2027, 1, 1), *SPRING_2027],
            workdays=[date(2027, 2, 13)],
            notice="国办发明电〔2026〕号",
            by=cast.supervisor_x,
        )
    assert len(callbacks) == 1
    assert row.holidays[0] == "2027-01-01"
    provisional.refresh_from_db()
    assert provisional.provisional is False
    # 2027-01-01 is a holiday now: 12-30, 12-31, Monday 01-04.
    assert provisional.due_at == sh(2027, 1, 4, 23, 59, 59)
    other.refresh_from_db()
    # 02-05..02-11 off, Saturday 02-13 a make-up day: 02-12, 02-13, 02-15.
    assert other.due_at == sh(2027, 2, 15, 23, 59, 59)
    assert not other.provisional
    # The recompute ran as a background job and is in the trail; other clocks were untouched.
    moved = AuditEntry.objects.get(
        content_type=ContentType.objects.get_for_model(Deadline),
        object_id=str(provisional.pk),
        action=AuditAction.UPDATE,
    )
    assert moved.source == AuditSource.TASK
    assert Deadline.objects.get(pk=cast.clock_pa1.pk).due_at == cast_clock_due
    entry = calendar_entries().get()
    assert entry.actor == cast.supervisor_x
    assert entry.action == AuditAction.CREATE


@pytest.mark.rule("INS-06")
def test_ins_06_correcting_an_entered_year_moves_clocks_again(
    cast, provisional, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        enter_year(year=2027, holidays=[], workdays=[], notice="", by=cast.supervisor_x)
    provisional.refresh_from_db()
    assert provisional.due_at == sh(2027, 1, 1, 23, 59, 59)
    assert provisional.provisional is False
    with django_capture_on_commit_callbacks(execute=True):
        enter_year(
            year=2027, holidays=[date(2027, 1, 1)], workdays=[], notice="", by=cast.supervisor_x
        )
    provisional.refresh_from_db()
    assert provisional.due_at == sh(2027, 1, 4, 23, 59, 59)
    assert CalendarYear.objects.count() == 1
    assert [e.action for e in calendar_entries().order_by("id")] == [
        AuditAction.CREATE,
        AuditAction.UPDATE,
    ]


@pytest.mark.rule("INS-06")
def test_ins_06_closed_clocks_are_not_recomputed(
    cast, provisional, django_capture_on_commit_callbacks
):
    stop_deadline(provisional.record, "INS-06", at=sh(2027, 1, 2, 10), by=cast.sales_a)
    with django_capture_on_commit_callbacks(execute=True):
        enter_year(
            year=2027, holidays=[date(2027, 1, 1)], workdays=[], notice="", by=cast.supervisor_x
        )
    provisional.refresh_from_db()
    assert provisional.status == "breached"
    assert provisional.due_at == sh(2027, 1, 1, 23, 59, 59)


@pytest.mark.rule("MNT-03")
def test_mnt_03_day_override_moves_open_clocks_and_removing_it_moves_them_back(
    cast, django_capture_on_commit_callbacks
):
    clock = start(cast.pa1, "MNT-03", sh(2025, 9, 30, 16), cast.dispatcher_a)
    assert clock.due_at == sh(2025, 10, 9, 16)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        row = add_day_override(
            day=date(2025, 10, 8), is_workday=True, reason="  补班  ", by=cast.supervisor_x
        )
    assert len(callbacks) == 1
    assert row.reason == "补班"
    clock.refresh_from_db()
    assert clock.due_at == sh(2025, 10, 8, 16)
    with django_capture_on_commit_callbacks(execute=True):
        remove_day_override(row, by=cast.supervisor_x)
    assert not CalendarDay.objects.exists()
    clock.refresh_from_db()
    assert clock.due_at == sh(2025, 10, 9, 16)
    assert [e.action for e in calendar_entries().order_by("id")] == [
        AuditAction.CREATE,
        AuditAction.DELETE,
    ]


@pytest.mark.rule("INS-06")
def test_ins_06_day_override_in_an_unknown_year_keeps_the_clock_provisional(
    cast, provisional, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        add_day_override(
            day=date(2027, 1, 1), is_workday=False, reason="元旦", by=cast.supervisor_x
        )
    provisional.refresh_from_db()
    assert provisional.due_at == sh(2027, 1, 4, 23, 59, 59)
    # One known day does not make the year known.
    assert provisional.provisional is True


# ----------------------------------------------------------------- enter_year refusals
@pytest.mark.parametrize(
    "holidays, workdays, field",
    [
        # A day in both lists (Saturday 01-02).
        ([date(2027, 1, 1), date(2027, 1, 2)], [date(2027, 1, 2)], "workdays"),
        # A date outside the year.
        ([date(2026, 12, 31), date(2027, 1, 1)], [], "holidays"),
        ([date(2027, 1, 1)], [date(2028, 1, 8)], "workdays"),
        # A make-up working day on a weekday (Monday 01-04).
        ([date(2027, 1, 1)], [date(2027, 1, 4)], "workdays"),
    ],
)
def test_enter_year_conflicts_are_refused_and_change_nothing(
    cast, provisional, django_capture_on_commit_callbacks, holidays, workdays, field
):
    revision = store._revision()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(ValidationError) as excinfo:
            enter_year(
                year=2027, holidays=holidays, workdays=workdays, notice="", by=cast.supervisor_x
            )
    assert codes(excinfo.value) == {field: ["conflict"]}
    assert callbacks == []
    assert not CalendarYear.objects.exists()
    assert store._revision() == revision
    assert not calendar_entries().exists()
    provisional.refresh_from_db()
    assert provisional.provisional is True


def test_enter_year_outside_the_supported_range_is_refused(cast):
    with pytest.raises(ValidationError) as excinfo:
        enter_year(year=2100, holidays=[], workdays=[], notice="", by=cast.supervisor_x)
    assert codes(excinfo.value) == {"year": ["conflict"]}
    assert not CalendarYear.objects.exists()


@pytest.mark.parametrize("user", ["admin_a", "technician_a", "tax_a", "taxpayer_pa1"])
def test_enter_year_by_anyone_but_the_supervision_body_is_forbidden(
    cast, provisional, django_capture_on_commit_callbacks, user
):
    revision = store._revision()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(ValidationError) as excinfo:
            enter_year(
                year=2027, holidays=[date(2027, 1, 1)], workdays=[], notice="", by=cast.users[user]
            )
    assert excinfo.value.code == "forbidden"
    assert callbacks == []
    assert not CalendarYear.objects.exists()
    assert store._revision() == revision
    assert not calendar_entries().exists()


def test_enter_year_by_either_supervision_body_and_the_superuser(
    cast, django_capture_on_commit_callbacks
):
    # The national calendar belongs to no tenant: any supervision officer keeps it.
    with django_capture_on_commit_callbacks(execute=True):
        enter_year(year=2027, holidays=[], workdays=[], notice="", by=cast.supervisor_y)
        enter_year(year=2028, holidays=[], workdays=[], notice="", by=cast.root)
    assert sorted(CalendarYear.objects.values_list("year", flat=True)) == [2027, 2028]


# ----------------------------------------------------------------- add_day_override refusals
def test_add_day_override_refusals_change_nothing(cast):
    add_day_override(day=date(2025, 10, 8), is_workday=True, reason="补班", by=cast.supervisor_x)
    revision = store._revision()
    entries = calendar_entries().count()
    cases = [
        # The same date twice.
        (dict(day=date(2025, 10, 8), is_workday=False, reason="改回"), {"date": ["duplicate"]}),
        # A change that changes nothing: Tuesday 09-30 is already a working day …
        (dict(day=date(2025, 9, 30), is_workday=True, reason="x"), {"is_workday": ["no_change"]}),
        # … and National Day already a rest day.
        (dict(day=date(2025, 10, 1), is_workday=False, reason="x"), {"is_workday": ["no_change"]}),
        # No reason.
        (dict(day=date(2025, 10, 7), is_workday=True, reason="   "), {"reason": ["required"]}),
        (dict(day=date(2100, 1, 1), is_workday=True, reason="x"), {"date": ["out_of_range"]}),
    ]
    for kwargs, expected in cases:
        with pytest.raises(ValidationError) as excinfo:
            add_day_override(by=cast.supervisor_x, **kwargs)
        assert codes(excinfo.value) == expected, kwargs
    with pytest.raises(ValidationError) as excinfo:
        add_day_override(day=date(2025, 10, 7), is_workday=True, reason="x", by=cast.admin_a)
    assert excinfo.value.code == "forbidden"
    assert list(CalendarDay.objects.values_list("date", flat=True)) == [date(2025, 10, 8)]
    assert store._revision() == revision
    assert calendar_entries().count() == entries


def test_add_day_override_no_change_message_names_the_day(cast):
    with pytest.raises(ValidationError) as excinfo:
        add_day_override(day=date(2025, 9, 30), is_workday=True, reason="x", by=cast.supervisor_x)
    assert "2025-09-30" in excinfo.value.message_dict["is_workday"][0]


# ----------------------------------------------------------------- parse_dates
@pytest.mark.parametrize(
    "text, expected",
    [
        ("", []),
        ("2027-01-01", [date(2027, 1, 1)]),
        ("2027-01-02\n2027-01-01\n\n", [date(2027, 1, 1), date(2027, 1, 2)]),
        ("2027-01-01, 2027-01-02,2027-01-03", [date(2027, 1, d) for d in (1, 2, 3)]),
        ("2027-01-01，2027-01-02；2027-01-03", [date(2027, 1, d) for d in (1, 2, 3)]),
        ("2027-02-05..2027-02-11", SPRING_2027),
        ("2027-02-05~2027-02-11", SPRING_2027),
        ("2027-02-05 ~ 2027-02-11", SPRING_2027),
        ("2027-02-05至2027-02-11", SPRING_2027),
        ("2027-02-07..2027-02-07", [date(2027, 2, 7)]),
        # Duplicates and overlaps collapse; the result is sorted.
        ("2027-02-08, 2027-01-01\n2027-02-05..2027-02-11", [date(2027, 1, 1), *SPRING_2027]),
    ],
)
def test_parse_dates_lists_commas_and_ranges(text, expected):
    assert parse_dates(text, field="holidays") == expected


@pytest.mark.parametrize(
    "text, token",
    [
        ("2027-01-01, 2027-13-01", "2027-13-01"),
        ("2027-01-01\nnext-monday", "next-monday"),
        ("2027/01/01", "2027/01/01"),
        ("2027-02-11..2027-02-05", "2027-02-11..2027-02-05"),  # a range the wrong way round
        ("2027-02-05..", "2027-02-05.."),
    ],
)
def test_parse_dates_bad_token_is_named(text, token):
    with pytest.raises(ValidationError) as excinfo:
        parse_dates(text, field="workdays")
    assert codes(excinfo.value) == {"workdays": ["bad_date"]}
    assert token in excinfo.value.message_dict["workdays"][0]


# ----------------------------------------------------------------- the store
def test_current_calendar_is_cached_while_the_revision_is_unchanged(db, django_assert_num_queries):
    first = current_calendar()
    with django_assert_num_queries(1):
        second = current_calendar()
    with django_assert_num_queries(1):
        third = current_calendar()
    assert first is second is third


def test_bump_revision_rebuilds_the_calendar(db, django_assert_num_queries):
    before = current_calendar()
    bump_revision()
    # The revision, the entered years, the day corrections.
    with django_assert_num_queries(3):
        after = current_calendar()
    assert after is not before
    with django_assert_num_queries(1):
        assert current_calendar() is after


def test_bump_revision_moves_the_revision_from_nothing(db):
    assert not CalendarRevision.objects.exists()
    assert store._revision() == 0
    bump_revision()
    first = store._revision()
    bump_revision()
    second = store._revision()
    assert 0 != first != second
    assert CalendarRevision.objects.get().revision == second


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_revision_does_not_leave_a_stale_calendar():
    """A calendar built inside a transaction that rolls back is never reused later."""
    from django.db import transaction

    base = current_calendar()
    with pytest.raises(RuntimeError), transaction.atomic():
        CalendarDay.objects.create(date=date(2025, 10, 8), is_workday=True, reason="回滚")
        bump_revision()
        assert current_calendar().is_workday(date(2025, 10, 8)) is True
        raise RuntimeError("roll back")
    assert current_calendar().is_workday(date(2025, 10, 8)) is False
    assert base.is_workday(date(2025, 10, 8)) is False


def test_a_revision_moved_by_another_process_is_noticed(db):
    bump_revision()
    cached = current_calendar()
    assert cached.is_workday(date(2025, 10, 8)) is False
    # Another process adds a correction and bumps the counter; this process's cache is
    # untouched (no bump_revision() here), only the database row moves.
    CalendarDay.objects.create(date=date(2025, 10, 8), is_workday=True, reason="补班")
    CalendarRevision.objects.filter(pk=1).update(revision=F("revision") + 1)
    rebuilt = current_calendar()
    assert rebuilt is not cached
    assert rebuilt.is_workday(date(2025, 10, 8)) is True


def test_an_entered_year_replaces_the_official_data_of_its_year(db):
    official = current_calendar()
    assert 2025 in official.official_years
    assert official.is_workday(date(2025, 10, 1)) is False  # National Day
    assert official.is_workday(date(2025, 9, 28)) is True  # Sunday make-up day
    CalendarYear.objects.create(
        year=2025, holidays=["2025-12-31"], workdays=["2025-12-27"], notice="test"
    )
    bump_revision()
    cal = current_calendar()
    assert 2025 in cal.entered_years
    assert 2025 not in cal.official_years
    # Nothing of the official 2025 data is left: plain weekdays plus what was entered.
    assert cal.is_workday(date(2025, 10, 1)) is True
    assert cal.is_workday(date(2025, 9, 28)) is False
    assert cal.is_workday(date(2025, 12, 31)) is False
    assert cal.is_workday(date(2025, 12, 27)) is True
    assert not cal.is_provisional(date(2025, 6, 1))
    # Other years keep the official data.
    assert cal.is_workday(date(2024, 10, 1)) is False


def test_entered_2027_is_no_longer_provisional_in_the_store(db):
    assert current_calendar().is_provisional(date(2027, 1, 1))
    CalendarYear.objects.create(year=2027, holidays=["2027-01-01"], workdays=[])
    CalendarDay.objects.create(date=date(2027, 1, 4), is_workday=False, reason="停电")
    bump_revision()
    cal = current_calendar()
    assert not cal.is_provisional(date(2027, 1, 1))
    assert cal.is_workday(date(2027, 1, 1)) is False
    assert cal.is_workday(date(2027, 1, 4)) is False
    assert cal.add_workdays(date(2026, 12, 31), 1) == date(2027, 1, 5)


def test_enter_year_without_make_up_working_days(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        row = enter_year(
            year=2027, holidays=[date(2027, 1, 1)], workdays=[], notice="", by=cast.supervisor_x
        )
    row.refresh_from_db()
    assert row.holidays == ["2027-01-01"]
    assert row.workdays == []
    assert current_calendar().is_workday(date(2027, 1, 1)) is False
