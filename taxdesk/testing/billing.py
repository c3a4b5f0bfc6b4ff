"""Fee schedules, contracts and charges for the cast's world (see cast.py), for billing tests.

The prices are the published standards: 金税盘/税控盘 490 元, 报税盘 230 元, maintenance 330 元
a year (2012); later 200 元, 100 元 and 280 元 (2017). On-site and repair prices are made up.

    unit A: "2012 standard" 2012-01-01 – 2017-06-30, "2017 standard" from 2017-07-01 (open)
    unit B: "2017 standard" from 2017-07-01 (open)
    unit C: "2017 standard" from 2017-07-01 (open)

    pa1: contract signed for 2025, maintenance charged (paid, invoiced)
    pa2: contract refused for 2025, maintenance charged (unpaid)
    pb1: contract signed for 2025, maintenance charged (unpaid)
    pc1: contract awaiting signature for 2025, an on-site charge
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import count

from taxdesk.billing.actions import (
    create_charge,
    create_contract,
    create_fee_schedule,
    record_invoice,
    record_payment,
    record_refusal,
    sign_contract,
)
from taxdesk.billing.choices import FeeKind
from taxdesk.devices.choices import DeviceStatus, DeviceType

D = Decimal


def items_2012() -> list[dict]:
    return [
        {"kind": FeeKind.DEVICE, "device_type": DeviceType.GOLDEN_TAX_DISK, "amount": D("490")},
        {"kind": FeeKind.DEVICE, "device_type": DeviceType.TAX_CONTROL_DISK, "amount": D("490")},
        {"kind": FeeKind.DEVICE, "device_type": DeviceType.REPORTING_DISK, "amount": D("230")},
        {"kind": FeeKind.MAINTENANCE, "amount": D("330")},
        {"kind": FeeKind.ONSITE, "amount": D("150")},
        {"kind": FeeKind.REPAIR, "name": "更换USB接口", "amount": D("80")},
    ]


def items_2017() -> list[dict]:
    return [
        {"kind": FeeKind.DEVICE, "device_type": DeviceType.GOLDEN_TAX_DISK, "amount": D("200")},
        {"kind": FeeKind.DEVICE, "device_type": DeviceType.TAX_CONTROL_DISK, "amount": D("200")},
        {"kind": FeeKind.DEVICE, "device_type": DeviceType.REPORTING_DISK, "amount": D("100")},
        {"kind": FeeKind.DEVICE, "device_type": DeviceType.UKEY, "amount": D("0")},
        {"kind": FeeKind.MAINTENANCE, "amount": D("280")},
        {"kind": FeeKind.ONSITE, "amount": D("100")},
        {"kind": FeeKind.REPAIR, "name": "更换USB接口", "amount": D("60")},
        {"kind": FeeKind.REPAIR, "name": "主板维修", "amount": D("150")},
    ]


def make_schedule(
    unit,
    *,
    valid_from: date,
    valid_to: date | None = None,
    items: list[dict] | None = None,
    name: str | None = None,
    by=None,
):
    return create_fee_schedule(
        service_unit=unit,
        name=name or f"{valid_from.year}年收费标准",
        valid_from=valid_from,
        valid_to=valid_to,
        supervision_approval=f"监督批复〔{valid_from.year}〕{valid_from.month}号",
        tax_approval=f"税务批复〔{valid_from.year}〕{valid_from.month}号",
        approved_on=date(valid_from.year, valid_from.month, 1),
        items=items if items is not None else items_2017(),
        by=by,
    )


_serials = count(100000000001)


def make_device(
    unit,
    device_type: str = DeviceType.GOLDEN_TAX_DISK,
    *,
    taxpayer=None,
    status: str = DeviceStatus.IN_USE,
    sold_on: date | None = None,
):
    """A device in the register (a test fixture, not a sale: no sale line, no charge)."""
    from taxdesk.devices.models import Device

    return Device.objects.create(
        service_unit=unit,
        device_type=device_type,
        serial=str(next(_serials)),
        status=status if taxpayer is not None else DeviceStatus.IN_STOCK,
        status_changed_on=sold_on or date(2025, 1, 1),
        taxpayer=taxpayer,
        sold_on=sold_on,
    )


def signed_contract(taxpayer, *, starts_on=date(2025, 1, 1), signed_on=None, by=None, **kw):
    contract = create_contract(taxpayer=taxpayer, starts_on=starts_on, by=by, **kw)
    return sign_contract(contract, signed_on=signed_on or starts_on, by=by)


def refused_contract(taxpayer, *, starts_on=date(2025, 1, 1), by=None):
    contract = create_contract(taxpayer=taxpayer, starts_on=starts_on, by=by)
    return record_refusal(contract, refused_on=starts_on, note="用户表示暂不签订", by=by)


@dataclass
class BillingWorld:
    cast: object
    schedules: dict = field(default_factory=dict)
    contracts: dict = field(default_factory=dict)
    charges: dict = field(default_factory=dict)

    def __getattr__(self, name):
        for group in ("schedules", "contracts", "charges"):
            values = self.__dict__.get(group, {})
            if name in values:
                return values[name]
        raise AttributeError(name)

    def key_of(self, obj) -> str | None:
        for group in ("schedules", "contracts", "charges"):
            for key, value in self.__dict__[group].items():
                if type(value) is type(obj) and value.pk == obj.pk:
                    return key
        return None


def build_billing(cast) -> BillingWorld:
    """Schedules, contracts and charges in units A, B and C (see the module docstring)."""
    w = BillingWorld(cast=cast)
    root = cast.root
    w.schedules["fees_a_2012"] = make_schedule(
        cast.unit_a,
        valid_from=date(2012, 1, 1),
        valid_to=date(2017, 6, 30),
        items=items_2012(),
        name="A 2012",
        by=root,
    )
    w.schedules["fees_a_2017"] = make_schedule(
        cast.unit_a, valid_from=date(2017, 7, 1), name="A 2017", by=root
    )
    w.schedules["fees_b_2017"] = make_schedule(
        cast.unit_b, valid_from=date(2017, 7, 1), name="B 2017", by=root
    )
    w.schedules["fees_c_2017"] = make_schedule(
        cast.unit_c, valid_from=date(2017, 7, 1), name="C 2017", by=root
    )
    w.contracts["contract_pa1"] = signed_contract(cast.pa1, by=root)
    w.contracts["contract_pa2"] = refused_contract(cast.pa2, by=root)
    w.contracts["contract_pb1"] = signed_contract(cast.pb1, by=root)
    w.contracts["contract_pc1"] = create_contract(
        taxpayer=cast.pc1, starts_on=date(2025, 1, 1), by=root
    )
    day = date(2025, 3, 1)
    w.charges["charge_pa1"] = create_charge(
        taxpayer=cast.pa1, fee_kind=FeeKind.MAINTENANCE, service_date=day, by=root
    )
    record_payment(w.charges["charge_pa1"], paid_on=day, by=root)
    record_invoice(
        w.charges["charge_pa1"],
        invoice_code="3300251130",
        invoice_number="00000001",
        invoice_date=day,
        by=root,
    )
    w.charges["charge_pa1"].refresh_from_db()
    w.charges["charge_pa2"] = create_charge(
        taxpayer=cast.pa2, fee_kind=FeeKind.MAINTENANCE, service_date=day, by=root
    )
    w.charges["charge_pb1"] = create_charge(
        taxpayer=cast.pb1, fee_kind=FeeKind.MAINTENANCE, service_date=day, by=root
    )
    w.charges["charge_pc1"] = create_charge(
        taxpayer=cast.pc1, fee_kind=FeeKind.ONSITE, service_date=day, by=root
    )
    return w


# The billing rows each member of the cast may VIEW (the answer key of the scoping tests).
_A_SCHEDULES = {"fees_a_2012", "fees_a_2017"}
_A_UNIT = {
    "schedules": _A_SCHEDULES,
    "contracts": {"contract_pa1", "contract_pa2"},
    "charges": {"charge_pa1", "charge_pa2"},
}
_B_UNIT = {"schedules": {"fees_b_2017"}, "contracts": {"contract_pb1"}, "charges": {"charge_pb1"}}
EXPECTED_BILLING = {
    "root": {
        "schedules": {*_A_SCHEDULES, "fees_b_2017", "fees_c_2017"},
        "contracts": {"contract_pa1", "contract_pa2", "contract_pb1", "contract_pc1"},
        "charges": {"charge_pa1", "charge_pa2", "charge_pb1", "charge_pc1"},
    },
    **{
        name: _A_UNIT
        for name in ("admin_a", "dispatcher_a", "technician_a", "trainer_a", "sales_a", "repair_a")
    },
    "admin_b": _B_UNIT,
    "technician_b": _B_UNIT,
    "supervisor_x": {
        "schedules": {*_A_SCHEDULES, "fees_b_2017"},
        "contracts": {"contract_pa1", "contract_pa2", "contract_pb1"},
        "charges": {"charge_pa1", "charge_pa2", "charge_pb1"},
    },
    "supervisor_y": {
        "schedules": {"fees_c_2017"},
        "contracts": {"contract_pc1"},
        "charges": {"charge_pc1"},
    },
    # The tax office of unit A reads the fees its unit applies and what concerns its taxpayers.
    "tax_a": _A_UNIT,
    # A taxpayer's user sees the fee standards of their unit and only their own contracts and
    # charges.
    "taxpayer_pa1": {
        "schedules": _A_SCHEDULES,
        "contracts": {"contract_pa1"},
        "charges": {"charge_pa1"},
    },
}

# Who may write: fee schedules and the proration table — the unit administrator; charges and
# contracts — the unit administrator and the sales clerk (and the platform administrator).
SCHEDULE_WRITERS = frozenset({"root", "admin_a", "admin_b"})
CHARGE_WRITERS = frozenset({"root", "admin_a", "sales_a", "admin_b"})
