"""How the clocks follow changes made in the layers below (connected in ClocksConfig.ready)."""

from __future__ import annotations


def calendar_changed(sender, *, years, **kwargs) -> None:
    """A year was entered or days corrected: recompute the open clocks that touched them, in
    the background (Celery on Redis, or in-process in the embedded default)."""
    from .tasks import recompute_open_deadlines_task

    recompute_open_deadlines_task.delay(list(years))


def working_hours_changed(sender, *, service_unit, by, **kwargs) -> None:
    """A unit's working hours changed: its open working-time clocks move, in the same
    transaction."""
    from .actions import recompute_open_deadlines

    recompute_open_deadlines(service_unit=service_unit, by=by)
