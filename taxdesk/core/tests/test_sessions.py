"""Sessions: signed out after the unit's idle minutes (a site default for users without a
unit), with a Chinese message on the login page; "sign out everywhere" ends every session
and the API token, audited; passwords follow Django's validators, refused in Chinese."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone, translation
from rest_framework.authtoken.models import Token

from taxdesk.core.actions import update_service_unit
from taxdesk.core.choices import AuditAction
from taxdesk.core.models import AuditEntry, ServiceUnit
from taxdesk.testing.browser import CJK
from taxdesk.testing.cast import PASSWORD

from .test_api import assert_error

IDLE_MESSAGE = (
    "You were signed out after %(minutes)s minutes without activity. Please sign in again."
)


def zh(message: str, **params) -> str:
    with translation.override("zh-hans"):
        text = translation.gettext(message)
    return text % params if params else text


@pytest.fixture
def clock(monkeypatch):
    """Moves the time the application sees (``clock.forward(minutes=…)``)."""

    class Clock:
        now = timezone.now()

        def forward(self, **delta):
            self.now += timedelta(**delta)

    moving = Clock()
    monkeypatch.setattr(timezone, "now", lambda: moving.now)
    return moving


def signed_in_client(user) -> Client:
    client = Client()
    client.force_login(user)
    assert client.get("/").status_code == 200  # the first request records the activity
    return client


def test_a_session_idle_longer_than_its_units_setting_is_signed_out(cast, clock):
    update_service_unit(cast.unit_a, by=cast.admin_a, session_idle_minutes=10)
    client = signed_in_client(cast.dispatcher_a)
    clock.forward(minutes=9)
    assert client.get("/clocks/").status_code == 200  # activity: the idle time starts again
    clock.forward(minutes=9)
    assert client.get("/").status_code == 200
    clock.forward(minutes=10, seconds=1)

    response = client.get("/taxpayers/?q=x")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Ftaxpayers%2F%3Fq%3Dx"
    login_page = client.get(response["Location"])
    message = zh(IDLE_MESSAGE, minutes=10)
    assert "10 分钟" in message
    assert message in login_page.content.decode()
    assert client.get("/").status_code == 302  # signed out for good
    [entry] = AuditEntry.objects.filter(action=AuditAction.LOGOUT, actor=cast.dispatcher_a)
    assert entry.changes == {"reason": "idle"}


def test_users_without_a_unit_get_the_site_default(cast, clock):
    assert settings.SESSION_IDLE_MINUTES == 30
    client = signed_in_client(cast.supervisor_x)
    clock.forward(minutes=29)
    assert client.get("/").status_code == 200
    clock.forward(minutes=30, seconds=1)
    assert client.get("/").status_code == 302


def test_a_taxpayer_user_follows_their_taxpayers_unit(cast, clock):
    update_service_unit(cast.unit_a, by=cast.admin_a, session_idle_minutes=5)
    client = signed_in_client(cast.taxpayer_pa1)
    clock.forward(minutes=5, seconds=1)
    assert client.get("/").status_code == 302


def test_an_idle_htmx_request_sends_the_whole_page_to_the_login(cast, clock):
    client = signed_in_client(cast.admin_b)
    clock.forward(minutes=31)
    response = client.get("/taxpayers/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/"


def test_an_idle_session_on_the_api_is_refused_but_a_token_is_not_a_session(cast, clock):
    client = signed_in_client(cast.admin_b)
    token = Token.objects.create(user=cast.technician_b)
    clock.forward(minutes=31)
    assert_error(client.get("/api/me/"), 403, "not_authenticated")
    assert Client().get("/api/me/", HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 200


def test_the_unit_admin_sets_the_idle_minutes(cast, client_for):
    client = client_for(cast.admin_a)
    url = f"/units/{cast.unit_a.pk}/edit/"
    form = client.get(url)
    assert 'name="session_idle_minutes"' in form.content.decode()
    data = {
        "address": "",
        "hotline": "",
        "working_hours": cast.unit_a.working_hours,
        "entry_deadline_workdays": 1,
        "session_idle_minutes": 3,
    }
    refused = client.post(url, data)
    assert refused.status_code == 400
    [error] = refused.context["form"].errors["session_idle_minutes"]
    assert error == zh("Ensure this value is greater than or equal to %(limit_value)s.") % {
        "limit_value": 5
    }
    assert client.post(url, {**data, "session_idle_minutes": 45}).status_code == 302
    assert ServiceUnit.objects.get(pk=cast.unit_a.pk).session_idle_minutes == 45
    entry = AuditEntry.objects.filter(action=AuditAction.UPDATE, object_repr=cast.unit_a.name)
    assert entry.first().changes == {"session_idle_minutes": [30, 45]}  # the newest
    assert entry.first().actor == cast.admin_a
    detail = client.get(f"/units/{cast.unit_a.pk}/").content.decode()
    assert '<dd class="col-sm-9" data-testid="session-idle">45</dd>' in detail

    # Through the API too; nobody else may.
    api = client.patch(
        f"/api/units/{cast.unit_a.pk}/",
        {"session_idle_minutes": 20},
        content_type="application/json",
    )
    assert api.status_code == 200 and api.json()["session_idle_minutes"] == 20
    other = client_for(cast.dispatcher_a).post(url, {**data, "session_idle_minutes": 60})
    assert other.status_code in (403, 404)
    assert ServiceUnit.objects.get(pk=cast.unit_a.pk).session_idle_minutes == 20


def test_sign_out_everywhere_ends_every_session_and_the_token(cast, client_for):
    phone, desk = signed_in_client(cast.admin_a), signed_in_client(cast.admin_a)
    other_user = signed_in_client(cast.admin_b)
    token = Token.objects.create(user=cast.admin_a)
    assert 'data-testid="end-sessions"' in desk.get("/accounts/password/").content.decode()

    assert desk.get("/accounts/sessions/end/").status_code == 405  # only by a form's POST
    response = desk.post("/accounts/sessions/end/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    message = zh(
        "You were signed out everywhere and your API token was deleted. Please sign in again."
    )
    assert message in desk.get("/accounts/login/").content.decode()
    for client in (desk, phone):
        assert client.get("/").status_code == 302
    assert not Token.objects.filter(user=cast.admin_a).exists()
    assert_error(Client().get("/api/me/", HTTP_AUTHORIZATION=f"Token {token.key}"), 403)
    assert other_user.get("/").status_code == 200  # another user's sessions stay

    ended = AuditEntry.objects.filter(action=AuditAction.LOGOUT, actor=cast.admin_a).first()
    assert ended.changes == {"sessions": "all ended", "api_token": "deleted"}
    assert ended.unit_id == cast.unit_a.pk
    update = AuditEntry.objects.filter(action=AuditAction.UPDATE, object_repr="admin_a").first()
    assert update.changes == {"session_epoch": [0, 1]}

    # Signing in again works, and makes a session the next "everywhere" ends as well.
    again = Client()
    assert (
        again.post("/accounts/login/", {"username": "admin_a", "password": PASSWORD}).status_code
        == 302
    )
    assert again.get("/").status_code == 200
    again.post("/accounts/sessions/end/")
    assert again.get("/").status_code == 302


def test_sign_out_everywhere_needs_a_sign_in(cast):
    response = Client().post("/accounts/sessions/end/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("Ab1", "password_too_short"),
        ("password123", "password_too_common"),
        ("8302945716", "password_entirely_numeric"),
        ("admin_a_pw", "password_too_similar"),
    ],
)
def test_weak_passwords_are_refused_in_chinese(cast, client_for, password, code):
    assert len(settings.AUTH_PASSWORD_VALIDATORS) == 4
    client = client_for(cast.admin_a)
    response = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": password, "new_password2": password},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors.as_data()["new_password2"]
    assert code in [error.code for error in errors]
    page = response.content.decode()
    for error in errors:
        with translation.override("zh-hans"):
            [text] = error.messages
        assert CJK.search(text), text
        assert text in page  # the page shows the Chinese message
    cast.admin_a.refresh_from_db()
    assert cast.admin_a.check_password(PASSWORD)


def test_a_good_password_is_taken_and_keeps_the_session(cast, client_for):
    client = client_for(cast.admin_a)
    new = "Zhang-hu-2026-mima"
    response = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    cast.admin_a.refresh_from_db()
    assert cast.admin_a.check_password(new)
