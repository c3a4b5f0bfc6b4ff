"""Background jobs of the clocks."""

from celery import shared_task

from taxdesk.core import audit
from taxdesk.core.choices import AuditSource


@shared_task(name="taxdesk.clocks.tasks.recompute_open_deadlines")
def recompute_open_deadlines_task(years: list[int] | None = None) -> int:
    """Recompute open clocks after calendar data changed; returns how many moved."""
    from .actions import recompute_open_deadlines

    with audit.context(source=AuditSource.TASK):
        return recompute_open_deadlines(years=set(years) if years else None)
