"""The message backends come from the environment; a bad value stops the start and names
the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PRINT = (
    "from django.conf import settings as s; "
    "print(s.NOTIFICATIONS_SMS_BACKEND, s.NOTIFICATIONS_EMAIL_BACKEND, s.EMAIL_BACKEND, "
    "s.TAXDESK_SMS_TIMEOUT)"
)


def run(tmp_path, *args, **env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TAXDESK_", "DATABASE_URL", "REDIS_URL", "EMAIL_", "DEFAULT_FROM"))
    }
    clean.update({"TAXDESK_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "taxdesk.settings"})
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_embedded_default_keeps_every_message(tmp_path):
    result = run(tmp_path, "shell", "-c", PRINT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == [
        "stored",
        "stored",
        "django.core.mail.backends.smtp.EmailBackend",
        "10",
    ]


def test_a_provider_and_an_smtp_host_from_the_environment(tmp_path):
    result = run(
        tmp_path,
        "shell",
        "-c",
        PRINT,
        TAXDESK_SMS_URL="https://sms.example/api/send",
        TAXDESK_SMS_KEY="secret",
        TAXDESK_SMS_SIGNATURE="【某某税控】",
        TAXDESK_SMS_TIMEOUT="5",
        EMAIL_HOST="mail.example",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == [
        "http",
        "django",
        "django.core.mail.backends.smtp.EmailBackend",
        "5",
    ]


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"TAXDESK_SMS_URL": "sms.example/send"}, "TAXDESK_SMS_URL"),
        ({"TAXDESK_SMS_URL": "https://sms.example/send"}, "TAXDESK_SMS_KEY"),
        (
            {"TAXDESK_SMS_URL": "https://sms.example/send", "TAXDESK_SMS_KEY": "k"},
            "TAXDESK_SMS_SIGNATURE",
        ),
        ({"TAXDESK_SMS_TIMEOUT": "0"}, "TAXDESK_SMS_TIMEOUT"),
        ({"EMAIL_USE_TLS": "true", "EMAIL_USE_SSL": "true"}, "EMAIL_USE_SSL"),
    ],
)
def test_a_bad_value_names_the_variable(tmp_path, env, variable):
    result = run(tmp_path, "check", **env)
    assert result.returncode != 0
    assert f"{variable}:" in result.stderr
