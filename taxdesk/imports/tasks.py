"""Background jobs of the imports (see actions.py for where a run goes)."""

from celery import shared_task


@shared_task(name="taxdesk.imports.tasks.run_import")
def run_import(job_id: int, phase: str = "validate") -> str:
    """Check (``phase="validate"``) or import (``phase="import"``) one job's file."""
    from .actions import run_job

    return run_job(job_id, phase)
