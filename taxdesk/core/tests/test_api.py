"""Every API endpoint, for every member of the cast: scoped lists and details (404 outside
scope), writes only for the roles that may, pausing only where a rule allows it (MNT-04,
MNT-03), the calendar kept by the supervision body, token sign-in, the OpenAPI schema and its
locally served docs, and one error shape everywhere:

    {"error": {"code": str, "message": str, "fields": dict}}
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from taxdesk.clocks.actions import start_deadline
from taxdesk.clocks.models import DeadlinePause
from taxdesk.core.choices import AuditAction, Role
from taxdesk.core.models import AuditEntry, ServiceUnit
from taxdesk.customers.models import Taxpayer
from taxdesk.testing.cast import EXPECTED_VIEW, PASSWORD, SHANGHAI, key_of
from taxdesk.workdays.models import CalendarDay, CalendarYear

CAST = sorted(EXPECTED_VIEW)
UNITS = ("unit_a", "unit_b", "unit_c")
CLOCKS = ("clock_pa1", "clock_pa2", "clock_pb1", "clock_pc1")
CLOCK_EDITORS = {Role.UNIT_ADMIN, Role.DISPATCHER, Role.TECHNICIAN, Role.REPAIR_TECHNICIAN}


def units_of(username: str) -> set[str]:
    return {f"unit_{u}" for u in EXPECTED_VIEW[username]["units"]}


def clocks_of(username: str) -> set[str]:
    return set(EXPECTED_VIEW[username]["clocks"])


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The response is an error of ``status`` with exactly the API's error shape."""
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}, error
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    for name, messages in error["fields"].items():
        assert isinstance(name, str)
        assert isinstance(messages, list) and all(isinstance(m, str) for m in messages)
    if code is not None:
        assert error["code"] == code, error
    return error


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    assert body["next"] is None  # the cast fits one page
    return body["results"]


def patch(client, url, data, **extra):
    return client.patch(url, json.dumps(data), content_type="application/json", **extra)


def post(client, url, data=None, **extra):
    return client.post(url, json.dumps(data or {}), content_type="application/json", **extra)


# --- me -------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", CAST)
def test_me_names_the_caller_and_their_tenant(cast, client_for, username):
    user = cast.users[username]
    response = client_for(user).get("/api/me/")
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == username
    assert body["role"] == user.role
    assert body["is_superuser"] is user.is_superuser
    assert body["service_unit"] == user.service_unit_id
    assert body["taxpayer"] == user.taxpayer_id
    assert ("audit" in body["menu"]) is user.can_search_audit
    assert ("admin" in body["menu"]) is user.is_superuser


# --- units ----------------------------------------------------------------------------------


@pytest.mark.parametrize("username", CAST)
def test_unit_list_and_detail_are_scoped(cast, client_for, username):
    client = client_for(cast.users[username])
    listed = results(client.get("/api/units/"))
    assert {f"unit_{u['code'][-1].lower()}" for u in listed} == units_of(username)
    assert len(listed) == len(units_of(username))
    for unit_key in UNITS:
        unit = cast.units[unit_key]
        response = client.get(f"/api/units/{unit.pk}/")
        if unit_key in units_of(username):
            assert response.status_code == 200
            assert response.json()["name"] == unit.name
        else:
            assert_error(response, 404, "not_found")


@pytest.mark.parametrize("username", CAST)
def test_unit_patch_only_by_its_admin(cast, client_for, username):
    """403 for a unit the caller sees but may not change; 404 for one they cannot see."""
    user = cast.users[username]
    client = client_for(user)
    for unit_key in UNITS:
        unit = cast.units[unit_key]
        response = patch(client, f"/api/units/{unit.pk}/", {"hotline": "400-000-0001"})
        unit.refresh_from_db()
        own_admin = user.role == Role.UNIT_ADMIN and user.service_unit_id == unit.pk
        if user.is_superuser or own_admin:
            assert response.status_code == 200, response.content
            assert response.json()["hotline"] == "400-000-0001"
            assert unit.hotline == "400-000-0001"
        else:
            if unit_key in units_of(username):
                assert_error(response, 403, "permission_denied")
            else:
                assert_error(response, 404, "not_found")
            assert unit.hotline == ""


def test_unit_patch_bad_working_hours_is_a_field_error(cast, client_for):
    unit = cast.unit_a
    client = client_for(cast.admin_a)
    entries = AuditEntry.objects.count()
    for bad in ("18:00-09:00", "9点到5点", "09:00-12:00,11:00-13:00"):
        error = assert_error(patch(client, f"/api/units/{unit.pk}/", {"working_hours": bad}), 400)
        assert list(error["fields"]) == ["working_hours"], bad
    unit.refresh_from_db()
    assert unit.working_hours == "09:00-12:00,13:00-18:00"
    assert AuditEntry.objects.count() == entries


def test_unit_patch_refuses_fields_a_unit_does_not_set(cast, client_for):
    unit = cast.unit_a
    client = client_for(cast.admin_a)
    entries = AuditEntry.objects.count()
    error = assert_error(
        patch(
            client,
            f"/api/units/{unit.pk}/",
            {"name": "改名", "code": "ZZ", "supervision_body": cast.body_y.pk, "address": "新地址"},
        ),
        400,
        "unknown_field",
    )
    assert sorted(error["fields"]) == ["code", "name", "supervision_body"]
    unit.refresh_from_db()
    assert (unit.name, unit.code, unit.supervision_body) == ("服务单位A", "UA", cast.body_x)
    assert unit.address != "新地址"
    assert AuditEntry.objects.count() == entries
    assert patch(client, f"/api/units/{unit.pk}/", {"address": "新地址"}).status_code == 200
    unit.refresh_from_db()
    assert unit.address == "新地址"


def test_unit_delete_and_put_are_not_offered(cast, client_for):
    client = client_for(cast.admin_a)
    assert_error(client.delete(f"/api/units/{cast.unit_a.pk}/"), 405, "method_not_allowed")
    assert_error(client.post("/api/units/", {}), 405, "method_not_allowed")
    assert ServiceUnit.objects.filter(pk=cast.unit_a.pk).exists()


# --- deadlines ------------------------------------------------------------------------------


@pytest.mark.parametrize("username", CAST)
def test_deadline_list_and_detail_are_scoped(cast, client_for, username):
    client = client_for(cast.users[username])
    listed = results(client.get("/api/deadlines/"))
    by_id = {d.pk: k for k, d in cast.deadlines.items()}
    assert {by_id[row["id"]] for row in listed} == clocks_of(username)
    assert len(listed) == len(clocks_of(username))
    for clock_key in CLOCKS:
        clock = cast.deadlines[clock_key]
        response = client.get(f"/api/deadlines/{clock.pk}/")
        if clock_key in clocks_of(username):
            assert response.status_code == 200
            assert response.json()["rule"] == "INS-06"
            assert response.json()["record"] == str(clock.taxpayer)
        else:
            assert_error(response, 404, "not_found")


PAUSE = {"reason": "user_unreachable", "evidence": "拨打两次未接通 (call log 10:05, 10:20)"}


@pytest.mark.parametrize("username", CAST)
def test_pause_mnt_04_refuses_ins_06_clocks(cast, client_for, username):
    """Only MNT-04/MNT-03 clocks may pause: an INS-06 clock is refused whoever asks."""
    user = cast.users[username]
    client = client_for(user)
    for clock_key in CLOCKS:
        clock = cast.deadlines[clock_key]
        response = post(client, f"/api/deadlines/{clock.pk}/pause/", PAUSE)
        if clock_key not in clocks_of(username):
            assert_error(response, 404, "not_found")
        elif user.is_superuser or user.role in CLOCK_EDITORS:
            assert_error(response, 400, "pause_not_allowed")
        else:
            assert_error(response, 403, "permission_denied")
        clock.refresh_from_db()
        assert clock.status == "running"
    assert not DeadlinePause.objects.exists()


@pytest.fixture
def mnt_04(cast):
    """A dispatch's MNT-04 clock (contact the user within 1 working hour) in unit A."""
    return start_deadline(
        cast.pa1,
        "MNT-04",
        started_at=timezone.now() - timedelta(minutes=5),
        service_unit=cast.unit_a,
        taxpayer=cast.pa1,
        by=cast.dispatcher_a,
    )


def test_pause_mnt_04_and_resume(cast, client_for, mnt_04):
    client = client_for(cast.technician_a)
    due_before = mnt_04.due_at
    response = post(client, f"/api/deadlines/{mnt_04.pk}/pause/", PAUSE)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "paused"
    assert [(p["reason"], p["evidence"], p["ended_at"]) for p in body["pauses"]] == [
        (PAUSE["reason"], PAUSE["evidence"], None)
    ]
    assert body["pauses"][0]["paused_by"] == cast.technician_a.pk

    response = post(client, f"/api/deadlines/{mnt_04.pk}/resume/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "running"
    assert len(body["pauses"]) == 1 and body["pauses"][0]["ended_at"] is not None
    mnt_04.refresh_from_db()
    assert mnt_04.status == "running"
    assert mnt_04.paused_for >= timedelta(0)
    # The paused time is added, never taken away: the due time does not move earlier.
    assert mnt_04.due_at >= due_before
    pause = mnt_04.pauses.get()
    assert pause.ended_at is not None and pause.paused_by == cast.technician_a


def test_pause_mnt_04_is_recorded_in_the_audit_trail(cast, client_for, mnt_04):
    client = client_for(cast.dispatcher_a)
    post(client, f"/api/deadlines/{mnt_04.pk}/pause/", PAUSE, HTTP_X_REQUEST_ID="pause-0000001")
    entries = AuditEntry.objects.filter(request_id="pause-0000001")
    kinds = {(e.content_type.model, e.action) for e in entries}
    assert kinds == {("deadline", AuditAction.UPDATE), ("deadlinepause", AuditAction.CREATE)}
    assert {e.actor for e in entries} == {cast.dispatcher_a}
    assert {e.source for e in entries} == {"api"}
    status_change = entries.get(content_type__model="deadline")
    assert status_change.changes["status"] == ["running", "paused"]


def test_pause_mnt_04_only_for_an_unreachable_user(cast, client_for, mnt_04):
    """MNT-04 may pause when the user cannot be reached, not for the user's equipment."""
    client = client_for(cast.technician_a)
    response = post(
        client, f"/api/deadlines/{mnt_04.pk}/pause/", {**PAUSE, "reason": "user_equipment"}
    )
    assert_error(response, 400, "pause_not_allowed")
    mnt_04.refresh_from_db()
    assert mnt_04.status == "running" and not mnt_04.pauses.exists()


def test_pause_mnt_03_for_the_users_equipment_ins_04(cast, client_for):
    """MNT-03 (fix on site within a working day) may pause while the user replaces their own
    computer or printer (INS-04)."""
    clock = start_deadline(
        cast.pa2,
        "MNT-03",
        started_at=timezone.now() - timedelta(minutes=5),
        service_unit=cast.unit_a,
        taxpayer=cast.pa2,
        by=cast.dispatcher_a,
    )
    response = post(
        client_for(cast.repair_a),
        f"/api/deadlines/{clock.pk}/pause/",
        {"reason": "user_equipment", "evidence": "用户打印机故障，需自行更换"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "paused"


def test_pause_mnt_04_needs_evidence_and_a_running_clock(cast, client_for, mnt_04):
    client = client_for(cast.technician_a)
    url = f"/api/deadlines/{mnt_04.pk}/pause/"
    error = assert_error(post(client, url, {**PAUSE, "evidence": ""}), 400)
    assert list(error["fields"]) == ["evidence"]
    error = assert_error(post(client, url, {"evidence": "x", "reason": "coffee"}), 400)
    assert list(error["fields"]) == ["reason"]
    assert_error(post(client, f"/api/deadlines/{mnt_04.pk}/resume/"), 400, "not_paused")
    assert post(client, url, PAUSE).status_code == 200
    assert_error(post(client, url, PAUSE), 400, "not_running")
    assert mnt_04.pauses.count() == 1


def test_pause_mnt_04_outside_scope_is_404_and_for_readers_403(cast, client_for, mnt_04):
    url = f"/api/deadlines/{mnt_04.pk}/pause/"
    for user in (cast.admin_b, cast.technician_b, cast.supervisor_y):
        assert_error(post(client_for(user), url, PAUSE), 404, "not_found")
    for user in (cast.trainer_a, cast.sales_a, cast.supervisor_x, cast.tax_a, cast.taxpayer_pa1):
        assert_error(post(client_for(user), url, PAUSE), 403, "permission_denied")
    mnt_04.refresh_from_db()
    assert mnt_04.status == "running"


def test_deadline_list_filters_by_rule(cast, client_for, mnt_04):
    client = client_for(cast.admin_a)
    rows = results(client.get("/api/deadlines/", {"rule": "MNT-04"}))
    assert [r["id"] for r in rows] == [mnt_04.pk]
    assert_error(client.get("/api/deadlines/", {"rule": "NOPE"}), 400)


def test_deadline_list_queries_do_not_grow_with_rows(cast, client_for):
    client = client_for(cast.admin_a)
    client.get("/api/deadlines/")

    def grow(count):
        base = Taxpayer.objects.count()
        for i in range(count):
            taxpayer = Taxpayer.objects.create(
                number=f"91330100MAY{base + i:07d}",
                name=f"接口企业{base + i}",
                service_unit=cast.unit_a,
                tax_office=cast.office_a,
            )
            start_deadline(
                taxpayer,
                "INS-06",
                started_at=datetime(2026, 3, 2, 10, i, tzinfo=SHANGHAI),
                service_unit=cast.unit_a,
                taxpayer=taxpayer,
                by=cast.root,
            )

    def measure():
        with CaptureQueriesContext(connection) as ctx:
            rows = results(client.get("/api/deadlines/"))
        return len(ctx.captured_queries), len(rows)

    grow(1)
    small, small_rows = measure()
    grow(27)
    large, large_rows = measure()
    assert large_rows == small_rows + 27
    assert large == small, f"{small} queries for {small_rows} rows, {large} for {large_rows}"


# --- calendar -------------------------------------------------------------------------------

YEAR_2027 = {
    "year": 2027,
    "holidays": ["2027-01-01", "2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10"],
    "workdays": ["2027-02-06"],
    "notice": "国务院办公厅关于2027年部分节假日安排的通知",
}


def test_calendar_year_entered_by_a_supervision_officer(cast, client_for):
    client = client_for(cast.supervisor_x)
    before = client.get("/api/calendar/day/", {"date": "2027-01-01"}).json()
    # chinesecalendar stops at 2026: a Friday in 2027 counts as a provisional working day.
    assert before == {"date": "2027-01-01", "is_workday": True, "provisional": True}

    response = post(client, "/api/calendar/years/", YEAR_2027)
    assert response.status_code == 201, response.content
    assert response.json()["holidays"] == YEAR_2027["holidays"]
    row = CalendarYear.objects.get(year=2027)
    assert row.workdays == ["2027-02-06"]

    after = client.get("/api/calendar/day/", {"date": "2027-01-01"}).json()
    assert after == {"date": "2027-01-01", "is_workday": False, "provisional": False}
    saturday = client.get("/api/calendar/day/", {"date": "2027-02-06"}).json()
    assert saturday["is_workday"] is True
    entry = AuditEntry.objects.get(content_type__model="calendaryear", object_id=str(row.pk))
    assert entry.actor == cast.supervisor_x and entry.action == AuditAction.CREATE

    # Read back by anyone signed in.
    for username in CAST:
        response = client_for(cast.users[username]).get("/api/calendar/years/2027/")
        assert response.status_code == 200 and response.json()["year"] == 2027


def test_calendar_year_correction_by_put(cast, client_for):
    client = client_for(cast.supervisor_y)  # the calendar is national: any body keeps it
    assert post(client, "/api/calendar/years/", YEAR_2027).status_code == 201
    corrected = {**YEAR_2027, "holidays": ["2027-01-01"], "workdays": []}
    response = client.put(
        "/api/calendar/years/2027/", json.dumps(corrected), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert CalendarYear.objects.get(year=2027).holidays == ["2027-01-01"]
    again = assert_error(post(client, "/api/calendar/years/", YEAR_2027), 400)
    assert list(again["fields"]) == ["year"]


@pytest.mark.parametrize(
    "username",
    [u for u in CAST if u not in ("root", "supervisor_x", "supervisor_y")],
)
def test_calendar_writes_refused_to_everyone_else(cast, client_for, username):
    client = client_for(cast.users[username])
    assert_error(post(client, "/api/calendar/years/", YEAR_2027), 403, "permission_denied")
    assert not CalendarYear.objects.exists()
    day = {"date": "2027-01-04", "is_workday": False, "reason": "test"}
    assert_error(post(client, "/api/calendar/days/", day), 403, "permission_denied")
    assert not CalendarDay.objects.exists()


def test_calendar_year_conflicts_are_field_errors(cast, client_for):
    client = client_for(cast.supervisor_x)
    both = {**YEAR_2027, "workdays": ["2027-01-01", "2027-02-06"]}
    error = assert_error(post(client, "/api/calendar/years/", both), 400)
    assert "workdays" in error["fields"]
    assert any("2027-01-01" in m for m in error["fields"]["workdays"])

    outside = {**YEAR_2027, "holidays": ["2026-12-31", *YEAR_2027["holidays"]]}
    error = assert_error(post(client, "/api/calendar/years/", outside), 400)
    assert list(error["fields"]) == ["holidays"]
    assert any("2026-12-31" in m for m in error["fields"]["holidays"])

    weekday = {**YEAR_2027, "workdays": ["2027-03-03"]}  # a Wednesday is no make-up day
    assert "workdays" in assert_error(post(client, "/api/calendar/years/", weekday), 400)["fields"]

    not_a_date = {**YEAR_2027, "holidays": ["2027-13-01"]}
    error = assert_error(post(client, "/api/calendar/years/", not_a_date), 400)
    assert list(error["fields"]) == ["holidays.0"]  # a list's item by its index
    assert not CalendarYear.objects.exists()


def test_calendar_day_corrections_added_and_removed(cast, client_for):
    client = client_for(cast.supervisor_x)
    day = {"date": "2027-01-04", "is_workday": False, "reason": "台风停工"}
    response = post(client, "/api/calendar/days/", day)
    assert response.status_code == 201, response.content
    row = CalendarDay.objects.get(date="2027-01-04")
    assert response.json()["id"] == row.pk
    info = client.get("/api/calendar/day/", {"date": "2027-01-04"}).json()
    assert info["is_workday"] is False

    # Everyone reads the corrections; nobody but the keepers removes them.
    for username in CAST:
        listed = results(client_for(cast.users[username]).get("/api/calendar/days/"))
        assert [d["date"] for d in listed] == ["2027-01-04"]
    assert_error(client_for(cast.admin_a).delete(f"/api/calendar/days/{row.pk}/"), 403)
    assert CalendarDay.objects.filter(pk=row.pk).exists()

    again = assert_error(post(client, "/api/calendar/days/", day), 400)
    assert list(again["fields"]) == ["date"]
    no_change = {"date": "2027-01-05", "is_workday": True, "reason": "已是工作日"}
    error = assert_error(post(client, "/api/calendar/days/", no_change), 400)
    assert "is_workday" in error["fields"]

    response = client_for(cast.supervisor_y).delete(f"/api/calendar/days/{row.pk}/")
    assert response.status_code == 204
    assert not CalendarDay.objects.exists()
    info = client.get("/api/calendar/day/", {"date": "2027-01-04"}).json()
    assert info["is_workday"] is True


@pytest.mark.parametrize("username", CAST)
def test_day_info_for_everyone(cast, client_for, username):
    client = client_for(cast.users[username])
    # 2025-09-28 was a Sunday worked in exchange for the October holidays (调休).
    assert client.get("/api/calendar/day/", {"date": "2025-09-28"}).json() == {
        "date": "2025-09-28",
        "is_workday": True,
        "provisional": False,
    }
    assert client.get("/api/calendar/day/", {"date": "2025-10-08"}).json()["is_workday"] is False


def test_day_info_errors(cast, client_for):
    client = client_for(cast.dispatcher_a)
    for query in ({}, {"date": "tomorrow"}, {"date": "2025-02-30"}, {"date": "1999-01-04"}):
        error = assert_error(client.get("/api/calendar/day/", query), 400)
        assert list(error["fields"]) == ["date"], query


# --- authentication -------------------------------------------------------------------------

ENDPOINTS = [
    ("get", "/api/me/"),
    ("get", "/api/units/"),
    ("get", "/api/units/{unit}/"),
    ("patch", "/api/units/{unit}/"),
    ("get", "/api/deadlines/"),
    ("get", "/api/deadlines/{clock}/"),
    ("post", "/api/deadlines/{clock}/pause/"),
    ("post", "/api/deadlines/{clock}/resume/"),
    ("get", "/api/calendar/years/"),
    ("post", "/api/calendar/years/"),
    ("get", "/api/calendar/days/"),
    ("post", "/api/calendar/days/"),
    ("get", "/api/calendar/day/?date=2025-10-08"),
]


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_anonymous_callers_are_refused_with_the_error_shape(cast, client, method, url):
    url = url.format(unit=cast.unit_a.pk, clock=cast.clock_pa1.pk)
    response = getattr(client, method)(url, content_type="application/json")
    assert_error(response, 403, "not_authenticated")


def test_token_authentication(cast):
    client = Client()
    response = client.post("/api/auth/token/", {"username": "technician_a", "password": PASSWORD})
    assert response.status_code == 200, response.content
    token = response.json()["token"]
    assert re.fullmatch(r"[0-9a-f]{40}", token)
    me = client.get("/api/me/", HTTP_AUTHORIZATION=f"Token {token}")
    assert me.status_code == 200 and me.json()["username"] == "technician_a"
    listed = client.get("/api/units/", HTTP_AUTHORIZATION=f"Token {token}").json()["results"]
    assert [u["id"] for u in listed] == [cast.unit_a.pk]
    # The same token again for the same user.
    again = client.post("/api/auth/token/", {"username": "technician_a", "password": PASSWORD})
    assert again.json()["token"] == token

    assert_error(client.get("/api/me/", HTTP_AUTHORIZATION="Token " + "0" * 40), 403)
    assert_error(
        client.post("/api/auth/token/", {"username": "technician_a", "password": "wrong"}), 400
    )
    error = assert_error(client.post("/api/auth/token/", {"username": "technician_a"}), 400)
    assert list(error["fields"]) == ["password"]


def test_token_of_an_inactive_user_is_refused(cast):
    client = Client()
    response = client.post("/api/auth/token/", {"username": "admin_b", "password": PASSWORD})
    token = response.json()["token"]
    cast.admin_b.is_active = False
    cast.admin_b.save()
    assert_error(client.get("/api/me/", HTTP_AUTHORIZATION=f"Token {token}"), 403)


# --- schema and docs ------------------------------------------------------------------------


def test_openapi_schema_is_valid_openapi_3(cast, client_for):
    from drf_spectacular.validation import validate_schema

    response = client_for(cast.dispatcher_a).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)
    for path in (
        "/api/me/",
        "/api/units/",
        "/api/units/{id}/",
        "/api/deadlines/",
        "/api/deadlines/{id}/pause/",
        "/api/deadlines/{id}/resume/",
        "/api/calendar/years/",
        "/api/calendar/days/",
        "/api/calendar/day/",
        "/api/auth/token/",
    ):
        assert path in schema["paths"], path


def test_api_docs_are_served_locally(cast, client_for):
    client = client_for(cast.dispatcher_a)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "a CDN is referenced"
    assert "cdn" not in page.lower()
    # No inline script: Swagger UI is started by a script of its own, which names the schema.
    assert re.findall(r"<script[^>]*>", page) == [
        f'<script src="{src}">' for src in re.findall(r'<script src="([^"]+)">', page)
    ]
    assert '<script src="/api/docs/?script=">' in page
    script = client.get("/api/docs/", {"script": ""})
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()
    # Its policy allows Swagger UI's inline styles, and still no inline script.
    policy = response["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in policy
    assert "script-src 'self';" in policy


def test_schema_and_docs_need_a_sign_in(cast):
    client = Client()
    assert_error(client.get("/api/schema/", {"format": "json"}), 403, "not_authenticated")
    docs = client.get("/api/docs/")
    assert docs.status_code == 302 and docs["Location"] == "/accounts/login/?next=/api/docs/"


def test_pages_carry_the_content_security_policy(cast, client_for):
    response = client_for(cast.admin_a).get("/")
    policy = response["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ):
        assert directive in policy
    assert "unsafe" not in policy


# --- error shape ----------------------------------------------------------------------------


def test_every_error_has_one_shape(cast, client_for):
    client = client_for(cast.admin_a)
    unit_b = cast.unit_b
    assert_error(client.get(f"/api/units/{unit_b.pk}/"), 404, "not_found")
    assert_error(client.get("/api/units/999999/"), 404, "not_found")
    assert_error(client.get(f"/api/deadlines/{cast.clock_pc1.pk}/"), 404, "not_found")
    assert_error(patch(client, f"/api/units/{unit_b.pk}/", {"hotline": "1"}), 404, "not_found")
    assert_error(client.put(f"/api/units/{cast.unit_a.pk}/", {}), 405, "method_not_allowed")
    assert_error(
        client.patch(f"/api/units/{cast.unit_a.pk}/", "{not json", content_type="application/json"),
        400,
        "parse_error",
    )
    error = assert_error(
        patch(client, f"/api/units/{cast.unit_a.pk}/", {"entry_deadline_workdays": -1}), 400
    )
    assert list(error["fields"]) == ["entry_deadline_workdays"]
    assert_error(client.get("/api/units/", {"cursor": "garbage"}), 404)
    assert key_of(cast, ServiceUnit.objects.get(pk=cast.unit_a.pk)) == "unit_a"
