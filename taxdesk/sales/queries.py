"""Reads of the sales that other apps ask for through their registries."""

from __future__ import annotations

from taxdesk.billing import pricing
from taxdesk.billing.choices import FeeKind

from .models import SaleLine


def sold_price(schedule, device) -> pricing.Price | None:
    """The price ``device`` was sold at, for a charge made after its sale (billing asks)."""
    line = SaleLine.objects.filter(device=device).first()
    if line is None:
        return None
    item = pricing.fee_item(schedule, FeeKind.DEVICE, device.device_type)
    return pricing.Price(item, line.list_price, line.price, line.price_note)
