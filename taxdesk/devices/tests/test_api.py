"""The device API for every member of the cast: scoped lists and details (404 outside), writes
only by the roles that may (403 for readers), the same filters as the pages, errors in the API's
one shape — a received batch's bad serials by their index — and lists whose query count does
not grow with the rows."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from taxdesk.core.choices import AuditSource
from taxdesk.core.models import AuditEntry
from taxdesk.devices.choices import DeviceStatus, DeviceType
from taxdesk.devices.models import Device, StockBatch, WarrantyPolicy
from taxdesk.testing.devices import (
    EXPECTED_BATCHES,
    EXPECTED_DEVICES,
    EXPECTED_POLICY_UNITS,
    days_ago,
    hand_over,
    receive,
    today,
)

CAST = sorted(EXPECTED_DEVICES)
DEVICE_EDITORS_A = {"admin_a", "sales_a", "repair_a", "root"}
DEVICE_EDITORS = DEVICE_EDITORS_A | {"admin_b"}


def post(client, url, data=None):
    return client.post(url, json.dumps(data or {}), content_type="application/json")


def patch(client, url, data):
    return client.patch(url, json.dumps(data), content_type="application/json")


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content[:500]
    return response.json()["results"]


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


# --------------------------------------------------------------------------- devices
@pytest.mark.parametrize("username", CAST)
def test_device_list_and_detail_are_scoped(fleet, client_for, username):
    client = client_for(fleet.users[username])
    rows = results(client.get("/api/devices/"))
    serials = [row["serial"] for row in rows]
    assert serials == sorted(serials)  # by serial number
    expected = {fleet.devices[k].serial for k in EXPECTED_DEVICES[username]}
    assert set(serials) == expected
    for key, device in fleet.devices.items():
        response = client.get(f"/api/devices/{device.pk}/")
        if key in EXPECTED_DEVICES[username]:
            assert response.status_code == 200
            assert response.json()["serial"] == device.serial
        else:
            assert_error(response, 404, "not_found")


def test_a_device_as_the_api_shows_it(fleet, client_for):
    body = client_for(fleet.admin_a).get(f"/api/devices/{fleet.gold_pa1.pk}/").json()
    assert body["status"] == "in_use" and body["taxpayer"] == fleet.pa1.pk
    assert body["taxpayer_name"] == fleet.pa1.name
    assert body["under_warranty"] is True
    assert body["warranty_until"] == fleet.gold_pa1.warranty_until.isoformat()
    assert body["partner"] == fleet.rep_pa1.pk and body["paired_with"] is None
    assert body["next_statuses"] == ["under_repair", "replaced", "cancelled", "migrated"]
    assert [(e["from_status"], e["to_status"]) for e in body["events"]] == [
        ("", "in_stock"),
        ("in_stock", "sold"),
        ("sold", "issued"),
        ("issued", "in_use"),
    ]
    stock = client_for(fleet.admin_a).get(f"/api/devices/{fleet.ga_stock1.pk}/").json()
    assert stock["next_statuses"] == ["returned"]  # selling is POST /api/sales/
    assert stock["taxpayer_name"] is None and stock["under_warranty"] is False


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "8811"}, {"rep_pa1", "rep_stock"}),
        ({"status": "in_stock"}, {"ga_stock1", "ga_stock2", "rep_stock"}),
        ({"warranty": "under"}, {"gold_pa1", "rep_pa1"}),
        ({"device_type": "reporting_disk", "status": "sold"}, {"rep_pa1"}),
    ],
)
def test_device_list_filters_like_the_page(fleet, client_for, params, expected):
    rows = results(client_for(fleet.sales_a).get("/api/devices/", params))
    assert {fleet.device_key(Device(pk=row["id"])) for row in rows} == expected


def test_device_filters_by_taxpayer_and_batch(fleet, client_for):
    client = client_for(fleet.supervisor_x)
    rows = results(client.get("/api/devices/", {"taxpayer": fleet.pb1.pk}))
    assert [row["serial"] for row in rows] == [fleet.tc_pb1.serial]
    rows = results(client.get("/api/devices/", {"batch": fleet.RA.pk}))
    assert [row["serial"] for row in rows] == [fleet.rep_pa1.serial, fleet.rep_stock.serial]


def test_device_list_queries_do_not_grow_with_the_rows(fleet, client_for):
    client = client_for(fleet.root)
    client.get("/api/devices/")

    def count():
        with CaptureQueriesContext(connection) as ctx:
            rows = results(client.get("/api/devices/"))
        return len(ctx.captured_queries), len(rows)

    before, rows_before = count()
    receive(
        fleet.unit_c,
        DeviceType.UKEY,
        "U-9",
        [f"UKC00000000{n}" for n in range(5)],
        by=fleet.root,
    )
    after, rows_after = count()
    assert rows_after == rows_before + 5
    assert after == before


# --------------------------------------------------------------------------- moving
@pytest.mark.parametrize("username", CAST)
def test_move_only_by_device_editors_of_the_unit(fleet, client_for, username):
    response = post(
        client_for(fleet.users[username]),
        f"/api/devices/{fleet.gold_pa1.pk}/move/",
        {"to_status": "under_repair", "on": days_ago(1).isoformat(), "note": "送修"},
    )
    if username in DEVICE_EDITORS_A:
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["status"] == "under_repair"
        assert body["status_changed_on"] == days_ago(1).isoformat()
        assert body["events"][-1] == {
            "id": body["events"][-1]["id"],
            "from_status": "in_use",
            "to_status": "under_repair",
            "on": days_ago(1).isoformat(),
            "note": "送修",
        }
        assert body["next_statuses"] == ["in_use", "replaced", "cancelled"]
    elif "gold_pa1" in EXPECTED_DEVICES[username]:
        assert_error(response, 403, "permission_denied")
    else:
        assert_error(response, 404, "not_found")
    if username not in DEVICE_EDITORS_A:
        assert fleet.fresh("gold_pa1").status == DeviceStatus.IN_USE


def test_move_is_recorded_as_api(fleet, client_for):
    response = post(
        client_for(fleet.repair_a),
        f"/api/devices/{fleet.gold_pa1.pk}/move/",
        {"to_status": "under_repair"},
    )
    assert response.json()["status_changed_on"] == today().isoformat()  # on: today
    entry = AuditEntry.objects.filter(object_id=str(fleet.gold_pa1.pk)).latest("id")
    assert entry.source == AuditSource.API and entry.actor == fleet.repair_a
    assert entry.changes["status"] == ["in_use", "under_repair"]


def test_move_refusals_in_the_api_error_shape(fleet, client_for):
    client = client_for(fleet.admin_a)
    url = f"/api/devices/{fleet.gold_pa1.pk}/move/"
    error = assert_error(post(client, url, {"to_status": "in_stock"}), 400, "not_allowed")
    assert set(error["fields"]) == {"to_status"}
    assert_error(
        post(client, url, {"to_status": "under_repair", "on": "2020-01-01"}),
        400,
        "before_last_move",
    )
    assert_error(
        post(client, url, {"to_status": "under_repair", "from_status": "issued"}),
        400,
        "moved_meanwhile",
    )
    assert_error(post(client, url, {"to_status": "lost"}), 400, "invalid_choice")
    stock = f"/api/devices/{fleet.ga_stock1.pk}/move/"
    assert_error(post(client, stock, {"to_status": "sold"}), 400, "sell_through_sale")
    assert fleet.fresh("gold_pa1").status == DeviceStatus.IN_USE
    assert fleet.fresh("ga_stock1").status == DeviceStatus.IN_STOCK


def test_put_and_delete_of_a_device_are_not_offered(fleet, client_for):
    client = client_for(fleet.root)
    url = f"/api/devices/{fleet.gold_pa1.pk}/"
    assert client.delete(url).status_code == 405
    assert post(client, "/api/devices/", {"serial": "661999999999"}).status_code == 405


# --------------------------------------------------------------------------- pairing
@pytest.mark.parametrize("username", CAST)
def test_pair_only_by_device_editors(fleet, client_for, username):
    response = post(
        client_for(fleet.users[username]),
        f"/api/devices/{fleet.ga_stock1.pk}/pair/",
        {"device": fleet.rep_stock.pk},
    )
    if username in DEVICE_EDITORS_A:
        assert response.status_code == 200
        assert response.json()["partner"] == fleet.rep_stock.pk
        assert fleet.fresh("rep_stock").paired_with == fleet.ga_stock1
    else:
        expected = 403 if "ga_stock1" in EXPECTED_DEVICES[username] else 404
        assert_error(response, expected)
        assert fleet.fresh("rep_stock").paired_with is None


def test_pair_refusals(fleet, client_for):
    client = client_for(fleet.admin_a)
    url = f"/api/devices/{fleet.ga_stock1.pk}/pair/"
    error = assert_error(post(client, url, {"device": fleet.tb_stock.pk}), 400, "does_not_exist")
    assert set(error["fields"]) == {"device"}  # unit B's device: as an id that never was
    assert_error(post(client, url, {"device": fleet.gold_pa2.pk}), 400, "not_reporting_disk")
    assert_error(post(client, url, {"device": fleet.rep_pa1.pk}), 400, "pair_mismatch")
    assert_error(post(client, url, {}), 400, "required")
    second = hand_over(fleet.fresh("rep_stock"), fleet.pa1, on=days_ago(2), by=fleet.sales_a)
    assert_error(
        post(client, f"/api/devices/{second.pk}/pair/", {"device": fleet.gold_pa1.pk}),
        400,
        "already_paired",
    )


# --------------------------------------------------------------------------- stock batches
@pytest.mark.parametrize("username", CAST)
def test_batch_list_and_detail_are_scoped(fleet, client_for, username):
    client = client_for(fleet.users[username])
    rows = results(client.get("/api/stock-batches/"))
    assert {fleet.batch_key(StockBatch(pk=r["id"])) for r in rows} == EXPECTED_BATCHES[username]
    for key, batch in fleet.batches.items():
        response = client.get(f"/api/stock-batches/{batch.pk}/")
        if key in EXPECTED_BATCHES[username]:
            assert response.status_code == 200
            assert response.json()["delivery_note"] == batch.delivery_note
        else:
            assert_error(response, 404, "not_found")


def test_a_batch_as_the_api_shows_it(fleet, client_for):
    rows = results(client_for(fleet.admin_a).get("/api/stock-batches/"))
    ga = next(r for r in rows if r["id"] == fleet.GA.pk)
    assert ga["devices"] == 4 and ga["in_stock"] == 2
    assert ga["device_type"] == "golden_tax_disk" and "serials" not in ga
    detail = client_for(fleet.admin_a).get(f"/api/stock-batches/{fleet.RA.pk}/").json()
    assert (detail["devices"], detail["in_stock"]) == (2, 1)


def test_batch_list_queries_do_not_grow_with_the_rows(fleet, client_for):
    client = client_for(fleet.supervisor_x)
    client.get("/api/stock-batches/")

    def count():
        with CaptureQueriesContext(connection) as ctx:
            rows = results(client.get("/api/stock-batches/"))
        return len(ctx.captured_queries), len(rows)

    before, rows_before = count()
    for n in range(3):
        receive(fleet.unit_b, DeviceType.UKEY, f"U-{n}", [f"UKB{n}00000001"], by=fleet.admin_b)
    after, rows_after = count()
    assert rows_after == rows_before + 3
    assert after == before


def new_batch(**extra):
    return {
        "device_type": "golden_tax_disk",
        "delivery_note": "CK-API-1",
        "received_on": today().isoformat(),
        "supplier": "航天信息",
        "serials": ["661800000001", "661800000002"],
    } | extra


@pytest.mark.parametrize("username", CAST)
def test_receive_only_by_device_editors(fleet, client_for, username):
    data = new_batch(service_unit=fleet.unit_a.pk) if username == "root" else new_batch()
    response = post(client_for(fleet.users[username]), "/api/stock-batches/", data)
    if username in DEVICE_EDITORS:
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["devices"] == 2 and body["in_stock"] == 2
        batch = StockBatch.objects.get(pk=body["id"])
        unit = fleet.unit_a if username == "root" else fleet.users[username].service_unit
        assert batch.service_unit == unit
        assert sorted(batch.devices.values_list("serial", flat=True)) == data["serials"]
    else:
        assert_error(response, 403, "permission_denied")
        assert not StockBatch.objects.filter(delivery_note="CK-API-1").exists()


def test_receive_reports_each_bad_serial_by_its_index(fleet, client_for):
    client = client_for(fleet.admin_a)
    before = Device.objects.count()
    response = post(
        client,
        "/api/stock-batches/",
        new_batch(serials=["661800000001", "6618000000", "661100000003", "661800000001", ""]),
    )
    error = assert_error(response, 400, "bad_serial")
    assert set(error["fields"]) == {"serials.1", "serials.2", "serials.3"}
    assert "6618000000" in error["fields"]["serials.1"][0]
    assert not error["fields"]["serials.1"][0].startswith("Line")
    assert "661100000003" in error["fields"]["serials.2"][0]
    assert "661800000001" in error["fields"]["serials.3"][0]
    assert Device.objects.count() == before


def test_receive_refusals_in_the_api_error_shape(fleet, client_for):
    client = client_for(fleet.admin_a)
    error = assert_error(
        post(client, "/api/stock-batches/", new_batch(delivery_note="CK-A-001")),
        400,
        "duplicate_note",
    )
    assert set(error["fields"]) == {"delivery_note"}
    assert_error(post(client, "/api/stock-batches/", new_batch(serials=[])), 400, "empty")
    # Another unit's id is not a choice: it "does not exist" for unit A's staff.
    error = assert_error(
        post(client, "/api/stock-batches/", new_batch(service_unit=fleet.unit_b.pk)), 400
    )
    assert set(error["fields"]) == {"service_unit"}
    error = assert_error(post(client_for(fleet.root), "/api/stock-batches/", new_batch()), 400)
    assert set(error["fields"]) == {"service_unit"}  # the platform names the unit
    assert not StockBatch.objects.filter(delivery_note="CK-API-1").exists()


# --------------------------------------------------------------------------- warranty policies
@pytest.mark.parametrize("username", CAST)
def test_warranty_policies_are_scoped(fleet, client_for, username):
    policies = {
        unit: WarrantyPolicy.objects.create(
            service_unit=fleet.units[unit], device_type=DeviceType.UKEY, years=4
        )
        for unit in ("unit_a", "unit_b", "unit_c")
    }
    client = client_for(fleet.users[username])
    rows = results(client.get("/api/warranty-policies/"))
    by_unit = {unit for unit, p in policies.items() if p.pk in {r["id"] for r in rows}}
    assert by_unit == EXPECTED_POLICY_UNITS[username]
    for unit, policy in policies.items():
        response = client.get(f"/api/warranty-policies/{policy.pk}/")
        assert response.status_code == (200 if unit in by_unit else 404)


@pytest.mark.parametrize("username", CAST)
def test_warranty_policy_set_only_by_the_units_admin(fleet, client_for, username):
    client = client_for(fleet.users[username])
    data = {"device_type": "golden_tax_disk", "years": 5}
    if username == "root":
        data["service_unit"] = fleet.unit_a.pk
    response = post(client, "/api/warranty-policies/", data)
    if username in {"admin_a", "admin_b", "root"}:
        assert response.status_code == 201, response.content
        policy = WarrantyPolicy.objects.get(pk=response.json()["id"])
        assert policy.years == 5
        again = post(client, "/api/warranty-policies/", data | {"years": 4})
        assert again.status_code == 200 and again.json()["id"] == policy.pk
        assert WarrantyPolicy.objects.get(pk=policy.pk).years == 4
    else:
        assert_error(response, 403, "permission_denied")
        assert not WarrantyPolicy.objects.exists()


def test_warranty_policy_patch(fleet, client_for):
    policy = WarrantyPolicy.objects.create(
        service_unit=fleet.unit_a, device_type=DeviceType.UKEY, years=4
    )
    url = f"/api/warranty-policies/{policy.pk}/"
    response = patch(client_for(fleet.admin_a), url, {"years": 6})
    assert response.status_code == 200 and response.json()["years"] == 6
    assert_error(patch(client_for(fleet.admin_a), url, {"years": 0}), 400, "min_value")
    assert_error(patch(client_for(fleet.sales_a), url, {"years": 2}), 403)
    assert_error(patch(client_for(fleet.supervisor_x), url, {"years": 2}), 403)
    assert_error(patch(client_for(fleet.admin_b), url, {"years": 2}), 404)
    assert WarrantyPolicy.objects.get(pk=policy.pk).years == 6
    assert client_for(fleet.admin_a).delete(url).status_code == 405
