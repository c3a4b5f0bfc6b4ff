"""The Celery path on the real Redis (db 15) with an in-thread worker: a message committed
in a business transaction is sent by the worker (not in the request's thread) through the
HTTP provider, and the retry_due task sends what is due."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from taxdesk.notifications.actions import send_message
from taxdesk.notifications.choices import MessageStatus
from taxdesk.notifications.models import Message


def wait_for_status(message_id: int, status: str, timeout: float = 20.0) -> Message:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = Message.objects.get(pk=message_id)
        if message.status == status:
            return message
        time.sleep(0.05)
    raise AssertionError(f"message {message_id} is {message.status}, not {status}")


@pytest.mark.redis
@pytest.mark.rule("MNT-07")
@pytest.mark.django_db(transaction=True)
def test_a_worker_on_redis_sends_the_committed_message(
    transactional_db, cast, sms_provider, redis_celery_app
):
    from celery import signals
    from celery.contrib.testing.worker import start_worker
    from django.db import connection

    from taxdesk.notifications.tasks import deliver, retry_due

    ran_in: list[str] = []

    def record_thread(sender=None, **kwargs):
        if sender is not None and sender.name in (deliver.name, retry_due.name):
            ran_in.append(threading.current_thread().name)

    def close_worker_connection(**kwargs):
        connection.close()

    signals.task_prerun.connect(record_thread, weak=False)
    signals.task_postrun.connect(close_worker_connection, weak=False)
    try:
        with start_worker(redis_celery_app, perform_ping_check=False, pool="solo"):
            sms_provider.answer("500", "ok")
            with transaction.atomic():
                message = send_message(
                    service_unit=cast.unit_a,
                    channel="sms",
                    to="13812345678",
                    by=cast.technician_a,
                    template="visit.no_show",
                    context={
                        "taxpayer": cast.pa1.name,
                        "technician": "李工",
                        "arrived_at": timezone.now() - timedelta(minutes=20),
                        "left_at": timezone.now(),
                        "address": "文三路 1 号",
                    },
                    related=cast.pa1,
                )
                # Inside the transaction nothing has gone to the worker.
                assert sms_provider.requests == []
            # After the commit the worker tried: the provider answered 500.
            retrying = wait_for_status(message.pk, MessageStatus.RETRYING)
            assert retrying.provider_status == 500
            # The periodic job, a minute later, as beat would run it (time moved on).
            Message._base_manager.filter(pk=message.pk).update(
                next_attempt_at=timezone.now() - timedelta(seconds=1)
            )
            result = retry_due.delay()
            assert result.get(timeout=20) == {MessageStatus.SENT: 1}
    finally:
        signals.task_prerun.disconnect(record_thread)
        signals.task_postrun.disconnect(close_worker_connection)

    assert len(ran_in) == 2 and threading.current_thread().name not in ran_in
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.attempts == 2
    assert [r.body["idempotency_key"] for r in sms_provider.requests] == [str(message.uid)] * 2
