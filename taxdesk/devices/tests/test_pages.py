"""The device pages for every member of the cast: exactly their rows, 404 outside their scope,
403 where they may look but not change; moves, pairing, receiving stock and the warranty policy
through the pages; list pages whose query count does not grow with the rows."""

from __future__ import annotations

import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch

from taxdesk.core.choices import AuditSource
from taxdesk.core.models import AuditEntry
from taxdesk.devices.choices import DeviceStatus, DeviceType
from taxdesk.devices.models import Device, DeviceEvent, StockBatch, WarrantyPolicy
from taxdesk.devices.templatetags.device_tags import url_of
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


def en(client):
    client.cookies["django_language"] = "en"
    return client


def device_keys(fleet, response) -> set[str]:
    return {fleet.device_key(d) for d in response.context["rows"]}


def batch_keys(fleet, response) -> set[str]:
    return {fleet.batch_key(b) for b in response.context["rows"]}


# --------------------------------------------------------------------------- device list
@pytest.mark.parametrize("username", CAST)
def test_device_list_shows_exactly_their_devices(fleet, client_for, username):
    response = client_for(fleet.users[username]).get("/devices/")
    assert response.status_code == 200
    assert device_keys(fleet, response) == EXPECTED_DEVICES[username]
    page = response.content.decode()
    for key, device in fleet.devices.items():
        assert (device.serial in page) == (key in EXPECTED_DEVICES[username]), key


def test_device_list_marks_the_warranty_and_the_pair(fleet, client_for):
    page = client_for(fleet.admin_a).get("/devices/").content.decode()
    row = re.search(r'<tr data-serial="661100000003">(.*?)</tr>', page, re.S).group(1)
    assert 'data-warranty="under"' in row and "881100000001" in row and fleet.pa1.name in row
    row = re.search(r'<tr data-serial="661100000004">(.*?)</tr>', page, re.S).group(1)
    assert 'data-warranty="out"' in row


def test_device_list_filters_and_htmx_gets_the_table_only(fleet, client_for):
    client = client_for(fleet.admin_a)
    response = client.get("/devices/", {"q": "8811"}, HTTP_HX_REQUEST="true")
    names = [t.name for t in response.templates]
    assert "devices/partials/device_table.html" in names and "base.html" not in names
    assert "<form" not in response.content.decode()
    assert device_keys(fleet, response) == {"rep_pa1", "rep_stock"}
    response = client.get("/devices/", {"q": "nothing-like-this"})
    assert 'data-testid="empty"' in response.content.decode()
    # A bad filter value shows no rows rather than all of them.
    response = client.get("/devices/", {"status": "lost"})
    assert response.context["rows"] == []


def test_a_taxpayers_devices_by_link(fleet, client_for):
    client = client_for(fleet.admin_a)
    response = client.get("/devices/", {"taxpayer": fleet.pa1.pk})
    assert device_keys(fleet, response) == {"gold_pa1", "rep_pa1"}
    assert response.context["for_taxpayer"] == fleet.pa1
    assert fleet.pa1.name in response.content.decode()
    assert "taxpayer" in response.context["filterset"].form.fields
    # Not linked: the id fields are not offered in the form.
    fields = client.get("/devices/").context["filterset"].form.fields
    assert "taxpayer" not in fields and "batch" not in fields
    # Another unit's taxpayer: nothing, and not named.
    response = client.get("/devices/", {"taxpayer": fleet.pb1.pk})
    assert device_keys(fleet, response) == set()
    assert response.context["for_taxpayer"] is None
    assert fleet.pb1.name not in response.content.decode()


def test_device_list_queries_do_not_grow_with_the_rows(fleet, client_for):
    client = client_for(fleet.supervisor_x)
    client.get("/devices/")

    def count():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/devices/")
        assert response.status_code == 200
        return len(ctx.captured_queries), len(response.context["rows"])

    before, rows_before = count()
    main = hand_over(fleet.fresh("ga_stock1"), fleet.pa2, on=days_ago(3), by=fleet.sales_a)
    reporting = hand_over(fleet.fresh("rep_stock"), fleet.pa2, on=days_ago(3), by=fleet.sales_a)
    from taxdesk.devices.actions import pair_reporting_disk

    pair_reporting_disk(reporting, main, by=fleet.sales_a)
    receive(
        fleet.unit_b,
        DeviceType.TAX_CONTROL_DISK,
        "B-2",
        [f"5512000001{n:02d}" for n in range(6)],
        by=fleet.admin_b,
    )
    after, rows_after = count()
    assert rows_after == rows_before + 6
    assert after == before


# --------------------------------------------------------------------------- device detail
@pytest.mark.parametrize("username", CAST)
def test_device_detail_is_404_outside_scope(fleet, client_for, username):
    client = client_for(fleet.users[username])
    for key, device in fleet.devices.items():
        response = client.get(f"/devices/{device.pk}/")
        if key in EXPECTED_DEVICES[username]:
            assert response.status_code == 200, key
            assert device.serial in response.content.decode()
        else:
            assert response.status_code == 404, key


def test_device_detail_shows_warranty_pairing_and_the_timeline(fleet, client_for):
    client = en(client_for(fleet.admin_a))
    response = client.get(f"/devices/{fleet.gold_pa1.pk}/")
    page = response.content.decode()
    assert response.context["under_warranty"] is True
    assert 'data-warranty="under"' in page and "under warranty today" in page
    assert fleet.gold_pa1.warranty_until.isoformat() in page
    assert f'href="/devices/{fleet.rep_pa1.pk}/"' in page  # its reporting disk
    assert fleet.pa1.name in page
    events = list(response.context["events"])
    assert [(e.from_status, e.to_status) for e in events] == [
        ("", DeviceStatus.IN_STOCK),
        (DeviceStatus.IN_STOCK, DeviceStatus.SOLD),
        (DeviceStatus.SOLD, DeviceStatus.ISSUED),
        (DeviceStatus.ISSUED, DeviceStatus.IN_USE),
    ]
    assert f'href="/devices/{fleet.gold_pa1.pk}/move/"' in page
    assert f'href="/devices/batches/{fleet.GA.pk}/"' in page
    # The reporting disk's page links back to its main disk.
    page = client.get(f"/devices/{fleet.rep_pa1.pk}/").content.decode()
    assert f'href="/devices/{fleet.gold_pa1.pk}/"' in page
    page = client.get(f"/devices/{fleet.gold_pa2.pk}/").content.decode()
    assert 'data-warranty="out"' in page and "warranty ended" in page
    response = client.get(f"/devices/{fleet.ga_stock1.pk}/")
    page = response.content.decode()
    assert 'data-warranty="none"' in page
    assert 'data-testid="pair-form"' in page  # an unpaired main disk may be paired


def test_a_taxpayers_user_reads_their_device_without_staff_details(fleet, client_for):
    response = client_for(fleet.taxpayer_pa1).get(f"/devices/{fleet.gold_pa1.pk}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "/history/" not in page and "sales_a" not in page and "repair_a" not in page
    assert "/move/" not in page
    # The stock batch is the unit's: named, not linked.
    assert fleet.GA.delivery_note in page and f"/devices/batches/{fleet.GA.pk}/" not in page


@pytest.mark.parametrize("username", ["technician_a", "dispatcher_a", "supervisor_x", "tax_a"])
def test_readers_get_no_move_button_or_pair_form(fleet, client_for, username):
    page = client_for(fleet.users[username]).get(f"/devices/{fleet.ga_stock1.pk}/")
    if username == "tax_a":  # a unit's stock is not the tax office's
        assert page.status_code == 404
        return
    html = page.content.decode()
    assert "/move/" not in html and 'data-testid="pair-form"' not in html


def test_url_of_links_only_pages_that_exist():
    class Linked:
        def get_absolute_url(self):
            return "/taxpayers/7/"

    class NotYet:
        def get_absolute_url(self):
            raise NoReverseMatch("customers:taxpayer_detail")

    assert url_of(Linked()) == "/taxpayers/7/"
    assert url_of(NotYet()) == ""
    assert url_of(None) == ""


# --------------------------------------------------------------------------- moving
@pytest.mark.parametrize("username", CAST)
def test_move_page_only_for_device_editors(fleet, client_for, username):
    client = client_for(fleet.users[username])
    device = fleet.gold_pa1
    response = client.get(f"/devices/{device.pk}/move/")
    post = client.post(
        f"/devices/{device.pk}/move/",
        {"to_status": "under_repair", "on": today().isoformat(), "from_status": "in_use"},
    )
    if username in DEVICE_EDITORS_A:
        assert response.status_code == 200
        choices = [v for v, _label in response.context["form"].fields["to_status"].choices]
        assert choices == ["under_repair", "replaced", "cancelled", "migrated"]
        assert post.status_code == 302
        assert fleet.fresh("gold_pa1").status == DeviceStatus.UNDER_REPAIR
    else:
        expected = 403 if "gold_pa1" in EXPECTED_DEVICES[username] else 404
        assert response.status_code == expected
        assert post.status_code == expected
        assert fleet.fresh("gold_pa1").status == DeviceStatus.IN_USE


def test_move_through_the_page_is_recorded_as_web(fleet, client_for):
    client = client_for(fleet.repair_a)
    response = client.post(
        f"/devices/{fleet.gold_pa1.pk}/move/",
        {
            "to_status": "under_repair",
            "on": days_ago(1).isoformat(),
            "note": "送修：无法开票",
            "from_status": "in_use",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/devices/{fleet.gold_pa1.pk}/"
    event = DeviceEvent.objects.filter(device=fleet.gold_pa1).latest("id")
    assert (event.to_status, event.on, event.note, event.by) == (
        DeviceStatus.UNDER_REPAIR,
        days_ago(1),
        "送修：无法开票",
        fleet.repair_a,
    )
    entry = AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Device), object_id=str(fleet.gold_pa1.pk)
    ).latest("id")
    assert entry.source == AuditSource.WEB and entry.actor == fleet.repair_a


def test_the_move_form_does_not_offer_the_sale(fleet, client_for):
    client = client_for(fleet.sales_a)
    response = client.get(f"/devices/{fleet.ga_stock1.pk}/move/")
    choices = [v for v, _label in response.context["form"].fields["to_status"].choices]
    assert choices == ["returned"]  # "sold" happens through a sale
    response = client.post(
        f"/devices/{fleet.ga_stock1.pk}/move/",
        {"to_status": "sold", "on": today().isoformat(), "from_status": "in_stock"},
    )
    assert response.status_code == 400
    assert fleet.fresh("ga_stock1").status == DeviceStatus.IN_STOCK


def test_move_errors_come_back_on_the_form(fleet, client_for):
    client = en(client_for(fleet.admin_a))
    url = f"/devices/{fleet.gold_pa1.pk}/move/"
    response = client.post(
        url, {"to_status": "cancelled", "on": "2020-01-01", "from_status": "in_use"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["on"][0].startswith("The device last moved on")
    # Someone moved it since the form was drawn.
    response = client.post(
        url, {"to_status": "cancelled", "on": today().isoformat(), "from_status": "issued"}
    )
    assert response.status_code == 400
    assert "moved by someone else" in response.context["form"].non_field_errors()[0]
    assert fleet.fresh("gold_pa1").status == DeviceStatus.IN_USE


def test_a_device_at_its_end_offers_no_move(fleet, client_for):
    client = client_for(fleet.admin_a)
    client.post(
        f"/devices/{fleet.gold_pa2.pk}/move/",
        {"to_status": "cancelled", "on": today().isoformat(), "from_status": "sold"},
    )
    page = client.get(f"/devices/{fleet.gold_pa2.pk}/").content.decode()
    assert "/move/" not in page
    response = client.get(f"/devices/{fleet.gold_pa2.pk}/move/")
    assert 'data-testid="empty"' in response.content.decode()


# --------------------------------------------------------------------------- pairing
def test_pair_through_the_page(fleet, client_for):
    client = client_for(fleet.sales_a)
    response = client.post(f"/devices/{fleet.rep_stock.pk}/pair/", {"serial": "661100000001"})
    assert response.status_code == 302
    assert fleet.fresh("rep_stock").paired_with == fleet.ga_stock1
    # From the main disk's side, with a serial of another unit: not found, nothing paired.
    response = client.post(f"/devices/{fleet.ga_stock2.pk}/pair/", {"serial": "551200000001"})
    assert response.status_code == 302
    assert fleet.fresh("ga_stock2").partner is None
    page = client.get(response["Location"]).content.decode()
    assert "551200000001" in page  # the message names what was not found


@pytest.mark.parametrize("username", CAST)
def test_pair_page_only_for_device_editors(fleet, client_for, username):
    response = client_for(fleet.users[username]).post(
        f"/devices/{fleet.rep_stock.pk}/pair/", {"serial": "661100000001"}
    )
    if username in DEVICE_EDITORS_A:
        assert response.status_code == 302
        assert fleet.fresh("rep_stock").paired_with == fleet.ga_stock1
    else:
        expected = 403 if "rep_stock" in EXPECTED_DEVICES[username] else 404
        assert response.status_code == expected
        assert fleet.fresh("rep_stock").paired_with is None


# --------------------------------------------------------------------------- stock batches
@pytest.mark.parametrize("username", CAST)
def test_batch_list_shows_exactly_their_batches_and_stock(fleet, client_for, username):
    response = client_for(fleet.users[username]).get("/devices/batches/")
    assert response.status_code == 200
    assert batch_keys(fleet, response) == EXPECTED_BATCHES[username]
    stock_units = {row["unit_id"] for row in response.context["summary"]}
    units_with_stock = {
        fleet.devices[k].service_unit_id
        for k in EXPECTED_DEVICES[username]
        if fleet.devices[k].status == DeviceStatus.IN_STOCK
    }
    assert stock_units == units_with_stock
    assert response.context["can_receive"] == (username in DEVICE_EDITORS)
    page = response.content.decode()
    assert ('data-testid="receive"' in page) == (username in DEVICE_EDITORS)
    for key, batch in fleet.batches.items():
        assert (batch.delivery_note in page) == (key in EXPECTED_BATCHES[username])


def test_batch_list_counts_devices_and_stock_per_batch(fleet, client_for):
    response = client_for(fleet.admin_a).get("/devices/batches/")
    counts = {fleet.batch_key(b): b.counts for b in response.context["rows"]}
    assert counts == {"GA": {"total": 4, "in_stock": 2}, "RA": {"total": 2, "in_stock": 1}}
    summary = response.context["summary"]
    assert [(row["unit"], row["total"]) for row in summary] == [(fleet.unit_a.name, 3)]


def test_batch_list_queries_do_not_grow_with_the_rows(fleet, client_for):
    client = client_for(fleet.root)
    client.get("/devices/batches/")

    def count():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/devices/batches/")
        assert response.status_code == 200
        return len(ctx.captured_queries), len(response.context["rows"])

    before, rows_before = count()
    for n in range(3):
        receive(
            fleet.unit_b,
            DeviceType.UKEY,
            f"U-{n}",
            [f"UK{n}0000000001", f"UK{n}0000000002"],
            by=fleet.admin_b,
        )
    after, rows_after = count()
    assert rows_after == rows_before + 3
    assert after == before


@pytest.mark.parametrize("username", CAST)
def test_batch_detail_is_404_outside_scope(fleet, client_for, username):
    client = client_for(fleet.users[username])
    for key, batch in fleet.batches.items():
        response = client.get(f"/devices/batches/{batch.pk}/")
        if key in EXPECTED_BATCHES[username]:
            assert response.status_code == 200, key
            assert batch.delivery_note in response.content.decode()
            # Only the batch's devices the user may see are listed.
            shown = {fleet.device_key(d) for d in response.context["rows"]}
            mine = {k for k, d in fleet.devices.items() if d.batch_id == batch.pk}
            assert shown == mine & EXPECTED_DEVICES[username]
        else:
            assert response.status_code == 404, key


def test_batch_detail_counts_by_status(fleet, client_for):
    response = en(client_for(fleet.admin_a)).get(f"/devices/batches/{fleet.GA.pk}/")
    assert response.context["device_count"] == 4
    assert dict(response.context["status_rows"]) == {"In stock": 2, "Sold": 1, "In use": 1}


# --------------------------------------------------------------------------- receiving
@pytest.mark.parametrize("username", CAST)
def test_receive_page_only_for_device_editors(fleet, client_for, username):
    client = client_for(fleet.users[username])
    response = client.get("/devices/batches/receive/")
    post = client.post(
        "/devices/batches/receive/",
        {
            "device_type": DeviceType.GOLDEN_TAX_DISK,
            "delivery_note": "CK-NEW",
            "received_on": today().isoformat(),
            "serials": "661900000001",
            "service_unit": fleet.unit_a.pk,
        },
    )
    if username in DEVICE_EDITORS:
        assert response.status_code == 200
        assert post.status_code == 302
        batch = StockBatch.objects.get(delivery_note="CK-NEW")
        expected_unit = fleet.unit_a if username == "root" else fleet.users[username].service_unit
        assert batch.service_unit == expected_unit
    else:
        assert response.status_code == 403
        assert post.status_code == 403
        assert not StockBatch.objects.filter(delivery_note="CK-NEW").exists()


def test_receive_page_receives_one_serial_per_line(fleet, client_for):
    client = client_for(fleet.sales_a)
    response = client.post(
        "/devices/batches/receive/",
        {
            "device_type": DeviceType.REPORTING_DISK,
            "delivery_note": "CK-2026-11",
            "supplier": "航天信息",
            "received_on": today().isoformat(),
            "serials": "881900000001\r\n881900000002\r\n\r\n881900000003\r\n",
        },
    )
    batch = StockBatch.objects.get(delivery_note="CK-2026-11")
    assert response.status_code == 302
    assert response["Location"] == f"/devices/batches/{batch.pk}/"
    assert sorted(batch.devices.values_list("serial", flat=True)) == [
        "881900000001",
        "881900000002",
        "881900000003",
    ]
    assert batch.service_unit == fleet.unit_a


def test_receive_page_lists_every_bad_line(fleet, client_for):
    client = en(client_for(fleet.admin_a))
    before = Device.objects.count()
    response = client.post(
        "/devices/batches/receive/",
        {
            "device_type": DeviceType.GOLDEN_TAX_DISK,
            "delivery_note": "CK-BAD",
            "received_on": today().isoformat(),
            "serials": "661900000001\n66190000002\n661100000003\n661900000001\n",
        },
    )
    assert response.status_code == 400
    errors = response.context["form"].errors["serials"]
    assert errors == [
        "Line 2: A Golden tax disk serial number is 12 digits; “66190000002” is not.",
        "Line 3: 661100000003 is already registered.",
        "Line 4: 661900000001 repeats line 1.",
    ]
    page = response.content.decode()
    assert page.count('data-error-for="serials"') == 3
    assert "661900000001\n66190000002" in page  # what was typed stays in the box
    assert Device.objects.count() == before
    assert not StockBatch.objects.filter(delivery_note="CK-BAD").exists()


# --------------------------------------------------------------------------- warranty policy
@pytest.mark.parametrize("username", CAST)
def test_warranty_page_shows_the_policies_they_may_read(fleet, client_for, username):
    set_years = WarrantyPolicy.objects.create(
        service_unit=fleet.unit_b, device_type=DeviceType.TAX_CONTROL_DISK, years=5
    )
    response = client_for(fleet.users[username]).get("/devices/warranty/")
    assert response.status_code == 200
    rows = response.context["rows"]
    assert {f"unit_{r['unit'].code[-1].lower()}" for r in rows} == EXPECTED_POLICY_UNITS[username]
    for row in rows:
        years = dict(zip(DeviceType.values, row["years"], strict=True))
        if row["unit"] == set_years.service_unit:
            assert years[DeviceType.TAX_CONTROL_DISK] == (5, True)
        assert years[DeviceType.GOLDEN_TAX_DISK] == (3, False)
    has_form = response.context["form"] is not None
    assert has_form == (username in {"admin_a", "admin_b"})
    if not rows:
        assert 'data-testid="empty"' in response.content.decode()


def test_the_unit_admin_sets_years_on_the_page(fleet, client_for):
    client = client_for(fleet.admin_a)
    data = {value: 3 for value in DeviceType.values} | {DeviceType.GOLDEN_TAX_DISK: 5}
    response = client.post("/devices/warranty/", data)
    assert response.status_code == 302
    policy = WarrantyPolicy.objects.get()
    assert (policy.service_unit, policy.device_type, policy.years) == (
        fleet.unit_a,
        DeviceType.GOLDEN_TAX_DISK,
        5,
    )
    response = client.get("/devices/warranty/")
    assert response.context["form"].fields[DeviceType.GOLDEN_TAX_DISK].initial == 5
    response = client.post("/devices/warranty/", data | {DeviceType.UKEY: 11})
    assert response.status_code == 400
    assert WarrantyPolicy.objects.count() == 1


@pytest.mark.parametrize("username", sorted(set(CAST) - {"admin_a", "admin_b"}))
def test_only_unit_admins_post_the_warranty_policy(fleet, client_for, username):
    data = {value: 4 for value in DeviceType.values}
    response = client_for(fleet.users[username]).post("/devices/warranty/", data)
    assert response.status_code == 403
    assert not WarrantyPolicy.objects.exists()


def test_pages_need_a_login(client, fleet):
    for url in ["/devices/", f"/devices/{fleet.gold_pa1.pk}/", "/devices/batches/receive/"]:
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"]


# --------------------------------------------------------------------------- export
@pytest.mark.parametrize("username", ["admin_b", "supervisor_x", "tax_a"])
def test_device_list_exports_the_rows_they_see(fleet, client_for, username):
    from io import BytesIO

    from openpyxl import load_workbook

    client = en(client_for(fleet.users[username]))
    response = client.get("/devices/", {"export": "xlsx"})
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Serial number", "Device type", "Status")
    serials = {row[0] for row in rows[1:]}
    assert serials == {fleet.devices[k].serial for k in EXPECTED_DEVICES[username]}
    if username == "tax_a":
        pair = {row[0]: row[-1] for row in rows[1:]}
        assert pair[fleet.gold_pa1.serial] == fleet.rep_pa1.serial


def test_batch_list_exports_with_its_filters(fleet, client_for):
    from io import BytesIO

    from openpyxl import load_workbook

    response = client_for(fleet.root).get(
        "/devices/batches/", {"export": "xlsx", "device_type": DeviceType.GOLDEN_TAX_DISK}
    )
    sheet = load_workbook(BytesIO(b"".join(response.streaming_content))).active
    notes = [row[0] for row in list(sheet.iter_rows(values_only=True))[1:]]
    assert sorted(notes) == ["CK-A-001", "CK-C-001"]
