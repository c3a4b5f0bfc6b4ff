"""pricing.py: the schedule in force, device prices with the second set at half price, and the
first-year maintenance fee prorated by the unit's table (MNT-13)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from taxdesk.billing import pricing
from taxdesk.billing.actions import set_proration
from taxdesk.devices.choices import DeviceType
from taxdesk.testing.billing import items_2012, make_schedule

D = Decimal


@pytest.fixture
def fees(cast):
    old = make_schedule(
        cast.unit_a,
        valid_from=date(2012, 1, 1),
        valid_to=date(2017, 6, 30),
        items=items_2012(),
        name="2012",
    )
    new = make_schedule(cast.unit_a, valid_from=date(2017, 7, 1), name="2017")
    return old, new


@pytest.mark.rule("MNT-13")
def test_mnt_13_schedule_in_force_by_date(cast, fees):
    old, new = fees
    assert pricing.schedule_in_force(cast.unit_a, date(2012, 1, 1)) == old
    assert pricing.schedule_in_force(cast.unit_a, date(2017, 6, 30)) == old
    assert pricing.schedule_in_force(cast.unit_a, date(2017, 7, 1)) == new
    assert pricing.schedule_in_force(cast.unit_a, date(2030, 1, 1)) == new
    assert pricing.schedule_in_force(cast.unit_a, date(2011, 12, 31)) is None
    assert pricing.schedule_in_force(cast.unit_b, date(2020, 1, 1)) is None


@pytest.mark.rule("MNT-13")
def test_mnt_13_require_schedule_refuses_a_day_without_one(cast, fees):
    with pytest.raises(ValidationError) as caught:
        pricing.require_schedule(cast.unit_a, date(2011, 12, 31))
    assert caught.value.code == "no_schedule"


def test_device_price_first_set_full_second_set_half(cast, fees):
    old, new = fees
    first = pricing.device_price(old, DeviceType.GOLDEN_TAX_DISK, second_set=False)
    second = pricing.device_price(old, DeviceType.GOLDEN_TAX_DISK, second_set=True)
    assert (first.list_price, first.amount) == (D("490.00"), D("490.00"))
    assert (second.list_price, second.amount) == (D("490.00"), D("245.00"))
    assert second.note
    assert pricing.device_price(new, DeviceType.REPORTING_DISK, second_set=True).amount == D(
        "50.00"
    )


def test_device_price_half_rounds_to_the_fen(cast):
    schedule = make_schedule(
        cast.unit_b,
        valid_from=date(2020, 1, 1),
        items=[{"kind": "device", "device_type": "golden_tax_disk", "amount": D("0.05")}],
    )
    # 0.025 → 0.03 (rounded half up, as money is)
    assert pricing.device_price(schedule, "golden_tax_disk", second_set=True).amount == D("0.03")


def test_a_price_missing_from_the_schedule_is_refused(cast, fees):
    old, _new = fees
    with pytest.raises(ValidationError) as caught:
        pricing.device_price(old, DeviceType.UKEY, second_set=False)  # 2012 had no UKey
    assert caught.value.code == "no_price"


def test_first_year_maintenance_prorated_by_the_units_table(cast, fees):
    _old, new = fees
    set_proration(
        service_unit=cast.unit_a, rates={7: D("50"), 10: D("25"), 12: D("62.5")}, by=cast.admin_a
    )
    july = pricing.first_year_maintenance(new, cast.unit_a, date(2025, 7, 15))
    assert july.amount == D("140.00")  # 280 × 50 %
    with translation.override("en"):
        note = pricing.first_year_maintenance(new, cast.unit_a, date(2025, 7, 1)).note
    assert "50%" in note and "E+" not in note
    assert pricing.first_year_maintenance(new, cast.unit_a, date(2025, 10, 1)).amount == D("70.00")
    assert pricing.first_year_maintenance(new, cast.unit_a, date(2025, 12, 1)).amount == D("175.00")
    # A month without a share charges the whole year.
    january = pricing.first_year_maintenance(new, cast.unit_a, date(2025, 1, 1))
    assert (january.amount, january.note) == (D("280.00"), "")
    # Another unit's table does not apply.
    other = make_schedule(cast.unit_b, valid_from=date(2017, 7, 1))
    assert pricing.first_year_maintenance(other, cast.unit_b, date(2025, 7, 1)).amount == D(
        "280.00"
    )


def test_maintenance_price_never_above_the_standard_or_the_agreed_fee(cast, fees):
    _old, new = fees
    set_proration(service_unit=cast.unit_a, rates={7: D("50")}, by=cast.admin_a)
    price = pricing.maintenance_price(
        new, cast.unit_a, starts_on=date(2025, 7, 1), first_year=False, annual=D("300")
    )
    assert price.amount == D("280.00")
    price = pricing.maintenance_price(
        new, cast.unit_a, starts_on=date(2025, 7, 1), first_year=False, annual=D("200")
    )
    assert price.amount == D("200.00")
    price = pricing.maintenance_price(
        new, cast.unit_a, starts_on=date(2025, 7, 1), first_year=True, annual=D("200")
    )
    assert price.amount == D("100.00")


def test_percent_text():
    assert pricing.percent_text(D("50.00")) == "50"
    assert pricing.percent_text(D("62.50")) == "62.5"
    assert pricing.percent_text(D("100")) == "100"
    assert pricing.percent_text(D("0.00")) == "0"


def test_set_proration_replaces_the_table_and_checks_it(cast):
    from taxdesk.billing.models import ProrationRate

    set_proration(service_unit=cast.unit_a, rates={1: D("100"), 7: D("50")}, by=cast.admin_a)
    set_proration(service_unit=cast.unit_a, rates={7: D("40"), 8: D("30")}, by=cast.admin_a)
    table = dict(
        ProrationRate.objects.filter(service_unit=cast.unit_a).values_list("month", "percent")
    )
    assert table == {7: D("40.00"), 8: D("30.00")}
    for rates, code in (
        ({13: D("10")}, "month"),
        ({5: D("101")}, "percent_range"),
        ({5: D("-1")}, "amount_negative"),
        ({5: D("33.333")}, "amount_places"),
    ):
        with pytest.raises(ValidationError) as caught:
            set_proration(service_unit=cast.unit_a, rates=rates, by=cast.admin_a)
        assert caught.value.error_dict["rates"][0].code == code
    # Only the unit's administrator sets it.
    for user in (cast.sales_a, cast.admin_b, cast.supervisor_x):
        with pytest.raises(ValidationError) as caught:
            set_proration(service_unit=cast.unit_a, rates={7: D("10")}, by=user)
        assert caught.value.code == "forbidden"
