"""/api/taxpayers/ and /api/contacts/ for every member of the cast: scoped lists (404 outside),
writes through the actions for the unit's editors only (403 for the others), the page's
filters and search, and the API's one error shape.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from taxdesk.core.models import TaxOffice
from taxdesk.customers.models import Contact, Taxpayer, TaxpayerChange
from taxdesk.testing.cast import EXPECTED_VIEW
from taxdesk.testing.customers import (
    MOBILE,
    credit_code,
    make_contact,
    make_device,
    make_taxpayer,
    wrong_check,
)

from .test_pages import may_add, may_change, visible

CAST = sorted(EXPECTED_VIEW)
TAXPAYERS = ("pa1", "pa2", "pb1", "pc1")
TODAY = timezone.localdate


def post(client, url, data=None):
    return client.post(url, json.dumps(data or {}), content_type="application/json")


def patch(client, url, data):
    return client.patch(url, json.dumps(data), content_type="application/json")


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["message"]
    if code is not None:
        assert error["code"] == code, error
    return error


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    assert body["next"] is None
    return body["results"]


def keys_of(cast, rows) -> set[str]:
    by_id = {t.pk: key for key, t in cast.taxpayers.items()}
    return {by_id[row["id"]] for row in rows}


def state() -> tuple:
    return (
        list(Taxpayer.objects.order_by("pk").values()),
        list(Contact.objects.order_by("pk").values()),
        TaxpayerChange.objects.count(),
    )


def new_taxpayer(cast, **overrides) -> dict:
    data = {
        "number": credit_code(),
        "name": "接口注册有限公司",
        "address": "某路 1 号",
        "district": "西湖区",
        "tax_office": cast.office_a.pk,
        "taxpayer_type": "small",
        "approved_on": "2025-09-01",
        "invoice_types": ["digital"],
        "contacts": [{"name": "张三", "mobile": "138-1234-5678"}],
    }
    data.update(overrides)
    return data


# --------------------------------------------------------------------------- taxpayers: read
@pytest.mark.parametrize("username", CAST)
def test_taxpayer_list_and_detail_are_scoped(cast, client_for, username):
    client = client_for(cast.users[username])
    assert keys_of(cast, results(client.get("/api/taxpayers/"))) == visible(username)
    for key in TAXPAYERS:
        response = client.get(f"/api/taxpayers/{cast.taxpayers[key].pk}/")
        if key in visible(username):
            assert response.status_code == 200
            body = response.json()
            assert body["number"] == cast.taxpayers[key].number
            # The cast's records lack address, district, type, approval and a mobile.
            assert len(body["missing_for_entry"]) == 5
            assert body["entered_at"] is None
        else:
            assert_error(response, 404, "not_found")


def test_taxpayer_list_uses_the_pages_filters_and_search(cast, client_for):
    hz = make_taxpayer(cast.unit_a, name="杭州华为科技有限公司", district="西湖区")
    make_contact(hz, mobile="13812345678")
    make_device(hz, "661234567890")
    client = client_for(cast.supervisor_x)
    for query in (
        {"q": "华为"},
        {"q": "5678"},
        {"q": "66123456"},
        {"q": hz.number},
        {"district": "西湖区"},
        {"device_type": "golden_tax_disk"},
    ):
        rows = results(client.get("/api/taxpayers/", query))
        assert [r["id"] for r in rows] == [hz.pk], query
    rows = results(client.get("/api/taxpayers/", {"service_unit": cast.unit_b.pk}))
    assert [r["id"] for r in rows] == [cast.pb1.pk]
    assert_error(client.get("/api/taxpayers/", {"contract_expiring": "soon"}), 400)


def test_taxpayer_list_queries_do_not_grow_with_the_rows(cast, client_for):
    client = client_for(cast.admin_a)
    client.get("/api/taxpayers/")

    def cost():
        with CaptureQueriesContext(connection) as ctx:
            rows = results(client.get("/api/taxpayers/"))
        return len(ctx.captured_queries), len(rows)

    before, rows_before = cost()
    for n in range(4):
        taxpayer = make_taxpayer(cast.unit_a)
        make_contact(taxpayer, mobile=f"1390000000{n}")
        make_contact(taxpayer, name="座机", landline="0571-8765432{n}")
    after, rows_after = cost()
    assert rows_after == rows_before + 4
    assert after == before


# --------------------------------------------------------------------------- taxpayers: write
@pytest.mark.parametrize("username", CAST)
def test_taxpayer_create_only_by_editors_into_their_unit(cast, client_for, username):
    client = client_for(cast.users[username])
    data = new_taxpayer(cast)
    if username == "root":
        data["service_unit"] = cast.unit_a.pk
    elif cast.users[username].service_unit_id == cast.unit_b.pk:
        data["tax_office"] = cast.office_b.pk
    before = state()
    response = post(client, "/api/taxpayers/", data)
    if may_add(cast, username):
        assert response.status_code == 201, response.content
        body = response.json()
        taxpayer = Taxpayer.objects.get(pk=body["id"])
        assert taxpayer.service_unit == cast.users[username].service_unit or username == "root"
        assert body["contacts"][0]["mobile"] == MOBILE
        assert body["entered_at"] is not None and body["missing_for_entry"] == []
    else:
        assert_error(response, 403, "permission_denied")
        assert state() == before


def test_taxpayer_create_refusals_come_back_as_field_errors(cast, client_for):
    client = client_for(cast.sales_a)
    before = state()
    code = credit_code()
    error = assert_error(
        post(client, "/api/taxpayers/", new_taxpayer(cast, number=wrong_check(code))),
        400,
        "bad_check",
    )
    assert code[17] in error["fields"]["number"][0]
    error = assert_error(
        post(client, "/api/taxpayers/", new_taxpayer(cast, number=cast.pb1.number)),
        400,
        "duplicate",
    )
    assert cast.pb1.name not in json.dumps(error, ensure_ascii=False)
    # Another unit's tax office is out of reach: answered as an id that does not exist.
    assert_error(
        post(client, "/api/taxpayers/", new_taxpayer(cast, tax_office=cast.office_b.pk)),
        400,
        "does_not_exist",
    )
    # The platform administrator sees every office: one that does not serve the unit is named.
    assert_error(
        post(
            client_for(cast.root),
            "/api/taxpayers/",
            new_taxpayer(cast, service_unit=cast.unit_a.pk, tax_office=cast.office_b.pk),
        ),
        400,
        "foreign_tax_office",
    )
    assert_error(
        post(
            client, "/api/taxpayers/", new_taxpayer(cast, contacts=[{"name": "x", "mobile": "1"}])
        ),
        400,
        "bad_mobile",
    )
    # Another unit: out of reach, so answered as an id that does not exist.
    assert_error(
        post(client, "/api/taxpayers/", new_taxpayer(cast, service_unit=cast.unit_b.pk)),
        400,
        "does_not_exist",
    )
    assert state() == before


def test_the_platform_administrator_names_the_unit(cast, client_for):
    client = client_for(cast.root)
    assert_error(post(client, "/api/taxpayers/", new_taxpayer(cast)), 400, "required")
    response = post(
        client,
        "/api/taxpayers/",
        new_taxpayer(cast, service_unit=cast.unit_c.pk, tax_office=cast.office_c.pk),
    )
    assert response.status_code == 201
    assert response.json()["service_unit"] == cast.unit_c.pk


@pytest.mark.parametrize("username", CAST)
def test_taxpayer_patch_is_403_when_visible_and_404_when_not(cast, client_for, username):
    client = client_for(cast.users[username])
    for key in TAXPAYERS:
        taxpayer = cast.taxpayers[key]
        response = patch(client, f"/api/taxpayers/{taxpayer.pk}/", {"address": f"新址{username}"})
        taxpayer.refresh_from_db()
        if may_change(cast, username, key):
            assert response.status_code == 200, response.content
            assert response.json()["address"] == taxpayer.address == f"新址{username}"
        else:
            assert_error(response, 403 if key in visible(username) else 404)
            assert taxpayer.address == ""


def test_taxpayer_patch_goes_through_the_action(cast, client_for):
    client = client_for(cast.sales_a)
    url = f"/api/taxpayers/{cast.pa1.pk}/"
    # The status is read-only here (refused, naming it); a set tax office changes through its
    # action.
    error = assert_error(patch(client, url, {"status": "cancelled", "taxpayer_type": "small"}), 400)
    assert error["code"] == "unknown_field" and list(error["fields"]) == ["status"]
    response = patch(client, url, {"taxpayer_type": "small"})
    assert response.status_code == 200
    assert response.json()["status"] == "normal" and response.json()["taxpayer_type"] == "small"
    assert_error(patch(client, url, {"tax_office": None}), 400, "use_change_action")
    assert_error(patch(client, url, {"invoice_types": ["paper"]}), 400)
    assert_error(patch(client, url, {"number": wrong_check(credit_code())}), 400, "bad_check")
    assert_error(client.put(url, "{}", content_type="application/json"), 405)
    assert_error(client.delete(url), 405)


def test_dated_changes_through_the_api(cast, client_for):
    client = client_for(cast.admin_a)
    base = f"/api/taxpayers/{cast.pa1.pk}"
    today = TODAY().isoformat()
    response = post(
        client, f"{base}/change-status/", {"to": "abnormal", "effective_on": today, "note": "走逃"}
    )
    assert response.status_code == 200 and response.json()["status"] == "abnormal"
    assert_error(
        post(client, f"{base}/change-status/", {"to": "abnormal", "effective_on": today}),
        400,
        "no_change",
    )
    assert_error(post(client, f"{base}/change-status/", {"to": "x", "effective_on": today}), 400)
    assert_error(post(client, f"{base}/change-status/", {"to": "normal"}), 400)
    response = post(client, f"{base}/change-type/", {"to": "general", "effective_on": today})
    assert response.status_code == 200 and response.json()["taxpayer_type"] == "general"
    second = TaxOffice.objects.create(
        name="税务局A2", code="TA2", city="城a", supervision_body=cast.body_x
    )
    # An office that does not serve the unit is out of the unit's reach: "does not exist".
    assert_error(
        post(client, f"{base}/change-tax-office/", {"to": second.pk, "effective_on": today}),
        400,
        "does_not_exist",
    )
    cast.unit_a.tax_offices.add(second)
    response = post(client, f"{base}/change-tax-office/", {"to": second.pk, "effective_on": today})
    assert response.status_code == 200 and response.json()["tax_office"] == second.pk
    changes = client.get(f"{base}/changes/").json()
    # Newest first.
    assert [(c["kind"], c["before"], c["after"], c["note"]) for c in changes] == [
        ("tax_office", "税务局A", "税务局A2", ""),
        ("type", "", "general", ""),
        ("status", "normal", "abnormal", "走逃"),
    ]


@pytest.mark.parametrize("username", CAST)
def test_dated_changes_are_403_when_visible_and_404_when_not(cast, client_for, username):
    client = client_for(cast.users[username])
    today = TODAY().isoformat()
    for key in TAXPAYERS:
        taxpayer = cast.taxpayers[key]
        response = post(
            client,
            f"/api/taxpayers/{taxpayer.pk}/change-status/",
            {"to": "cancelled", "effective_on": today},
        )
        taxpayer.refresh_from_db()
        if may_change(cast, username, key):
            assert response.status_code == 200
            assert taxpayer.status == "cancelled"
        else:
            assert_error(response, 403 if key in visible(username) else 404)
            assert taxpayer.status == "normal"


# --------------------------------------------------------------------------- contacts
@pytest.mark.parametrize("username", CAST)
def test_contact_list_and_writes_per_cast(cast, client_for, username):
    contacts = {key: make_contact(cast.taxpayers[key], mobile=MOBILE) for key in TAXPAYERS}
    client = client_for(cast.users[username])
    rows = results(client.get("/api/contacts/"))
    by_id = {c.pk: key for key, c in contacts.items()}
    assert {by_id[r["id"]] for r in rows} == visible(username)
    for key, contact in contacts.items():
        response = patch(client, f"/api/contacts/{contact.pk}/", {"name": "改名"})
        if may_change(cast, username, key):
            assert response.status_code == 200 and response.json()["name"] == "改名"
        else:
            assert_error(response, 403 if key in visible(username) else 404)
        response = client.delete(f"/api/contacts/{contact.pk}/")
        if may_change(cast, username, key):
            assert response.status_code == 204
            assert not Contact.objects.filter(pk=contact.pk).exists()
        else:
            assert_error(response, 403 if key in visible(username) else 404)
            assert Contact.objects.filter(pk=contact.pk).exists()


def test_contact_create_through_the_action(cast, client_for):
    client = client_for(cast.sales_a)
    response = post(
        client,
        "/api/contacts/",
        {"taxpayer": cast.pa1.pk, "name": "张三", "mobile": "+86 138 1234 5678"},
    )
    assert response.status_code == 201
    assert response.json()["mobile"] == MOBILE and response.json()["role"] == "clerk"
    before = state()
    error = assert_error(
        post(client, "/api/contacts/", {"taxpayer": cast.pa1.pk, "name": "李四", "mobile": MOBILE}),
        400,
        "duplicate_contact",
    )
    assert list(error["fields"]) == ["mobile"]
    assert_error(
        post(client, "/api/contacts/", {"taxpayer": cast.pa1.pk, "name": "李四", "mobile": "123"}),
        400,
        "bad_mobile",
    )
    assert_error(
        post(client, "/api/contacts/", {"taxpayer": cast.pa1.pk, "name": "李四"}), 400, "no_phone"
    )
    # A taxpayer out of reach does not exist, as far as the caller knows.
    assert_error(
        post(
            client,
            "/api/contacts/",
            {"taxpayer": cast.pb1.pk, "name": "李四", "mobile": "13900001111"},
        ),
        400,
        "does_not_exist",
    )
    assert state() == before
    # Read-only roles may not add at all.
    assert_error(
        post(
            client_for(cast.technician_a),
            "/api/contacts/",
            {"taxpayer": cast.pa1.pk, "name": "x", "mobile": "13900001111"},
        ),
        403,
    )


def test_contact_list_filters_by_taxpayer(cast, client_for):
    mine = make_contact(cast.pa1, mobile=MOBILE)
    make_contact(cast.pa2, mobile=MOBILE)
    other = make_contact(cast.pb1, mobile=MOBILE)
    client = client_for(cast.admin_a)
    assert [r["id"] for r in results(client.get("/api/contacts/", {"taxpayer": cast.pa1.pk}))] == [
        mine.pk
    ]
    assert results(client.get("/api/contacts/", {"taxpayer": other.taxpayer_id})) == []


def test_the_schema_lists_the_endpoints(cast, client_for):
    schema = client_for(cast.admin_a).get("/api/schema/", {"format": "json"}).json()
    for path in (
        "/api/taxpayers/",
        "/api/taxpayers/{id}/",
        "/api/taxpayers/{id}/change-status/",
        "/api/taxpayers/{id}/change-type/",
        "/api/taxpayers/{id}/change-tax-office/",
        "/api/contacts/",
        "/api/contacts/{id}/",
    ):
        assert path in schema["paths"], path
