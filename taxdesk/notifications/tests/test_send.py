"""send_message: the stored backend, e-mail through Django's backends, templates and
free text, idempotency, the checks an app's call must pass, and nothing sent before the
business transaction commits."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.utils import timezone

from taxdesk.core import audit
from taxdesk.core.choices import AuditAction
from taxdesk.core.models import AuditEntry
from taxdesk.notifications import actions
from taxdesk.notifications.actions import deliver, retry_due, send_message, update_template
from taxdesk.notifications.choices import AttemptOutcome, MessageStatus
from taxdesk.notifications.models import Message, MessageTemplate
from taxdesk.notifications.queries import messages_for

MOBILE = "13812345678"
NO_SHOW = {
    "taxpayer": "企业pa1",
    "technician": "李工",
    "arrived_at": "2025-10-09 14:02",
    "left_at": "2025-10-09 14:20",
    "address": "文三路 1 号",
}


def no_show(cast, **overrides) -> Message:
    values = dict(
        service_unit=cast.unit_a,
        channel="sms",
        to=MOBILE,
        by=cast.technician_a,
        template="visit.no_show",
        context=NO_SHOW,
        related=cast.pa1,
        taxpayer=cast.pa1,
    )
    values.update(overrides)
    return send_message(**values)


# ----------------------------------------------------------------------------- stored
@pytest.mark.rule("MNT-07")
def test_stored_sms_is_kept_and_marked_sent_after_commit(cast, django_capture_on_commit_callbacks):
    cast.unit_a.hotline = "400-000-0001"
    cast.unit_a.save()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = no_show(cast)
        # Inside the transaction: recorded, not sent.
        assert Message.objects.get(pk=message.pk).status == MessageStatus.QUEUED
    assert len(callbacks) == 1
    callbacks[0]()
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.attempts == 1
    assert message.backend == "stored"
    assert message.provider_message_id == f"stored-{message.uid}"
    assert message.sent_at is not None and message.next_attempt_at is None
    assert message.body == (
        "企业pa1您好，技术服务人员李工于2025-10-09 14:02按约到达文三路 1 号，未能联系到您，"
        "已等候至2025-10-09 14:20离开。如需再次上门，请致电400-000-0001。"
    )
    assert message.text == "【服务单位A】" + message.body
    assert message.subject == ""  # an SMS has none
    [attempt] = message.attempt_log.all()
    assert (attempt.number, attempt.outcome, attempt.backend) == (1, AttemptOutcome.SENT, "stored")
    created = AuditEntry.objects.get(
        content_type=ContentType.objects.get_for_model(Message),
        object_id=str(message.pk),
        action=AuditAction.CREATE,
    )
    assert created.actor == cast.technician_a
    assert created.unit_id == cast.unit_a.pk
    assert created.changes["to"] == [None, MOBILE]


def test_nothing_is_sent_when_the_transaction_rolls_back(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            no_show(cast)
            raise RuntimeError("the business action failed")
    assert callbacks == []
    assert not Message.objects.exists()


def test_the_units_own_text_is_sent(cast, django_capture_on_commit_callbacks):
    row = MessageTemplate.objects.get(service_unit=cast.unit_a, key="visit.no_show")
    update_template(
        row,
        subject="",
        body="{{ unit }}：{{ technician }}{{ arrived_at }}到{{ left_at }}走",
        by=cast.admin_a,
    )
    with django_capture_on_commit_callbacks(execute=True):
        a = no_show(cast)
        b = no_show(cast, service_unit=cast.unit_b, by=cast.technician_b, taxpayer=cast.pb1)
    assert a.body == "服务单位A：李工2025-10-09 14:02到2025-10-09 14:20走"
    assert b.body.startswith("企业pa1您好，技术服务人员李工")  # unit B keeps the default


def test_free_text_is_sent_as_written_or_rendered_with_a_context(cast):
    plain = send_message(
        service_unit=cast.unit_a,
        channel="sms",
        to=MOBILE,
        by=cast.dispatcher_a,
        body="  请带上税控盘 {{ 不是变量 }}  ",
    )
    assert plain.body == "请带上税控盘 {{ 不是变量 }}"
    rendered = send_message(
        service_unit=cast.unit_a,
        channel="email",
        to="User@Example.COM",
        by=cast.dispatcher_a,
        subject="{{ unit }}通知",
        body="{{ name }}您好",
        context={"name": "王芳"},
    )
    assert (rendered.subject, rendered.body, rendered.to) == (
        "服务单位A通知",
        "王芳您好",
        "User@example.com",
    )


def test_the_system_sends_without_a_user(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = send_message(
            service_unit=cast.unit_a,
            channel="email",
            to="admin_a@example.com",
            by=None,
            template="clock.reminder",
            context={"staff": "张敏", "rule": "MNT-03", "record": "PG-1", "due": timezone.now()},
        )
    message.refresh_from_db()
    assert message.created_by is None
    assert message.subject == "时限提醒：MNT-03 PG-1"
    assert message.status == MessageStatus.SENT


# ----------------------------------------------------------------------------- checks
@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"to": "12345"}, "to", "bad_mobile"),
        ({"to": "0571-87654321"}, "to", "bad_mobile"),
        ({"channel": "email", "to": "not-an-address"}, "to", "bad_email"),
        ({"channel": "fax"}, "channel", "bad_channel"),
        ({"template": "visit.nope"}, "template", "unknown_template"),
        ({"context": {"taxpayer": "x"}}, "body", "missing_variable"),
        ({"taxpayer": "pb1"}, "taxpayer", "other_unit"),
        ({"template": "", "context": None, "body": "  "}, "body", "required"),
        ({"template": "", "context": None, "body": "字" * 501}, "body", "too_long"),
        (
            {"template": "", "context": None, "channel": "email", "to": "a@b.cn", "body": "x"},
            "subject",
            "required",
        ),
    ],
)
def test_a_bad_call_is_refused_with_the_field_and_code(cast, overrides, field, code):
    if overrides.get("taxpayer") == "pb1":
        overrides["taxpayer"] = cast.pb1
    with pytest.raises(ValidationError) as excinfo:
        no_show(cast, **overrides)
    assert excinfo.value.error_dict[field][0].code == code
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "username", ["admin_b", "technician_b", "supervisor_x", "tax_a", "taxpayer_pa1"]
)
def test_only_the_units_own_users_send_for_it(cast, username):
    with pytest.raises(ValidationError) as excinfo:
        no_show(cast, by=cast.users[username])
    assert excinfo.value.code == "forbidden"
    assert not Message.objects.exists()


def test_template_and_text_together_are_refused(cast):
    with pytest.raises(ValidationError) as excinfo:
        no_show(cast, body="x")
    assert excinfo.value.code == "template_and_text"


# ----------------------------------------------------------------------------- idempotency
def test_the_same_key_gives_the_same_message_and_sends_once(
    cast, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = no_show(cast, idempotency_key="order-17-no-show")
        second = no_show(cast, idempotency_key="order-17-no-show")
    assert first.pk == second.pk
    assert len(callbacks) == 1
    assert Message.objects.count() == 1
    # The key is the unit's: another unit may use it for its own message.
    other = no_show(
        cast,
        service_unit=cast.unit_b,
        by=cast.technician_b,
        taxpayer=cast.pb1,
        idempotency_key="order-17-no-show",
    )
    assert other.pk != first.pk


def test_the_same_key_for_another_message_is_refused(cast):
    no_show(cast, idempotency_key="k-1")
    with pytest.raises(ValidationError) as excinfo:
        no_show(cast, idempotency_key="k-1", to="13900000000")
    assert excinfo.value.code == "idempotency_conflict"
    assert Message.objects.count() == 1


def test_without_a_key_one_action_sends_a_message_once_and_another_action_again(cast):
    with audit.acting(cast.technician_a):
        first = no_show(cast)
        repeated = no_show(cast)
    assert first.pk == repeated.pk
    again_later = no_show(cast)  # another action (another request): a message of its own
    assert again_later.pk != first.pk
    assert first.idempotency_key.startswith("auto:")


def test_a_sent_message_is_never_sent_again(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = no_show(cast)
    later = timezone.now() + timedelta(days=1)
    assert deliver(message.pk, now=later) == "skipped"
    assert retry_due(now=later) == {}
    message.refresh_from_db()
    assert message.attempts == 1


# ----------------------------------------------------------------------------- the record
def test_the_record_lists_its_messages_for_whoever_sees_them(
    cast, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        a = no_show(cast)
        b = no_show(cast, to="13900000000")
        no_show(cast, related=cast.pa2, taxpayer=cast.pa2)
    assert list(messages_for(cast.pa1, cast.technician_a)) == [b, a]
    assert list(messages_for(cast.pa1, cast.supervisor_x)) == [b, a]
    assert list(messages_for(cast.pa1, cast.admin_b)) == []
    assert list(messages_for(cast.pa1, cast.taxpayer_pa1)) == []
    assert list(messages_for(cast.pa1, cast.tax_a)) == []


# ----------------------------------------------------------------------------- e-mail
def test_email_through_djangos_backend(cast, settings, django_capture_on_commit_callbacks):
    settings.NOTIFICATIONS_EMAIL_BACKEND = "django"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DEFAULT_FROM_EMAIL = "desk@unit-a.example"
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        message = no_show(cast, channel="email", to="boss@pa1.example")
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.backend == "django"
    [email] = mail.outbox
    assert email.to == ["boss@pa1.example"]
    assert email.from_email == "desk@unit-a.example"
    assert email.subject == "上门服务未遇通知"
    assert email.body == message.body
    assert email.extra_headers["X-TaxDesk-Message"] == str(message.uid)
    assert message.provider_message_id == email.extra_headers["Message-ID"]
    assert message.provider_message_id.endswith("@unit-a.example>")


def test_email_stored_by_default_sends_nothing(cast, settings, django_capture_on_commit_callbacks):
    settings.NOTIFICATIONS_EMAIL_BACKEND = "stored"
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        message = no_show(cast, channel="email", to="boss@pa1.example")
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.backend == "stored"
    assert mail.outbox == []


class DisconnectedBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused({"boss@pa1.example": (550, b"No such user")})


@pytest.mark.parametrize(
    ("backend", "status"),
    [("DisconnectedBackend", MessageStatus.RETRYING), ("RefusingBackend", MessageStatus.FAILED)],
)
def test_email_failures_retry_or_fail(
    cast, settings, django_capture_on_commit_callbacks, backend, status
):
    settings.NOTIFICATIONS_EMAIL_BACKEND = "django"
    settings.EMAIL_BACKEND = f"{__name__}.{backend}"
    with django_capture_on_commit_callbacks(execute=True):
        message = no_show(cast, channel="email", to="boss@pa1.example")
    message.refresh_from_db()
    assert message.status == status
    assert message.last_error
    assert message.attempt_log.get().outcome == (
        AttemptOutcome.RETRY if status == MessageStatus.RETRYING else AttemptOutcome.FAILED
    )


# ----------------------------------------------------------------------------- dispatch
def test_a_dispatch_that_cannot_start_leaves_the_message_for_retry_due(
    cast, monkeypatch, django_capture_on_commit_callbacks
):
    from taxdesk.notifications import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("the broker is down")

    monkeypatch.setattr(tasks.deliver, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        message = no_show(cast)
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED
    # Not yet: a message just queued may still be on its way.
    assert retry_due(now=message.created_at + timedelta(seconds=30)) == {}
    assert retry_due(now=message.created_at + timedelta(minutes=2)) == {MessageStatus.SENT: 1}
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


def test_send_due_messages_command(cast, monkeypatch, django_capture_on_commit_callbacks):
    from io import StringIO

    from django.core.management import call_command

    from taxdesk.notifications import tasks

    monkeypatch.setattr(tasks.deliver, "delay", lambda *a, **k: None)  # a lost dispatch
    with django_capture_on_commit_callbacks(execute=True):
        message = no_show(cast)
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    out = StringIO()
    call_command("send_due_messages", stdout=out)
    assert out.getvalue().strip() == "1 messages tried: sent 1"
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert actions.due_message_ids() == []
