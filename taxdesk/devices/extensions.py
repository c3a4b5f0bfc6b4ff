"""What the device register adds to the taxpayer register (``customers.extensions``): the
devices panel of the taxpayer page, the "holds device" filter and the search by serial."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from taxdesk.customers import extensions
from taxdesk.customers.queries import MAX_KEY, MIN_KEY, ids_or_none, prefix_range

from .choices import HELD_STATUSES, DeviceType
from .models import Device
from .serials import normalise_serial


def devices_panel(user, taxpayer, limit: int) -> dict:
    return extensions.newest_rows(
        Device.objects.restrict(user)
        .filter(taxpayer=taxpayer)
        .select_related("paired_with")
        .order_by("-sold_on", "serial"),
        limit,
    )


def holds_device(queryset, name, value):
    # Most taxpayers hold a device: a correlated EXISTS on (taxpayer, status) stops at the
    # first hit per row, and paging in name order stops when the page is full.
    if not value:
        return queryset
    held = Device.objects.filter(
        taxpayer=OuterRef("pk"), device_type=value, status__in=HELD_STATUSES
    )
    return queryset.filter(Exists(held))


def serial_taxpayer_ids(text: str) -> list[int] | Q | None:
    """Holders of a device whose serial starts with the text (present or past holders), the
    text read as a serial is typed ("6612 3456-7890", full-width digits): 4 to 20 digits or
    capital letters."""
    prefix = normalise_serial(text)
    if not (MIN_KEY <= len(prefix) <= MAX_KEY and prefix.isascii() and prefix.isalnum()):
        return None
    devices = Device.objects.filter(prefix_range("serial", prefix), taxpayer__isnull=False)
    ids = ids_or_none(devices.order_by().values_list("taxpayer_id", flat=True))
    if ids is None:
        return Q(pk__in=devices.values("taxpayer_id"))
    return sorted(set(ids))


def register() -> None:
    extensions.register_panel(
        extensions.TaxpayerPanel(
            "devices", 200, "devices/partials/taxpayer_devices.html", devices_panel
        )
    )
    extensions.register_filter(
        "device_type",
        django_filters.ChoiceFilter(
            method=holds_device, label=_("Holds device"), choices=DeviceType.choices
        ),
        before="entered",
    )
    extensions.register_finder("serial", serial_taxpayer_ids)
