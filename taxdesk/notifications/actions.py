"""Every operation on messages and their templates.

Sending (``send_message``) records the message in the caller's transaction and hands it to
the delivery only after that transaction commits (``transaction.on_commit`` → the Celery task
``notifications.tasks.deliver``; with Redis a worker runs it, in the embedded default Celery
is eager and it runs in-process right after the commit). Nothing is sent for a transaction
that rolls back, and a provider that fails never raises into the business request: the
failure is recorded on the message and the message is tried again later
(``choices.RETRY_DELAYS``) by ``retry_due`` (a Celery beat job, or the
``send_due_messages`` command).

A message is sent at most once: each delivery first claims it with a conditional UPDATE
(queued or due for a retry → sending; only one worker wins), a sent message is never
claimed again, and the provider gets the message's own idempotency key with every attempt.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from datetime import datetime
from functools import partial

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from taxdesk.core import audit
from taxdesk.core.choices import Role
from taxdesk.core.errors import field_error
from taxdesk.core.scoping import CHANGE, can
from taxdesk.customers.identifiers import normalize_mobile

from . import catalogue, rendering
from .backends import Outcome, backend_for
from .choices import (
    EMAIL_MAX_LENGTH,
    LOG_READERS,
    QUEUED_GRACE,
    SENDING_STALE,
    SMS_MAX_LENGTH,
    SUBJECT_MAX_LENGTH,
    AttemptOutcome,
    Channel,
    MessageStatus,
    retry_delay,
)
from .models import Message, MessageAttempt, MessageTemplate

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- who may
def may_read_log(user) -> bool:
    """The whole message log of a unit: its administrator and dispatchers, the supervision
    officers of its body (read-only) and the platform administrator."""
    if user is None or not user.is_authenticated:
        return False
    return user.is_superuser or user.role in LOG_READERS or user.role == Role.SUPERVISION_OFFICER


def _may_send_for(user, service_unit) -> bool:
    """The apps send on behalf of a unit's own staff, a superuser or the system (None)."""
    if user is None or getattr(user, "is_superuser", False):
        return True
    return user.is_authenticated and user.service_unit_id == service_unit.pk


def sms_signature(service_unit) -> str:
    """The signature an SMS starts with: the provider's registered one, else the unit's name."""
    from django.conf import settings

    return settings.TAXDESK_SMS_SIGNATURE or f"【{service_unit.name}】"


# ----------------------------------------------------------------------------- sending
def _recipient(channel: str, to: str) -> str:
    to = (to or "").strip()
    if channel == Channel.SMS:
        try:
            return normalize_mobile(to)
        except ValidationError as exc:
            raise field_error("to", exc.messages[0], "bad_mobile") from None
    try:
        validate_email(to)
    except ValidationError:
        raise field_error(
            "to", _("“%(value)s” is not an e-mail address.") % {"value": to}, "bad_email"
        ) from None
    local, _at, domain = to.rpartition("@")
    return f"{local}@{domain.lower()}"


def unit_values(service_unit) -> dict[str, str]:
    """The variables every message may use, from its service unit."""
    return {"unit": service_unit.name, "hotline": service_unit.hotline}


def _render(field: str, text: str, values: Mapping[str, object]) -> str:
    try:
        return rendering.render_text(text, values)
    except ValidationError as exc:
        raise field_error(field, exc.messages[0], exc.code) from None


def _texts(service_unit, template: str, subject: str, body: str, context) -> tuple[str, str]:
    values = {**unit_values(service_unit), **(context or {})}
    if template:
        kind = catalogue.get_kind(template)
        if kind is None:
            raise field_error(
                "template",
                _("There is no kind of message “%(key)s”.") % {"key": template},
                "unknown_template",
            )
        if subject or body:
            raise ValidationError(
                _("Name a kind of message or give its text, not both."), code="template_and_text"
            )
        row = MessageTemplate.objects.filter(service_unit=service_unit, key=template).first()
        subject = row.effective_subject if row is not None else kind.subject
        body = row.effective_body if row is not None else kind.body
        return _render("subject", subject, values), _render("body", body, values)
    if not (body or "").strip():
        raise field_error("body", _("Write the text of the message."), "required")
    if context is None:
        # Free text without variables is sent as written.
        return (subject or "").strip(), body.strip()
    return _render("subject", subject or "", values).strip(), _render("body", body, values).strip()


def _check_lengths(channel: str, subject: str, body: str) -> None:
    if channel == Channel.SMS and len(body) > SMS_MAX_LENGTH:
        raise field_error(
            "body",
            _("An SMS has at most %(max)s characters; this one has %(length)s.")
            % {"max": SMS_MAX_LENGTH, "length": len(body)},
            "too_long",
        )
    if channel == Channel.EMAIL:
        if not subject:
            raise field_error("subject", _("An e-mail needs a subject."), "required")
        if len(body) > EMAIL_MAX_LENGTH:
            raise field_error(
                "body",
                _("The text has at most %(max)s characters.") % {"max": EMAIL_MAX_LENGTH},
                "too_long",
            )
    if len(subject) > SUBJECT_MAX_LENGTH:
        raise field_error(
            "subject",
            _("A subject has at most %(max)s characters.") % {"max": SUBJECT_MAX_LENGTH},
            "too_long",
        )


def _derived_key(**parts) -> str:
    """A key for a message sent without one: the same message to the same recipient, about
    the same record, within one request (or action) is one message."""
    raw = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return "auto:" + hashlib.sha256(raw.encode()).hexdigest()


def _same(message: Message, channel: str, to: str, subject: str, body: str) -> Message:
    if (message.channel, message.to, message.subject, message.body) != (
        channel,
        to,
        subject,
        body,
    ):
        raise ValidationError(
            _("This idempotency key was used for another message."),
            code="idempotency_conflict",
        )
    return message


def send_message(
    *,
    service_unit,
    channel: str,
    to: str,
    by,
    template: str = "",
    subject: str = "",
    body: str = "",
    context: Mapping[str, object] | None = None,
    related=None,
    idempotency_key: str = "",
    taxpayer=None,
    recipient_name: str = "",
) -> Message:
    """Send an SMS or an e-mail for ``service_unit`` once the caller's transaction commits.

    The text is the unit's template of ``template`` (a key of ``catalogue``) rendered with
    ``context``, or ``subject`` and ``body`` as given (rendered with ``context`` when one is
    given, else sent as written). ``to`` is a mainland mobile number (SMS) or an e-mail
    address. ``related`` is the record the message is about (its page lists its messages).
    The same ``idempotency_key`` (per unit) gives back the same message and sends nothing
    more; without one, a key is derived from the message and the current request. ``by`` is
    the user on whose behalf the app sends (a user of the unit), or None for the system.
    """
    message, _created = send_and_tell(
        service_unit=service_unit,
        channel=channel,
        to=to,
        by=by,
        template=template,
        subject=subject,
        body=body,
        context=context,
        related=related,
        idempotency_key=idempotency_key,
        taxpayer=taxpayer,
        recipient_name=recipient_name,
    )
    return message


def send_and_tell(
    *,
    service_unit,
    channel: str,
    to: str,
    by,
    template: str = "",
    subject: str = "",
    body: str = "",
    context: Mapping[str, object] | None = None,
    related=None,
    idempotency_key: str = "",
    taxpayer=None,
    recipient_name: str = "",
) -> tuple[Message, bool]:
    """:func:`send_message`, and whether the message is new (False: its idempotency key
    named an earlier message, which is returned and not sent again)."""
    if channel not in Channel.values:
        raise field_error("channel", _("Choose SMS or e-mail."), "bad_channel")
    if not _may_send_for(by, service_unit):
        raise ValidationError(
            _("You may not send messages for this service unit."), code="forbidden"
        )
    if taxpayer is not None and taxpayer.service_unit_id != service_unit.pk:
        raise field_error("taxpayer", _("The taxpayer is served by another unit."), "other_unit")
    to = _recipient(channel, to)
    subject, body = _texts(service_unit, template, subject, body, context)
    if channel == Channel.SMS:
        subject = ""
    _check_lengths(channel, subject, body)
    related_type = related_id = None
    if related is not None:
        if related.pk is None:
            raise ValueError("the related record must be saved first")
        related_type = ContentType.objects.get_for_model(type(related))
        related_id = related.pk
    with transaction.atomic(), audit.acting(by):
        key = (idempotency_key or "").strip()[:200] or _derived_key(
            unit=service_unit.pk,
            channel=channel,
            to=to,
            template=template,
            subject=subject,
            body=body,
            related=[related_type.pk if related_type else None, related_id],
            request=audit.current().request_id,
        )
        existing = Message.objects.filter(service_unit=service_unit, idempotency_key=key).first()
        if existing is not None:
            return _same(existing, channel, to, subject, body), False
        fields = dict(
            service_unit=service_unit,
            channel=channel,
            to=to,
            recipient_name=(recipient_name or "")[:100],
            taxpayer=taxpayer,
            template_key=template,
            signature=sms_signature(service_unit) if channel == Channel.SMS else "",
            subject=subject,
            body=body,
            related_type=related_type,
            related_id=related_id,
            idempotency_key=key,
            created_by=by if by is not None and by.is_authenticated else None,
        )
        try:
            with transaction.atomic():
                message = Message.objects.create(**fields)
        except IntegrityError:
            # Another request with the same key won the race: its message is the one.
            existing = Message.objects.get(service_unit=service_unit, idempotency_key=key)
            return _same(existing, channel, to, subject, body), False
        transaction.on_commit(partial(dispatch, message.pk), robust=True)
    return message, True


def dispatch(message_id: int) -> None:
    """Hand a committed message to the delivery task; a failure leaves it for retry_due."""
    from .tasks import deliver as deliver_task

    try:
        deliver_task.delay(message_id)
    except Exception:
        logger.exception("message %s: delivery could not start; left for retry_due", message_id)


# ----------------------------------------------------------------------------- delivery
def _due(now: datetime) -> Q:
    return (
        Q(status=MessageStatus.QUEUED)
        | Q(status=MessageStatus.RETRYING, next_attempt_at__lte=now)
        | Q(status=MessageStatus.SENDING, claimed_at__lt=now - SENDING_STALE)
    )


def deliver(message_id: int, *, now: datetime | None = None, backend=None) -> str:
    """Try to send one message; returns its status afterwards, or "skipped" when the message
    was not this call's to send (sent already, claimed by another worker, not due yet).

    Runs outside any transaction: the claim commits before the provider is called, the
    outcome after. ``now`` (default: the current time) decides what is due and when the
    next attempt falls; ``backend`` replaces the one the settings choose.
    """
    explicit_now = now is not None
    now = now or timezone.now()
    claimed = Message.objects.filter(_due(now), pk=message_id).update(
        status=MessageStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return "skipped"
    message = Message._base_manager.select_related("service_unit").get(pk=message_id)
    backend = backend or backend_for(message.channel)
    try:
        outcome = backend.send(message)
    except Exception as exc:  # a backend's bug must not lose the message
        logger.exception("message %s: the %s backend failed", message_id, backend.name)
        outcome = Outcome(ok=False, retryable=True, error=f"{type(exc).__name__}: {exc}"[:500])
    finished = now if explicit_now else timezone.now()
    return _record(message, backend.name, outcome, started=now, finished=finished)


def _record(message: Message, backend_name: str, outcome: Outcome, *, started, finished) -> str:
    values = {
        "backend": backend_name,
        "provider_status": outcome.status_code,
        "provider_response": outcome.response,
        "last_error": outcome.error,
    }
    if outcome.ok:
        status, attempt = MessageStatus.SENT, AttemptOutcome.SENT
        values.update(
            sent_at=finished,
            next_attempt_at=None,
            provider_message_id=outcome.provider_message_id,
            last_error="",
        )
    else:
        delay = retry_delay(message.attempts) if outcome.retryable else None
        if delay is not None:
            status, attempt = MessageStatus.RETRYING, AttemptOutcome.RETRY
            values["next_attempt_at"] = started + delay
        else:
            status, attempt = MessageStatus.FAILED, AttemptOutcome.FAILED
            values["next_attempt_at"] = None
    with transaction.atomic():
        MessageAttempt.objects.create(
            message_id=message.pk,
            number=message.attempts,
            started_at=started,
            finished_at=finished,
            backend=backend_name,
            outcome=attempt,
            status_code=outcome.status_code,
            response=outcome.response,
            error=outcome.error,
        )
        Message.objects.filter(
            pk=message.pk, status=MessageStatus.SENDING, claimed_at=started
        ).update(status=status, **values)
    if status != MessageStatus.SENT:
        logger.warning(
            "message %s: attempt %s %s (%s)", message.pk, message.attempts, status, outcome.error
        )
    return status


def due_message_ids(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Messages waiting for an attempt: due retries, queued ones whose dispatch never ran,
    and ones left "sending" by a worker that died."""
    now = now or timezone.now()
    condition = (
        Q(status=MessageStatus.RETRYING, next_attempt_at__lte=now)
        | Q(status=MessageStatus.QUEUED, created_at__lte=now - QUEUED_GRACE)
        | Q(status=MessageStatus.SENDING, claimed_at__lt=now - SENDING_STALE)
    )
    return list(
        Message._base_manager.filter(condition).order_by("id").values_list("pk", flat=True)[:limit]
    )


def retry_due(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Deliver every message due for an attempt; returns how many ended in each status."""
    counts: dict[str, int] = {}
    for message_id in due_message_ids(now=now, limit=limit):
        status = deliver(message_id, now=now)
        counts[status] = counts.get(status, 0) + 1
    return counts


def retry_message(message: Message, *, by, now: datetime | None = None) -> Message:
    """Try a failed (or waiting) message again at once: one more attempt."""
    if not can(by, CHANGE, message):
        raise ValidationError(_("You may not resend this message."), code="forbidden")
    now = now or timezone.now()
    with transaction.atomic(), audit.acting(by):
        changed = Message.objects.filter(
            pk=message.pk, status__in=[MessageStatus.FAILED, MessageStatus.RETRYING]
        ).update(status=MessageStatus.RETRYING, next_attempt_at=now)
        if not changed:
            raise ValidationError(
                _("Only a failed message or one waiting to retry can be sent again."),
                code="not_retryable",
            )
        transaction.on_commit(partial(dispatch, message.pk), robust=True)
    message.refresh_from_db()
    return message


# ----------------------------------------------------------------------------- templates
def ensure_templates(units=None) -> int:
    """Give each unit (all by default) a row for every kind of message; returns how many
    were made. The rows hold no text of their own (the default applies) and are no change
    by anyone, so they are written outside the audit trail."""
    from taxdesk.core.models import ServiceUnit

    keys = catalogue.kind_keys()
    unit_ids = (
        list(ServiceUnit.objects.values_list("pk", flat=True))
        if units is None
        else [getattr(u, "pk", u) for u in units]
    )
    if not unit_ids or not keys:
        return 0
    present = set(
        MessageTemplate._base_manager.filter(service_unit_id__in=unit_ids).values_list(
            "service_unit_id", "key"
        )
    )
    missing = [
        MessageTemplate(service_unit_id=unit_id, key=key)
        for unit_id in unit_ids
        for key in keys
        if (unit_id, key) not in present
    ]
    # Blank rows stand for the code's defaults: nobody wrote them, so they are not in the
    # trail (decision 0010); ignore_conflicts lets two processes fill the same unit at once.
    MessageTemplate._base_manager.bulk_create(missing, ignore_conflicts=True)  # audit: blank
    return len(missing)


def check_template(kind: catalogue.TemplateKind, subject: str, body: str) -> dict:
    """Check a template's text: the parsed subject and body, or ValidationError by field."""
    errors: dict[str, list[ValidationError]] = {}
    parsed = {}
    for field, text in (("subject", subject), ("body", body)):
        if field == "body" and not text.strip():
            errors[field] = [ValidationError(_("Write the text of the message."), code="required")]
            continue
        try:
            parsed[field] = rendering.check(text, kind.variable_names)
        except ValidationError as exc:
            errors[field] = [exc]
    if "body" in parsed:
        sample = rendering.render(parsed["body"], kind.samples())
        if len(sample) > SMS_MAX_LENGTH:
            errors["body"] = [
                ValidationError(
                    _(
                        "With the sample values the text has %(length)s characters; an SMS "
                        "has at most %(max)s."
                    )
                    % {"length": len(sample), "max": SMS_MAX_LENGTH},
                    code="too_long",
                )
            ]
    if "subject" in parsed and len(rendering.render(parsed["subject"], kind.samples())) > (
        SUBJECT_MAX_LENGTH
    ):
        errors["subject"] = [
            ValidationError(
                _("A subject has at most %(max)s characters.") % {"max": SUBJECT_MAX_LENGTH},
                code="too_long",
            )
        ]
    if errors:
        raise ValidationError(errors)
    return parsed


def preview(template: MessageTemplate, subject: str, body: str) -> dict:
    """The text as it would read with the sample values, or the errors that refuse it."""
    kind = template.kind
    try:
        parsed = check_template(kind, subject, body)
    except ValidationError as exc:
        return {"errors": exc.message_dict, "codes": _codes(exc)}
    samples = {**kind.samples(), **unit_values(template.service_unit)}
    samples = {name: value or kind.samples().get(name, "") for name, value in samples.items()}
    text = rendering.render(parsed["body"], samples)
    return {
        "errors": {},
        "codes": {},
        "subject": rendering.render(parsed["subject"], samples),
        "body": text,
        "sms": f"{sms_signature(template.service_unit)}{text}",
        "length": len(text),
        "sms_parts": rendering.sms_parts(f"{sms_signature(template.service_unit)}{text}"),
    }


def _codes(exc: ValidationError) -> dict[str, list[str]]:
    return {field: [e.code for e in errors] for field, errors in exc.error_dict.items()}


def update_template(template: MessageTemplate, *, subject: str, body: str, by) -> MessageTemplate:
    """The unit administrator rewrites one kind of message; unknown variables are refused
    here, when the text is saved, never when a message is sent."""
    if not can(by, CHANGE, template):
        raise ValidationError(_("You may not change this unit's messages."), code="forbidden")
    kind = template.kind
    if kind is None:
        raise ValidationError(
            _("There is no kind of message “%(key)s”.") % {"key": template.key},
            code="unknown_template",
        )
    subject, body = (subject or "").strip(), (body or "").strip()
    check_template(kind, subject, body)
    with transaction.atomic(), audit.acting(by):
        # The default's own text is kept as "the default", so it follows the code.
        template.subject = "" if subject == kind.subject else subject
        template.body = "" if body == kind.body else body
        template.updated_at = timezone.now()
        template.updated_by = by
        template.save()
    return template


def reset_template(template: MessageTemplate, *, by) -> MessageTemplate:
    """Back to the default text of the code."""
    if not can(by, CHANGE, template):
        raise ValidationError(_("You may not change this unit's messages."), code="forbidden")
    with transaction.atomic(), audit.acting(by):
        template.subject = ""
        template.body = ""
        template.updated_at = timezone.now()
        template.updated_by = by
        template.save()
    return template
