"""/api/audit/: the audit trail for supervision and integration clients.

Scoped exactly as the audit page (the same users may search it and each sees the same
entries, checked against the page and the cast's answer key), filtered by the page's
filterset, cursor-paged, read-only (writes answer 405), 403 in the API's error shape for the
roles that may not search the trail, in the OpenAPI schema; phone numbers in the changes
masked for the roles without need, on the page, in the API and in the export alike.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from taxdesk.core.choices import AuditAction
from taxdesk.core.models import AuditEntry
from taxdesk.customers.models import Taxpayer
from taxdesk.testing.cast import EXPECTED_VIEW, SEES_FULL_PHONES, audit_keys
from taxdesk.testing.customers import make_contact

from .test_api import assert_error

CAST = sorted(EXPECTED_VIEW)
AUDIT_READERS = {"root", "admin_a", "admin_b", "supervisor_x", "supervisor_y"}
FIELDS = {
    "id",
    "at",
    "action",
    "actor",
    "actor_repr",
    "object_type",
    "object_id",
    "object_repr",
    "changes",
    "source",
    "ip",
    "request_id",
}
MOBILE, LANDLINE = "13812345678", "0571 8765 4321"  # the landline as the action keeps it


def api_rows(client, query=None, page_size=9) -> list[dict]:
    """Every entry the API lists for ``query``, following the cursor page by page."""
    rows, url, params = [], "/api/audit/", {**(query or {}), "page_size": page_size}
    while True:
        response = client.get(url, params)
        assert response.status_code == 200, response.content[:500]
        body = response.json()
        assert len(body["results"]) <= page_size
        rows += body["results"]
        if body["next"] is None:
            return rows
        url, params = body["next"], None


def page_ids(client, query=None) -> set[int]:
    """Every entry the audit page shows for ``query``, following its pager."""
    ids, params = set(), dict(query or {})
    while True:
        response = client.get("/audit/", params)
        assert response.status_code == 200
        ids |= {entry.pk for entry in response.context["rows"]}
        if not response.context["next_cursor"]:
            return ids
        params = {**(query or {}), "cursor": response.context["next_cursor"]}


# --- who sees what ----------------------------------------------------------------------------


@pytest.mark.parametrize("username", CAST)
def test_each_role_sees_exactly_what_the_audit_page_shows_it(cast, client_for, username):
    user = cast.users[username]
    client = client_for(user)
    response = client.get("/api/audit/")
    if username not in AUDIT_READERS:
        error = assert_error(response, 403, "permission_denied")
        assert "audit" in error["message"].lower() or "审计" in error["message"]
        assert client.get("/audit/").status_code == 403
        return
    rows = api_rows(client)
    ids = [row["id"] for row in rows]
    assert ids == sorted(ids, reverse=True), "newest first"
    assert len(set(ids)) == len(ids), "an entry on two pages"
    assert set(ids) == page_ids(client)
    assert set(ids) == set(AuditEntry.objects.restrict(user).values_list("pk", flat=True))
    # The answer key: the records whose entries the role reads.
    keys = audit_keys(cast)
    entries = AuditEntry.objects.in_bulk(ids)
    records = {
        keys.get((e.content_type_id, e.object_id), f"?{e.pk}")
        for e in entries.values()
        if e.content_type_id
    }
    assert records == EXPECTED_VIEW[username]["audit"]


@pytest.mark.parametrize("username", sorted(AUDIT_READERS))
def test_an_entry_is_read_within_scope_and_404_outside(cast, client_for, username):
    user = cast.users[username]
    client = client_for(user)
    visible = set(AuditEntry.objects.restrict(user).values_list("pk", flat=True))
    for entry in AuditEntry.objects.all():
        response = client.get(f"/api/audit/{entry.pk}/")
        if entry.pk in visible:
            assert response.status_code == 200
            assert response.json()["id"] == entry.pk
        else:
            assert_error(response, 404, "not_found")


def test_an_entry_has_the_fields_of_the_trail(cast, client_for):
    client = client_for(cast.admin_a)
    unit = cast.unit_a
    client.post(
        f"/units/{unit.pk}/edit/",
        {"address": "新地址", "hotline": "", "working_hours": "09:00-17:00"}
        | {"entry_deadline_workdays": 1, "session_idle_minutes": 30},
        HTTP_X_REQUEST_ID="audit-api-1234",
        REMOTE_ADDR="10.1.2.3",
    )
    (row,) = api_rows(client, {"request_id": "audit-api-1234"})
    assert set(row) == FIELDS
    entry = AuditEntry.objects.get(pk=row["id"])
    assert row["action"] == "update" and row["source"] == "web"
    assert row["actor"] == cast.admin_a.pk and row["actor_repr"] == str(cast.admin_a)
    assert row["object_type"] == "core.serviceunit"
    assert row["object_id"] == str(unit.pk) and row["object_repr"] == unit.name
    assert row["changes"]["address"] == ["", "新地址"]
    assert row["ip"] == "10.1.2.3" and row["request_id"] == "audit-api-1234"
    assert row["at"] == timezone.localtime(entry.at).isoformat()
    # A sign-in names no record.
    logins = api_rows(client, {"action": "login"})
    assert logins and all(r["object_type"] is None and r["object_id"] == "" for r in logins)
    # A failed sign-in names no user either (and belongs to no tenant: the platform's).
    Client().post("/accounts/login/", {"username": "nobody-here", "password": "wrong"})
    (failed,) = api_rows(client_for(cast.root), {"action": "login_failed"})
    assert (failed["actor"], failed["object_type"]) == (None, None)
    assert failed["object_repr"] == "nobody-here"


# --- read-only --------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["root", "admin_a", "supervisor_x"])
def test_writes_are_refused_with_405(cast, client_for, username):
    client = client_for(cast.users[username])
    entry = AuditEntry.objects.restrict(cast.users[username]).first()
    before = list(AuditEntry.objects.order_by("pk").values())
    body = json.dumps({"action": "delete", "object_repr": "x"})
    for method, url in (
        ("post", "/api/audit/"),
        ("put", f"/api/audit/{entry.pk}/"),
        ("patch", f"/api/audit/{entry.pk}/"),
        ("delete", f"/api/audit/{entry.pk}/"),
        ("put", "/api/audit/"),
        ("delete", "/api/audit/"),
    ):
        response = getattr(client, method)(url, body, content_type="application/json")
        assert_error(response, 405, "method_not_allowed")
    assert list(AuditEntry.objects.order_by("pk").values()) == before


@pytest.mark.parametrize("username", sorted(set(CAST) - AUDIT_READERS))
def test_roles_that_may_not_search_are_refused_every_method(cast, client_for, username):
    client = client_for(cast.users[username])
    entry = AuditEntry.objects.first()
    for method, url in (
        ("get", "/api/audit/"),
        ("get", f"/api/audit/{entry.pk}/"),
        ("post", "/api/audit/"),
        ("delete", f"/api/audit/{entry.pk}/"),
    ):
        assert_error(getattr(client, method)(url), 403, "permission_denied")


def test_anonymous_callers_are_refused(cast, client):
    assert_error(client.get("/api/audit/"), 403, "not_authenticated")


# --- filters ----------------------------------------------------------------------------------


def test_the_filters_are_the_pages(cast, client_for):
    client = client_for(cast.supervisor_x)
    today = timezone.localdate()
    queries = [
        {"action": "create"},
        {"action": "login"},
        {"action": "view"},
        {"user": "root"},
        {"record": "企业pa"},
        {"request_id": AuditEntry.objects.filter(unit_id=cast.unit_b.pk).first().request_id},
        {"since": today.isoformat()},
        {"until": (today - timedelta(days=1)).isoformat()},
        {"since": today.isoformat(), "action": "create", "record": "服务单位"},
    ]
    for query in queries:
        ids = {row["id"] for row in api_rows(client, query)}
        assert ids == page_ids(client, query), query
    # And they do filter.
    creates = api_rows(client, {"action": "create"})
    assert creates and all(row["action"] == "create" for row in creates)
    records = api_rows(client, {"record": "企业pa"})
    assert records and all("企业pa" in row["object_repr"] for row in records)
    taxpayers = {r["object_id"] for r in records if r["object_type"] == "customers.taxpayer"}
    assert taxpayers == {str(cast.pa1.pk), str(cast.pa2.pk)}
    assert api_rows(client, {"until": (today - timedelta(days=1)).isoformat()}) == []
    by_root = api_rows(client, {"user": "root"})
    assert by_root and all("root" in row["actor_repr"] for row in by_root)


def test_a_bad_filter_is_a_field_error(cast, client_for):
    client = client_for(cast.admin_a)
    error = assert_error(client.get("/api/audit/", {"action": "nonsense"}), 400)
    assert list(error["fields"]) == ["action"]
    error = assert_error(client.get("/api/audit/", {"since": "yesterday"}), 400)
    assert list(error["fields"]) == ["since"]
    assert_error(client.get("/api/audit/", {"cursor": "garbage"}), 404)


def test_pages_of_many_entries_written_at_one_instant(cast, client_for):
    """An import writes thousands of entries with one time: the cursor still pages them."""
    start = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    Taxpayer.objects.bulk_create(
        [
            Taxpayer(
                number=f"91330100MAB{i:07d}",
                name=f"批量企业{i}",
                service_unit=cast.unit_a,
                supervision_body=cast.body_x,
            )
            for i in range(45)
        ]
    )
    bulk = AuditEntry.objects.filter(id__gt=start)
    assert bulk.count() == 45 and bulk.values("at").distinct().count() == 1
    written = sorted(bulk.values_list("id", flat=True))
    rows = api_rows(client_for(cast.admin_a), {"record": "批量企业"}, page_size=10)
    assert sorted(row["id"] for row in rows) == written


# --- personal data ----------------------------------------------------------------------------


@pytest.fixture
def contact_changed(cast):
    """A contact of pa1 with a mobile and a landline, then a new mobile: entries whose
    changes hold phone numbers."""
    from taxdesk.customers.actions import add_contact, update_contact

    contact = add_contact(cast.pa1, by=cast.admin_a, name="王五", mobile=MOBILE, landline=LANDLINE)
    assert contact.landline == LANDLINE
    update_contact(contact, by=cast.admin_a, mobile="13912345678")
    return contact


@pytest.mark.parametrize("username", ["root", "admin_a", "supervisor_x"])
def test_phones_in_the_changes_are_masked_for_roles_without_need(
    cast, client_for, contact_changed, username
):
    client = client_for(cast.users[username])
    full = username in SEES_FULL_PHONES
    query = {"record": "王五"}
    rows = api_rows(client, query)
    by_action = {row["action"]: row["changes"] for row in rows}
    assert set(by_action) == {"create", "update"}
    if full:
        assert by_action["create"]["mobile"] == [None, MOBILE]
        assert by_action["create"]["landline"] == [None, LANDLINE]
        assert by_action["update"] == {"mobile": [MOBILE, "13912345678"]}
    else:
        assert by_action["create"]["mobile"] == [None, "138****5678"]
        assert by_action["create"]["landline"] == [None, "057****4321"]
        assert by_action["update"] == {"mobile": ["138****5678", "139****5678"]}
    # The trail itself keeps the numbers whole.
    stored = AuditEntry.objects.get(action="update", object_repr="王五").changes
    assert stored == {"mobile": [MOBILE, "13912345678"]}

    texts = {
        "api": b"".join(client.get(f"/api/audit/{row['id']}/").content for row in rows).decode(),
        "list": client.get("/api/audit/", query).content.decode(),
        "page": client.get("/audit/", query).content.decode(),
        "history": client.get(f"/history/customers.contact/{contact_changed.pk}/").content.decode(),
        "export": exported_text(client, query),
    }
    for where, text in texts.items():
        for number in (MOBILE, "13912345678", LANDLINE, "8765 4321"):
            assert (number in text) == full, (where, number)
        if not full:
            assert "138****5678" in text and "139****5678" in text, where


def exported_text(client, query) -> str:
    """Every cell of the audit page's export for ``query``, as one text."""
    from openpyxl import load_workbook

    response = client.get("/audit/", {**query, "export": "xlsx"})
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    assert len(rows) > 1
    return "\n".join(str(cell) for row in rows for cell in row if cell is not None)


# --- queries and schema -------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["admin_a", "supervisor_x"])
def test_list_queries_do_not_grow_with_entries(cast, client_for, username):
    client = client_for(cast.users[username])
    client.get("/api/audit/")  # warm the per-process caches

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/api/audit/", {"page_size": 100})
        assert response.status_code == 200
        return len(ctx.captured_queries), len(response.json()["results"])

    make_contact(cast.pa1, mobile=MOBILE)
    small, small_rows = count()
    for i in range(20):
        make_contact(cast.pa2, name=f"联系人{i}", mobile=f"1390000{i:04d}")
    large, large_rows = count()
    assert large_rows == small_rows + 20
    assert large == small


def test_the_schema_describes_the_audit_endpoint(cast, client_for):
    schema = client_for(cast.admin_a).get("/api/schema/", {"format": "json"}).json()
    assert set(schema["paths"]["/api/audit/"]) == {"get"}
    assert set(schema["paths"]["/api/audit/{id}/"]) == {"get"}
    listed = schema["paths"]["/api/audit/"]["get"]
    parameters = {p["name"] for p in listed["parameters"]}
    assert {"user", "action", "record", "request_id", "since", "until", "cursor"} <= parameters
    action = next(p for p in listed["parameters"] if p["name"] == "action")
    assert "view" in action["schema"]["enum"]
    component = schema["components"]["schemas"]["AuditEntry"]
    assert set(component["properties"]) == FIELDS
    assert component["properties"]["object_type"]["nullable"] is True
    assert component["properties"]["actor"]["nullable"] is True  # a failed sign-in has none


def test_the_view_action_has_a_chinese_label():
    from django.utils import translation

    with translation.override("zh-hans"):
        assert str(AuditAction.VIEW.label) == "查看"
    with translation.override("en"):
        assert str(AuditAction.VIEW.label) == "Viewed"
