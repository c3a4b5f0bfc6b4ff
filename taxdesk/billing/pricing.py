"""Prices from the approved fee schedule in force on a date (MNT-13, REP-04, INS-07).

Every charge takes its amount from here; nothing else reads fee items for a price: the
device prices of a sale (the second set at half price, decided once for the whole sale),
the maintenance fee, and whether work on a device is free or charged (``decide_charge``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from taxdesk.devices.choices import HELD_STATUSES, DeviceType, RepairCause
from taxdesk.devices.warranty import warranty_reason

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


def set_prices(schedule: FeeSchedule, taxpayer, devices: Sequence) -> list[Price]:
    """The prices of ``devices`` sold to ``taxpayer`` together, in their order.

    Decided once for the whole sale: a device whose type the taxpayer already holds (other
    than the devices priced here), or whose type came earlier in the list, belongs to a
    second set and costs half.
    """
    held = Counter(
        taxpayer.devices.filter(status__in=HELD_STATUSES)
        .exclude(pk__in=[d.pk for d in devices if d.pk is not None])
        .values_list("device_type", flat=True)
    )
    prices = []
    for device in devices:
        prices.append(
            device_price(schedule, device.device_type, second_set=held[device.device_type] > 0)
        )
        held[device.device_type] += 1
    return prices


# Readers of the price a device was sold at, registered by the app that records sales (in its
# AppConfig.ready()): a device charged after its sale keeps the sale's price.
SoldPriceReader = Callable[[FeeSchedule, object], "Price | None"]
_sold_price_readers: list[SoldPriceReader] = []


def register_sold_price_reader(reader: SoldPriceReader) -> None:
    if reader not in _sold_price_readers:
        _sold_price_readers.append(reader)


def device_charge_price(schedule: FeeSchedule, taxpayer, device) -> Price:
    """The price of one device charged on its own: its sale's price if a sale recorded one,
    else the schedule's, half for a second set."""
    for reader in _sold_price_readers:
        price = reader(schedule, device)
        if price is not None:
            return price
    return set_prices(schedule, taxpayer, [device])[0]


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


@dataclass(frozen=True)
class ChargeDecision:
    free: bool
    reason: str
    fee_kinds: tuple[str, ...] = ()
    items: list[FeeItem] = field(default_factory=list)


# The work a charge decision is asked about: walk-in repair (REP-04), on-site service (MNT-13).
CHARGEABLE_WORK = (FeeKind.REPAIR, FeeKind.ONSITE)


def decide_charge(device, on: date, cause: str, *, work: str = FeeKind.REPAIR) -> ChargeDecision:
    """Free or charged, and which fee items apply, for ``work`` on ``device`` on ``on``.

    The one place that decides it (MNT-13, REP-04). ``cause`` is a :class:`RepairCause`;
    ``work`` is FeeKind.REPAIR (walk-in repair) or FeeKind.ONSITE (on-site service). A
    quality defect under warranty is free (``devices.warranty``); damage caused by people,
    or any work after the warranty, is charged at the items of the approved schedule in force
    on ``on`` for this work and this device's type (items named for no type apply to every
    type). A charge with no approved item to charge is refused rather than made free by
    omission.
    """
    if cause not in RepairCause.values:
        raise ValueError(f"not a repair cause: {cause!r}")
    if work not in CHARGEABLE_WORK:
        raise ValueError(f"not chargeable work: {work!r}")
    free, reason = warranty_reason(device, on, cause)
    if free:
        return ChargeDecision(True, reason)
    schedule = require_schedule(device.service_unit, on)
    items = list(
        schedule.items.filter(kind=work)
        .filter(Q(device_type=device.device_type) | Q(device_type=""))
        .order_by("name", "id")
    )
    if not items:
        raise ValidationError(
            _("The fee schedule “%(schedule)s” has no approved item for %(work)s of a %(type)s.")
            % {
                "schedule": schedule,
                "work": FeeKind(work).label,
                "type": device.get_device_type_display(),
            },
            code="no_price",
        )
    return ChargeDecision(False, reason, (work,), items)
