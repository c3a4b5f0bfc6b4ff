"""Devices for the cast's world: stock batches in each unit, devices in stock and devices held
by the cast's taxpayers, and approved fee schedules with repair and on-site items.

    unit A  batch GA (金税盘)  ga_stock1, ga_stock2 in stock; gold_pa1 in use by pa1 (under
                               warranty); gold_pa2 sold to pa2 (warranty ended)
            batch RA (报税盘)  rep_pa1 sold to pa1, paired with gold_pa1; rep_stock in stock
    unit B  batch TB (税控盘)  tb_stock in stock; tc_pb1 sold to pb1
    unit C  batch GC (金税盘)  gc_stock in stock; gold_pc1 sold to pc1

Dates are relative to today, so "under warranty today" stays true whenever the suite runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from taxdesk.billing.models import FeeItem, FeeSchedule
from taxdesk.core import audit
from taxdesk.devices.actions import move_device, receive_stock
from taxdesk.devices.choices import DeviceStatus, DeviceType
from taxdesk.devices.models import Device, StockBatch
from taxdesk.devices.warranty import warranty_end, warranty_years
from taxdesk.testing.cast import EXPECTED_VIEW, UNIT_A_STAFF, UNIT_B_STAFF


def today() -> date:
    return timezone.localdate()


def days_ago(n: int) -> date:
    return today() - timedelta(days=n)


RECEIVED_DAYS_AGO = 2000  # about five and a half years


@dataclass
class Fleet:
    cast: object
    devices: dict[str, Device] = field(default_factory=dict)
    batches: dict[str, StockBatch] = field(default_factory=dict)

    def __getattr__(self, name):
        for group in ("devices", "batches"):
            values = self.__dict__.get(group, {})
            if name in values:
                return values[name]
        return getattr(self.__dict__["cast"], name)

    def fresh(self, key: str) -> Device:
        return Device.objects.get(pk=self.devices[key].pk)

    def device_key(self, device) -> str | None:
        for key, value in self.devices.items():
            if value.pk == device.pk:
                return key
        return None

    def batch_key(self, batch) -> str | None:
        for key, value in self.batches.items():
            if value.pk == batch.pk:
                return key
        return None


def hand_over(device: Device, taxpayer, *, on: date, by) -> Device:
    """Stands in for the sale in these tests: sold to ``taxpayer`` on ``on`` with the unit's
    warranty (the real sale, ``sales.sell_devices``, also records prices and the form)."""
    move_device(device, DeviceStatus.SOLD, on=on, by=by)
    with audit.acting(by):
        Device.objects.filter(pk=device.pk).update(
            taxpayer=taxpayer,
            sold_on=on,
            warranty_until=warranty_end(
                on, warranty_years(device.service_unit, device.device_type)
            ),
        )
    device.refresh_from_db()
    return device


def pair(reporting: Device, main: Device, *, by) -> None:
    from taxdesk.devices.actions import pair_reporting_disk

    pair_reporting_disk(reporting, main, by=by)


def receive(unit, device_type, note, serials, *, by, received_on=None) -> StockBatch:
    return receive_stock(
        service_unit=unit,
        device_type=device_type,
        delivery_note=note,
        received_on=received_on or days_ago(RECEIVED_DAYS_AGO),
        serials=list(serials),
        supplier="航天信息" if device_type != DeviceType.TAX_CONTROL_DISK else "百望",
        by=by,
    )


def build_fleet(cast) -> Fleet:
    fleet = Fleet(cast=cast)
    by = {"a": cast.admin_a, "b": cast.admin_b, "c": cast.root}
    plan = {
        "GA": ("a", DeviceType.GOLDEN_TAX_DISK, "CK-A-001", {
            "ga_stock1": "661100000001",
            "ga_stock2": "661100000002",
            "gold_pa1": "661100000003",
            "gold_pa2": "661100000004",
        }),
        "RA": ("a", DeviceType.REPORTING_DISK, "CK-A-002", {
            "rep_pa1": "881100000001",
            "rep_stock": "881100000002",
        }),
        "TB": ("b", DeviceType.TAX_CONTROL_DISK, "CK-B-001", {
            "tb_stock": "551200000001",
            "tc_pb1": "551200000002",
        }),
        "GC": ("c", DeviceType.GOLDEN_TAX_DISK, "CK-C-001", {
            "gc_stock": "661300000001",
            "gold_pc1": "661300000002",
        }),
    }  # fmt: skip
    for batch_key, (unit_key, device_type, note, serials) in plan.items():
        batch = receive(
            cast.units[f"unit_{unit_key}"], device_type, note, serials.values(), by=by[unit_key]
        )
        fleet.batches[batch_key] = batch
        by_serial = {d.serial: d for d in batch.devices.all()}
        for key, serial in serials.items():
            fleet.devices[key] = by_serial[serial]
    d = fleet.devices
    hand_over(d["gold_pa1"], cast.pa1, on=days_ago(400), by=cast.sales_a)
    hand_over(d["rep_pa1"], cast.pa1, on=days_ago(400), by=cast.sales_a)
    pair(d["rep_pa1"], d["gold_pa1"], by=cast.sales_a)
    move_device(d["gold_pa1"], DeviceStatus.ISSUED, on=days_ago(398), by=cast.sales_a)
    move_device(d["gold_pa1"], DeviceStatus.IN_USE, on=days_ago(397), by=cast.repair_a)
    hand_over(d["gold_pa2"], cast.pa2, on=days_ago(4 * 365 + 30), by=cast.sales_a)
    hand_over(d["tc_pb1"], cast.pb1, on=days_ago(100), by=cast.admin_b)
    hand_over(d["gold_pc1"], cast.pc1, on=days_ago(100), by=cast.root)
    for key in d:
        d[key].refresh_from_db()
    return fleet


# The devices and batches each member of the cast may see: the answer key.
_A_DEVICES = {"ga_stock1", "ga_stock2", "gold_pa1", "gold_pa2", "rep_pa1", "rep_stock"}
_B_DEVICES = {"tb_stock", "tc_pb1"}
_C_DEVICES = {"gc_stock", "gold_pc1"}
EXPECTED_DEVICES: dict[str, set[str]] = {
    "root": _A_DEVICES | _B_DEVICES | _C_DEVICES,
    **{name: _A_DEVICES for name in UNIT_A_STAFF},
    **{name: _B_DEVICES for name in UNIT_B_STAFF},
    "supervisor_x": _A_DEVICES | _B_DEVICES,
    "supervisor_y": _C_DEVICES,
    # A tax officer reads the devices of the taxpayers of their office, not a unit's stock.
    "tax_a": {"gold_pa1", "gold_pa2", "rep_pa1"},
    "taxpayer_pa1": {"gold_pa1", "rep_pa1"},
}
EXPECTED_BATCHES: dict[str, set[str]] = {
    "root": {"GA", "RA", "TB", "GC"},
    **{name: {"GA", "RA"} for name in UNIT_A_STAFF},
    **{name: {"TB"} for name in UNIT_B_STAFF},
    "supervisor_x": {"GA", "RA", "TB"},
    "supervisor_y": {"GC"},
    # Stock batches belong to the unit: its tax office reads them; taxpayers do not.
    "tax_a": {"GA", "RA"},
    "taxpayer_pa1": set(),
}
# Warranty policies are read where stock batches are (unit, body, the unit's tax office).
EXPECTED_POLICY_UNITS: dict[str, set[str]] = {
    name: {f"unit_{u}" for u in EXPECTED_VIEW[name]["units"]}
    for name in EXPECTED_VIEW
    if name != "taxpayer_pa1"
} | {"taxpayer_pa1": set()}
assert set(EXPECTED_DEVICES) == set(EXPECTED_VIEW) == set(EXPECTED_BATCHES)


def make_schedule(unit, name, valid_from, valid_to, items) -> FeeSchedule:
    schedule = FeeSchedule.objects.create(
        service_unit=unit,
        name=name,
        valid_from=valid_from,
        valid_to=valid_to,
        supervision_approval=f"监督〔{valid_from.year}〕1号",
        tax_approval=f"税〔{valid_from.year}〕2号",
        approved_on=valid_from - timedelta(days=30),
    )
    for kind, device_type, item_name, amount in items:
        FeeItem.objects.create(
            schedule=schedule,
            kind=kind,
            device_type=device_type,
            name=item_name,
            amount=Decimal(amount),
        )
    return schedule


def build_schedules(cast) -> dict[str, FeeSchedule]:
    """Unit A: the 2017 standard to the end of 2025, a 2026 standard after it."""
    old = make_schedule(
        cast.unit_a,
        "2017 标准",
        date(2017, 8, 1),
        date(2025, 12, 31),
        [
            ("device", DeviceType.GOLDEN_TAX_DISK, "金税盘", "490.00"),
            ("maintenance", "", "技术维护费", "280.00"),
            ("repair", DeviceType.GOLDEN_TAX_DISK, "金税盘主板维修", "150.00"),
            ("repair", DeviceType.TAX_CONTROL_DISK, "税控盘主板维修", "120.00"),
            ("repair", "", "检测费", "30.00"),
            ("onsite", "", "上门服务费", "100.00"),
        ],
    )
    new = make_schedule(
        cast.unit_a,
        "2026 标准",
        date(2026, 1, 1),
        None,
        [
            ("device", DeviceType.GOLDEN_TAX_DISK, "金税盘", "200.00"),
            ("repair", DeviceType.GOLDEN_TAX_DISK, "金税盘主板维修", "180.00"),
            ("repair", "", "检测费", "40.00"),
            ("onsite", "", "上门服务费", "120.00"),
        ],
    )
    return {"old": old, "new": new}


@pytest.fixture
def fleet(cast) -> Fleet:
    """The cast's world with the devices above."""
    return build_fleet(cast)


@pytest.fixture
def schedules(cast) -> dict[str, FeeSchedule]:
    return build_schedules(cast)
