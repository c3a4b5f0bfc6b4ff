"""Reads of the device register used by more than one page (and by other apps)."""

from __future__ import annotations

from django.db.models import Count, Q

from .choices import HELD_STATUSES, DeviceStatus, DeviceType
from .models import Device


def stock_summary(devices) -> list[dict]:
    """Devices in stock per service unit and type, from a (restricted) Device queryset.

    One query: ``[{"unit_id", "unit", "counts": {type: n}, "total"}]``, by unit name; every
    type appears in ``counts`` (0 where the unit has none).
    """
    rows = (
        devices.filter(status=DeviceStatus.IN_STOCK)
        .order_by()
        .values("service_unit_id", "service_unit__name", "device_type")
        .annotate(n=Count("id"))
        .order_by("service_unit__name", "service_unit_id", "device_type")
    )
    summary: dict[int, dict] = {}
    for row in rows:
        entry = summary.setdefault(
            row["service_unit_id"],
            {
                "unit_id": row["service_unit_id"],
                "unit": row["service_unit__name"],
                "counts": dict.fromkeys(DeviceType.values, 0),
                "total": 0,
            },
        )
        entry["counts"][row["device_type"]] = row["n"]
        entry["total"] += row["n"]
    return list(summary.values())


def status_counts(devices) -> dict[str, int]:
    """How many of ``devices`` are in each state (one query; every state present)."""
    counts = dict.fromkeys(DeviceStatus.values, 0)
    for row in devices.order_by().values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    return counts


def batch_counts(batch_ids) -> dict[int, dict[str, int]]:
    """Per stock batch: its devices and how many are still in stock (one query)."""
    rows = (
        Device.objects.filter(batch_id__in=list(batch_ids))
        .order_by()
        .values("batch_id")
        .annotate(total=Count("id"), in_stock=Count("id", filter=Q(status=DeviceStatus.IN_STOCK)))
    )
    return {row["batch_id"]: {"total": row["total"], "in_stock": row["in_stock"]} for row in rows}


def held_by(taxpayer, devices=None):
    """The devices a taxpayer holds now (sold, issued, in use, under repair)."""
    devices = Device.objects.all() if devices is None else devices
    return (
        devices.filter(taxpayer=taxpayer, status__in=HELD_STATUSES)
        .select_related("paired_with")
        .order_by("device_type", "serial")
    )


def for_list(devices):
    """What a device row shows, without a query per row."""
    return devices.select_related("service_unit", "taxpayer", "batch", "paired_with", "pair")
