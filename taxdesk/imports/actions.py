"""Every operation on an import job: upload (which starts the check), import, and the run
that a background job performs. The upload only keeps the file and queues the check: nothing
of the file is read in the request; a file that cannot be read, or goes beyond the reader's
limits, fails its job.

How a run is started (``dispatch``):

- with ``REDIS_URL`` set, Celery is not eager: the task ``taxdesk.imports.tasks.run_import``
  goes to the worker after the transaction commits;
- in the embedded default (``CELERY_TASK_ALWAYS_EAGER``), an eager task would run inside the
  upload's request and the page could show no progress, so the run goes to a background
  thread of the web process instead (after commit). A run whose process ends (a restart)
  stops giving signs of life; its job is marked failed when looked at after
  ``STALLED_AFTER``;
- ``settings.IMPORTS_INLINE = True`` runs it at once in the caller (tests, commands).

Each run has ``settings.IMPORTS_TIME_LIMIT_SECONDS``: past it the reader and the chunks
stop and the job fails as timed out (in a thread or a worker alike); Celery's soft and hard
time limits on the task are the backstop (``tasks.py``).

Checking writes nothing but the job (and, kept with it, the valid rows' cleaned values).
Importing reads those rows back, checks each chunk of ``rows.BATCH_SIZE`` rows against the
database as it is then, and writes the chunk's valid rows in one transaction: a failing chunk
leaves the database as it was for that chunk, the job records how far it got, and importing
the same file again continues (rows already imported are updated, never duplicated).

Every write of a job goes through the audited ``ImportJob.objects``: each change of state
(uploaded → validating → validated → importing → done or failed) is an entry, with the counts
at the end of each phase; the run's progress heartbeat writes only fields the model keeps out
of the trail and so records nothing (docs/decisions/0004-import-audit.md). The rows imported
are written through the audited bulk paths, one entry per row, as the acting user.
"""

from __future__ import annotations

import gc
import logging
import time
from contextlib import contextmanager
from datetime import timedelta
from functools import partial
from threading import Lock, Thread

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from taxdesk.core import audit
from taxdesk.core.choices import AuditSource
from taxdesk.core.scoping import ADD, CHANGE, can, scope_filter

from .choices import MOVES, WRITERS, JobKind, JobState
from .devices import DeviceImporter
from .models import ImportJob
from .rows import ErrorSink, FileProblem, Outcome, Spool, check_file, import_rows, timed_out
from .taxpayers import TaxpayerImporter

logger = logging.getLogger(__name__)

IMPORTERS = {JobKind.TAXPAYERS: TaxpayerImporter, JobKind.DEVICES: DeviceImporter}
VALIDATE, IMPORT = "validate", "import"
# A run that has shown no progress for this long is taken as dead (its process ended).
STALLED_AFTER = timedelta(minutes=10)


def may_write(user, kind: str, service_unit=None) -> bool:
    """The unit's administrator and sales clerk import both kinds; the dispatcher taxpayers.

    ``service_unit``, when given, must be the user's own (a superuser may use any)."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    if user.role not in WRITERS.get(kind, ()):
        return False
    return service_unit is None or user.service_unit_id == service_unit.pk


def kinds_for(user) -> list[str]:
    return [kind for kind in JobKind.values if may_write(user, kind)]


def _check_writer(job_or_kind, user, service_unit=None) -> None:
    kind = job_or_kind if isinstance(job_or_kind, str) else job_or_kind.kind
    if not may_write(user, kind, service_unit):
        raise PermissionDenied(_("You may not import this kind of record."))


# ----------------------------------------------------------------------------- upload
def create_job(*, kind: str, file, by, service_unit=None, language: str = "") -> ImportJob:
    """Keep an uploaded .xlsx file as a job of ``kind`` and start checking it.

    ``service_unit`` defaults to the uploader's own; only a superuser names another.
    """
    if kind not in JobKind.values:
        raise ValidationError({"kind": ValidationError(_("Choose what to import."), "invalid")})
    if scope_filter(ImportJob.scope, by, ADD) is None:
        raise PermissionDenied(_("You may not import records."))
    _check_writer(kind, by)
    if service_unit is None:
        service_unit = getattr(by, "service_unit", None)
    if service_unit is None:
        raise ValidationError(
            {"service_unit": ValidationError(_("Choose the service unit."), code="required")}
        )
    _check_writer(kind, by, service_unit)
    with transaction.atomic(), audit.acting(by):
        job = ImportJob(
            service_unit=service_unit,
            kind=kind,
            original_name=(getattr(file, "name", "") or "")[-255:],
            language=language or translation.get_language() or settings.LANGUAGE_CODE,
            created_by=by,
        )
        job.file.save("upload.xlsx", file, save=False)
        job.save()
    dispatch(job.pk, VALIDATE)
    return job


# ----------------------------------------------------------------------------- import
def start_import(job: ImportJob, *, by, valid_only: bool = False) -> ImportJob:
    """Import a checked job: every row when the file is clean, or — asked for explicitly —
    only its valid rows."""
    if not can(by, CHANGE, job):
        raise PermissionDenied(_("You may not import this file."))
    _check_writer(job, by, job.service_unit)
    if job.state != JobState.VALIDATED:
        raise ValidationError(
            _("Only a checked file can be imported (this one is %(state)s).")
            % {"state": job.get_state_display()},
            code="not_validated",
        )
    if job.error_count and not valid_only:
        raise ValidationError(
            _(
                "The file has %(count)s errors: correct them and upload it again, or import "
                "the valid rows only."
            )
            % {"count": job.error_count},
            code="not_clean",
        )
    if not job.valid_rows:
        raise ValidationError(_("The file has no valid row to import."), code="nothing_to_import")
    now = timezone.now()
    with transaction.atomic(), audit.acting(by):
        # Claimed with a conditional UPDATE: two clicks start one import. (The progress
        # fields are out of the trail: the entry records the state, who and when.)
        claimed = ImportJob.objects.filter(pk=job.pk, state=JobState.VALIDATED).update(
            state=JobState.IMPORTING,
            run_by=by,
            import_valid_only=bool(valid_only),
            import_started_at=now,
            processed_rows=0,
            progress_at=now,
        )
        if not claimed:
            raise ValidationError(_("This file is being imported already."), code="already_started")
    dispatch(job.pk, IMPORT)
    job.refresh_from_db()
    return job


# ----------------------------------------------------------------------------- the run
def dispatch(job_id: int, phase: str) -> None:
    """Start the run of ``phase`` for the job (see the module docstring)."""
    if getattr(settings, "IMPORTS_INLINE", False):
        run_job(job_id, phase)
        return
    transaction.on_commit(partial(_start_run, job_id, phase))


def _start_run(job_id: int, phase: str) -> None:
    from taxdesk.celery import app

    from .tasks import run_import

    if app.conf.task_always_eager:
        thread = Thread(
            target=_run_in_thread, args=(job_id, phase), name=f"import-{job_id}", daemon=True
        )
        thread.start()
    else:
        run_import.delay(job_id, phase)


def _run_in_thread(job_id: int, phase: str) -> None:
    try:
        run_job(job_id, phase)
    finally:
        connection.close()


def _progress(job_id: int, outcome: Outcome, expected: int | None) -> None:
    """The heartbeat of a run, at most every ``rows.PROGRESS_EVERY`` seconds: through the
    audited queryset like every write, but only of fields ``ImportJob.audit_exclude`` keeps
    out of the trail, so it records (and locks) nothing (docs/decisions/0004-import-audit.md).
    """
    values = {"processed_rows": outcome.total, "progress_at": timezone.now()}
    if expected is not None:
        values["expected_rows"] = expected
    ImportJob.objects.filter(pk=job_id).update(**values)


_frozen_runs = 0
_frozen_lock = Lock()


@contextmanager
def _long_lived_objects_frozen():
    """Leave the objects alive before a run out of the garbage collector's passes during it.

    A run allocates millions of short-lived objects; each full pass of the collector walks
    every tracked object, and most of them are the code and Django's registries, which live
    as long as the process. Frozen (``gc.freeze``), they are skipped: a fifth of the time of a
    100,000-row import. The freeze is the process's, so runs overlapping in threads share it:
    the first to start freezes, the last to end unfreezes, and nothing is kept beyond them.
    """
    global _frozen_runs
    with _frozen_lock:
        if _frozen_runs == 0:
            gc.collect()
            gc.freeze()
        _frozen_runs += 1
    try:
        yield
    finally:
        with _frozen_lock:
            _frozen_runs -= 1
            if _frozen_runs == 0:
                gc.unfreeze()


def run_job(job_id: int, phase: str) -> str:
    """The background run: check the file (``validate``) or import it (``import``)."""
    job = ImportJob.objects.select_related("service_unit", "created_by", "run_by").get(pk=job_id)
    if phase == VALIDATE:
        with audit.acting(job.created_by, source=AuditSource.TASK):
            claimed = ImportJob.objects.filter(pk=job.pk, state=JobState.UPLOADED).update(
                state=JobState.VALIDATING, progress_at=timezone.now()
            )
        if not claimed:
            return "skipped"
        by = job.created_by
    elif phase == IMPORT:
        if job.state != JobState.IMPORTING or job.finished_at is not None:
            return "skipped"
        by = job.run_by
    else:
        raise ValueError(f"unknown phase {phase!r}")
    job.refresh_from_db()
    importer = IMPORTERS[job.kind](job, by=by)
    committed = Outcome(errors=None)

    def remember(outcome: Outcome) -> None:
        committed.created, committed.updated = outcome.created, outcome.updated
        committed.unchanged, committed.total = outcome.unchanged, outcome.total

    language = job.language or settings.LANGUAGE_CODE
    deadline = time.monotonic() + settings.IMPORTS_TIME_LIMIT_SECONDS
    try:
        with translation.override(language), _long_lived_objects_frozen():
            if phase == VALIDATE:
                outcome = _check(job, importer, deadline)
            else:
                errors = ErrorSink(importer.headers, items=job.errors, count=job.error_count)
                outcome = import_rows(
                    job,
                    importer,
                    by=by,
                    errors=errors,
                    progress=partial(_progress, job.pk),
                    on_chunk=remember,
                    deadline=deadline,
                )
    except FileProblem as exc:
        _finish(job, by, JobState.FAILED, failure=str(exc), outcome=committed)
        return JobState.FAILED
    except SoftTimeLimitExceeded:
        # Celery's soft limit, should the run's own deadline not have stopped it first.
        with translation.override(language):
            failure = str(timed_out())
        _finish(job, by, JobState.FAILED, failure=failure, outcome=committed)
        return JobState.FAILED
    except Exception as exc:
        logger.exception("import job %s failed while %s", job.pk, phase)
        with translation.override(language):
            failure = _("The run stopped: %(error)s") % {"error": str(exc)[:500] or type(exc)}
        _finish(job, by, JobState.FAILED, failure=failure, outcome=committed)
        return JobState.FAILED
    _finish(job, by, JobState.VALIDATED if phase == VALIDATE else JobState.DONE, outcome=outcome)
    return job.state


def _check(job: ImportJob, importer, deadline: float | None = None) -> Outcome:
    """Check the workbook; keep the valid rows' cleaned values with the job."""
    spool = Spool()
    try:
        outcome = check_file(
            job, importer, spool=spool, progress=partial(_progress, job.pk), deadline=deadline
        )
        spool.file.seek(0)
        job.rows_file.save("rows.jsonl", File(spool.file), save=False)
    finally:
        spool.close()
    # The stored file's name is random and out of the trail (the job's entry at the end of
    # the check records the counts).
    ImportJob.objects.filter(pk=job.pk).update(rows_file=job.rows_file.name)
    return outcome


def _finish(job, by, state, *, outcome: Outcome, failure: str = "") -> None:
    if state not in MOVES[job.state]:
        raise RuntimeError(f"import job {job.pk}: no move from {job.state} to {state}")
    now = timezone.now()
    phase_was = job.state
    job.state = state
    job.failure = failure
    job.processed_rows = outcome.total
    fields = ["state", "failure", "processed_rows"]
    if phase_was == JobState.VALIDATING:
        if outcome.errors is not None:
            job.total_rows = outcome.total
            job.valid_rows = outcome.valid
        job.validated_at = now
        fields += ["total_rows", "valid_rows", "validated_at"]
    else:
        job.created_count = outcome.created
        job.updated_count = outcome.updated
        job.unchanged_count = outcome.unchanged
        fields += ["created_count", "updated_count", "unchanged_count"]
    if outcome.errors is not None:
        job.errors = outcome.errors.items
        job.error_count = outcome.errors.count
        fields += ["errors", "error_count"]
    if state in (JobState.DONE, JobState.FAILED):
        job.finished_at = now
        fields.append("finished_at")
        if job.rows_file:
            # The checked rows served their import (or a failed run): not kept.
            job.rows_file.delete(save=False)
            fields.append("rows_file")
    with audit.acting(by, source=AuditSource.TASK):
        job.save(update_fields=fields)


def fail_if_stalled(job: ImportJob) -> ImportJob:
    """A run that stopped giving signs of life (its process ended) fails its job."""
    if not job.is_running:
        return job
    last = job.progress_at or job.import_started_at or job.created_at
    if last is None or timezone.now() - last < STALLED_AFTER:
        return job
    with translation.override(job.language or settings.LANGUAGE_CODE):
        failure = _(
            "The background run stopped answering (was the server restarted?). Upload the "
            "file again; rows already imported are updated, not duplicated."
        )
    with audit.acting(None, source=AuditSource.TASK):
        ImportJob.objects.filter(pk=job.pk, state=job.state).update(
            state=JobState.FAILED, failure=failure, finished_at=timezone.now()
        )
    job.refresh_from_db()
    return job
