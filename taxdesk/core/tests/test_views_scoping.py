"""Every page, for every member of the cast: what it shows is exactly what the user may see;
an object outside their scope is a 404 (never a 403 that confirms it exists); a page they may
see but not use is a 403; and list pages do not issue more queries as the rows grow.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from taxdesk.clocks.actions import start_deadline
from taxdesk.core.choices import UNIT_ROLES, Role
from taxdesk.core.models import AuditEntry, ServiceUnit
from taxdesk.customers.models import Taxpayer
from taxdesk.testing.cast import EXPECTED_VIEW, SHANGHAI, audit_keys, key_of

CAST = sorted(EXPECTED_VIEW)
UNITS = ("unit_a", "unit_b", "unit_c")
CLOCKS = ("clock_pa1", "clock_pa2", "clock_pb1", "clock_pc1")


def units_of(username: str) -> set[str]:
    return {f"unit_{u}" for u in EXPECTED_VIEW[username]["units"]}


def clocks_of(username: str) -> set[str]:
    return set(EXPECTED_VIEW[username]["clocks"])


def keys(world, rows) -> list[str]:
    return [key_of(world, row) or f"?{row.pk}" for row in rows]


def may_edit_unit(world, user, unit_key: str) -> bool:
    """The unit's own administrator, or the platform administrator (who reaches everything)."""
    if user.is_superuser:
        return True
    return user.role == Role.UNIT_ADMIN and user.service_unit_id == world.units[unit_key].pk


# --- home ---------------------------------------------------------------------------------


def expected_panel(user) -> str:
    if user.is_superuser:
        return "platform"
    if user.role in UNIT_ROLES:
        return "unit"
    return {
        Role.SUPERVISION_OFFICER: "supervision",
        Role.TAX_OFFICER: "tax_office",
        Role.TAXPAYER: "taxpayer",
    }[user.role]


@pytest.mark.parametrize("username", CAST)
def test_home_shows_the_role_panel_with_its_own_data(cast, client_for, username):
    user = cast.users[username]
    response = client_for(user).get("/")
    assert response.status_code == 200
    context = response.context
    panel = expected_panel(user)
    assert context["panel"] == panel
    page = response.content.decode()
    if panel == "unit":
        assert context["unit"] == user.service_unit
        # The cast's INS-06 clocks ran out in 2025: every one of the unit's is overdue.
        assert set(keys(cast, context["at_risk"])) == clocks_of(username)
        assert user.service_unit.name in page
    elif panel == "taxpayer":
        assert context["taxpayer"] == cast.pa1
        assert set(keys(cast, context["open_clocks"])) == clocks_of(username)
        assert cast.pa1.name in page and cast.pa2.name not in page
    else:
        rows = context["unit_rows"]
        assert {key_of(cast, row["unit"]) for row in rows} == units_of(username)
        for row in rows:
            mine = [k for k in clocks_of(username) if cast.deadlines[k].service_unit == row["unit"]]
            assert row["open"] == len(mine) and row["overdue"] == len(mine)
            assert row["breached"] == 0
    for unit_key in UNITS:
        if unit_key not in units_of(username):
            assert cast.units[unit_key].name not in page, f"{username} sees {unit_key}"


# --- service units --------------------------------------------------------------------------


@pytest.mark.parametrize("username", CAST)
def test_unit_list_shows_exactly_their_units(cast, client_for, username):
    response = client_for(cast.users[username]).get("/units/")
    assert response.status_code == 200
    rows = keys(cast, response.context["rows"])
    assert sorted(rows) == sorted(units_of(username))
    page = response.content.decode()
    for unit_key in UNITS:
        assert (cast.units[unit_key].name in page) == (unit_key in units_of(username))


@pytest.mark.parametrize("username", CAST)
def test_unit_detail_is_404_outside_scope(cast, client_for, username):
    client = client_for(cast.users[username])
    for unit_key in UNITS:
        unit = cast.units[unit_key]
        response = client.get(f"/units/{unit.pk}/")
        if unit_key in units_of(username):
            assert response.status_code == 200, unit_key
            assert unit.name in response.content.decode()
        else:
            assert response.status_code == 404, unit_key


@pytest.mark.parametrize("username", CAST)
def test_unit_edit_only_by_that_units_admin(cast, client_for, username):
    """Only the unit's administrator changes its settings: 403 if visible, 404 if not."""
    user = cast.users[username]
    client = client_for(user)
    for unit_key in UNITS:
        unit = cast.units[unit_key]
        url = f"/units/{unit.pk}/edit/"
        data = {
            "address": f"新地址 {username}",
            "hotline": "400-800-1234",
            "working_hours": "08:30-12:00,13:30-17:30",
            "entry_deadline_workdays": 2,
            "session_idle_minutes": 30,
        }
        get = client.get(url)
        post = client.post(url, data)
        unit.refresh_from_db()
        if may_edit_unit(cast, user, unit_key):
            assert get.status_code == 200
            assert post.status_code == 302 and post["Location"] == f"/units/{unit.pk}/"
            assert unit.address == data["address"]
            assert unit.working_hours == data["working_hours"]
        else:
            expected = 403 if unit_key in units_of(username) else 404
            assert (get.status_code, post.status_code) == (expected, expected), unit_key
            assert unit.address == "" and unit.working_hours == "09:00-12:00,13:00-18:00"


def test_unit_edit_refuses_bad_working_hours_and_changes_nothing(cast, client_for):
    unit = cast.unit_a
    client = client_for(cast.admin_a)
    before = AuditEntry.objects.count()
    response = client.post(
        f"/units/{unit.pk}/edit/",
        {
            "address": "x",
            "hotline": "",
            "working_hours": "18:00-09:00",
            "entry_deadline_workdays": 1,
            "session_idle_minutes": 30,
        },
    )
    assert response.status_code == 400
    assert "working_hours" in response.context["form"].errors
    unit.refresh_from_db()
    assert unit.address == "" and unit.working_hours == "09:00-12:00,13:00-18:00"
    assert AuditEntry.objects.count() == before


def test_unit_detail_offers_edit_only_to_its_admin(cast, client_for):
    url = f"/units/{cast.unit_a.pk}/"
    edit = f"/units/{cast.unit_a.pk}/edit/"
    assert edit in client_for(cast.admin_a).get(url).content.decode()
    for user in (cast.dispatcher_a, cast.supervisor_x, cast.tax_a, cast.taxpayer_pa1):
        assert edit not in client_for(user).get(url).content.decode(), user.username


# --- clocks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("username", CAST)
def test_clock_list_shows_exactly_their_clocks(cast, client_for, username):
    response = client_for(cast.users[username]).get("/clocks/")
    assert response.status_code == 200
    assert sorted(keys(cast, response.context["rows"])) == sorted(clocks_of(username))
    page = response.content.decode()
    for clock_key in CLOCKS:
        taxpayer = cast.deadlines[clock_key].taxpayer
        assert (taxpayer.name in page) == (clock_key in clocks_of(username)), clock_key


@pytest.mark.parametrize("username", CAST)
def test_clock_detail_is_404_outside_scope(cast, client_for, username):
    client = client_for(cast.users[username])
    for clock_key in CLOCKS:
        response = client.get(f"/clocks/{cast.deadlines[clock_key].pk}/")
        assert response.status_code == (200 if clock_key in clocks_of(username) else 404)


# --- history --------------------------------------------------------------------------------


@pytest.mark.parametrize("username", CAST)
def test_history_pages_follow_the_records_scope(cast, client_for, username):
    client = client_for(cast.users[username])
    entry_keys = audit_keys(cast)
    records = [("core.serviceunit", k, units_of(username)) for k in UNITS]
    records += [("clocks.deadline", k, clocks_of(username)) for k in CLOCKS]
    for label, key, visible in records:
        obj = cast.units[key] if label == "core.serviceunit" else cast.deadlines[key]
        response = client.get(f"/history/{label}/{obj.pk}/")
        # Histories name staff and their addresses: never shown to a taxpayer's own users.
        if key in visible and username != "taxpayer_pa1":
            assert response.status_code == 200, key
            shown = {entry_keys[(e.content_type_id, e.object_id)] for e in response.context["rows"]}
            assert shown == {key}
            assert response.context["rows"], "every cast record has at least its creation"
        else:
            assert response.status_code == 404, key


def test_history_of_an_unknown_kind_is_404(cast, client_for):
    client = client_for(cast.root)
    assert client.get("/history/core.nothing/1/").status_code == 404
    assert client.get("/history/nolabel/1/").status_code == 404
    # A model without a scope (the calendar revision counter) has no history page.
    assert client.get("/history/workdays.calendarrevision/1/").status_code == 404
    assert client.get(f"/history/core.serviceunit/{cast.unit_c.pk + 100}/").status_code == 404


# --- audit trail ----------------------------------------------------------------------------

AUDIT_READERS = {"root", "admin_a", "admin_b", "supervisor_x", "supervisor_y"}


@pytest.mark.parametrize("username", CAST)
def test_audit_page_for_admins_and_supervisors_within_their_scope(cast, client_for, username):
    user = cast.users[username]
    response = client_for(user).get("/audit/")
    if username not in AUDIT_READERS:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    entry_keys = audit_keys(cast)
    rows = response.context["rows"]
    records = {entry_keys[(e.content_type_id, e.object_id)] for e in rows if e.content_type_id}
    assert records == EXPECTED_VIEW[username]["audit"]
    # Sign-ins (force_login above) carry the user's unit or body: in scope, or not shown.
    for entry in rows:
        if entry.content_type_id is None and username != "root":
            assert entry.unit_id in (None, getattr(user.service_unit, "pk", None))
            assert entry.unit_id is not None or entry.body_id == user.supervision_body_id


def test_audit_page_filters_by_request_id(cast, client_for):
    unit = cast.unit_a
    client = client_for(cast.admin_a)
    client.post(
        f"/units/{unit.pk}/edit/",
        {
            "address": "x",
            "hotline": "",
            "working_hours": "09:00-17:00",
            "entry_deadline_workdays": 1,
            "session_idle_minutes": 30,
        },
        HTTP_X_REQUEST_ID="find-me-12345",
    )
    response = client.get("/audit/", {"request_id": "find-me-12345"})
    assert response.status_code == 200
    assert [e.object_id for e in response.context["rows"]] == [str(unit.pk)]


# --- calendar -------------------------------------------------------------------------------


@pytest.mark.parametrize("username", CAST)
def test_calendar_pages_read_by_every_signed_in_user(cast, client_for, username):
    client = client_for(cast.users[username])
    assert client.get("/calendar/").status_code == 200
    response = client.get("/calendar/2027/")
    assert response.status_code == 200
    assert response.context["source"] == "provisional"  # chinesecalendar stops at 2026
    assert client.get("/calendar/2025/").context["source"] == "official"
    assert client.get("/calendar/1999/").status_code == 404


# --- anonymous ------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(cast, client):
    unit, clock = cast.unit_a, cast.clock_pa1
    for url in (
        "/",
        "/units/",
        f"/units/{unit.pk}/",
        f"/units/{unit.pk}/edit/",
        "/clocks/",
        f"/clocks/{clock.pk}/",
        f"/history/core.serviceunit/{unit.pk}/",
        "/audit/",
        "/calendar/",
        "/calendar/2027/",
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url
    response = client.post(f"/units/{unit.pk}/edit/", {"address": "x"})
    assert response.status_code == 302
    unit.refresh_from_db()
    assert unit.address == ""


# --- query counts ---------------------------------------------------------------------------

START = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)


def add_clocks(world, count: int, unit_key: str = "unit_a") -> None:
    """``count`` more taxpayers of a unit, each with its INS-06 clock."""
    unit = world.units[unit_key]
    office = unit.tax_offices.first()
    base = Taxpayer.objects.count()
    for i in range(count):
        taxpayer = Taxpayer.objects.create(
            number=f"91330100MAX{base + i:07d}",
            name=f"加企业{base + i}",
            service_unit=unit,
            tax_office=office,
        )
        start_deadline(
            taxpayer,
            "INS-06",
            started_at=START + timedelta(minutes=i),
            service_unit=unit,
            taxpayer=taxpayer,
            by=world.root,
        )


def add_units(world, count: int) -> None:
    for i in range(count):
        ServiceUnit.objects.create(
            name=f"扩展单位{ServiceUnit.objects.count() + i:03d}",
            code=f"X{ServiceUnit.objects.count() + i:03d}",
            city="杭州",
            supervision_body=world.body_x,
        )


def count_queries(client, url: str) -> tuple[int, int]:
    """(queries, rows shown) of one GET."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.context["rows"])


@pytest.mark.parametrize(
    ("url", "username", "grow"),
    [
        ("/units/", "root", add_units),
        ("/units/", "supervisor_x", add_units),
        ("/clocks/", "admin_a", add_clocks),
        ("/clocks/", "supervisor_x", add_clocks),
        ("/audit/", "admin_a", add_clocks),
        ("/audit/", "supervisor_x", add_clocks),
    ],
)
def test_list_page_queries_do_not_grow_with_rows(cast, client_for, url, username, grow):
    client = client_for(cast.users[username])
    client.get(url)  # warm per-process caches (content types, calendar)
    grow(cast, 1)
    small, small_rows = count_queries(client, url)
    grow(cast, 27)
    large, large_rows = count_queries(client, url)
    # Lists show 50 rows a page: growth is capped there.
    assert large_rows >= min(small_rows + 27, 50)
    assert large == small, f"{url}: {small} queries for {small_rows} rows, {large} for {large_rows}"
