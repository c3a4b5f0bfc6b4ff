"""How a clock's time left reads: "还剩 35 分钟", "已超时 2 小时"."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


def format_span(span: timedelta) -> str:
    """A rounded-down span in its two largest units: "2 天 3 小时", "35 分钟"."""
    minutes = int(abs(span).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = []
    if days:
        parts.append(ngettext("%(n)d day", "%(n)d days", days) % {"n": days})
    if hours:
        parts.append(ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours})
    if minutes and not days:
        parts.append(ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes})
    if not parts:
        return _("less than a minute")
    return " ".join(parts[:2])


def remaining_text(deadline, now=None) -> str:
    """What is left of an open clock, or how it ended."""
    now = now or timezone.now()
    if deadline.stopped_at is not None:
        late = deadline.stopped_at - deadline.due_at
        if late > timedelta(0):
            return _("Closed %(span)s late") % {"span": format_span(late)}
        return _("Closed in time")
    if deadline.status == "paused":
        return _("Paused")
    left = deadline.due_at - now
    if left >= timedelta(0):
        return _("%(span)s left") % {"span": format_span(left)}
    return _("%(span)s overdue") % {"span": format_span(-left)}
