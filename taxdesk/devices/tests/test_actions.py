"""The device actions: receiving stock, lifecycle moves (every allowed and refused one, the
race), pairing, warranty policies — and what they leave in the audit trail."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from taxdesk.core.choices import AuditAction
from taxdesk.core.models import AuditEntry
from taxdesk.devices import actions
from taxdesk.devices.actions import (
    move_device,
    pair_reporting_disk,
    receive_stock,
    set_warranty_policy,
)
from taxdesk.devices.choices import (
    FINAL_STATUSES,
    HELD_STATUSES,
    TRANSITIONS,
    DeviceStatus,
    DeviceType,
)
from taxdesk.devices.models import Device, DeviceEvent, StockBatch, WarrantyPolicy
from taxdesk.devices.warranty import warranty_years
from taxdesk.testing.devices import days_ago, hand_over, receive, today

SH = ZoneInfo("Asia/Shanghai")


def entries(model, **filters):
    return AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(model), **filters
    )


def counts():
    return (
        StockBatch.objects.count(),
        Device.objects.count(),
        DeviceEvent.objects.count(),
        AuditEntry.objects.count(),
    )


def serial_errors(excinfo) -> list[tuple[int, str, str]]:
    """(line, code, message) of each line error."""
    return [(e.params["line"], e.code, e.messages[0]) for e in excinfo.value.error_dict["serials"]]


def do_receive(cast, serials, **kwargs):
    values = {
        "service_unit": cast.unit_a,
        "device_type": DeviceType.GOLDEN_TAX_DISK,
        "delivery_note": "CK-2025-0917",
        "received_on": days_ago(30),
        "serials": serials,
        "supplier": "航天信息",
        "by": cast.admin_a,
    }
    values.update(kwargs)
    return receive_stock(**values)


# --------------------------------------------------------------------------- receive_stock
def test_receive_stock_creates_the_batch_devices_and_their_first_event(cast):
    received = days_ago(30)
    batch = do_receive(cast, ["661000000001", "661000000002", "661000000003"])
    assert batch.service_unit == cast.unit_a
    assert (batch.delivery_note, batch.supplier, batch.received_on) == (
        "CK-2025-0917",
        "航天信息",
        received,
    )
    devices = list(batch.devices.order_by("serial"))
    assert [d.serial for d in devices] == ["661000000001", "661000000002", "661000000003"]
    for device in devices:
        assert device.status == DeviceStatus.IN_STOCK
        assert device.status_changed_on == received
        assert device.service_unit == cast.unit_a
        assert device.device_type == DeviceType.GOLDEN_TAX_DISK
        assert device.taxpayer is None
        event = device.events.get()
        assert (event.from_status, event.to_status, event.on, event.by) == (
            "",
            DeviceStatus.IN_STOCK,
            received,
            cast.admin_a,
        )
        assert "CK-2025-0917" in event.note


def test_receive_stock_is_audited_row_by_row(cast):
    batch = do_receive(cast, ["661000000001", "661000000002"])
    device_entries = entries(Device, action=AuditAction.CREATE)
    assert sorted(device_entries.values_list("object_id", flat=True)) == sorted(
        str(pk) for pk in batch.devices.values_list("pk", flat=True)
    )
    assert entries(DeviceEvent, action=AuditAction.CREATE).count() == 2
    assert entries(StockBatch, action=AuditAction.CREATE, object_id=str(batch.pk)).count() == 1
    for entry in entries(Device):
        assert entry.actor == cast.admin_a
        assert entry.unit_id == cast.unit_a.pk
        assert entry.body_id == cast.unit_a.supervision_body_id
        assert entry.changes["status"] == [None, DeviceStatus.IN_STOCK]


def test_receive_stock_normalises_what_was_typed(cast):
    batch = do_receive(
        cast,
        [" ６６１０００ ０００００１ ", "", "a1b2c3d4e5f6"],
        device_type=DeviceType.UKEY,
    )
    assert sorted(batch.devices.values_list("serial", flat=True)) == [
        "661000000001",
        "A1B2C3D4E5F6",
    ]


def test_receive_stock_reports_every_bad_line_and_creates_nothing(cast):
    before = counts()
    with pytest.raises(ValidationError) as excinfo, translation.override("en"):
        do_receive(
            cast,
            [
                "661000000001",  # line 1: good
                "66100000002",  # line 2: 11 digits
                "",  # line 3: blank, skipped but counted
                "66100000000X",  # line 4: a letter
                "661000000005",  # line 5: good
            ],
        )
    errors = serial_errors(excinfo)
    assert [(line, code) for line, code, _m in errors] == [(2, "bad_serial"), (4, "bad_serial")]
    assert errors[0][2].startswith("Line 2: ")
    assert "“66100000002”" in errors[0][2] and "12 digits" in errors[0][2]
    assert [e.params["index"] for e in excinfo.value.error_dict["serials"]] == [1, 3]
    assert counts() == before


def test_receive_stock_reports_repeats_within_the_input(cast):
    before = counts()
    with pytest.raises(ValidationError) as excinfo, translation.override("en"):
        do_receive(
            cast, ["661000000001", "661000000002", "661000000001", "６６１００００００００２"]
        )
    errors = serial_errors(excinfo)
    assert [(line, code) for line, code, _m in errors] == [
        (3, "duplicate_in_input"),
        (4, "duplicate_in_input"),
    ]
    assert errors[0][2] == "Line 3: 661000000001 repeats line 1."
    assert errors[1][2] == "Line 4: 661000000002 repeats line 2."
    assert counts() == before


def test_receive_stock_reports_serials_already_registered_anywhere(cast):
    receive(cast.unit_c, DeviceType.GOLDEN_TAX_DISK, "C-1", ["661000000007"], by=cast.root)
    do_receive(cast, ["661000000001"], delivery_note="A-0")
    before = counts()
    with pytest.raises(ValidationError) as excinfo, translation.override("en"):
        do_receive(cast, ["661000000003", "661000000001", "661000000007", "66100000000"])
    errors = serial_errors(excinfo)
    assert [(line, code) for line, code, _m in errors] == [
        (2, "duplicate_serial"),
        (3, "duplicate_serial"),
        (4, "bad_serial"),
    ]
    # Taken, but not where: another unit's stock is not named.
    assert errors[1][2] == "Line 3: 661000000007 is already registered."
    assert cast.unit_c.name not in errors[1][2]
    assert counts() == before


def test_receive_stock_checks_the_other_fields_together(cast):
    do_receive(cast, ["661000000001"])
    before = counts()
    with pytest.raises(ValidationError) as excinfo:
        do_receive(
            cast,
            ["661000000002", "1"],
            received_on=today() + timedelta(days=1),
        )
    codes = {field: [e.code for e in errs] for field, errs in excinfo.value.error_dict.items()}
    assert codes == {
        "delivery_note": ["duplicate_note"],
        "received_on": ["future"],
        "serials": ["bad_serial"],
    }
    with pytest.raises(ValidationError) as excinfo:
        do_receive(cast, ["", "  "], delivery_note=" ", device_type="floppy")
    codes = {field: [e.code for e in errs] for field, errs in excinfo.value.error_dict.items()}
    assert codes == {
        "device_type": ["invalid"],
        "delivery_note": ["required"],
        "serials": ["required"],
    }
    assert counts() == before


def test_the_same_delivery_note_may_carry_another_type(cast):
    do_receive(cast, ["661000000001"])
    batch = do_receive(cast, ["881000000001"], device_type=DeviceType.REPORTING_DISK)
    assert batch.devices.get().device_type == DeviceType.REPORTING_DISK


def test_receive_stock_bounds_the_batch(cast, monkeypatch):
    monkeypatch.setattr(actions, "MAX_SERIALS_PER_BATCH", 2)
    with pytest.raises(ValidationError) as excinfo:
        do_receive(cast, ["661000000001", "661000000002", "661000000003"])
    assert excinfo.value.error_dict["serials"][0].code == "too_many"


def test_receive_stock_of_thousands_costs_no_query_per_device(cast):
    """Bulk inserts, audit entries saved in batches: no query per device, no lookups."""

    def queries(n: int, start: int, note: str) -> int:
        serials = [f"66{start + i:010d}" for i in range(n)]
        with CaptureQueriesContext(connection) as ctx:
            do_receive(cast, serials, delivery_note=note)
        return len(ctx.captured_queries)

    queries(1, 0, "warm")  # content types cached
    small, large = queries(10, 100, "N-10"), queries(1210, 1000, "N-1210")
    # Only a few more chunks of the serial check, of the INSERTs and of the audit entries (how
    # many rows a chunk holds depends on the database's parameter limit).
    assert large - small <= 60
    assert Device.objects.filter(batch__delivery_note="N-1210").count() == 1210
    from taxdesk.core.models import AuditEntry

    assert AuditEntry.objects.filter(content_type__model="device").count() == 1 + 10 + 1210


@pytest.mark.parametrize(
    "username", ["technician_a", "dispatcher_a", "trainer_a", "supervisor_x", "tax_a", "admin_b"]
)
def test_receive_stock_only_by_the_units_device_editors(cast, username):
    before = counts()
    with pytest.raises(ValidationError) as excinfo:
        do_receive(cast, ["661000000001"], by=cast.users[username])
    assert excinfo.value.code == "forbidden"
    assert counts() == before


@pytest.mark.parametrize("username", ["admin_a", "sales_a", "repair_a", "root"])
def test_receive_stock_by_each_device_editor(cast, username):
    batch = do_receive(cast, ["661000000001"], by=cast.users[username])
    assert batch.devices.get().events.get().by == cast.users[username]


# --------------------------------------------------------------------------- move_device
def device_at(cast, status: str, *, serial="661000000001", taxpayer=True) -> Device:
    """A unit-A device put straight into ``status`` (set-up only), last moved 10 days ago."""
    batch = receive(
        cast.unit_a, DeviceType.GOLDEN_TAX_DISK, f"S-{serial}", [serial], by=cast.admin_a
    )
    device = batch.devices.get()
    held = status != DeviceStatus.IN_STOCK and taxpayer
    Device.objects.filter(pk=device.pk).update(
        status=status,
        status_changed_on=days_ago(10),
        taxpayer=cast.pa1 if held else None,
    )
    device.refresh_from_db()
    return device


ALLOWED = sorted((old, new) for old, onward in TRANSITIONS.items() for new in onward)
REFUSED = sorted(
    (old, new)
    for old in DeviceStatus.values
    for new in DeviceStatus.values
    if new not in TRANSITIONS[old]
)


@pytest.mark.parametrize(("old", "new"), ALLOWED)
def test_every_declared_move_is_made_dated_and_recorded(cast, old, new):
    device = device_at(cast, old)
    taxpayer_before = device.taxpayer_id
    moved = move_device(device, new, on=days_ago(2), by=cast.repair_a, note="检查")
    assert moved.status == new
    assert moved.status_changed_on == days_ago(2)
    stored = Device.objects.get(pk=device.pk)
    assert (stored.status, stored.status_changed_on) == (new, days_ago(2))
    # End states keep the taxpayer: the history says whose the device was.
    assert stored.taxpayer_id == taxpayer_before
    event = stored.events.order_by("-id").first()
    assert (event.from_status, event.to_status, event.on, event.note, event.by) == (
        old,
        new,
        days_ago(2),
        "检查",
        cast.repair_a,
    )
    entry = entries(Device, object_id=str(device.pk), action=AuditAction.UPDATE).latest("id")
    assert entry.changes["status"] == [old, new]
    assert entry.actor == cast.repair_a


@pytest.mark.parametrize(("old", "new"), REFUSED)
def test_every_undeclared_move_is_refused_naming_both_states(cast, old, new):
    device = device_at(cast, old)
    events = DeviceEvent.objects.count()
    with translation.override("en"):
        with pytest.raises(ValidationError) as excinfo:
            move_device(device, new, on=days_ago(2), by=cast.admin_a)
        error = excinfo.value.error_dict["to_status"][0]
        message = error.messages[0]
        names = str(DeviceStatus(old).label), str(DeviceStatus(new).label)
    assert error.code == "not_allowed"
    assert message == f"A device cannot move from “{names[0]}” to “{names[1]}”."
    assert Device.objects.get(pk=device.pk).status == old
    assert DeviceEvent.objects.count() == events


def test_end_states_have_no_way_out():
    assert FINAL_STATUSES == {
        DeviceStatus.REPLACED,
        DeviceStatus.RETURNED,
        DeviceStatus.CANCELLED,
        DeviceStatus.MIGRATED,
    }


def test_a_move_of_a_device_nobody_holds_into_use_is_refused(cast):
    device = device_at(cast, DeviceStatus.SOLD, taxpayer=False)
    with pytest.raises(ValidationError) as excinfo:
        move_device(device, DeviceStatus.ISSUED, on=days_ago(1), by=cast.sales_a)
    assert excinfo.value.error_dict["to_status"][0].code == "no_taxpayer"


def test_a_move_cannot_be_dated_before_the_last_one_or_in_the_future(cast):
    device = device_at(cast, DeviceStatus.IN_STOCK)
    with pytest.raises(ValidationError) as excinfo:
        move_device(device, DeviceStatus.RETURNED, on=days_ago(11), by=cast.admin_a)
    assert excinfo.value.error_dict["on"][0].code == "before_last_move"
    with pytest.raises(ValidationError) as excinfo:
        move_device(device, DeviceStatus.RETURNED, on=today() + timedelta(days=1), by=cast.admin_a)
    assert excinfo.value.error_dict["on"][0].code == "future"
    # The same day as the last move is fine.
    move_device(device, DeviceStatus.RETURNED, on=days_ago(10), by=cast.admin_a)


def test_a_move_takes_an_aware_time_as_its_local_date(cast):
    device = device_at(cast, DeviceStatus.IN_STOCK)
    day = days_ago(3)
    late_evening = datetime(day.year, day.month, day.day, 23, 30, tzinfo=SH)
    move_device(
        device, DeviceStatus.RETURNED, on=late_evening.astimezone(ZoneInfo("UTC")), by=cast.admin_a
    )
    assert Device.objects.get(pk=device.pk).status_changed_on == day
    other = device_at(cast, DeviceStatus.IN_STOCK, serial="661000000002")
    with pytest.raises(ValidationError) as excinfo:
        move_device(other, DeviceStatus.RETURNED, on=datetime(2025, 1, 1, 10), by=cast.admin_a)
    assert excinfo.value.error_dict["on"][0].code == "naive"


def test_a_second_move_from_the_same_old_state_is_refused(cast):
    """Two people moved the same device from the state they both saw: one wins."""
    device = device_at(cast, DeviceStatus.IN_USE)
    first = Device.objects.get(pk=device.pk)
    second = Device.objects.get(pk=device.pk)
    move_device(first, DeviceStatus.UNDER_REPAIR, on=days_ago(1), by=cast.repair_a)
    events = DeviceEvent.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        move_device(second, DeviceStatus.CANCELLED, on=days_ago(1), by=cast.admin_a)
    assert excinfo.value.code == "moved_meanwhile"
    assert Device.objects.get(pk=device.pk).status == DeviceStatus.UNDER_REPAIR
    assert DeviceEvent.objects.count() == events


def test_a_stale_date_check_is_part_of_the_claim(cast):
    """Someone moved it twice meanwhile, back to the state this caller saw, but later."""
    device = device_at(cast, DeviceStatus.IN_USE)
    stale = Device.objects.get(pk=device.pk)
    current = Device.objects.get(pk=device.pk)
    move_device(current, DeviceStatus.UNDER_REPAIR, on=days_ago(2), by=cast.repair_a)
    move_device(current, DeviceStatus.IN_USE, on=days_ago(1), by=cast.repair_a)
    with pytest.raises(ValidationError) as excinfo:
        move_device(stale, DeviceStatus.UNDER_REPAIR, on=days_ago(3), by=cast.repair_a)
    assert excinfo.value.code == "moved_meanwhile"


@pytest.mark.parametrize(
    "username",
    [
        "technician_a",
        "dispatcher_a",
        "trainer_a",
        "supervisor_x",
        "tax_a",
        "taxpayer_pa1",
        "admin_b",
    ],
)
def test_only_device_editors_of_the_unit_move_devices(cast, username):
    device = device_at(cast, DeviceStatus.IN_USE)
    with pytest.raises(ValidationError) as excinfo:
        move_device(device, DeviceStatus.UNDER_REPAIR, on=days_ago(1), by=cast.users[username])
    assert excinfo.value.code == "forbidden"
    assert Device.objects.get(pk=device.pk).status == DeviceStatus.IN_USE


@pytest.mark.parametrize("final", sorted(FINAL_STATUSES - {DeviceStatus.RETURNED}))
def test_an_end_state_dissolves_the_pair_and_keeps_the_taxpayer(fleet, final):
    gold = fleet.fresh("gold_pa1")
    move_device(gold, final, on=days_ago(1), by=fleet.repair_a)
    gold, reporting = fleet.fresh("gold_pa1"), fleet.fresh("rep_pa1")
    assert gold.taxpayer == fleet.pa1
    assert reporting.paired_with_id is None and gold.partner is None
    # The reporting disk may now pair with the replacement.
    replacement = hand_over(fleet.fresh("ga_stock1"), fleet.pa1, on=days_ago(1), by=fleet.sales_a)
    pair_reporting_disk(reporting, replacement, by=fleet.sales_a)
    assert fleet.fresh("rep_pa1").paired_with == replacement


def test_a_reporting_disk_leaving_dissolves_the_pair_from_its_side(fleet):
    reporting = fleet.fresh("rep_pa1")
    move_device(reporting, DeviceStatus.CANCELLED, on=days_ago(1), by=fleet.sales_a)
    assert fleet.fresh("rep_pa1").paired_with_id is None
    assert fleet.fresh("gold_pa1").partner is None


def test_the_sale_signature_is_kept(fleet):
    """sales.sell_devices calls move_device(device, SOLD, on=…, by=…, note=…)."""
    device = fleet.fresh("ga_stock1")
    moved = move_device(device, DeviceStatus.SOLD, on=days_ago(1), by=fleet.sales_a, note="XS-1")
    assert moved is device and device.status == DeviceStatus.SOLD


# --------------------------------------------------------------------------- pairing
def test_two_devices_in_the_same_units_stock_pair(fleet):
    reporting = pair_reporting_disk(
        fleet.fresh("rep_stock"), fleet.fresh("ga_stock1"), by=fleet.sales_a
    )
    assert reporting.paired_with == fleet.ga_stock1
    assert fleet.fresh("ga_stock1").partner == reporting
    entry = entries(Device, object_id=str(reporting.pk)).latest("id")
    assert entry.changes["paired_with"] == [None, fleet.ga_stock1.pk]
    assert entry.actor == fleet.sales_a


def test_two_devices_of_the_same_taxpayer_pair(fleet):
    main = hand_over(fleet.fresh("ga_stock1"), fleet.pa2, on=days_ago(5), by=fleet.sales_a)
    reporting = hand_over(fleet.fresh("rep_stock"), fleet.pa2, on=days_ago(5), by=fleet.sales_a)
    move_device(main, DeviceStatus.ISSUED, on=days_ago(4), by=fleet.sales_a)
    assert pair_reporting_disk(reporting, main, by=fleet.sales_a).paired_with == main


def test_devices_of_different_taxpayers_or_places_do_not_pair(fleet):
    stock_reporting = fleet.fresh("rep_stock")
    with pytest.raises(ValidationError) as excinfo:
        pair_reporting_disk(stock_reporting, fleet.fresh("gold_pa2"), by=fleet.sales_a)
    assert excinfo.value.code == "pair_mismatch"  # one in stock, one held
    reporting = hand_over(stock_reporting, fleet.pa1, on=days_ago(5), by=fleet.sales_a)
    with pytest.raises(ValidationError) as excinfo:
        pair_reporting_disk(reporting, fleet.fresh("gold_pa2"), by=fleet.sales_a)
    assert excinfo.value.code == "pair_mismatch"  # pa1's and pa2's
    assert Device.objects.get(pk=reporting.pk).paired_with_id is None


def test_a_device_that_left_its_taxpayer_does_not_pair(fleet):
    reporting = hand_over(fleet.fresh("rep_stock"), fleet.pa2, on=days_ago(5), by=fleet.sales_a)
    move_device(reporting, DeviceStatus.CANCELLED, on=days_ago(4), by=fleet.sales_a)
    with pytest.raises(ValidationError) as excinfo:
        pair_reporting_disk(fleet.fresh("rep_stock"), fleet.fresh("gold_pa2"), by=fleet.sales_a)
    assert excinfo.value.code == "pair_mismatch"


def test_pairing_needs_a_reporting_disk_and_a_main_disk(fleet):
    with pytest.raises(ValidationError) as excinfo:
        pair_reporting_disk(fleet.fresh("ga_stock1"), fleet.fresh("ga_stock2"), by=fleet.sales_a)
    assert excinfo.value.code == "not_reporting_disk"
    other = receive(
        fleet.unit_a, DeviceType.REPORTING_DISK, "R-2", ["881100000009"], by=fleet.admin_a
    ).devices.get()
    with pytest.raises(ValidationError) as excinfo:
        pair_reporting_disk(fleet.fresh("rep_stock"), other, by=fleet.sales_a)
    assert excinfo.value.code == "not_main_disk"


def test_one_pair_each(fleet):
    # gold_pa1 is paired with rep_pa1; a second reporting disk of pa1 cannot join it.
    second = hand_over(fleet.fresh("rep_stock"), fleet.pa1, on=days_ago(5), by=fleet.sales_a)
    with pytest.raises(ValidationError) as excinfo:
        pair_reporting_disk(second, fleet.fresh("gold_pa1"), by=fleet.sales_a)
    assert excinfo.value.code == "already_paired"
    # … nor may rep_pa1 pair again with another main disk of pa1.
    main = hand_over(fleet.fresh("ga_stock1"), fleet.pa1, on=days_ago(5), by=fleet.sales_a)
    with pytest.raises(ValidationError) as excinfo:
        pair_reporting_disk(fleet.fresh("rep_pa1"), main, by=fleet.sales_a)
    assert excinfo.value.code == "already_paired"


def test_pairing_the_same_reporting_disk_twice_at_once_is_refused(fleet):
    stale = fleet.fresh("rep_stock")
    pair_reporting_disk(fleet.fresh("rep_stock"), fleet.fresh("ga_stock1"), by=fleet.sales_a)
    with pytest.raises(ValidationError) as excinfo:
        pair_reporting_disk(stale, fleet.fresh("ga_stock2"), by=fleet.sales_a)
    assert excinfo.value.code == "already_paired"
    assert fleet.fresh("rep_stock").paired_with == fleet.ga_stock1


@pytest.mark.parametrize("username", ["technician_a", "tax_a", "supervisor_x", "admin_b"])
def test_only_device_editors_pair(fleet, username):
    with pytest.raises(ValidationError) as excinfo:
        pair_reporting_disk(
            fleet.fresh("rep_stock"), fleet.fresh("ga_stock1"), by=fleet.users[username]
        )
    assert excinfo.value.code == "forbidden"


# --------------------------------------------------------------------------- warranty policy
def test_the_unit_admin_sets_and_changes_the_warranty_years(cast):
    assert warranty_years(cast.unit_a, DeviceType.GOLDEN_TAX_DISK) == 3
    policy = set_warranty_policy(
        service_unit=cast.unit_a, device_type=DeviceType.GOLDEN_TAX_DISK, years=5, by=cast.admin_a
    )
    assert warranty_years(cast.unit_a, DeviceType.GOLDEN_TAX_DISK) == 5
    assert warranty_years(cast.unit_a, DeviceType.REPORTING_DISK) == 3
    assert warranty_years(cast.unit_b, DeviceType.GOLDEN_TAX_DISK) == 3
    again = set_warranty_policy(
        service_unit=cast.unit_a, device_type=DeviceType.GOLDEN_TAX_DISK, years=4, by=cast.admin_a
    )
    assert again.pk == policy.pk and WarrantyPolicy.objects.count() == 1
    assert warranty_years(cast.unit_a, DeviceType.GOLDEN_TAX_DISK) == 4
    trail = entries(WarrantyPolicy, object_id=str(policy.pk)).order_by("id")
    assert [(e.action, e.changes["years"]) for e in trail] == [
        (AuditAction.CREATE, [None, 5]),
        (AuditAction.UPDATE, [5, 4]),
    ]


@pytest.mark.parametrize("years", [0, 11, None])
def test_warranty_years_are_bounded(cast, years):
    with pytest.raises(ValidationError) as excinfo:
        set_warranty_policy(
            service_unit=cast.unit_a, device_type=DeviceType.UKEY, years=years, by=cast.admin_a
        )
    assert "years" in excinfo.value.error_dict
    assert not WarrantyPolicy.objects.exists()


@pytest.mark.parametrize("username", ["sales_a", "repair_a", "supervisor_x", "tax_a", "admin_b"])
def test_only_the_units_admin_sets_its_warranty(cast, username):
    with pytest.raises(ValidationError) as excinfo:
        set_warranty_policy(
            service_unit=cast.unit_a,
            device_type=DeviceType.UKEY,
            years=5,
            by=cast.users[username],
        )
    assert excinfo.value.code == "forbidden"
    assert not WarrantyPolicy.objects.exists()


def test_held_statuses_are_the_ones_with_a_taxpayer():
    assert HELD_STATUSES == {
        DeviceStatus.SOLD,
        DeviceStatus.ISSUED,
        DeviceStatus.IN_USE,
        DeviceStatus.UNDER_REPAIR,
    }
