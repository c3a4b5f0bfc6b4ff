"""Reads of clocks (breached or at risk, per-unit counts) and how time left reads."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from taxdesk.clocks.actions import pause_deadline, start_deadline, stop_deadline
from taxdesk.clocks.choices import ClockStatus, PauseReason
from taxdesk.clocks.display import format_span, remaining_text
from taxdesk.clocks.models import Deadline
from taxdesk.clocks.queries import breached_or_at_risk, unit_clock_counts
from taxdesk.customers.models import Taxpayer

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 9, 30, 15, 0, tzinfo=SH)


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def start(record, rule, at, by):
    return start_deadline(
        record, rule, started_at=at, service_unit=record.service_unit, taxpayer=record, by=by
    )


@pytest.fixture
def clocks(cast):
    """Clocks of units A and B around NOW (Tuesday 2025-09-30 15:00), by what they show."""
    pa3 = Taxpayer.objects.create(
        number="91330100MA000PA3",
        name="企业pa3",
        service_unit=cast.unit_a,
        tax_office=cast.office_a,
    )
    c = SimpleNamespace(cast=cast)
    # Past due and still running (due 14:00).
    c.past = start(cast.pa1, "MNT-04", sh(2025, 9, 30, 13), cast.dispatcher_a)
    # Due at 17:00, within the 4-hour window: 1 h on 09-29 and 7 h on 09-30.
    c.soon = start(cast.pa1, "MNT-03", sh(2025, 9, 29, 17), cast.dispatcher_a)
    # Met in time: not at risk any more.
    c.met = start(cast.pa2, "MNT-04", sh(2025, 9, 30, 13), cast.dispatcher_a)
    stop_deadline(cast.pa2, "MNT-04", at=sh(2025, 9, 30, 13, 30), by=cast.technician_a)
    # Closed late: breached, not running.
    c.breached = start(cast.pa2, "MNT-03", sh(2025, 9, 29, 9), cast.dispatcher_a)
    stop_deadline(cast.pa2, "MNT-03", at=sh(2025, 9, 30, 10), by=cast.technician_a)
    # Paused, its due time (14:00) has passed, but it does not run.
    c.paused = start(pa3, "MNT-04", sh(2025, 9, 30, 13), cast.dispatcher_a)
    pause_deadline(
        c.paused,
        reason=PauseReason.USER_UNREACHABLE,
        evidence="no answer",
        at=sh(2025, 9, 30, 13, 20),
        by=cast.technician_a,
    )
    # Unit B, past due.
    c.other_unit = start(cast.pb1, "MNT-04", sh(2025, 9, 30, 13), cast.technician_b)
    # The cast's INS-06 clocks fall due at 23:59:59 tonight: nine hours away.
    c.far = [cast.clock_pa1, cast.clock_pa2]
    return c


def pks(rows):
    return [row.pk for row in rows]


# ----------------------------------------------------------------- breached_or_at_risk
@pytest.mark.rule("MNT-04")
@pytest.mark.rule("MNT-03")
def test_mnt_04_breached_or_at_risk_of_a_unit_soonest_first_in_one_query(
    clocks, django_assert_num_queries
):
    unit_a = Deadline.objects.filter(service_unit=clocks.cast.unit_a)
    with django_assert_num_queries(1):
        rows = list(breached_or_at_risk(unit_a, now=NOW))
    assert pks(rows) == [clocks.past.pk, clocks.soon.pk]
    assert all(row.status == ClockStatus.RUNNING for row in rows)


@pytest.mark.rule("MNT-04")
def test_mnt_04_breached_or_at_risk_through_a_users_scope_is_one_query(
    clocks, django_assert_num_queries
):
    with django_assert_num_queries(1):
        rows = list(breached_or_at_risk(Deadline.objects.restrict(clocks.cast.admin_a), now=NOW))
    assert pks(rows) == [clocks.past.pk, clocks.soon.pk]
    with django_assert_num_queries(1):
        rows = list(
            breached_or_at_risk(Deadline.objects.restrict(clocks.cast.supervisor_x), now=NOW)
        )
    # Same due time (14:00): the id breaks the tie.
    assert pks(rows) == [clocks.past.pk, clocks.other_unit.pk, clocks.soon.pk]


@pytest.mark.rule("MNT-04")
def test_mnt_04_breached_or_at_risk_window_and_all_units(clocks):
    rows = breached_or_at_risk(now=NOW, window=timedelta(hours=1))
    assert pks(rows) == [clocks.past.pk, clocks.other_unit.pk]
    # Due exactly at now + window is not inside the window; a second later it is.
    assert clocks.soon.pk not in pks(breached_or_at_risk(now=sh(2025, 9, 30, 13)))
    assert clocks.soon.pk in pks(breached_or_at_risk(now=sh(2025, 9, 30, 13, 0, 1)))


@pytest.mark.rule("INS-06")
def test_ins_06_working_day_clock_enters_the_window_in_the_evening(clocks):
    unit_a = Deadline.objects.filter(service_unit=clocks.cast.unit_a)
    assert not {d.pk for d in clocks.far} & set(pks(breached_or_at_risk(unit_a, now=NOW)))
    evening = sh(2025, 9, 30, 21)
    rows = pks(breached_or_at_risk(unit_a, now=evening))
    assert rows == [
        clocks.past.pk,
        clocks.soon.pk,
        clocks.cast.clock_pa1.pk,
        clocks.cast.clock_pa2.pk,
    ]
    # A paused clock is never "at risk", however late it is.
    assert clocks.paused.pk not in rows


# ----------------------------------------------------------------- unit_clock_counts
def test_unit_clock_counts_open_overdue_breached_in_one_query(clocks, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = list(unit_clock_counts(Deadline.objects.all(), now=NOW))
    cast = clocks.cast
    assert rows == [
        # A: INS-06 ×2, past, soon, paused open; past overdue; one breached.
        {
            "service_unit_id": cast.unit_a.pk,
            "service_unit__name": "服务单位A",
            "open": 5,
            "overdue": 1,
            "breached": 1,
        },
        {
            "service_unit_id": cast.unit_b.pk,
            "service_unit__name": "服务单位B",
            "open": 2,
            "overdue": 1,
            "breached": 0,
        },
        {
            "service_unit_id": cast.unit_c.pk,
            "service_unit__name": "服务单位C",
            "open": 1,
            "overdue": 0,
            "breached": 0,
        },
    ]


def test_unit_clock_counts_follow_the_queryset_given(clocks, django_assert_num_queries):
    cast = clocks.cast
    with django_assert_num_queries(1):
        rows = list(unit_clock_counts(Deadline.objects.restrict(cast.supervisor_x), now=NOW))
    assert [r["service_unit_id"] for r in rows] == [cast.unit_a.pk, cast.unit_b.pk]
    late = {
        r["service_unit_id"]: r["overdue"]
        for r in unit_clock_counts(Deadline.objects.all(), now=sh(2025, 10, 1, 0, 0))
    }
    # After midnight the INS-06 clocks are overdue too (and the MNT-03 due at 17:00).
    assert late == {cast.unit_a.pk: 4, cast.unit_b.pk: 2, cast.unit_c.pk: 1}


# ----------------------------------------------------------------- how time left reads
def running(due_at):
    return SimpleNamespace(status="running", stopped_at=None, due_at=due_at)


@pytest.mark.parametrize(
    "span, zh, en",
    [
        (timedelta(minutes=35), "35 分钟", "35 minutes"),
        (timedelta(minutes=35, seconds=59), "35 分钟", "35 minutes"),
        (timedelta(minutes=1), "1 分钟", "1 minute"),
        (timedelta(hours=2), "2 小时", "2 hours"),
        (timedelta(hours=1, minutes=5), "1 小时 5 分钟", "1 hour 5 minutes"),
        (timedelta(days=2, hours=3, minutes=20), "2 天 3 小时", "2 days 3 hours"),
        (timedelta(days=1), "1 天", "1 day"),
        # With days, minutes are not shown even when there are no hours.
        (timedelta(days=2, minutes=20), "2 天", "2 days"),
        (-timedelta(hours=2), "2 小时", "2 hours"),
    ],
)
def test_format_span_in_chinese_and_english(span, zh, en):
    with translation.override("zh-hans"):
        assert format_span(span) == zh
    with translation.override("en"):
        assert format_span(span) == en


def test_format_span_under_a_minute():
    with translation.override("en"):
        assert format_span(timedelta(seconds=59)) == "less than a minute"


@pytest.mark.rule("MNT-04")
def test_mnt_04_remaining_text_left_and_overdue_in_chinese():
    with translation.override("zh-hans"):
        assert remaining_text(running(NOW + timedelta(minutes=35)), now=NOW) == "还剩 35 分钟"
        assert remaining_text(running(NOW - timedelta(hours=2)), now=NOW) == "已超时 2 小时"
        assert (
            remaining_text(running(NOW + timedelta(days=2, hours=3, minutes=5)), now=NOW)
            == "还剩 2 天 3 小时"
        )


@pytest.mark.rule("MNT-04")
def test_mnt_04_remaining_text_left_and_overdue_in_english():
    with translation.override("en"):
        assert remaining_text(running(NOW + timedelta(minutes=35)), now=NOW) == "35 minutes left"
        assert remaining_text(running(NOW - timedelta(hours=2)), now=NOW) == "2 hours overdue"
        assert remaining_text(running(NOW), now=NOW) == "less than a minute left"
        closed_late = SimpleNamespace(
            status="breached", stopped_at=NOW + timedelta(hours=3), due_at=NOW
        )
        assert remaining_text(closed_late, now=NOW) == "Closed 3 hours late"
        closed_in_time = SimpleNamespace(status="met", stopped_at=NOW, due_at=NOW)
        assert remaining_text(closed_in_time, now=NOW) == "Closed in time"
        paused = SimpleNamespace(status="paused", stopped_at=None, due_at=NOW - timedelta(1))
        assert remaining_text(paused, now=NOW) == "Paused"


@pytest.mark.rule("MNT-04")
def test_mnt_04_remaining_text_of_a_real_clock(clocks):
    clock = Deadline.objects.get(pk=clocks.soon.pk)
    with translation.override("en"):
        assert remaining_text(clock, now=NOW) == "2 hours left"
        assert remaining_text(Deadline.objects.get(pk=clocks.past.pk), now=NOW) == (
            "1 hour overdue"
        )
        assert remaining_text(Deadline.objects.get(pk=clocks.paused.pk), now=NOW) == "Paused"
