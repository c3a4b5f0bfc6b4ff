"""Prices from the approved fee schedule in force on a date (MNT-13, REP-04, INS-07).

Every charge takes its amount from here; nothing else reads fee items for a price.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from .choices import FeeKind
from .models import FeeItem, FeeSchedule, ProrationRate

CENT = Decimal("0.01")
SECOND_SET_SHARE = Decimal("0.5")  # the second set for one taxpayer is half price


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def schedule_in_force(service_unit, day: date) -> FeeSchedule | None:
    """The unit's approved schedule in force on ``day`` (schedules never overlap)."""
    return (
        FeeSchedule.objects.filter(service_unit=service_unit, valid_from__lte=day)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
        .order_by("-valid_from")
        .first()
    )


def require_schedule(service_unit, day: date) -> FeeSchedule:
    schedule = schedule_in_force(service_unit, day)
    if schedule is None:
        raise ValidationError(
            _("No approved fee schedule of %(unit)s is in force on %(day)s.")
            % {"unit": service_unit, "day": day},
            code="no_schedule",
        )
    return schedule


def fee_item(schedule: FeeSchedule, kind: str, device_type: str = "") -> FeeItem:
    item = schedule.items.filter(kind=kind, device_type=device_type).first()
    if item is None:
        label = FeeKind(kind).label
        if device_type:
            from taxdesk.devices.choices import DeviceType

            label = f"{label} · {DeviceType(device_type).label}"
        raise ValidationError(
            _("The fee schedule “%(schedule)s” has no price for %(item)s.")
            % {"schedule": schedule, "item": label},
            code="no_price",
        )
    return item


@dataclass(frozen=True)
class Price:
    item: FeeItem
    list_price: Decimal
    amount: Decimal
    note: str = ""


def device_price(schedule: FeeSchedule, device_type: str, *, second_set: bool) -> Price:
    """A device's price; half of it when it belongs to the taxpayer's second set."""
    item = fee_item(schedule, FeeKind.DEVICE, device_type)
    if second_set:
        return Price(
            item, item.amount, money(item.amount * SECOND_SET_SHARE), _("second set, half price")
        )
    return Price(item, item.amount, item.amount)


def percent_text(percent: Decimal) -> str:
    """50.00 → "50", 62.50 → "62.5" (``normalize()`` alone would print 5E+1)."""
    text = f"{percent:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def first_year_maintenance(
    schedule: FeeSchedule, service_unit, starts_on: date, *, annual: Decimal | None = None
) -> Price:
    """The first year's maintenance fee, prorated by the starting month where the unit says.

    ``annual`` replaces the schedule's fee when a contract agreed a lower one.
    """
    item = fee_item(schedule, FeeKind.MAINTENANCE)
    base = item.amount if annual is None else min(item.amount, annual)
    rate = ProrationRate.objects.filter(service_unit=service_unit, month=starts_on.month).first()
    if rate is None or rate.percent == 100:
        return Price(item, item.amount, money(base))
    return Price(
        item,
        item.amount,
        money(base * rate.percent / 100),
        _("first year from month %(month)s: %(percent)s%%")
        % {"month": starts_on.month, "percent": percent_text(rate.percent)},
    )


def maintenance_price(
    schedule: FeeSchedule,
    service_unit,
    *,
    starts_on: date,
    first_year: bool,
    annual: Decimal | None = None,
) -> Price:
    """The annual maintenance fee for one contract year (MNT-13: the approved standard).

    Never more than the standard in force, nor more than the contract agreed (``annual``);
    the taxpayer's first year is prorated by its starting month.
    """
    if first_year:
        return first_year_maintenance(schedule, service_unit, starts_on, annual=annual)
    item = fee_item(schedule, FeeKind.MAINTENANCE)
    base = item.amount if annual is None else min(item.amount, annual)
    return Price(item, item.amount, money(base))
