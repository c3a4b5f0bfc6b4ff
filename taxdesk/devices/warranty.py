"""The one function that decides whether work on a device is free or charged (MNT-13, REP-04).

Under warranty (quality defects, 3 years from the sale unless the unit sets otherwise) the work
is free; damage caused by people (人为因素) is charged; out of warranty the approved fee
schedule in force on the service date applies, shown to the user, with a formal invoice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

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
    """The last day of the warranty: the day before the sale's anniversary."""
    from datetime import timedelta

    try:
        anniversary = sold_on.replace(year=sold_on.year + years)
    except ValueError:  # 29 February
        anniversary = sold_on.replace(year=sold_on.year + years, day=28)
    return anniversary - timedelta(days=1)


@dataclass(frozen=True)
class ChargeDecision:
    free: bool
    reason: str
    fee_kinds: tuple[str, ...] = ()
    items: list[FeeItem] = field(default_factory=list)


def decide_charge(
    device: Device,
    on: date,
    cause: str,
    *,
    work: str = FeeKind.REPAIR,
) -> ChargeDecision:
    """Free or charged, and which fee items apply, for ``work`` on ``device`` on ``on``.

    ``cause`` is a :class:`RepairCause`; ``work`` is FeeKind.REPAIR (walk-in repair) or
    FeeKind.ONSITE (on-site service).
    """
    from taxdesk.billing.pricing import require_schedule

    under_warranty = device.warranty_until is not None and on <= device.warranty_until
    if under_warranty and cause == RepairCause.QUALITY:
        return ChargeDecision(
            True,
            _("Under warranty until %(day)s: free of charge.") % {"day": device.warranty_until},
        )
    schedule = require_schedule(device.service_unit, on)
    items = list(schedule.items.filter(kind=work).order_by("name"))
    if under_warranty:
        reason = _("Damage caused by people is charged even under warranty.")
    elif device.warranty_until is None:
        reason = _("The device has no recorded sale, so no warranty: charged.")
    else:
        reason = _("Warranty ended on %(day)s: charged by the approved schedule.") % {
            "day": device.warranty_until
        }
    return ChargeDecision(False, reason, (work,), items)
