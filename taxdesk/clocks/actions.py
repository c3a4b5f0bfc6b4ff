"""Every operation that changes a clock. Business actions start and stop clocks through these.

Each action owns its transaction and its audit entry (through the audited models); a clock is
claimed with a conditional UPDATE so two people stopping it at once cannot both succeed.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from taxdesk.core import audit
from taxdesk.workdays.store import current_calendar

from .choices import OPEN_STATUSES, ClockKind, ClockStatus
from .models import Deadline, DeadlinePause
from .rules import get_rule
from .timing import compute_due


def _aware(moment: datetime, name: str) -> datetime:
    if timezone.is_naive(moment):
        raise ValidationError(_("%(name)s must carry a time zone.") % {"name": name}, code="naive")
    return moment


def _pauses(deadline: Deadline) -> list[tuple[datetime, datetime]]:
    return [(p.started_at, p.ended_at) for p in deadline.pauses.all() if p.ended_at is not None]


def _apply_due(deadline: Deadline, calendar) -> None:
    due = compute_due(
        kind=deadline.kind,
        started_at=deadline.started_at,
        calendar=calendar,
        workdays=deadline.workdays,
        work_seconds=deadline.work_seconds,
        working_hours=deadline.working_hours,
        pauses=_pauses(deadline) if deadline.pk else [],
    )
    deadline.due_at = due.at
    deadline.provisional = due.provisional


def start_deadline(
    record,
    rule_id: str,
    *,
    started_at: datetime,
    service_unit,
    by,
    taxpayer=None,
    tax_office=None,
) -> Deadline:
    """Start ``rule_id``'s clock on ``record`` at ``started_at``."""
    rule = get_rule(rule_id)
    _aware(started_at, "started_at")
    deadline = Deadline(
        service_unit=service_unit,
        taxpayer=taxpayer,
        tax_office=tax_office if tax_office is not None else getattr(taxpayer, "tax_office", None),
        rule=rule.id,
        content_type=ContentType.objects.get_for_model(record),
        object_id=record.pk,
        kind=rule.kind,
        started_at=started_at,
    )
    if rule.kind == ClockKind.WORKDAYS:
        deadline.workdays = (
            rule.workdays if rule.workdays is not None else service_unit.entry_deadline_workdays
        )
    elif rule.kind == ClockKind.WORKTIME:
        hours = service_unit.hours
        deadline.working_hours = str(hours)
        length = rule.work_time or hours.day_length * rule.work_days_of_time
        deadline.work_seconds = int(length.total_seconds())
    else:
        deadline.work_seconds = int(rule.wall_time.total_seconds())
    _apply_due(deadline, current_calendar())
    try:
        with transaction.atomic(), audit.acting(by):
            deadline.save()
    except IntegrityError:
        raise ValidationError(
            _("The %(rule)s clock of this record has already been started.") % {"rule": rule.id},
            code="clock_exists",
        ) from None
    return deadline


def _claim_stop(deadline: Deadline, at: datetime) -> Deadline:
    """Close any open pause and stop the clock; refuses a clock that is not open."""
    open_pause = deadline.pauses.filter(ended_at__isnull=True).first()
    if open_pause is not None:
        open_pause.ended_at = max(at, open_pause.started_at)
        open_pause.save()
        deadline.paused_for += open_pause.ended_at - open_pause.started_at
        _apply_due(deadline, current_calendar())
    outcome = ClockStatus.MET if at <= deadline.due_at else ClockStatus.BREACHED
    claimed = Deadline.objects.filter(pk=deadline.pk, status__in=OPEN_STATUSES).update(
        status=outcome,
        stopped_at=at,
        due_at=deadline.due_at,
        provisional=deadline.provisional,
        paused_for=deadline.paused_for,
    )
    if not claimed:
        raise ValidationError(_("This clock has already stopped."), code="clock_stopped")
    deadline.refresh_from_db()
    return deadline


def stop_deadline(record, rule_id: str, *, at: datetime, by) -> Deadline:
    """Stop ``rule_id``'s clock on ``record``: met if ``at`` is no later than the due time."""
    _aware(at, "at")
    with transaction.atomic(), audit.acting(by):
        deadline = (
            Deadline.objects.filter(
                content_type=ContentType.objects.get_for_model(record),
                object_id=record.pk,
                rule=get_rule(rule_id).id,
            )
            .select_for_update()
            .first()
        )
        if deadline is None:
            raise ValidationError(
                _("The %(rule)s clock of this record was never started.") % {"rule": rule_id},
                code="clock_missing",
            )
        if at < deadline.started_at:
            raise ValidationError(
                _("A clock cannot stop before it started."), code="stop_before_start"
            )
        return _claim_stop(deadline, at)


def pause_deadline(deadline: Deadline, *, reason: str, evidence: str, at: datetime, by):
    """Pause a running clock where its rule allows it, with the reason and the evidence."""
    _aware(at, "at")
    rule = deadline.rule_info
    if reason not in rule.pause_reasons:
        raise ValidationError(
            _("The %(rule)s clock may not be paused for this reason.") % {"rule": rule.id},
            code="pause_not_allowed",
        )
    if not evidence or not evidence.strip():
        # The code goes on the field's error: Django drops a code given next to a dict.
        raise ValidationError(
            {
                "evidence": ValidationError(
                    _("Say what shows the reason (a call log, a message, a photo)."),
                    code="evidence_required",
                )
            }
        )
    if at < deadline.started_at:
        raise ValidationError(_("A clock cannot pause before it started."), code="pause_early")
    with transaction.atomic(), audit.acting(by):
        claimed = Deadline.objects.filter(pk=deadline.pk, status=ClockStatus.RUNNING).update(
            status=ClockStatus.PAUSED
        )
        if not claimed:
            raise ValidationError(_("Only a running clock can be paused."), code="not_running")
        pause = DeadlinePause.objects.create(
            deadline=deadline,
            reason=reason,
            evidence=evidence.strip(),
            started_at=at,
            paused_by=by,
        )
    deadline.refresh_from_db()
    return pause


def resume_deadline(deadline: Deadline, *, at: datetime, by) -> Deadline:
    """Resume a paused clock; its due time moves by what the pause consumed."""
    _aware(at, "at")
    with transaction.atomic(), audit.acting(by):
        pause = deadline.pauses.filter(ended_at__isnull=True).first()
        if deadline.status != ClockStatus.PAUSED or pause is None:
            raise ValidationError(_("Only a paused clock can be resumed."), code="not_paused")
        if at < pause.started_at:
            raise ValidationError(
                _("A clock cannot resume before it was paused."), code="resume_early"
            )
        pause.ended_at = at
        pause.save()
        deadline.refresh_from_db()
        deadline.paused_for += at - pause.started_at
        deadline.status = ClockStatus.RUNNING
        _apply_due(deadline, current_calendar())
        deadline.save()
    return deadline


def recompute_open_deadlines(*, years: set[int] | None = None, service_unit=None, by=None) -> int:
    """Recompute the due time of open clocks after the calendar or a unit's hours changed.

    ``years``: only clocks that touched one of these years (or are provisional).
    ``service_unit``: only that unit's working-time clocks, with its new hours.
    """
    calendar = current_calendar()
    open_clocks = Deadline.objects.filter(status__in=OPEN_STATUSES).prefetch_related("pauses")
    if years:
        first, last = min(years), max(years)
        open_clocks = open_clocks.filter(
            Q(provisional=True) | Q(started_at__year__lte=last, due_at__year__gte=first)
        )
    if service_unit is not None:
        open_clocks = open_clocks.filter(service_unit=service_unit, kind=ClockKind.WORKTIME)
    changed = 0
    with transaction.atomic(), audit.acting(by):
        for deadline in open_clocks:
            before = (deadline.due_at, deadline.provisional, deadline.working_hours)
            if service_unit is not None:
                deadline.working_hours = str(service_unit.hours)
            _apply_due(deadline, calendar)
            if (deadline.due_at, deadline.provisional, deadline.working_hours) != before:
                deadline.save()
                changed += 1
    return changed
