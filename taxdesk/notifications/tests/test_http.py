"""The HTTP SMS provider, against a real local HTTP server (taxdesk/testing/sms.py): the
request it gets, its answers stored on the message, retries with backoff after a 500 or a
timeout, final failures, and a message never sent twice — not by a retry, not by two
workers at once, not for a business action that rolled back."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from taxdesk.customers.models import Taxpayer
from taxdesk.notifications.actions import deliver, retry_due, retry_message, send_message
from taxdesk.notifications.choices import AttemptOutcome, MessageStatus
from taxdesk.notifications.models import Message

MOBILE = "13812345678"


def queued(cast, **overrides) -> Message:
    """A message recorded and committed (in these tests the dispatch after commit is not run:
    each test delivers it itself, at the time it names)."""
    values = dict(
        service_unit=cast.unit_a,
        channel="sms",
        to=MOBILE,
        by=cast.dispatcher_a,
        template="visit.reminder",
        context={
            "taxpayer": "企业pa1",
            "technician": "李工",
            "time": "2025-10-09 14:00",
            "address": "文三路 1 号",
        },
        taxpayer=cast.pa1,
    )
    values.update(overrides)
    return send_message(**values)


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


def test_success_posts_json_with_the_key_in_a_header_and_stores_the_answer(cast, sms_provider, now):
    message = queued(cast)
    assert deliver(message.pk, now=now) == MessageStatus.SENT
    [request] = sms_provider.requests
    assert request.path == "/sms/send"
    assert request.headers["x-api-key"] == "test-key-123"
    assert request.headers["content-type"].startswith("application/json")
    assert request.headers["idempotency-key"] == str(message.uid)
    assert request.body == {
        "to": MOBILE,
        "text": message.body,
        "signature": "【测试税控】",
        "idempotency_key": str(message.uid),
    }
    assert "李工将于2025-10-09 14:00到文三路 1 号上门服务" in request.body["text"]
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.signature == "【测试税控】"
    assert message.backend == "http"
    assert message.provider_status == 200
    assert message.provider_message_id == "SMS000001"
    assert '"status": "accepted"' in message.provider_response
    assert message.sent_at == now
    [attempt] = message.attempt_log.all()
    assert (attempt.outcome, attempt.status_code) == (AttemptOutcome.SENT, 200)


def test_a_500_is_retried_after_a_minute_with_the_same_key(cast, sms_provider, now):
    sms_provider.answer("500", "ok")
    message = queued(cast)
    assert deliver(message.pk, now=now) == MessageStatus.RETRYING
    message.refresh_from_db()
    assert message.next_attempt_at == now + timedelta(minutes=1)
    assert message.provider_status == 500
    assert "provider says 500" in message.provider_response
    assert message.last_error == "HTTP 500"
    # Not due yet: nothing is tried, nothing reaches the provider.
    assert deliver(message.pk, now=now + timedelta(seconds=59)) == "skipped"
    assert retry_due(now=now + timedelta(seconds=59)) == {}
    assert len(sms_provider.requests) == 1
    assert retry_due(now=now + timedelta(minutes=1)) == {MessageStatus.SENT: 1}
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.attempts == 2
    assert message.last_error == ""
    assert message.provider_message_id == "SMS000002"
    keys = [r.body["idempotency_key"] for r in sms_provider.requests]
    assert keys == [str(message.uid)] * 2
    assert [(a.number, a.outcome) for a in message.attempt_log.all()] == [
        (1, AttemptOutcome.RETRY),
        (2, AttemptOutcome.SENT),
    ]


def test_a_timeout_is_retried_and_then_sent(cast, sms_provider, now):
    sms_provider.answer("hang", "ok")
    message = queued(cast)
    assert deliver(message.pk, now=now) == MessageStatus.RETRYING
    message.refresh_from_db()
    assert message.last_error.startswith("timeout")
    assert message.provider_status is None
    assert message.attempt_log.get().outcome == AttemptOutcome.RETRY
    sms_provider.release.set()
    assert deliver(message.pk, now=now + timedelta(minutes=1)) == MessageStatus.SENT
    assert sms_provider.wait_for(2)
    assert {r.body["idempotency_key"] for r in sms_provider.requests} == {str(message.uid)}


def test_backoff_1_5_25_125_minutes_then_failed(cast, sms_provider, now):
    sms_provider.answer(*["503"] * 5)
    message = queued(cast)
    at = now
    expected = [1, 5, 25, 125]
    for minutes in expected:
        assert deliver(message.pk, now=at) == MessageStatus.RETRYING
        message.refresh_from_db()
        assert message.next_attempt_at == at + timedelta(minutes=minutes)
        at = message.next_attempt_at
    assert deliver(message.pk, now=at) == MessageStatus.FAILED
    message.refresh_from_db()
    assert message.attempts == 5
    assert message.next_attempt_at is None
    assert retry_due(now=at + timedelta(days=1)) == {}
    assert len(sms_provider.requests) == 5


@pytest.mark.parametrize(
    ("code", "status"), [("400", "failed"), ("401", "failed"), ("429", "retrying")]
)
def test_a_refusal_is_final_a_throttle_is_not(cast, sms_provider, now, code, status):
    sms_provider.answer(code)
    message = queued(cast)
    assert deliver(message.pk, now=now) == status
    message.refresh_from_db()
    assert message.provider_status == int(code)


def test_a_closed_port_is_a_network_error_tried_again(cast, settings, now):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.NOTIFICATIONS_SMS_BACKEND = "http"
    settings.TAXDESK_SMS_URL = f"http://127.0.0.1:{port}/sms"
    settings.TAXDESK_SMS_KEY = "k"
    settings.TAXDESK_SMS_SIGNATURE = "【测试】"
    settings.TAXDESK_SMS_TIMEOUT = 0.5
    message = queued(cast)
    assert deliver(message.pk, now=now) == MessageStatus.RETRYING
    message.refresh_from_db()
    assert message.last_error.startswith("network")


def test_send_again_now_after_a_final_failure(cast, sms_provider, now):
    sms_provider.answer("400", "ok")
    message = queued(cast)
    assert deliver(message.pk, now=now) == MessageStatus.FAILED
    with pytest.raises(ValidationError) as excinfo:
        retry_message(message, by=cast.technician_a)
    assert excinfo.value.code == "forbidden"
    with pytest.raises(ValidationError):
        retry_message(message, by=cast.admin_b)
    retried = retry_message(message, by=cast.dispatcher_a, now=now + timedelta(minutes=3))
    assert retried.status == MessageStatus.RETRYING
    assert deliver(message.pk, now=now + timedelta(minutes=3)) == MessageStatus.SENT
    with pytest.raises(ValidationError) as excinfo:
        retry_message(message, by=cast.dispatcher_a)
    assert excinfo.value.code == "not_retryable"
    assert len(sms_provider.requests) == 2


def test_a_crashing_backend_is_recorded_and_retried(cast, now):
    class Broken:
        name = "broken"

        def send(self, message):
            raise KeyError("bug")

    message = queued(cast)
    assert deliver(message.pk, now=now, backend=Broken()) == MessageStatus.RETRYING
    message.refresh_from_db()
    assert message.last_error == "KeyError: 'bug'"


def test_a_message_left_sending_by_a_dead_worker_is_claimed_again(cast, sms_provider, now):
    message = queued(cast)
    Message._base_manager.filter(pk=message.pk).update(
        status=MessageStatus.SENDING, claimed_at=now, attempts=1
    )
    assert retry_due(now=now + timedelta(minutes=9)) == {}
    assert retry_due(now=now + timedelta(minutes=11)) == {MessageStatus.SENT: 1}
    # The provider gets the key of the first attempt: it recognises a message it has sent.
    assert sms_provider.requests[0].body["idempotency_key"] == str(message.uid)


# ----------------------------------------------------------------------------- commit
def _business_action(cast, number: str, fail: bool = False):
    """A service app's action: it records something and sends a message in its transaction."""
    with transaction.atomic():
        taxpayer = Taxpayer.objects.create(
            number=number,
            name="新企业",
            service_unit=cast.unit_a,
            tax_office=cast.office_a,
        )
        queued(cast, taxpayer=taxpayer, related=taxpayer)
        if fail:
            raise RuntimeError("the action failed after sending")
    return taxpayer


@pytest.mark.django_db(transaction=True)
def test_the_business_action_commits_when_the_provider_is_down(
    transactional_db, cast, sms_provider
):
    sms_provider.answer("500")
    taxpayer = _business_action(cast, "91330100MA0TEST001")  # no exception reaches the caller
    assert Taxpayer.objects.filter(pk=taxpayer.pk).exists()
    assert sms_provider.wait_for(1)
    message = Message.objects.get(taxpayer=taxpayer)
    assert message.status == MessageStatus.RETRYING
    assert message.provider_status == 500


@pytest.mark.django_db(transaction=True)
def test_nothing_reaches_the_provider_when_the_action_rolls_back(
    transactional_db, cast, sms_provider
):
    with pytest.raises(RuntimeError):
        _business_action(cast, "91330100MA0TEST002", fail=True)
    assert not Taxpayer.objects.filter(number="91330100MA0TEST002").exists()
    assert not Message.objects.exists()
    # A committed action afterwards is sent at once (eager): the provider saw only that one.
    _business_action(cast, "91330100MA0TEST003")
    assert sms_provider.wait_for(1)
    assert len(sms_provider.requests) == 1
    assert Message.objects.get().status == MessageStatus.SENT


@pytest.mark.django_db(transaction=True)
def test_two_workers_delivering_one_message_send_it_once(
    transactional_db, cast, sms_provider, settings, monkeypatch
):
    """Two deliveries of one committed message at the same moment (two threads, each with
    its own connection and transactions): the conditional UPDATE lets one claim it, the
    other skips it; the provider sees one request."""
    from taxdesk.notifications import tasks

    monkeypatch.setattr(tasks.deliver, "delay", lambda *args, **kwargs: None)
    settings.TAXDESK_SMS_TIMEOUT = 20
    # The winner is held at the provider until the loser has finished: they overlap.
    sms_provider.answer("hang")
    with transaction.atomic():
        message = queued(cast)
    results: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def worker():
        try:
            start.wait(timeout=10)
            results.append(deliver(message.pk))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, name=f"worker-{n}") for n in range(2)]
    for thread in threads:
        thread.start()
    try:
        assert sms_provider.wait_for(1)
        deadline = time.monotonic() + 10
        while not (results or errors) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert errors == []
        assert results == ["skipped"]  # the loser, while the winner waits at the provider
    finally:
        sms_provider.release.set()
        for thread in threads:
            thread.join(timeout=30)
    assert errors == []
    assert sorted(results) == [MessageStatus.SENT, "skipped"]
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.attempts == 1
    assert len(sms_provider.requests) == 1
    assert message.attempt_log.count() == 1
