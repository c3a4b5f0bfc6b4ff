"""Background jobs of the imports (see actions.py for where a run goes)."""

from celery import shared_task
from django.conf import settings

# The run stops itself at IMPORTS_TIME_LIMIT_SECONDS (between reads and chunks); the soft
# limit raises inside the task a minute later wherever it is, and the hard limit ends the
# worker process a minute after that (its job is then failed as stalled when looked at).
SOFT_TIME_LIMIT = settings.IMPORTS_TIME_LIMIT_SECONDS + 60
TIME_LIMIT = SOFT_TIME_LIMIT + 60


@shared_task(
    name="taxdesk.imports.tasks.run_import",
    soft_time_limit=SOFT_TIME_LIMIT,
    time_limit=TIME_LIMIT,
)
def run_import(job_id: int, phase: str = "validate") -> str:
    """Check (``phase="validate"``) or import (``phase="import"``) one job's file."""
    from .actions import run_job

    return run_job(job_id, phase)
