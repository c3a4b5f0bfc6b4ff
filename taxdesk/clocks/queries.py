"""Reads of clocks used by more than one page."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from .choices import ClockStatus
from .models import Deadline

# A running clock due within this window is "at risk".
AT_RISK_WINDOW = timedelta(hours=4)


def breached_or_at_risk(queryset=None, *, now=None, window: timedelta = AT_RISK_WINDOW):
    """Running clocks already past due or due within ``window``, soonest first.

    On one unit this is a single range scan of the (service_unit, status, due_at) index.
    """
    now = now or timezone.now()
    queryset = Deadline.objects.all() if queryset is None else queryset
    return queryset.filter(status=ClockStatus.RUNNING, due_at__lt=now + window).order_by(
        "due_at", "id"
    )


def unit_clock_counts(queryset, *, now=None):
    """Per service unit: open clocks, overdue ones, and ones closed late (one query)."""
    now = now or timezone.now()
    return (
        queryset.values("service_unit_id", "service_unit__name")
        .annotate(
            open=Count("id", filter=Q(status__in=[ClockStatus.RUNNING, ClockStatus.PAUSED])),
            overdue=Count("id", filter=Q(status=ClockStatus.RUNNING, due_at__lt=now)),
            breached=Count("id", filter=Q(status=ClockStatus.BREACHED)),
        )
        .order_by("service_unit__name")
    )
