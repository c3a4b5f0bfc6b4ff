"""The clocks through their actions (rules.md, "How the clocks count").

Every clock here is started on a record of the cast (taxdesk/testing/cast.py) in a service unit
with the default hours 09:00-12:00,13:00-18:00, so the figures are the spec's own examples.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError

from taxdesk.clocks.actions import (
    pause_deadline,
    recompute_open_deadlines,
    resume_deadline,
    start_deadline,
    stop_deadline,
)
from taxdesk.clocks.choices import ClockKind, ClockStatus, PauseReason
from taxdesk.clocks.models import Deadline, DeadlinePause
from taxdesk.core.actions import update_service_unit
from taxdesk.core.choices import AuditAction, AuditSource
from taxdesk.core.models import AuditEntry
from taxdesk.customers.models import Taxpayer

SH = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def when(text: str) -> datetime:
    """A moment as the audit trail writes it (ISO 8601 with its offset)."""
    return datetime.fromisoformat(text)


def new_taxpayer(cast, unit_key: str = "a") -> Taxpayer:
    """A fresh record (the cast's taxpayers already carry an INS-06 clock)."""
    n = Taxpayer.objects.count() + 1
    return Taxpayer.objects.create(
        number=f"91330100TEST{n:06d}",
        name=f"企业新{n}",
        service_unit=cast.units[f"unit_{unit_key}"],
        tax_office=cast.offices[f"office_{unit_key}"],
    )


def start(record, rule, at, *, by, unit=None):
    return start_deadline(
        record,
        rule,
        started_at=at,
        service_unit=unit or record.service_unit,
        taxpayer=record,
        by=by,
    )


def entries(model, pk, action=None):
    qs = AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(model), object_id=str(pk)
    )
    if action is not None:
        qs = qs.filter(action=action)
    return qs.order_by("id")


# ----------------------------------------------------------------- working-day clocks
@pytest.mark.rule("INS-06")
def test_ins_06_cast_sale_friday_due_tuesday_end_of_day(cast):
    clock = Deadline.objects.get(pk=cast.clock_pa1.pk)
    assert clock.rule == "INS-06"
    assert clock.kind == ClockKind.WORKDAYS
    assert clock.workdays == 3
    assert clock.status == ClockStatus.RUNNING
    assert clock.due_at == sh(2025, 9, 30, 23, 59, 59)
    assert clock.provisional is False


@pytest.mark.rule("INS-06")
@pytest.mark.parametrize(
    "started_at",
    [
        sh(2025, 9, 26, 0, 0),
        sh(2025, 9, 26, 8, 59),
        sh(2025, 9, 26, 12, 30),
        sh(2025, 9, 26, 23, 59, 59),
        # 2025-09-25 16:30 UTC is already Friday 00:30 in Shanghai: the local date counts.
        datetime(2025, 9, 25, 16, 30, tzinfo=UTC),
    ],
)
def test_ins_06_sale_friday_at_any_hour_due_2025_09_30_23_59_59(cast, started_at):
    taxpayer = new_taxpayer(cast)
    clock = start(taxpayer, "INS-06", started_at, by=cast.sales_a)
    clock.refresh_from_db()
    # Sunday 09-28 is a make-up working day (调休): 28, 29, 30.
    assert clock.due_at == sh(2025, 9, 30, 23, 59, 59)
    assert clock.due_at.astimezone(SH).time().isoformat() == "23:59:59"
    assert not clock.provisional


@pytest.mark.rule("INS-06")
def test_ins_06_sale_on_a_rest_day_counts_from_the_next_working_day(cast):
    # Saturday 09-27 is a rest day; D itself is never counted: 28, 29, 30.
    clock = start(new_taxpayer(cast), "INS-06", sh(2025, 9, 27, 15), by=cast.sales_a)
    assert clock.due_at == sh(2025, 9, 30, 23, 59, 59)
    # Tuesday 09-30 before the national holiday: 10-09, 10-10, 10-11 (Saturday make-up day).
    clock = start(new_taxpayer(cast), "INS-06", sh(2025, 9, 30, 9), by=cast.sales_a)
    assert clock.due_at == sh(2025, 10, 11, 23, 59, 59)


@pytest.mark.rule("REP-06")
def test_rep_06_repair_entered_within_5_working_days(cast):
    clock = start(cast.pa1, "REP-06", sh(2025, 9, 26, 11), by=cast.repair_a)
    clock.refresh_from_db()
    assert clock.kind == ClockKind.WORKDAYS
    assert clock.workdays == 5
    # 09-28 (调休), 09-29, 09-30, [10-01..10-08 holiday], 10-09, 10-10.
    assert clock.due_at == sh(2025, 10, 10, 23, 59, 59)


@pytest.mark.rule("MNT-15")
def test_mnt_15_default_is_one_working_day_of_the_unit(cast):
    assert cast.unit_a.entry_deadline_workdays == 1
    clock = start(cast.pa1, "MNT-15", sh(2025, 9, 30, 15), by=cast.technician_a)
    clock.refresh_from_db()
    assert clock.workdays == 1
    assert clock.due_at == sh(2025, 10, 9, 23, 59, 59)


@pytest.mark.rule("MNT-15")
def test_mnt_15_unit_setting_moves_the_due_of_a_new_clock_only(cast):
    before = start(cast.pa1, "MNT-15", sh(2025, 9, 30, 15), by=cast.technician_a)
    update_service_unit(cast.unit_a, by=cast.admin_a, entry_deadline_workdays=3)
    after = start(cast.pa2, "MNT-15", sh(2025, 9, 30, 15), by=cast.technician_a)
    after.refresh_from_db()
    assert after.workdays == 3
    # 10-09, 10-10, 10-11 (Saturday make-up working day).
    assert after.due_at == sh(2025, 10, 11, 23, 59, 59)
    # What a clock counts is fixed when it starts.
    before.refresh_from_db()
    assert before.workdays == 1
    assert before.due_at == sh(2025, 10, 9, 23, 59, 59)
    # Another unit keeps its own setting.
    other = start(cast.pb1, "MNT-15", sh(2025, 9, 30, 15), by=cast.technician_b)
    assert other.workdays == 1


# ----------------------------------------------------------------- working-time clocks
@pytest.mark.rule("MNT-04")
def test_mnt_04_dispatched_2025_09_30_16_00_due_17_00_same_day(cast):
    clock = start(cast.pa1, "MNT-04", sh(2025, 9, 30, 16), by=cast.dispatcher_a)
    clock.refresh_from_db()
    assert clock.kind == ClockKind.WORKTIME
    assert clock.work_seconds == 3600
    assert clock.working_hours == "09:00-12:00,13:00-18:00"
    assert clock.due_at == sh(2025, 9, 30, 17)
    assert not clock.provisional


@pytest.mark.rule("MNT-04")
def test_mnt_04_dispatch_outside_hours_starts_at_the_next_opening(cast):
    # 19:00 on the eve of the national holiday: the clock starts at 10-09 09:00.
    clock = start(cast.pa1, "MNT-04", sh(2025, 9, 30, 19), by=cast.dispatcher_a)
    assert clock.due_at == sh(2025, 10, 9, 10)
    # In the lunch break: starts counting at 13:00.
    clock = start(cast.pa2, "MNT-04", sh(2025, 9, 29, 12, 10), by=cast.dispatcher_a)
    assert clock.due_at == sh(2025, 9, 29, 14)


@pytest.mark.rule("MNT-03")
def test_mnt_03_dispatched_2025_09_30_16_00_due_2025_10_09_16_00(cast):
    clock = start(cast.pa1, "MNT-03", sh(2025, 9, 30, 16), by=cast.dispatcher_a)
    clock.refresh_from_db()
    # "1 working day" is one full day of the unit's hours: 8 hours.
    assert clock.work_seconds == 8 * 3600
    # 2 h on 09-30, 6 h on 10-09.
    assert clock.due_at == sh(2025, 10, 9, 16)


@pytest.mark.rule("MNT-03")
def test_mnt_03_one_working_day_follows_the_units_own_hours(cast):
    update_service_unit(cast.unit_b, by=cast.admin_b, working_hours="08:30-12:00,13:30-17:30")
    clock = start(cast.pb1, "MNT-03", sh(2025, 9, 29, 8, 30), by=cast.technician_b)
    assert clock.work_seconds == int(7.5 * 3600)
    assert clock.working_hours == "08:30-12:00,13:30-17:30"
    assert clock.due_at == sh(2025, 9, 29, 17, 30)


# ----------------------------------------------------------------- starting and stopping
@pytest.mark.rule("MNT-04")
@pytest.mark.parametrize(
    "stopped_at, outcome",
    [
        (sh(2025, 9, 30, 16, 20), ClockStatus.MET),
        (sh(2025, 9, 30, 17, 0, 0), ClockStatus.MET),  # at the due time: met
        (sh(2025, 9, 30, 17, 0, 1), ClockStatus.BREACHED),
        (sh(2025, 10, 9, 9, 0), ClockStatus.BREACHED),
    ],
)
def test_mnt_04_stop_before_or_at_due_is_met_after_is_breached(cast, stopped_at, outcome):
    clock = start(cast.pa1, "MNT-04", sh(2025, 9, 30, 16), by=cast.dispatcher_a)
    stopped = stop_deadline(cast.pa1, "MNT-04", at=stopped_at, by=cast.technician_a)
    assert stopped.status == outcome
    clock.refresh_from_db()
    assert clock.status == outcome
    assert clock.stopped_at == stopped_at
    assert clock.due_at == sh(2025, 9, 30, 17)
    update = entries(Deadline, clock.pk, AuditAction.UPDATE).get()
    assert update.actor == cast.technician_a
    assert update.changes["status"] == ["running", outcome]


@pytest.mark.rule("INS-06")
@pytest.mark.parametrize(
    "stopped_at, outcome",
    [
        (sh(2025, 9, 30, 23, 59, 59), ClockStatus.MET),
        (sh(2025, 10, 1, 0, 0, 0), ClockStatus.BREACHED),
    ],
)
def test_ins_06_stop_at_the_end_of_the_last_day_is_met(cast, stopped_at, outcome):
    stopped = stop_deadline(cast.pa1, "INS-06", at=stopped_at, by=cast.sales_a)
    assert stopped.status == outcome


@pytest.mark.rule("INS-06")
def test_ins_06_stopping_twice_is_refused_clock_stopped(cast):
    stop_deadline(cast.pa1, "INS-06", at=sh(2025, 9, 29, 10), by=cast.sales_a)
    with pytest.raises(ValidationError) as excinfo:
        stop_deadline(cast.pa1, "INS-06", at=sh(2025, 10, 20, 10), by=cast.sales_a)
    assert excinfo.value.code == "clock_stopped"
    clock = Deadline.objects.get(pk=cast.clock_pa1.pk)
    assert clock.status == ClockStatus.MET
    assert clock.stopped_at == sh(2025, 9, 29, 10)
    assert entries(Deadline, clock.pk, AuditAction.UPDATE).count() == 1


@pytest.mark.rule("INS-06")
def test_ins_06_starting_the_same_rule_twice_on_a_record_is_refused_clock_exists(cast):
    with pytest.raises(ValidationError) as excinfo:
        start(cast.pa1, "INS-06", sh(2025, 10, 9, 10), by=cast.sales_a)
    assert excinfo.value.code == "clock_exists"
    assert Deadline.objects.filter(object_id=cast.pa1.pk, rule="INS-06").count() == 1
    assert Deadline.objects.get(pk=cast.clock_pa1.pk).due_at == sh(2025, 9, 30, 23, 59, 59)
    # Another rule on the same record is a clock of its own.
    start(cast.pa1, "MNT-04", sh(2025, 9, 30, 16), by=cast.dispatcher_a)


@pytest.mark.rule("MNT-04")
def test_mnt_04_naive_datetimes_are_refused(cast):
    with pytest.raises(ValidationError) as excinfo:
        start(cast.pa1, "MNT-04", datetime(2025, 9, 30, 16), by=cast.dispatcher_a)
    assert excinfo.value.code == "naive"
    assert not Deadline.objects.filter(rule="MNT-04").exists()
    start(cast.pa1, "MNT-04", sh(2025, 9, 30, 16), by=cast.dispatcher_a)
    with pytest.raises(ValidationError) as excinfo:
        stop_deadline(cast.pa1, "MNT-04", at=datetime(2025, 9, 30, 16, 30), by=cast.technician_a)
    assert excinfo.value.code == "naive"
    assert Deadline.objects.get(rule="MNT-04").status == ClockStatus.RUNNING


@pytest.mark.rule("MNT-04")
def test_mnt_04_stop_before_the_start_is_refused(cast):
    clock = start(cast.pa1, "MNT-04", sh(2025, 9, 30, 16), by=cast.dispatcher_a)
    with pytest.raises(ValidationError) as excinfo:
        stop_deadline(cast.pa1, "MNT-04", at=sh(2025, 9, 30, 15, 59), by=cast.technician_a)
    assert excinfo.value.code == "stop_before_start"
    clock.refresh_from_db()
    assert clock.status == ClockStatus.RUNNING
    assert clock.stopped_at is None
    assert not entries(Deadline, clock.pk, AuditAction.UPDATE).exists()


@pytest.mark.rule("MNT-04")
def test_mnt_04_stopping_a_clock_never_started_is_refused(cast):
    with pytest.raises(ValidationError) as excinfo:
        stop_deadline(cast.pa1, "MNT-04", at=sh(2025, 9, 30, 16), by=cast.technician_a)
    assert excinfo.value.code == "clock_missing"


@pytest.mark.rule("INS-06")
def test_ins_06_start_is_in_the_audit_trail(cast):
    taxpayer = new_taxpayer(cast)
    clock = start(taxpayer, "INS-06", sh(2025, 9, 26, 10), by=cast.sales_a)
    created = entries(Deadline, clock.pk, AuditAction.CREATE).get()
    assert created.actor == cast.sales_a
    assert created.unit_id == cast.unit_a.pk
    assert when(created.changes["due_at"][1]) == sh(2025, 9, 30, 23, 59, 59)


# ----------------------------------------------------------------- pauses
@pytest.mark.rule("MNT-04")
def test_mnt_04_pause_with_reason_and_evidence_then_resume_moves_due(cast):
    clock = start(cast.pa1, "MNT-04", sh(2025, 9, 30, 16), by=cast.dispatcher_a)
    pause = pause_deadline(
        clock,
        reason=PauseReason.USER_UNREACHABLE,
        evidence="  Called 3 times, no answer; SMS sent.  ",
        at=sh(2025, 9, 30, 16, 10),
        by=cast.technician_a,
    )
    clock.refresh_from_db()
    assert clock.status == ClockStatus.PAUSED
    assert pause.reason == PauseReason.USER_UNREACHABLE
    assert pause.evidence == "Called 3 times, no answer; SMS sent."
    assert pause.paused_by == cast.technician_a
    assert pause.ended_at is None
    # The due is not moved while the pause is open …
    assert clock.due_at == sh(2025, 9, 30, 17)

    resumed = resume_deadline(clock, at=sh(2025, 9, 30, 16, 40), by=cast.technician_a)
    assert resumed.status == ClockStatus.RUNNING
    clock.refresh_from_db()
    # … and moves by the 30 minutes of working time the pause consumed.
    assert clock.due_at == sh(2025, 9, 30, 17, 30)
    assert clock.paused_for == timedelta(minutes=30)
    pause.refresh_from_db()
    assert pause.ended_at == sh(2025, 9, 30, 16, 40)


@pytest.mark.rule("MNT-03")
def test_mnt_03_pause_over_the_night_consumes_working_hours_only(cast):
    clock = start(cast.pa1, "MNT-03", sh(2025, 9, 29, 9), by=cast.dispatcher_a)
    assert clock.due_at == sh(2025, 9, 29, 18)
    pause_deadline(
        clock,
        reason=PauseReason.USER_EQUIPMENT,
        evidence="The user's printer must be replaced.",
        at=sh(2025, 9, 29, 17),
        by=cast.technician_a,
    )
    resume_deadline(clock, at=sh(2025, 9, 30, 10), by=cast.technician_a)
    clock.refresh_from_db()
    # 17:00-18:00 and 09:00-10:00: two working hours, not the 17 hours on the wall.
    assert clock.due_at == sh(2025, 9, 30, 11)
    # The paused time is reported as it was lived, never hidden.
    assert clock.paused_for == timedelta(hours=17)


@pytest.mark.rule("MNT-04")
def test_mnt_04_two_pauses_add_up(cast):
    clock = start(cast.pa1, "MNT-04", sh(2025, 9, 30, 16), by=cast.dispatcher_a)
    for begin, end in (
        (sh(2025, 9, 30, 16, 5), sh(2025, 9, 30, 16, 15)),
        (
            sh(2025, 9, 30, 16, 30),
            sh(2025, 9, 30, 16, 50),
        ),
    ):
        pause_deadline(
            clock,
            reason=PauseReason.USER_UNREACHABLE,
            evidence="no answer",
            at=begin,
            by=cast.technician_a,
        )
        resume_deadline(clock, at=end, by=cast.technician_a)
    clock.refresh_from_db()
    assert clock.due_at == sh(2025, 9, 30, 17, 30)
    assert clock.paused_for == timedelta(minutes=30)
    assert clock.pauses.count() == 2


@pytest.mark.rule("INS-06")
def test_ins_06_pause_is_not_allowed(cast):
    clock = Deadline.objects.get(pk=cast.clock_pa1.pk)
    with pytest.raises(ValidationError) as excinfo:
        pause_deadline(
            clock,
            reason=PauseReason.USER_UNREACHABLE,
            evidence="no answer",
            at=sh(2025, 9, 29, 10),
            by=cast.sales_a,
        )
    assert excinfo.value.code == "pause_not_allowed"
    clock.refresh_from_db()
    assert clock.status == ClockStatus.RUNNING
    assert not DeadlinePause.objects.exists()


@pytest.mark.rule("MNT-04")
def test_mnt_04_pause_for_a_reason_its_rule_does_not_allow_is_refused(cast):
    clock = start(cast.pa1, "MNT-04", sh(2025, 9, 30, 16), by=cast.dispatcher_a)
    with pytest.raises(ValidationError) as excinfo:
        pause_deadline(
            clock,
            reason=PauseReason.USER_EQUIPMENT,
            evidence="printer broken",
            at=sh(2025, 9, 30, 16, 10),
            by=cast.technician_a,
        )
    assert excinfo.value.code == "pause_not_allowed"
    assert Deadline.objects.get(pk=clock.pk).status == ClockStatus.RUNNING


@pytest.mark.rule("MNT-04")
@pytest.mark.parametrize("evidence", ["", "   \n "])
def test_mnt_04_pause_without_evidence_is_refused(cast, evidence):
    clock = start(cast.pa1, "MNT-04", sh(2025, 9, 30, 16), by=cast.dispatcher_a)
    with pytest.raises(ValidationError) as excinfo:
        pause_deadline(
            clock,
            reason=PauseReason.USER_UNREACHABLE,
            evidence=evidence,
            at=sh(2025, 9, 30, 16, 10),
            by=cast.technician_a,
        )
    assert "evidence" in excinfo.value.error_dict
    assert excinfo.value.error_dict["evidence"][0].code == "evidence_required"
    assert Deadline.objects.get(pk=clock.pk).status == ClockStatus.RUNNING
    assert not DeadlinePause.objects.exists()


@pytest.mark.rule("MNT-04")
def test_mnt_04_pause_and_resume_out_of_order_are_refused(cast):
    clock = start(cast.pa1, "MNT-04", sh(2025, 9, 30, 16), by=cast.dispatcher_a)
    with pytest.raises(ValidationError) as excinfo:
        resume_deadline(clock, at=sh(2025, 9, 30, 16, 10), by=cast.technician_a)
    assert excinfo.value.code == "not_paused"
    with pytest.raises(ValidationError) as excinfo:
        pause_deadline(
            clock,
            reason=PauseReason.USER_UNREACHABLE,
            evidence="x",
            at=sh(2025, 9, 30, 15),
            by=cast.technician_a,
        )
    assert excinfo.value.code == "pause_early"
    pause_deadline(
        clock,
        reason=PauseReason.USER_UNREACHABLE,
        evidence="x",
        at=sh(2025, 9, 30, 16, 10),
        by=cast.technician_a,
    )
    with pytest.raises(ValidationError) as excinfo:
        pause_deadline(
            clock,
            reason=PauseReason.USER_UNREACHABLE,
            evidence="x",
            at=sh(2025, 9, 30, 16, 20),
            by=cast.technician_a,
        )
    assert excinfo.value.code == "not_running"
    with pytest.raises(ValidationError) as excinfo:
        resume_deadline(clock, at=sh(2025, 9, 30, 16, 5), by=cast.technician_a)
    assert excinfo.value.code == "resume_early"
    assert clock.pauses.count() == 1
    assert Deadline.objects.get(pk=clock.pk).status == ClockStatus.PAUSED


@pytest.mark.rule("MNT-04")
def test_mnt_04_stopping_a_paused_clock_closes_the_pause(cast):
    clock = start(cast.pa1, "MNT-04", sh(2025, 9, 30, 16), by=cast.dispatcher_a)
    pause = pause_deadline(
        clock,
        reason=PauseReason.USER_UNREACHABLE,
        evidence="no answer",
        at=sh(2025, 9, 30, 16, 10),
        by=cast.technician_a,
    )
    # Without the pause this stop (17:20) would be late; 70 min paused move the due to 18:10,
    # i.e. 10 minutes into the next working day.
    stopped = stop_deadline(cast.pa1, "MNT-04", at=sh(2025, 9, 30, 17, 20), by=cast.technician_a)
    assert stopped.status == ClockStatus.MET
    assert stopped.paused_for == timedelta(minutes=70)
    assert stopped.due_at == sh(2025, 10, 9, 9, 10)
    pause.refresh_from_db()
    assert pause.ended_at == sh(2025, 9, 30, 17, 20)
    assert not DeadlinePause.objects.filter(ended_at__isnull=True).exists()


@pytest.mark.rule("MNT-04")
def test_mnt_04_every_pause_change_is_in_the_audit_trail(cast):
    clock = start(cast.pa1, "MNT-04", sh(2025, 9, 30, 16), by=cast.dispatcher_a)
    pause = pause_deadline(
        clock,
        reason=PauseReason.USER_UNREACHABLE,
        evidence="Called twice",
        at=sh(2025, 9, 30, 16, 10),
        by=cast.technician_a,
    )
    resume_deadline(clock, at=sh(2025, 9, 30, 16, 40), by=cast.dispatcher_a)
    stop_deadline(cast.pa1, "MNT-04", at=sh(2025, 9, 30, 16, 50), by=cast.technician_a)

    pause_entries = list(entries(DeadlinePause, pause.pk))
    assert [e.action for e in pause_entries] == [AuditAction.CREATE, AuditAction.UPDATE]
    assert pause_entries[0].actor == cast.technician_a
    assert pause_entries[0].changes["evidence"] == [None, "Called twice"]
    assert pause_entries[0].unit_id == cast.unit_a.pk
    assert pause_entries[1].actor == cast.dispatcher_a
    assert pause_entries[1].changes["ended_at"][0] is None
    assert when(pause_entries[1].changes["ended_at"][1]) == sh(2025, 9, 30, 16, 40)

    clock_entries = list(entries(Deadline, clock.pk))
    assert [(e.action, e.actor) for e in clock_entries] == [
        (AuditAction.CREATE, cast.dispatcher_a),
        (AuditAction.UPDATE, cast.technician_a),  # paused
        (AuditAction.UPDATE, cast.dispatcher_a),  # resumed, due moved
        (AuditAction.UPDATE, cast.technician_a),  # stopped
    ]
    assert clock_entries[1].changes["status"] == ["running", "paused"]
    assert clock_entries[2].changes["status"] == ["paused", "running"]
    assert clock_entries[2].changes["paused_for"] == ["0:00:00", "0:30:00"]
    assert [when(v) for v in clock_entries[2].changes["due_at"]] == [
        sh(2025, 9, 30, 17),
        sh(2025, 9, 30, 17, 30),
    ]
    assert clock_entries[3].changes["status"] == ["running", "met"]


# ----------------------------------------------------------------- a unit's working hours
@pytest.mark.rule("MNT-03")
def test_mnt_03_unit_hours_change_recomputes_open_worktime_clocks_of_that_unit_only(cast):
    a_fix = start(cast.pa1, "MNT-03", sh(2025, 9, 30, 17, 30), by=cast.dispatcher_a)
    a_contact = start(cast.pa1, "MNT-04", sh(2025, 9, 30, 17, 30), by=cast.dispatcher_a)
    a_closed = start(cast.pa2, "MNT-03", sh(2025, 9, 30, 17, 30), by=cast.dispatcher_a)
    stop_deadline(cast.pa2, "MNT-03", at=sh(2025, 10, 9, 10), by=cast.technician_a)
    b_fix = start(cast.pb1, "MNT-03", sh(2025, 9, 30, 17, 30), by=cast.technician_b)
    for clock in (a_fix, b_fix, a_closed):
        assert clock.due_at == sh(2025, 10, 9, 17, 30)
    assert a_contact.due_at == sh(2025, 10, 9, 9, 30)
    ins_due = {d.pk: d.due_at for d in Deadline.objects.filter(rule="INS-06")}
    untouched = {
        d.pk: list(entries(Deadline, d.pk))
        for d in Deadline.objects.exclude(pk__in=[a_fix.pk, a_contact.pk])
    }

    update_service_unit(cast.unit_a, by=cast.admin_a, working_hours="09:00-12:00,13:00-17:00")

    a_fix.refresh_from_db()
    a_contact.refresh_from_db()
    assert a_fix.working_hours == a_contact.working_hours == "09:00-12:00,13:00-17:00"
    # 17:30 is now after closing: the clock starts at 10-09 09:00. The measure it counts is
    # fixed when it starts (8 h): all of 10-09 (7 h) and one hour of 10-10.
    assert a_fix.work_seconds == 8 * 3600
    assert a_fix.due_at == sh(2025, 10, 10, 10)
    assert a_contact.due_at == sh(2025, 10, 9, 10)
    moved = entries(Deadline, a_fix.pk, AuditAction.UPDATE).get()
    assert moved.actor == cast.admin_a
    assert moved.changes["working_hours"] == ["09:00-12:00,13:00-18:00", "09:00-12:00,13:00-17:00"]

    b_fix.refresh_from_db()
    assert b_fix.working_hours == "09:00-12:00,13:00-18:00"
    assert b_fix.due_at == sh(2025, 10, 9, 17, 30)
    a_closed.refresh_from_db()
    assert a_closed.working_hours == "09:00-12:00,13:00-18:00"
    assert {d.pk: d.due_at for d in Deadline.objects.filter(rule="INS-06")} == ins_due
    for pk, before in untouched.items():
        assert list(entries(Deadline, pk)) == before


@pytest.mark.rule("MNT-03")
def test_mnt_03_unit_change_without_new_hours_leaves_clocks_alone(cast):
    clock = start(cast.pa1, "MNT-03", sh(2025, 9, 30, 16), by=cast.dispatcher_a)
    update_service_unit(cast.unit_a, by=cast.admin_a, hotline="0571-12366")
    clock.refresh_from_db()
    assert clock.due_at == sh(2025, 10, 9, 16)
    assert not entries(Deadline, clock.pk, AuditAction.UPDATE).exists()


@pytest.mark.rule("MNT-03")
def test_mnt_03_unit_hours_change_is_refused_for_another_units_admin(cast):
    clock = start(cast.pa1, "MNT-03", sh(2025, 9, 30, 16), by=cast.dispatcher_a)
    with pytest.raises(ValidationError) as excinfo:
        update_service_unit(cast.unit_a, by=cast.admin_b, working_hours="09:00-17:00")
    assert excinfo.value.code == "forbidden"
    clock.refresh_from_db()
    assert clock.working_hours == "09:00-12:00,13:00-18:00"
    assert clock.due_at == sh(2025, 10, 9, 16)


@pytest.mark.rule("MNT-03")
def test_mnt_03_paused_clock_keeps_its_pause_when_hours_change(cast):
    clock = start(cast.pa1, "MNT-03", sh(2025, 9, 29, 9), by=cast.dispatcher_a)
    pause_deadline(
        clock,
        reason=PauseReason.USER_UNREACHABLE,
        evidence="no answer",
        at=sh(2025, 9, 29, 10),
        by=cast.technician_a,
    )
    resume_deadline(clock, at=sh(2025, 9, 29, 11), by=cast.technician_a)
    # 8 h + the 1 h paused: all of 09-29 and one hour of 09-30.
    assert Deadline.objects.get(pk=clock.pk).due_at == sh(2025, 9, 30, 10)
    update_service_unit(cast.unit_a, by=cast.admin_a, working_hours="09:00-12:00,13:00-17:00")
    clock.refresh_from_db()
    # Under the new hours 09-29 holds 7 h: 2 h remain for 09-30; the pause still counts.
    assert clock.due_at == sh(2025, 9, 30, 11)
    assert clock.paused_for == timedelta(hours=1)
    assert clock.status == ClockStatus.RUNNING


def test_recompute_with_nothing_changed_saves_nothing(cast):
    start(cast.pa1, "MNT-03", sh(2025, 9, 30, 16), by=cast.dispatcher_a)
    before = AuditEntry.objects.count()
    assert recompute_open_deadlines(years={2025}) == 0
    assert AuditEntry.objects.count() == before


# ----------------------------------------------------------------- the Celery task on Redis
REDIS_TEST_URL = "redis://127.0.0.1:6379/15"


def _redis_reachable() -> str | None:
    try:
        import redis
    except ImportError:  # pragma: no cover
        return "the redis client library is not installed"
    try:
        client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1, socket_timeout=2)
        client.ping()
    except (redis.exceptions.RedisError, OSError) as exc:
        return f"Redis is not reachable at {REDIS_TEST_URL} ({exc})"
    return None


def _test_queue() -> str:
    """A queue of this test process alone.

    The Redis server is shared: by the workers of this run (pytest-xdist) and by other test
    runs on the machine, whose workers consume the default queue ``celery`` and purge it. A
    worker elsewhere would take this test's task and run it against its own database.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"taxdesk-test-{worker}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def redis_celery_app():
    """The project's Celery app pointed at the test Redis db and a queue of this process
    alone, restored afterwards."""
    reason = _redis_reachable()
    if reason:
        pytest.skip(reason)
    from taxdesk.celery import app

    keys = (
        "broker_url",
        "result_backend",
        "task_always_eager",
        "task_eager_propagates",
        "task_default_queue",
    )
    saved = {key: app.conf[key] for key in keys}

    def reset_connections():
        # The app caches its broker pool, its queues and routes (``amqp``) and its result
        # backend (per thread); drop them so the new (and afterwards the restored) settings
        # take effect.
        app._pool = None
        app.__dict__.pop("amqp", None)
        app._backend_cache = None
        app._local.__dict__.pop("backend", None)

    app.conf.update(
        broker_url=REDIS_TEST_URL,
        result_backend=REDIS_TEST_URL,
        task_always_eager=False,
        task_eager_propagates=False,
        task_default_queue=_test_queue(),
    )
    reset_connections()
    app.control.purge()  # this process's queue only
    try:
        yield app
    finally:
        app.control.purge()
        app.conf.update(saved)
        reset_connections()


@pytest.mark.redis
@pytest.mark.rule("INS-06")
@pytest.mark.django_db(transaction=True)
def test_ins_06_worker_on_redis_recomputes_a_provisional_clock(
    transactional_db, cast, redis_celery_app
):
    import threading

    from celery import signals
    from celery.contrib.testing.worker import start_worker
    from celery.result import EagerResult

    from taxdesk.clocks.tasks import recompute_open_deadlines_task
    from taxdesk.workdays.models import CalendarYear
    from taxdesk.workdays.store import bump_revision

    clock = start(new_taxpayer(cast), "INS-06", sh(2026, 12, 29, 10), by=cast.sales_a)
    assert clock.provisional
    assert clock.due_at == sh(2027, 1, 1, 23, 59, 59)

    # Another process entered 2027: the row and the new revision, nothing else.
    CalendarYear.objects.create(year=2027, holidays=["2027-01-01"], workdays=[], notice="test")
    bump_revision()

    ran_in: list[str] = []

    def record_thread(sender=None, **kwargs):
        if sender is not None and sender.name == recompute_open_deadlines_task.name:
            ran_in.append(threading.current_thread().name)

    def close_worker_connection(**kwargs):
        # The worker thread's own database connection, closed so the test database can go.
        from django.db import connection

        connection.close()

    signals.task_prerun.connect(record_thread, weak=False)
    signals.task_postrun.connect(close_worker_connection, weak=False)
    try:
        with start_worker(redis_celery_app, perform_ping_check=False, pool="solo"):
            result = recompute_open_deadlines_task.delay([2027])
            assert not isinstance(result, EagerResult)
            assert result.get(timeout=20) == 1
    finally:
        signals.task_prerun.disconnect(record_thread)
        signals.task_postrun.disconnect(close_worker_connection)

    assert ran_in and ran_in[0] != threading.current_thread().name
    clock.refresh_from_db()
    assert clock.provisional is False
    assert clock.due_at == sh(2027, 1, 4, 23, 59, 59)
    moved = entries(Deadline, clock.pk, AuditAction.UPDATE).get()
    assert moved.source == AuditSource.TASK
    assert moved.actor is None
