"""Fixtures of the message tests: the cast's messages, and a real local SMS provider."""

from __future__ import annotations

import pytest

from taxdesk.testing.sms import SmsProvider


@pytest.fixture
def sms_provider(settings):
    """A local HTTP SMS provider, and the settings that send through it (a short timeout)."""
    provider = SmsProvider().start()
    settings.NOTIFICATIONS_SMS_BACKEND = "http"
    settings.TAXDESK_SMS_URL = provider.url
    settings.TAXDESK_SMS_KEY = "test-key-123"
    settings.TAXDESK_SMS_SIGNATURE = "【测试税控】"
    settings.TAXDESK_SMS_TIMEOUT = 0.5
    try:
        yield provider
    finally:
        provider.stop()


REDIS_TEST_URL = "redis://127.0.0.1:6379/15"


def _redis_unreachable() -> str | None:
    import redis

    try:
        client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1, socket_timeout=2)
        client.ping()
    except (redis.exceptions.RedisError, OSError) as exc:
        return f"Redis is not reachable at {REDIS_TEST_URL} ({exc})"
    return None


@pytest.fixture
def redis_celery_app():
    """The project's Celery app on the test Redis db (not eager), restored afterwards (as in
    taxdesk/clocks/tests/test_actions.py)."""
    reason = _redis_unreachable()
    if reason:
        pytest.skip(reason)
    from taxdesk.celery import app

    keys = ("broker_url", "result_backend", "task_always_eager", "task_eager_propagates")
    saved = {key: app.conf[key] for key in keys}

    def reset_connections():
        app._pool = None
        app.__dict__.get("amqp") and setattr(app.amqp, "_producer_pool", None)
        app._backend_cache = None
        app._local.__dict__.pop("backend", None)

    app.conf.update(
        broker_url=REDIS_TEST_URL,
        result_backend=REDIS_TEST_URL,
        task_always_eager=False,
        task_eager_propagates=False,
    )
    reset_connections()
    app.control.purge()
    try:
        yield app
    finally:
        app.conf.update(saved)
        reset_connections()
