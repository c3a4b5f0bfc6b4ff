"""Sign-in: logins, failed logins and logouts are in the audit trail; after
``LOGIN_FAILURE_LIMIT`` failures for one user name within the window the name is refused, on
the login page and for API tokens alike, until the window passes; a successful login before
the limit starts the count again.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from taxdesk.core.auth import is_throttled, recent_failures
from taxdesk.core.choices import AuditAction, AuditSource
from taxdesk.core.models import AuditEntry, User
from taxdesk.testing.cast import PASSWORD

LOGIN = "/accounts/login/"
WRONG = "not-the-password"


def attempt(client, username, password, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def form_error_codes(response) -> list[str]:
    return [e.code for e in response.context["form"].errors.as_data().get("__all__", [])]


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def entries(action, username):
    return AuditEntry.objects.filter(action=action, object_repr=username).order_by("id")


@pytest.fixture
def limit():
    assert settings.LOGIN_FAILURE_LIMIT == 5  # what the brief promises service units
    return settings.LOGIN_FAILURE_LIMIT


def test_login_is_recorded(cast):
    client = Client()
    response = attempt(
        client, "dispatcher_a", PASSWORD, REMOTE_ADDR="172.16.0.8", HTTP_X_REQUEST_ID="login-000001"
    )
    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in(client)
    [entry] = entries(AuditAction.LOGIN, "dispatcher_a")
    assert entry.actor == cast.dispatcher_a
    assert (entry.ip, entry.request_id, entry.source) == (
        "172.16.0.8",
        "login-000001",
        AuditSource.WEB,
    )
    assert entry.unit_id == cast.unit_a.pk  # the unit's administrator sees it


def test_failed_login_is_recorded_and_changes_nothing_else(cast):
    client = Client()
    user_before = User.objects.filter(pk=cast.sales_a.pk).values().get()
    count = AuditEntry.objects.count()
    response = attempt(client, "sales_a", WRONG, REMOTE_ADDR="172.16.0.9")
    assert response.status_code == 200
    assert form_error_codes(response) == ["invalid_login"]
    assert not signed_in(client)
    [entry] = entries(AuditAction.LOGIN_FAILED, "sales_a")
    assert entry.object_repr == "sales_a"  # the name that was tried
    assert entry.actor is None and entry.ip == "172.16.0.9"
    assert AuditEntry.objects.count() == count + 1
    assert User.objects.filter(pk=cast.sales_a.pk).values().get() == user_before


def test_failed_login_of_an_unknown_name_is_recorded_with_that_name(cast):
    response = attempt(Client(), "no_such_user", WRONG)
    assert form_error_codes(response) == ["invalid_login"]
    assert entries(AuditAction.LOGIN_FAILED, "no_such_user").count() == 1


def test_logout_is_recorded(cast):
    client = Client()
    attempt(client, "repair_a", PASSWORD)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert not signed_in(client)
    [entry] = entries(AuditAction.LOGOUT, "repair_a")
    assert entry.actor == cast.repair_a


def test_inactive_user_cannot_log_in(cast):
    cast.trainer_a.is_active = False
    cast.trainer_a.save()
    client = Client()
    response = attempt(client, "trainer_a", PASSWORD)
    assert response.status_code == 200
    assert not signed_in(client)
    assert not entries(AuditAction.LOGIN, "trainer_a").exists()


def test_throttled_after_the_limit_even_with_the_right_password(cast, limit):
    client = Client()
    for _ in range(limit - 1):
        assert form_error_codes(attempt(client, "technician_a", WRONG)) == ["invalid_login"]
    assert not is_throttled("technician_a")
    assert form_error_codes(attempt(client, "technician_a", WRONG)) == ["invalid_login"]
    assert recent_failures("technician_a") == limit and is_throttled("technician_a")

    response = attempt(client, "technician_a", PASSWORD)
    assert response.status_code == 200
    assert form_error_codes(response) == ["throttled"]
    [message] = response.context["form"].non_field_errors()
    assert str(settings.LOGIN_FAILURE_WINDOW_MINUTES) in message
    assert message in response.content.decode()
    assert not signed_in(client)
    assert not entries(AuditAction.LOGIN, "technician_a").exists()

    # The API refuses a token for the name too.
    token = client.post("/api/auth/token/", {"username": "technician_a", "password": PASSWORD})
    assert token.status_code == 400
    assert set(token.json()["error"]) == {"code", "message", "fields"}
    assert "token" not in token.json()

    # Other names are not affected.
    assert attempt(Client(), "technician_b", PASSWORD).status_code == 302


def test_throttle_counts_api_token_failures_too(cast, limit):
    client = Client()
    for _ in range(limit):
        response = client.post("/api/auth/token/", {"username": "admin_b", "password": WRONG})
        assert response.status_code == 400
    assert entries(AuditAction.LOGIN_FAILED, "admin_b").count() == limit
    assert form_error_codes(attempt(client, "admin_b", PASSWORD)) == ["throttled"]


def test_successful_login_before_the_limit_resets_the_count(cast, limit):
    client = Client()
    for _ in range(limit - 1):
        attempt(client, "admin_a", WRONG)
    assert attempt(client, "admin_a", PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    assert recent_failures("admin_a") == 0
    for _ in range(limit - 1):
        attempt(client, "admin_a", WRONG)
    assert not is_throttled("admin_a")
    assert attempt(client, "admin_a", PASSWORD).status_code == 302
    assert signed_in(client)


def test_the_throttle_ends_with_the_window(cast, limit, time_machine):
    client = Client()
    for _ in range(limit):
        attempt(client, "supervisor_y", WRONG)
    assert is_throttled("supervisor_y")
    # The trail cannot be aged: move the clock past the window instead.
    later = timezone.now() + timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MINUTES + 1)
    time_machine.move_to(later)
    assert not is_throttled("supervisor_y")
    assert attempt(client, "supervisor_y", PASSWORD).status_code == 302


def test_wrong_password_then_right_one_logs_in(cast):
    client = Client()
    attempt(client, "tax_a", WRONG)
    assert attempt(client, "tax_a", PASSWORD).status_code == 302
    assert signed_in(client)
    assert entries(AuditAction.LOGIN_FAILED, "tax_a").count() == 1
    assert entries(AuditAction.LOGIN, "tax_a").count() == 1
