"""Deadlines: one clock per (record, rule), started and stopped only through actions."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.contenttypes.fields import GenericForeignKey
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from taxdesk.core.audit import AuditedModel
from taxdesk.core.choices import Role
from taxdesk.core.scoping import Scope

from .choices import OPEN_STATUSES, ClockKind, ClockStatus, PauseReason
from .rules import RULE_CHOICES, get_rule


class Deadline(AuditedModel):
    """A rule's clock on one record: when it started, when it is due, and how it ended.

    ``due_at`` already includes the time the clock spent paused. ``provisional`` says the
    due time touched a year whose holiday calendar is not known yet (weekdays counted).
    """

    service_unit = models.ForeignKey(
        "core.ServiceUnit",
        on_delete=models.PROTECT,
        related_name="deadlines",
        verbose_name=_("service unit"),
    )
    taxpayer = models.ForeignKey(
        "customers.Taxpayer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deadlines",
        verbose_name=_("taxpayer"),
    )
    tax_office = models.ForeignKey(
        "core.TaxOffice",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deadlines",
        verbose_name=_("tax office"),
    )
    rule = models.CharField(_("rule"), max_length=10, choices=RULE_CHOICES)
    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    record = GenericForeignKey("content_type", "object_id")
    kind = models.CharField(_("kind"), max_length=10, choices=ClockKind.choices)
    # What the clock counts, fixed when it starts.
    workdays = models.PositiveSmallIntegerField(_("working days"), null=True, blank=True)
    work_seconds = models.PositiveIntegerField(_("working time (seconds)"), null=True, blank=True)
    working_hours = models.CharField(_("working hours"), max_length=100, blank=True)
    started_at = models.DateTimeField(_("started"))
    due_at = models.DateTimeField(_("due"))
    provisional = models.BooleanField(
        _("provisional"),
        default=False,
        help_text=_("The due time counts weekdays of a year whose holidays are not known yet."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ClockStatus.choices, default=ClockStatus.RUNNING
    )
    stopped_at = models.DateTimeField(_("stopped"), null=True, blank=True)
    paused_for = models.DurationField(_("time paused"), default=timedelta)

    scope = Scope(
        unit="service_unit",
        body="service_unit__supervision_body",
        tax_office="tax_office",
        taxpayer="taxpayer",
        editors=frozenset(
            {Role.UNIT_ADMIN, Role.DISPATCHER, Role.TECHNICIAN, Role.REPAIR_TECHNICIAN}
        ),
    )

    class Meta:
        verbose_name = _("deadline")
        verbose_name_plural = _("deadlines")
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "rule"], name="deadline_one_per_record_rule"
            )
        ]
        indexes = [
            # "All breached or at-risk clocks of a unit" is one range scan of this index.
            models.Index(fields=["service_unit", "status", "due_at"], name="deadline_unit_due_idx"),
            models.Index(fields=["status", "due_at"], name="deadline_status_due_idx"),
        ]

    def __str__(self):
        return f"{self.rule} · {self.record_label}"

    def get_absolute_url(self):
        return reverse("clocks:detail", args=[self.pk])

    @property
    def record_label(self) -> str:
        record = self.record
        return str(record) if record is not None else f"#{self.object_id}"

    @property
    def rule_info(self):
        return get_rule(self.rule)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_overdue(self, now=None) -> bool:
        """Open and past due (a breach in the making), or closed late."""
        if self.status == ClockStatus.BREACHED:
            return True
        return self.status == ClockStatus.RUNNING and self.due_at < (now or timezone.now())


class DeadlinePause(AuditedModel):
    """A stretch of time a clock did not run, with the reason and the evidence."""

    deadline = models.ForeignKey(
        Deadline, on_delete=models.CASCADE, related_name="pauses", verbose_name=_("deadline")
    )
    reason = models.CharField(_("reason"), max_length=30, choices=PauseReason.choices)
    evidence = models.TextField(_("evidence"))
    started_at = models.DateTimeField(_("paused at"))
    ended_at = models.DateTimeField(_("resumed at"), null=True, blank=True)
    paused_by = models.ForeignKey(
        "core.User",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("paused by"),
    )

    scope = Scope(
        unit="deadline__service_unit",
        body="deadline__service_unit__supervision_body",
        tax_office="deadline__tax_office",
        taxpayer="deadline__taxpayer",
        editors=Deadline.scope.editors,
    )

    class Meta:
        verbose_name = _("pause")
        verbose_name_plural = _("pauses")
        ordering = ["started_at", "id"]

    def __str__(self):
        return f"{self.deadline} · {self.get_reason_display()}"

    def audit_tenants(self):
        return self.deadline.audit_tenants()
