"""Import jobs: one uploaded .xlsx file, checked row by row, then imported on request."""

from __future__ import annotations

import uuid

from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from taxdesk.core.audit import AuditedModel
from taxdesk.core.scoping import Scope

from .choices import JOB_EDITORS, RUNNING_STATES, JobKind, JobState

# How many row errors a job keeps (the count goes on); enough to fix a file, bounded in size.
MAX_STORED_ERRORS = 1000


def upload_path(instance, filename: str) -> str:
    """Files land under MEDIA_ROOT/imports/<year>/<month>/ with a name nobody can guess."""
    return f"imports/{timezone.localdate():%Y/%m}/{uuid.uuid4().hex}.xlsx"


def rows_path(instance, filename: str) -> str:
    return f"imports/{timezone.localdate():%Y/%m}/{uuid.uuid4().hex}.rows.jsonl"


class ImportJob(AuditedModel):
    """An uploaded spreadsheet of taxpayers or devices and what became of it.

    A job is checked first (nothing is written), then imported when the file is clean or when
    the user explicitly asks for the valid rows only. ``processed_rows`` counts the rows done
    by the run in progress (checking, then importing); ``errors`` keeps the first
    ``MAX_STORED_ERRORS`` problems as ``{row, column, value, message, code}`` and
    ``error_count`` counts them all.
    """

    service_unit = models.ForeignKey(
        "core.ServiceUnit",
        on_delete=models.PROTECT,
        related_name="import_jobs",
        verbose_name=_("service unit"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=JobKind.choices)
    file = models.FileField(_("file"), upload_to=upload_path, max_length=200)
    # The valid rows of the checked file, cleaned (JSON lines), read back by the import.
    rows_file = models.FileField(_("checked rows"), upload_to=rows_path, max_length=200, blank=True)
    original_name = models.CharField(_("file name"), max_length=255, blank=True)
    # The language of the person who uploaded: the row messages are written in it.
    language = models.CharField(_("language"), max_length=10, blank=True)
    created_by = models.ForeignKey(
        "core.User",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    run_by = models.ForeignKey(
        "core.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("imported by"),
    )
    state = models.CharField(
        _("state"), max_length=20, choices=JobState.choices, default=JobState.UPLOADED
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    valid_rows = models.PositiveIntegerField(_("valid rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows processed"), default=0)
    # The sheet's own count of its rows, known before the check has read them (progress).
    expected_rows = models.PositiveIntegerField(_("rows expected"), null=True, blank=True)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    errors = models.JSONField(_("row errors"), default=list, blank=True)
    import_valid_only = models.BooleanField(_("valid rows only"), default=False)
    failure = models.TextField(_("why it failed"), blank=True)
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    validated_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    import_started_at = models.DateTimeField(_("import started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # The last sign of life of the run in progress (a run that stops answering is failed).
    progress_at = models.DateTimeField(_("last progress"), null=True, blank=True)

    # Progress counters change every second while a job runs, and the error list can be
    # large: neither belongs in the audit trail (the counts and states do). The stored
    # file's name is random; the trail keeps the uploaded file's own name.
    audit_exclude = (
        "file",
        "rows_file",
        "errors",
        "processed_rows",
        "expected_rows",
        "progress_at",
    )

    scope = Scope(
        unit="service_unit",
        body="service_unit__supervision_body",
        editors=JOB_EDITORS,
    )

    class Meta:
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        ordering = ["-id"]
        indexes = [models.Index(fields=["service_unit", "-id"], name="importjob_unit_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk} {self.original_name}"

    def get_absolute_url(self):
        return reverse("imports:job_detail", args=[self.pk])

    @property
    def is_running(self) -> bool:
        return self.state in RUNNING_STATES

    @property
    def is_clean(self) -> bool:
        return self.state != JobState.FAILED and self.error_count == 0

    @property
    def invalid_rows(self) -> int:
        return max(self.total_rows - self.valid_rows, 0)

    @property
    def percent(self) -> int | None:
        """How far the run in progress is: the check reads the file's rows (as many as the
        sheet says it has), the import writes the valid ones."""
        if self.state == JobState.IMPORTING:
            total = self.valid_rows
        else:
            total = self.total_rows if self.validated_at else (self.expected_rows or 0)
        if not total:
            return None
        return min(100, round(100 * self.processed_rows / total))

    @property
    def more_errors(self) -> int:
        return max(self.error_count - len(self.errors), 0)
