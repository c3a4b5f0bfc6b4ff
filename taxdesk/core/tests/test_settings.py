"""Settings come from the environment; production refuses to start on a bad value."""

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
