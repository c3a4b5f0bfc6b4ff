"""Messages (SMS and e-mail) sent by the service apps, their delivery attempts, and each
service unit's texts of the kinds of message (``catalogue.py``)."""

from __future__ import annotations

import uuid

from django.contrib.contenttypes.fields import GenericForeignKey
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from taxdesk.core.audit import AuditedModel
from taxdesk.core.scoping import RestrictedQuerySet, Scope

from . import catalogue
from .choices import SENDERS, TEMPLATE_EDITORS, AttemptOutcome, Channel, MessageStatus


class MessageTemplate(AuditedModel):
    """A service unit's text of one kind of message; blank means the default of the code.

    One row per unit and kind, made when the unit is created (and, for kinds added later,
    on ``migrate``); the unit administrator rewrites it (``actions.update_template``).
    """

    service_unit = models.ForeignKey(
        "core.ServiceUnit",
        on_delete=models.CASCADE,
        related_name="message_templates",
        verbose_name=_("service unit"),
    )
    key = models.CharField(_("kind"), max_length=50)
    subject = models.CharField(_("e-mail subject"), max_length=200, blank=True)
    body = models.TextField(_("text"), blank=True)
    updated_at = models.DateTimeField(_("changed at"), null=True, blank=True)
    updated_by = models.ForeignKey(
        "core.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("changed by"),
    )

    scope = Scope(
        unit="service_unit",
        body="service_unit__supervision_body",
        editors=TEMPLATE_EDITORS,
    )

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["service_unit", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["service_unit", "key"], name="message_template_one_per_unit_key"
            )
        ]

    def __str__(self):
        return f"{self.name}（{self.service_unit}）"

    def get_absolute_url(self):
        return reverse("notifications:template_edit", args=[self.pk])

    @property
    def kind(self) -> catalogue.TemplateKind | None:
        return catalogue.get_kind(self.key)

    @property
    def name(self) -> str:
        kind = self.kind
        return str(kind.name) if kind is not None else self.key

    @property
    def is_default(self) -> bool:
        return not self.subject and not self.body

    @property
    def effective_subject(self) -> str:
        kind = self.kind
        return self.subject or (kind.subject if kind is not None else "")

    @property
    def effective_body(self) -> str:
        kind = self.kind
        return self.body or (kind.body if kind is not None else "")


class Message(AuditedModel):
    """One SMS or e-mail: what was sent to whom, why, and how its delivery went.

    Made by ``actions.send_message`` (audited: who sent what to whom); its delivery is
    recorded in its own fields and in ``MessageAttempt`` rows, not in the audit trail.
    """

    # Delivery is recorded on the message and its attempts, not in the trail (decision
    # 0010): a claim, an attempt's outcome and a retry's time change only these fields.
    audit_exclude = (
        "status",
        "attempts",
        "claimed_at",
        "next_attempt_at",
        "sent_at",
        "backend",
        "provider_status",
        "provider_message_id",
        "provider_response",
        "last_error",
    )

    uid = models.UUIDField(_("delivery key"), default=uuid.uuid4, unique=True, editable=False)
    service_unit = models.ForeignKey(
        "core.ServiceUnit",
        on_delete=models.PROTECT,
        related_name="messages",
        verbose_name=_("service unit"),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    to = models.CharField(_("recipient"), max_length=254)
    recipient_name = models.CharField(_("recipient's name"), max_length=100, blank=True)
    taxpayer = models.ForeignKey(
        "customers.Taxpayer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
        verbose_name=_("taxpayer"),
    )
    template_key = models.CharField(_("kind"), max_length=50, blank=True)
    signature = models.CharField(_("SMS signature"), max_length=50, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    # The record the message is about (a dispatch order, a training class …), if any.
    related_type = models.ForeignKey(
        "contenttypes.ContentType",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("about (kind)"),
    )
    related_id = models.PositiveBigIntegerField(_("about (id)"), null=True, blank=True)
    related = GenericForeignKey("related_type", "related_id")
    idempotency_key = models.CharField(_("idempotency key"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        "core.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("sent by"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claimed_at = models.DateTimeField(_("last attempt started"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    backend = models.CharField(_("sent through"), max_length=20, blank=True)
    provider_status = models.PositiveSmallIntegerField(
        _("provider's status code"), null=True, blank=True
    )
    provider_message_id = models.CharField(_("provider's message id"), max_length=200, blank=True)
    provider_response = models.TextField(_("provider's answer"), blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    scope = Scope(
        unit="service_unit",
        body="service_unit__supervision_body",
        editors=SENDERS,
    )

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["service_unit", "idempotency_key"], name="message_one_per_key"
            )
        ]
        indexes = [
            # The unit's log, newest first.
            models.Index(
                fields=["service_unit", "-created_at", "-id"], name="message_unit_log_idx"
            ),
            # What retry_due picks up.
            models.Index(fields=["status", "next_attempt_at"], name="message_due_idx"),
            models.Index(fields=["related_type", "related_id"], name="message_related_idx"),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} → {self.to}"

    def get_absolute_url(self):
        return reverse("notifications:message_detail", args=[self.pk])

    @property
    def text(self) -> str:
        """What the recipient reads: an SMS with its signature first."""
        if self.channel == Channel.SMS and self.signature:
            return f"{self.signature}{self.body}"
        return self.body


class MessageAttempt(models.Model):
    """One try at handing a message to its provider, and the provider's answer.

    A delivery log, written only by ``actions.deliver``; never changed.
    """

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="attempt_log", verbose_name=_("message")
    )
    number = models.PositiveSmallIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"))
    backend = models.CharField(_("sent through"), max_length=20)
    outcome = models.CharField(_("outcome"), max_length=10, choices=AttemptOutcome.choices)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    response = models.TextField(_("answer"), blank=True)
    error = models.TextField(_("error"), blank=True)

    scope = Scope(
        unit="message__service_unit",
        body="message__service_unit__supervision_body",
    )

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["message", "number"]
        constraints = [
            models.UniqueConstraint(fields=["message", "number"], name="attempt_one_per_number")
        ]

    def __str__(self):
        return f"{self.message_id} #{self.number}"
