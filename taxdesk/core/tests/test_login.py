"""Sign-in: logins, failed logins and logouts are in the audit trail. Failed attempts are
counted per user name and address together (``LOGIN_FAILURE_LIMIT``) and per address across
names (``LOGIN_ADDRESS_FAILURE_LIMIT``), on the login page, for API tokens and in the admin
alike; a lock ends when the window has passed; a successful login starts the name's count
again. The client's address is REMOTE_ADDR unless it is a trusted proxy.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client, RequestFactory
from django.utils import timezone, translation

from taxdesk.core.addresses import client_address
from taxdesk.core.auth import current_lockout
from taxdesk.core.choices import AuditAction, AuditSource
from taxdesk.core.models import AuditEntry, SignInCounter, User
from taxdesk.testing.cast import PASSWORD

LOGIN = "/accounts/login/"
TOKEN = "/api/auth/token/"
ADMIN_LOGIN = "/admin/login/"
WRONG = "not-the-password"
STRANGER = "203.0.113.66"
OFFICE = "172.16.0.8"


def attempt(client, username, password, address=OFFICE, **extra):
    return client.post(
        LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address, **extra
    )


def token(client, username, password, address=OFFICE):
    return client.post(TOKEN, {"username": username, "password": password}, REMOTE_ADDR=address)


def form_error_codes(response) -> list[str]:
    return [e.code for e in response.context["form"].errors.as_data().get("__all__", [])]


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def entries(action, username):
    return AuditEntry.objects.filter(action=action, object_repr=username).order_by("id")


def zh(message: str, **params) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(message) % params


NAME_LOCKED = "Too many failed logins for this user name: it is locked for %(minutes)s min."
ADDRESS_LOCKED = (
    "Too many failed logins from this address: signing in from it is locked for %(minutes)s min."
)


@pytest.fixture
def limit():
    assert settings.LOGIN_FAILURE_LIMIT == 5  # what the brief promises service units
    return settings.LOGIN_FAILURE_LIMIT


@pytest.fixture
def address_limit():
    assert settings.LOGIN_ADDRESS_FAILURE_LIMIT == 20
    return settings.LOGIN_ADDRESS_FAILURE_LIMIT


def test_login_is_recorded(cast):
    client = Client()
    response = attempt(client, "dispatcher_a", PASSWORD, HTTP_X_REQUEST_ID="login-000001")
    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in(client)
    [entry] = entries(AuditAction.LOGIN, "dispatcher_a")
    assert entry.actor == cast.dispatcher_a
    assert (entry.ip, entry.request_id, entry.source) == (OFFICE, "login-000001", AuditSource.WEB)
    assert entry.unit_id == cast.unit_a.pk  # the unit's administrator sees it


def test_failed_login_is_recorded_and_changes_nothing_else(cast):
    client = Client()
    user_before = User.objects.filter(pk=cast.sales_a.pk).values().get()
    count = AuditEntry.objects.count()
    response = attempt(client, "sales_a", WRONG, address="172.16.0.9")
    assert response.status_code == 200
    assert form_error_codes(response) == ["invalid_login"]
    assert not signed_in(client)
    [entry] = entries(AuditAction.LOGIN_FAILED, "sales_a")
    assert entry.object_repr == "sales_a"  # the name that was tried
    assert entry.actor is None and entry.ip == "172.16.0.9"
    assert entry.changes == {}  # its password was checked: no lock refused it
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


def test_the_name_is_locked_from_that_address_even_with_the_right_password(cast, limit):
    client = Client()
    for _ in range(limit - 1):
        assert form_error_codes(attempt(client, "technician_a", WRONG, STRANGER)) == [
            "invalid_login"
        ]
    assert current_lockout("technician_a", STRANGER) is None
    assert form_error_codes(attempt(client, "technician_a", WRONG, STRANGER)) == ["invalid_login"]
    lockout = current_lockout("technician_a", STRANGER)
    assert lockout.kind == "name" and lockout.minutes == settings.LOGIN_FAILURE_WINDOW_MINUTES

    response = attempt(client, "technician_a", PASSWORD, STRANGER)
    assert response.status_code == 200
    assert form_error_codes(response) == ["throttled"]
    [message] = response.context["form"].non_field_errors()
    minutes = settings.LOGIN_FAILURE_WINDOW_MINUTES
    assert message == zh(NAME_LOCKED, minutes=minutes)
    assert f"已锁定 {minutes} 分钟" in message  # the page says plainly what and how long
    assert message in response.content.decode()
    assert not signed_in(client)
    assert not entries(AuditAction.LOGIN, "technician_a").exists()
    # The refused attempt is in the trail, marked as refused by the lock.
    assert entries(AuditAction.LOGIN_FAILED, "technician_a").last().changes == {"locked": "name"}

    # The API refuses a token for the name from that address too: 429, the API's error shape.
    refused = token(client, "technician_a", PASSWORD, STRANGER)
    assert refused.status_code == 429
    assert set(refused.json()["error"]) == {"code", "message", "fields"}
    assert refused.json()["error"]["code"] == "login_locked"
    assert refused.json()["error"]["message"] == zh(NAME_LOCKED, minutes=minutes)
    assert 0 < int(refused["Retry-After"]) <= minutes * 60

    # And so does the admin.
    admin = Client().post(
        ADMIN_LOGIN,
        {"username": "technician_a", "password": PASSWORD, "next": "/admin/"},
        REMOTE_ADDR=STRANGER,
    )
    assert admin.status_code == 200
    assert zh(NAME_LOCKED, minutes=minutes) in admin.content.decode()

    # The stranger cannot lock the real user out: from the office the name signs in.
    office = Client()
    assert attempt(office, "technician_a", PASSWORD, OFFICE).status_code == 302
    assert signed_in(office)
    assert token(Client(), "technician_a", PASSWORD, OFFICE).status_code == 200
    # Other names from the stranger's address are not affected.
    assert attempt(Client(), "technician_b", PASSWORD, STRANGER).status_code == 302


def test_api_token_and_admin_failures_count_too(cast, limit):
    client = Client()
    for _ in range(limit - 2):
        assert token(client, "admin_b", WRONG).status_code == 400
    for _ in range(2):
        response = client.post(
            ADMIN_LOGIN, {"username": "admin_b", "password": WRONG}, REMOTE_ADDR=OFFICE
        )
        assert response.status_code == 200
    assert entries(AuditAction.LOGIN_FAILED, "admin_b").count() == limit
    assert form_error_codes(attempt(client, "admin_b", PASSWORD)) == ["throttled"]


def test_one_address_cannot_try_name_after_name(cast, limit, address_limit):
    """Below each name's limit, but twenty failures from one address lock the address."""
    client = Client()
    names = [f"guess_{n}" for n in range(address_limit // (limit - 1) + 1)]
    failures = 0
    for name in names:
        for _ in range(limit - 1):
            if failures == address_limit:
                break
            assert form_error_codes(attempt(client, name, WRONG, STRANGER)) == ["invalid_login"]
            failures += 1
    assert failures == address_limit

    # Any name from that address is refused now, a real one with its password too.
    response = attempt(client, "admin_a", PASSWORD, STRANGER)
    assert form_error_codes(response) == ["throttled_address"]
    minutes = settings.LOGIN_FAILURE_WINDOW_MINUTES
    assert response.context["form"].non_field_errors() == [zh(ADDRESS_LOCKED, minutes=minutes)]
    refused = token(client, "admin_a", PASSWORD, STRANGER)
    assert (refused.status_code, refused.json()["error"]["code"]) == (429, "address_locked")
    assert entries(AuditAction.LOGIN_FAILED, "admin_a").last().changes == {"locked": "address"}
    # The refused attempts did not count against admin_a's own name.
    assert SignInCounter.objects.get(kind="name", username="admin_a").attempts == 0
    # Another address is not affected.
    assert attempt(Client(), "admin_a", PASSWORD, OFFICE).status_code == 302


def test_successful_login_starts_the_name_again_and_is_no_failure_of_the_address(cast, limit):
    client = Client()
    for _ in range(limit - 1):
        attempt(client, "admin_a", WRONG)
    assert attempt(client, "admin_a", PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    assert not SignInCounter.objects.filter(kind="name", username="admin_a").exists()
    address = SignInCounter.objects.get(kind="address", address=OFFICE)
    assert address.attempts == limit - 1  # the failures, not the success
    for _ in range(limit - 1):
        attempt(client, "admin_a", WRONG)
    assert current_lockout("admin_a", OFFICE) is None
    assert attempt(client, "admin_a", PASSWORD).status_code == 302
    assert signed_in(client)


def test_the_lock_ends_with_the_window(cast, limit, time_machine):
    client = Client()
    for _ in range(limit):
        attempt(client, "supervisor_y", WRONG)
    assert current_lockout("supervisor_y", OFFICE) is not None
    # Refused attempts do not prolong the lock.
    assert form_error_codes(attempt(client, "supervisor_y", PASSWORD)) == ["throttled"]
    later = timezone.now() + timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MINUTES, seconds=1)
    time_machine.move_to(later)
    assert current_lockout("supervisor_y", OFFICE) is None
    assert attempt(client, "supervisor_y", PASSWORD).status_code == 302


def test_failures_older_than_the_window_start_a_new_count(cast, limit, monkeypatch):
    client = Client()
    for _ in range(limit - 1):
        attempt(client, "tax_a", WRONG)
        attempt(client, "supervisor_x", WRONG)
    later = timezone.now() + timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MINUTES, seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    for _ in range(limit - 1):
        assert form_error_codes(attempt(client, "tax_a", WRONG)) == ["invalid_login"]
    assert SignInCounter.objects.get(kind="name", username="tax_a").attempts == limit - 1
    assert attempt(client, "tax_a", PASSWORD).status_code == 302
    # The success dropped the counters whose window had passed.
    assert not SignInCounter.objects.filter(username="supervisor_x").exists()


def test_wrong_password_then_right_one_logs_in(cast):
    client = Client()
    attempt(client, "tax_a", WRONG)
    assert attempt(client, "tax_a", PASSWORD).status_code == 302
    assert signed_in(client)
    assert entries(AuditAction.LOGIN_FAILED, "tax_a").count() == 1
    assert entries(AuditAction.LOGIN, "tax_a").count() == 1


# --- the client's address ---------------------------------------------------------------------


def address_of(remote, forwarded=None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client_address(RequestFactory().get("/", REMOTE_ADDR=remote, **extra))


def test_forwarded_for_is_ignored_without_a_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = []
    assert address_of("198.51.100.7", "1.2.3.4") == "198.51.100.7"


def test_forwarded_for_is_read_behind_a_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    # The proxy appended the client it saw; what the client wrote itself stands to the left.
    assert address_of("10.0.0.2", "1.2.3.4, 198.51.100.7") == "198.51.100.7"
    # Through two trusted proxies.
    assert address_of("10.0.0.2", "1.2.3.4, 198.51.100.7, 10.0.0.3") == "198.51.100.7"
    assert address_of("10.0.0.2") == "10.0.0.2"  # no header: the proxy is all we know
    assert address_of("10.0.0.2", "garbage") == "10.0.0.2"
    assert address_of("10.0.0.2", " 2001:db8::1 ") == "2001:db8::1"
    # A peer that is not a trusted proxy cannot choose its address.
    assert address_of("198.51.100.9", "10.0.0.5") == "198.51.100.9"


def test_a_forged_forwarded_for_does_not_escape_the_lock(cast, limit, settings):
    settings.TRUSTED_PROXIES = []
    client = Client()
    for n in range(limit):
        attempt(client, "admin_a", WRONG, STRANGER, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    response = attempt(client, "admin_a", PASSWORD, STRANGER, HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert form_error_codes(response) == ["throttled"]


def test_behind_a_trusted_proxy_the_forwarded_address_is_counted_and_audited(cast, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    attempt(Client(), "admin_a", WRONG, "10.0.0.1", HTTP_X_FORWARDED_FOR=STRANGER)
    assert entries(AuditAction.LOGIN_FAILED, "admin_a").get().ip == STRANGER
    assert SignInCounter.objects.get(kind="name", username="admin_a").address == STRANGER
