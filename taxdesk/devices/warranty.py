"""Warranty: how long it lasts and whether work on a device is free (MNT-13, REP-04).

Under warranty (quality defects, 3 years from the sale unless the unit sets otherwise) the work
is free; damage caused by people (人为因素) is charged; out of warranty the approved fee
schedule in force on the service date applies, shown to the user, with a formal invoice.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.utils.translation import gettext as _

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


def warranty_reason(device: Device, on: date, cause: str) -> tuple[bool, str]:
    """Whether work on ``device`` on ``on`` for ``cause`` is free, and why (MNT-13, REP-04).

    A quality defect under warranty is free; damage caused by people, or any work after the
    warranty, is charged (``billing.pricing.decide_charge`` adds the schedule's items).
    """
    if cause not in RepairCause.values:
        raise ValueError(f"not a repair cause: {cause!r}")
    under_warranty = device.under_warranty(on)
    if under_warranty and cause == RepairCause.QUALITY:
        return True, _("Under warranty until %(day)s: free of charge.") % {
            "day": device.warranty_until
        }
    if under_warranty:
        return False, _("Damage caused by people is charged even under warranty.")
    if device.warranty_until is None:
        return False, _("The device has no recorded sale, so no warranty: charged.")
    return False, _("Warranty ended on %(day)s: charged by the approved schedule.") % {
        "day": device.warranty_until
    }
