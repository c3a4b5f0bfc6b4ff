"""Settings come from the environment; production refuses to start on a bad value."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
GOOD_KEY = "k" * 20 + "-production-secret-key-0123456789abcdefXYZ"


def run_check(tmp_path, *args, **env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("TAXDESK_", "DATABASE_URL", "SECRET_KEY", "REDIS_URL", "ALLOWED_HOSTS")
        )
    }
    clean.update({"TAXDESK_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "taxdesk.settings"})
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_embedded_default_needs_no_variable(tmp_path):
    result = run_check(tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "secret_key").exists()


def test_processes_starting_at_once_share_one_generated_key(tmp_path):
    """Parallel test workers (or gunicorn's) start together on a fresh ``var/``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TAXDESK_", "DATABASE_URL", "SECRET_KEY", "REDIS_URL"))
    }
    env.update({"TAXDESK_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "taxdesk.settings"})
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    keys = {start.communicate(timeout=120)[0].strip() for start in starts}
    assert all(start.returncode == 0 for start in starts)
    assert keys == {(tmp_path / "secret_key").read_text().strip()}
    assert len(keys.pop()) >= 50
    assert [p.name for p in tmp_path.iterdir() if "secret" in p.name] == ["secret_key"]


@pytest.mark.parametrize(
    ("env", "variable", "reason"),
    [
        (
            {"TAXDESK_MODE": "production", "ALLOWED_HOSTS": "taxdesk.example"},
            "SECRET_KEY",
            "required",
        ),
        (
            {
                "TAXDESK_MODE": "production",
                "SECRET_KEY": GOOD_KEY,
                "TAXDESK_DEBUG": "true",
                "ALLOWED_HOSTS": "taxdesk.example",
            },
            "TAXDESK_DEBUG",
            "DEBUG must be off",
        ),
        (
            {
                "TAXDESK_MODE": "production",
                "SECRET_KEY": "short",
                "ALLOWED_HOSTS": "taxdesk.example",
            },
            "SECRET_KEY",
            "at least 50",
        ),
        ({"TAXDESK_MODE": "production", "SECRET_KEY": GOOD_KEY}, "ALLOWED_HOSTS", "required"),
        ({"TAXDESK_MODE": "staging"}, "TAXDESK_MODE", "not one of"),
        ({"TAXDESK_DEBUG": "maybe"}, "TAXDESK_DEBUG", "not a boolean"),
        ({"DATABASE_URL": "nosuchdb://x"}, "DATABASE_URL", "cannot be parsed"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL", "must start with"),
        ({"TAXDESK_LOGIN_FAILURE_LIMIT": "many"}, "TAXDESK_LOGIN_FAILURE_LIMIT", "whole number"),
        ({"CSRF_TRUSTED_ORIGINS": "taxdesk.example"}, "CSRF_TRUSTED_ORIGINS", "must start"),
        ({"TAXDESK_TRUSTED_PROXIES": "10.0.0.1,x"}, "TAXDESK_TRUSTED_PROXIES", "not an address"),
    ],
)
def test_bad_environment_stops_the_start_and_names_the_variable(tmp_path, env, variable, reason):
    result = run_check(tmp_path, **env)
    assert result.returncode != 0
    assert f"{variable}:" in result.stderr
    assert reason in result.stderr


def test_production_mode_passes_check_deploy(tmp_path):
    result = run_check(
        tmp_path,
        "--deploy",
        "--fail-level",
        "WARNING",
        TAXDESK_MODE="production",
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="taxdesk.example",
    )
    assert result.returncode == 0, result.stdout + result.stderr


SHOW_MODE = """
import json
from django.conf import settings
from django.test import Client, override_settings
# Static files are not collected here; the page's cookies are what is looked at.
plain_static = {{**settings.STORAGES, "staticfiles": {{
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}}}
with override_settings(STORAGES=plain_static):
    response = Client().get("/accounts/login/", **{extra})
cookie = response.cookies.get("csrftoken")
print(json.dumps({{
    "status": response.status_code,
    "location": response.get("Location"),
    "csrf_cookie_secure": bool(cookie and cookie["secure"]),
    "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_setting_secure": settings.CSRF_COOKIE_SECURE,
    "language_cookie_secure": settings.LANGUAGE_COOKIE_SECURE,
    "hsts": settings.SECURE_HSTS_SECONDS,
    "proxy_header": settings.SECURE_PROXY_SSL_HEADER,
    "silenced": settings.SILENCED_SYSTEM_CHECKS,
}}))
"""


@pytest.mark.parametrize("https", ["true", "false"])
def test_both_production_modes_pass_check_deploy(tmp_path, https):
    """Behind a TLS proxy (true) and plain HTTP in a closed network (false): bin/run's own
    check passes in each."""
    result = run_check(
        tmp_path,
        "--deploy",
        "--fail-level",
        "WARNING",
        TAXDESK_MODE="production",
        TAXDESK_HTTPS=https,
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="taxdesk.example",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    if https == "false":
        # Exactly the HTTPS-only checks are silenced, and Django says so.
        assert "(4 silenced)" in result.stdout, result.stdout


def show_mode(tmp_path, https, **extra) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TAXDESK_", "DATABASE_URL", "SECRET_KEY", "REDIS_URL", "ALLOWED_"))
    }
    env.update(
        TAXDESK_VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="taxdesk.settings",
        TAXDESK_MODE="production",
        TAXDESK_HTTPS=https,
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="testserver",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", SHOW_MODE.format(extra=extra)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_http_mode_sets_no_secure_only_cookie(tmp_path):
    shown = show_mode(tmp_path, "false")
    assert shown["status"] == 200 and shown["location"] is None  # no redirect to https
    assert shown["csrf_cookie_secure"] is False  # the login form's cookie works over HTTP
    assert shown["session_cookie_secure"] is False
    assert shown["csrf_setting_secure"] is False
    assert shown["language_cookie_secure"] is False
    assert shown["hsts"] == 0
    assert shown["proxy_header"] is None  # no TLS proxy to trust
    assert shown["silenced"] == [
        "security.W004",
        "security.W008",
        "security.W012",
        "security.W016",
    ]


def test_the_https_mode_redirects_and_sets_secure_cookies(tmp_path):
    plain = show_mode(tmp_path, "true")
    assert plain["status"] == 301 and plain["location"].startswith("https://")
    behind_proxy = show_mode(tmp_path, "true", HTTP_X_FORWARDED_PROTO="https")
    assert behind_proxy["status"] == 200
    assert behind_proxy["csrf_cookie_secure"] is True
    assert behind_proxy["session_cookie_secure"] is True
    assert behind_proxy["hsts"] == 31536000
    assert behind_proxy["silenced"] == []


def test_sqlite_is_tuned_for_a_web_server(settings, db):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] >= 5
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= 5000
