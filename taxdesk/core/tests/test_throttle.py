"""The token endpoint is throttled per client address (``DEFAULT_THROTTLE_RATES["sign-in"]``,
10 a minute) before any password is checked: 429 in the API's error shape with Retry-After.
The counts live in the cache, which server processes share in production (Redis with
``REDIS_URL``, else files under ``TAXDESK_VAR_DIR``)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from taxdesk.core.api.throttling import SignInRateThrottle
from taxdesk.core.choices import AuditAction
from taxdesk.core.models import AuditEntry, User
from taxdesk.testing.cast import PASSWORD

from .test_api import assert_error

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "/api/auth/token/"
REDIS_TEST_URL = "redis://127.0.0.1:6379/12"
GOOD_KEY = "k" * 20 + "-production-secret-key-0123456789abcdefXYZ"


def rate() -> int:
    per_minute = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["sign-in"]
    assert per_minute == "10/min"
    return 10


def post(client, username, password, address, **extra):
    return client.post(
        TOKEN, {"username": username, "password": password}, REMOTE_ADDR=address, **extra
    )


def test_the_eleventh_token_request_in_a_minute_is_refused(cast, monkeypatch):
    client = Client()
    for n in range(rate()):
        password = PASSWORD if n % 2 else "wrong"
        assert post(client, f"user_{n}", password, "198.51.100.1").status_code == 400
    checked = []
    original = User.check_password
    monkeypatch.setattr(
        User, "check_password", lambda self, raw: checked.append(1) or original(self, raw)
    )
    failed_before = AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED).count()

    refused = post(client, "admin_a", PASSWORD, "198.51.100.1")
    error = assert_error(refused, 429, "throttled")
    assert error["fields"] == {}
    assert 0 < int(refused["Retry-After"]) <= 60
    # Refused before anything else: no password checked, no failed login counted.
    assert checked == []
    assert AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED).count() == failed_before

    # Another address is not affected, and X-Forwarded-For does not make one (no proxy is
    # trusted).
    assert post(Client(), "admin_a", PASSWORD, "198.51.100.2").status_code == 200
    forged = post(client, "admin_a", PASSWORD, "198.51.100.1", HTTP_X_FORWARDED_FOR="192.0.2.7")
    assert forged.status_code == 429


def test_the_throttle_is_per_address_whoever_is_signed_in(cast, client_for):
    client = client_for(cast.admin_a)
    for _ in range(rate()):
        assert post(client, "admin_a", PASSWORD, "198.51.100.3").status_code == 200
    assert post(client, "admin_a", PASSWORD, "198.51.100.3").status_code == 429


def test_the_throttle_opens_again_after_a_minute(cast, monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr(SignInRateThrottle, "timer", lambda self: now[0])
    client = Client()
    for n in range(rate()):
        post(client, f"user_{n}", "wrong", "198.51.100.4")
    assert_error(post(client, "admin_a", PASSWORD, "198.51.100.4"), 429, "throttled")
    now[0] += 61
    assert post(client, "admin_a", PASSWORD, "198.51.100.4").status_code == 200


# --- shared by the server's processes -----------------------------------------------------

COUNT = """
from django.conf import settings
from django.test import RequestFactory
from taxdesk.core.api.throttling import SignInRateThrottle
print(settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1])
request = RequestFactory().post("/api/auth/token/", REMOTE_ADDR="{address}")
print(*[SignInRateThrottle().allow_request(request, None) for _ in range({times})])
"""


def _redis_reachable() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1).ping()
    except (redis.exceptions.RedisError, OSError) as exc:
        return f"Redis is not reachable at {REDIS_TEST_URL}: {exc}"
    return None


def _in_a_process(tmp_path, env, address, times) -> list[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TAXDESK_", "DATABASE_URL", "REDIS_URL", "DJANGO_"))
    }
    clean.update(
        env,
        TAXDESK_VAR_DIR=str(tmp_path),
        TAXDESK_MODE="production",
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="taxdesk.example",
        DJANGO_SETTINGS_MODULE="taxdesk.settings",
    )
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-v",
            "0",
            "-c",
            COUNT.format(address=address, times=times),
        ],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.mark.parametrize(
    ("env", "backend"),
    [({"REDIS_URL": REDIS_TEST_URL}, "RedisCache"), ({}, "FileBasedCache")],
    ids=["redis", "files"],
)
def test_server_processes_share_the_counts(tmp_path, env, backend):
    if env.get("REDIS_URL"):
        reason = _redis_reachable()
        if reason:
            pytest.skip(reason)
    address = f"198.51.100.{uuid.uuid4().int % 250 + 1}"
    key = f"throttle_sign-in_{address}"
    try:
        first = _in_a_process(tmp_path, env, address, rate())
        assert first == [backend] + ["True"] * rate()
        # Another process, the same address: the eleventh request of the minute.
        assert _in_a_process(tmp_path, env, address, 1) == [backend, "False"]
    finally:
        if env.get("REDIS_URL"):
            from django.core.cache.backends.redis import RedisCache

            RedisCache(REDIS_TEST_URL, {}).delete(key)  # only this test's key
