"""The warranty's end and the one decision of free or charged work (MNT-13, REP-04)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from taxdesk.billing.choices import FeeKind
from taxdesk.billing.pricing import decide_charge
from taxdesk.devices.actions import set_warranty_policy
from taxdesk.devices.choices import DeviceType, RepairCause
from taxdesk.devices.models import Device
from taxdesk.devices.warranty import warranty_end, warranty_years
from taxdesk.testing.devices import hand_over, make_schedule, receive
from taxdesk.testing.devices import schedules as schedules  # a fixture


# --------------------------------------------------------------------------- the end date
@pytest.mark.parametrize(
    ("sold_on", "years", "last_day"),
    [
        (date(2025, 9, 26), 3, date(2028, 9, 25)),
        (date(2025, 1, 1), 3, date(2027, 12, 31)),
        (date(2024, 3, 1), 3, date(2027, 2, 28)),
        (date(2023, 3, 1), 1, date(2024, 2, 29)),  # the leap day is inside the year
        (date(2024, 2, 28), 3, date(2027, 2, 27)),
        # Sold on 29 February: the anniversary in a common year is 1 March, so the last day is
        # 28 February — not the 27th, a day short of the years promised.
        (date(2024, 2, 29), 3, date(2027, 2, 28)),
        (date(2024, 2, 29), 1, date(2025, 2, 28)),
        (date(2024, 2, 29), 4, date(2028, 2, 28)),  # a leap anniversary: the day before it
        (date(2024, 2, 29), 5, date(2029, 2, 28)),
    ],
)
def test_warranty_ends_the_day_before_the_anniversary(sold_on, years, last_day):
    assert warranty_end(sold_on, years) == last_day


def test_a_sale_on_29_february_is_covered_no_shorter_than_one_on_28_february():
    assert warranty_end(date(2024, 2, 29), 3) > warranty_end(date(2024, 2, 28), 3)


# --------------------------------------------------------------------------- decide_charge
def sold(cast, *, serial, on, device_type=DeviceType.GOLDEN_TAX_DISK, unit=None, taxpayer=None):
    unit = unit or cast.unit_a
    taxpayer = taxpayer or (cast.pa1 if unit == cast.unit_a else cast.pb1)
    by = cast.admin_a if unit == cast.unit_a else cast.admin_b
    device = receive(
        unit, device_type, f"W-{serial}", [serial], by=by, received_on=date(2015, 1, 2)
    ).devices.get()
    return hand_over(device, taxpayer, on=on, by=by)


def names_and_amounts(decision) -> list[tuple[str, Decimal]]:
    return [(item.name, item.amount) for item in decision.items]


@pytest.mark.rule("MNT-13")
@pytest.mark.rule("REP-04")
def test_mnt_13_rep_04_quality_defect_under_warranty_is_free(cast, schedules):
    device = sold(cast, serial="661000000001", on=date(2025, 6, 1))
    assert device.warranty_until == date(2028, 5, 31)
    for work in (FeeKind.REPAIR, FeeKind.ONSITE):
        for day in (date(2025, 6, 1), date(2026, 3, 1), date(2028, 5, 31)):  # to the last day
            decision = decide_charge(device, day, RepairCause.QUALITY, work=work)
            assert decision.free is True
            assert decision.items == [] and decision.fee_kinds == ()
    with translation.override("en"):
        reason = decide_charge(device, date(2026, 3, 1), RepairCause.QUALITY).reason
    assert reason == "Under warranty until 2028-05-31: free of charge."


@pytest.mark.rule("MNT-13")
@pytest.mark.rule("REP-04")
def test_mnt_13_rep_04_human_damage_under_warranty_is_charged_by_the_schedule_in_force(
    cast, schedules
):
    device = sold(cast, serial="661000000001", on=date(2025, 6, 1))
    # 2025: the 2017 standard — the golden tax disk's repair and the item for every type, not
    # the tax-control disk's.
    decision = decide_charge(device, date(2025, 10, 10), RepairCause.HUMAN)
    assert decision.free is False
    assert decision.fee_kinds == (FeeKind.REPAIR,)
    assert names_and_amounts(decision) == [
        ("检测费", Decimal("30.00")),
        ("金税盘主板维修", Decimal("150.00")),
    ]
    assert {item.schedule for item in decision.items} == {schedules["old"]}
    # 2026: the 2026 standard.
    decision = decide_charge(device, date(2026, 2, 1), RepairCause.HUMAN)
    assert names_and_amounts(decision) == [
        ("检测费", Decimal("40.00")),
        ("金税盘主板维修", Decimal("180.00")),
    ]
    # On-site service picks the on-site item of the schedule in force.
    onsite = decide_charge(device, date(2025, 12, 31), RepairCause.HUMAN, work=FeeKind.ONSITE)
    assert onsite.fee_kinds == (FeeKind.ONSITE,)
    assert names_and_amounts(onsite) == [("上门服务费", Decimal("100.00"))]
    onsite = decide_charge(device, date(2026, 1, 1), RepairCause.HUMAN, work=FeeKind.ONSITE)
    assert names_and_amounts(onsite) == [("上门服务费", Decimal("120.00"))]
    with translation.override("en"):
        assert decision.reason  # computed in Chinese; the English one says why
        reason = decide_charge(device, date(2026, 2, 1), RepairCause.HUMAN).reason
    assert reason == "Damage caused by people is charged even under warranty."


@pytest.mark.rule("MNT-13")
@pytest.mark.rule("REP-04")
def test_mnt_13_rep_04_the_items_follow_the_device_type(cast, schedules):
    device = sold(
        cast, serial="499900000001", on=date(2025, 6, 1), device_type=DeviceType.TAX_CONTROL_DISK
    )
    decision = decide_charge(device, date(2025, 10, 10), RepairCause.HUMAN)
    assert names_and_amounts(decision) == [
        ("检测费", Decimal("30.00")),
        ("税控盘主板维修", Decimal("120.00")),
    ]


@pytest.mark.rule("MNT-13")
@pytest.mark.rule("REP-04")
@pytest.mark.parametrize("cause", [RepairCause.QUALITY, RepairCause.HUMAN])
def test_mnt_13_rep_04_out_of_warranty_is_charged(cast, schedules, cause):
    device = sold(cast, serial="661000000001", on=date(2022, 3, 1))
    assert device.warranty_until == date(2025, 2, 28)
    decision = decide_charge(device, date(2025, 3, 1), cause)  # the day after the last day
    assert decision.free is False
    assert names_and_amounts(decision) == [
        ("检测费", Decimal("30.00")),
        ("金税盘主板维修", Decimal("150.00")),
    ]
    with translation.override("en"):
        reason = decide_charge(device, date(2025, 3, 1), cause).reason
    assert reason == "Warranty ended on 2025-02-28: charged by the approved schedule."


@pytest.mark.rule("MNT-13")
def test_mnt_13_a_device_never_sold_has_no_warranty(cast, schedules):
    device = receive(
        cast.unit_a, DeviceType.GOLDEN_TAX_DISK, "N", ["661000000009"], by=cast.admin_a
    ).devices.get()
    decision = decide_charge(device, date(2025, 3, 1), RepairCause.QUALITY)
    assert decision.free is False and decision.items


@pytest.mark.rule("MNT-13")
@pytest.mark.rule("REP-04")
def test_mnt_13_rep_04_no_schedule_in_force_refuses_the_charge(cast, schedules):
    device = sold(cast, serial="661000000001", on=date(2016, 3, 1))
    with pytest.raises(ValidationError) as excinfo:
        decide_charge(device, date(2017, 7, 31), RepairCause.HUMAN)  # before the 2017 standard
    assert excinfo.value.code == "no_schedule"
    # Unit B has no schedule at all.
    other = sold(cast, serial="499900000002", on=date(2025, 6, 1), unit=cast.unit_b)
    with pytest.raises(ValidationError) as excinfo:
        decide_charge(other, date(2026, 1, 5), RepairCause.HUMAN)
    assert excinfo.value.code == "no_schedule"
    # A free repair needs no schedule.
    assert decide_charge(other, date(2026, 1, 5), RepairCause.QUALITY).free is True


@pytest.mark.rule("MNT-13")
@pytest.mark.rule("REP-04")
def test_mnt_13_rep_04_charged_work_with_no_approved_item_is_refused_not_free(cast):
    make_schedule(
        cast.unit_b,
        "仅设备价格",
        date(2020, 1, 1),
        None,
        [("device", DeviceType.TAX_CONTROL_DISK, "税控盘", "490.00")],
    )
    device = sold(
        cast,
        serial="499900000003",
        on=date(2020, 6, 1),
        unit=cast.unit_b,
        device_type=DeviceType.TAX_CONTROL_DISK,
    )
    with pytest.raises(ValidationError) as excinfo:
        decide_charge(device, date(2025, 6, 1), RepairCause.QUALITY)
    assert excinfo.value.code == "no_price"


@pytest.mark.rule("MNT-13")
@pytest.mark.rule("REP-04")
def test_mnt_13_rep_04_a_units_five_year_policy_changes_the_end(cast, schedules):
    make_schedule(
        cast.unit_b,
        "B 标准",
        date(2020, 1, 1),
        None,
        [("repair", "", "检测费", "50.00")],
    )
    set_warranty_policy(
        service_unit=cast.unit_a, device_type=DeviceType.GOLDEN_TAX_DISK, years=5, by=cast.admin_a
    )
    assert warranty_years(cast.unit_a, DeviceType.GOLDEN_TAX_DISK) == 5
    five = sold(cast, serial="661000000001", on=date(2021, 6, 1))
    assert five.warranty_until == warranty_end(date(2021, 6, 1), 5) == date(2026, 5, 31)
    # The other types of unit A and unit B's devices keep the default of three years.
    reporting = sold(
        cast, serial="881000000001", on=date(2021, 6, 1), device_type=DeviceType.REPORTING_DISK
    )
    assert reporting.warranty_until == date(2024, 5, 31)
    three = sold(cast, serial="661000000002", on=date(2021, 6, 1), unit=cast.unit_b)
    assert three.warranty_until == date(2024, 5, 31)
    four_years_on = date(2025, 6, 1)
    assert decide_charge(five, four_years_on, RepairCause.QUALITY).free is True
    assert decide_charge(reporting, four_years_on, RepairCause.QUALITY).free is False
    assert decide_charge(three, four_years_on, RepairCause.QUALITY).free is False


def test_decide_charge_refuses_what_is_not_a_cause_or_chargeable_work(cast, schedules):
    device = sold(cast, serial="661000000001", on=date(2025, 6, 1))
    with pytest.raises(ValueError):
        decide_charge(device, date(2025, 7, 1), "wear")
    with pytest.raises(ValueError):
        decide_charge(device, date(2025, 7, 1), RepairCause.HUMAN, work=FeeKind.MAINTENANCE)


def test_under_warranty_is_the_same_test_on_the_model(cast):
    device = Device(warranty_until=date(2028, 5, 31))
    assert device.under_warranty(date(2028, 5, 31)) is True
    assert device.under_warranty(date(2028, 6, 1)) is False
    assert Device(warranty_until=None).under_warranty(date(2020, 1, 1)) is False
