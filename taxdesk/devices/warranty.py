"""The one function that decides whether work on a device is free or charged (MNT-13, REP-04).

Under warranty (quality defects, 3 years from the sale unless the unit sets otherwise) the work
is free; damage caused by people (人为因素) is charged; out of warranty the approved fee
schedule in force on the service date applies, shown to the user, with a formal invoice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from taxdesk.billing.choices import FeeKind
from taxdesk.billing.models import FeeItem

from .choices import RepairCause
from .models import Device, WarrantyPolicy

DEFAULT_WARRANTY_YEARS = 3  # 财税〔2012〕15号: quality defects repaired or replaced free


def warranty_years(service_unit, device_type: str) -> int:
    policy = WarrantyPolicy.objects.filter(
        service_unit=service_unit, device_type=device_type
    ).first()
    return policy.years if policy else DEFAULT_WARRANTY_YEARS


def warranty_end(sold_on: date, years: int) -> date:
    """The last day of the warranty: the day before the sale's anniversary.

    A sale on 29 February has its anniversary on 1 March of a common year, so its warranty
    ends on 28 February (not 27, which would be a day short of the years promised).
    """
    try:
        anniversary = sold_on.replace(year=sold_on.year + years)
    except ValueError:  # 29 February, and the anniversary's year is not a leap year
        anniversary = date(sold_on.year + years, 3, 1)
    return anniversary - timedelta(days=1)


@dataclass(frozen=True)
class ChargeDecision:
    free: bool
    reason: str
    fee_kinds: tuple[str, ...] = ()
    items: list[FeeItem] = field(default_factory=list)


# The work a charge decision is asked about: walk-in repair (REP-04), on-site service (MNT-13).
CHARGEABLE_WORK = (FeeKind.REPAIR, FeeKind.ONSITE)


def decide_charge(
    device: Device,
    on: date,
    cause: str,
    *,
    work: str = FeeKind.REPAIR,
) -> ChargeDecision:
    """Free or charged, and which fee items apply, for ``work`` on ``device`` on ``on``.

    ``cause`` is a :class:`RepairCause`; ``work`` is FeeKind.REPAIR (walk-in repair) or
    FeeKind.ONSITE (on-site service). MNT-13 / REP-04: a quality defect under warranty is
    free; damage caused by people, or any work after the warranty, is charged at the items of
    the approved schedule in force on ``on`` for this work and this device's type (items
    named for no type apply to every type). A charge with no approved item to charge is
    refused rather than made free by omission.
    """
    from taxdesk.billing.pricing import require_schedule

    if cause not in RepairCause.values:
        raise ValueError(f"not a repair cause: {cause!r}")
    if work not in CHARGEABLE_WORK:
        raise ValueError(f"not chargeable work: {work!r}")
    under_warranty = device.under_warranty(on)
    if under_warranty and cause == RepairCause.QUALITY:
        return ChargeDecision(
            True,
            _("Under warranty until %(day)s: free of charge.") % {"day": device.warranty_until},
        )
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
    if under_warranty:
        reason = _("Damage caused by people is charged even under warranty.")
    elif device.warranty_until is None:
        reason = _("The device has no recorded sale, so no warranty: charged.")
    else:
        reason = _("Warranty ended on %(day)s: charged by the approved schedule.") % {
            "day": device.warranty_until
        }
    return ChargeDecision(False, reason, (work,), items)
