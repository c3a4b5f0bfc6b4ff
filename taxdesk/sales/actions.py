"""Selling devices to a taxpayer (发售): one action records the sale, its devices, the prices
from the fee schedule in force, the charges, the application form's contents (INS-05) and
starts the new user's entry clock (INS-06).
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from taxdesk.billing.actions import charge_sold_devices
from taxdesk.clocks.actions import start_deadline, stop_deadline
from taxdesk.clocks.models import Deadline
from taxdesk.core import audit
from taxdesk.core.errors import field_error as _field_error
from taxdesk.core.models import ServiceUnit
from taxdesk.core.numbering import next_number
from taxdesk.core.scoping import may_add
from taxdesk.customers.choices import TaxpayerStatus
from taxdesk.devices.choices import MAIN_DISKS, DeviceStatus, DeviceType
from taxdesk.devices.models import Device
from taxdesk.devices.serials import normalise_serial
from taxdesk.devices.warranty import warranty_end, warranty_years

from .models import Sale, SaleLine


def may_sell_to(user, taxpayer) -> bool:
    """A seller of the taxpayer's own unit, to a taxpayer in normal standing."""
    return taxpayer.status == TaxpayerStatus.NORMAL and may_add(
        user, Sale, taxpayer.service_unit_id
    )


def _check_seller(taxpayer, by) -> None:
    if not may_add(by, Sale, taxpayer.service_unit_id):
        raise ValidationError(_("You may not sell devices to this taxpayer."), code="forbidden")


def _devices_for_sale(taxpayer, serials: list[str]) -> list[Device]:
    """The devices named by ``serials`` (as typed: each read by ``normalise_serial``), all
    in stock in the taxpayer's unit. Blank entries are skipped but keep their line number."""
    lines = [(number, normalise_serial(raw)) for number, raw in enumerate(serials, start=1)]
    lines = [(number, serial) for number, serial in lines if serial]
    cleaned = [serial for _number, serial in lines]
    if not cleaned:
        raise _field_error("serials", _("Name at least one device to sell."), "required")
    repeated = sorted({s for s in cleaned if cleaned.count(s) > 1})
    if repeated:
        raise _field_error(
            "serials",
            _("Serial numbers listed twice: %(serials)s.") % {"serials": ", ".join(repeated)},
            "duplicate",
        )
    found = {d.serial: d for d in Device.objects.filter(serial__in=cleaned)}
    problems = []
    for line, serial in lines:
        device = found.get(serial)
        if device is None or device.service_unit_id != taxpayer.service_unit_id:
            problems.append(
                _("Line %(line)s: %(serial)s is not in this unit's stock.")
                % {"line": line, "serial": serial}
            )
        elif device.status != DeviceStatus.IN_STOCK:
            problems.append(
                _("Line %(line)s: %(serial)s is %(status)s, not in stock.")
                % {"line": line, "serial": serial, "status": device.get_status_display()}
            )
    if problems:
        raise ValidationError(
            {"serials": [ValidationError(p, code="not_in_stock") for p in problems]}
        )
    return [found[s] for s in cleaned]


def _next_number(service_unit: ServiceUnit, day) -> str:
    prefix = f"XS{service_unit.pk:03d}-{day:%Y%m%d}-"
    return next_number(service_unit, prefix, width=4, issued=Sale.objects.all())


def _application(taxpayer, devices: list[Device], sold_at: datetime, extra: dict) -> dict:
    """The 《发票税控系统用户使用申请表》 as filled at the sale (INS-05)."""
    contacts = [
        {"name": c.name, "role": c.get_role_display(), "mobile": c.mobile, "landline": c.landline}
        for c in taxpayer.contacts.all()
    ]
    unit = taxpayer.service_unit
    return {
        "taxpayer": {
            "number": taxpayer.number,
            "name": taxpayer.name,
            "address": taxpayer.address,
            "district": taxpayer.district,
            "tax_office": str(taxpayer.tax_office or ""),
            "taxpayer_type": taxpayer.get_taxpayer_type_display(),
            "invoice_types": list(taxpayer.invoice_types),
            "contacts": contacts,
        },
        "devices": [{"type": d.get_device_type_display(), "serial": d.serial} for d in devices],
        "service_unit": {"name": unit.name, "address": unit.address, "hotline": unit.hotline},
        "date": timezone.localtime(sold_at).date().isoformat(),
        **{k: v for k, v in extra.items() if k in ("remarks", "install_address")},
    }


def sell_devices(
    *, taxpayer, serials: list[str], sold_at: datetime, by, application: dict | None = None
) -> Sale:
    """Sell the named in-stock devices to ``taxpayer`` at ``sold_at``.

    Prices come from the unit's approved schedule in force on the sale date; a device whose
    type the taxpayer already holds (or that repeats a type within this sale) belongs to a
    second set and costs half. INS-05: the application form is filled from the records.
    INS-06: the new user's entry clock starts at the sale.
    """
    from taxdesk.devices.actions import move_device

    if timezone.is_naive(sold_at):
        raise _field_error("sold_at", _("The sale time must carry a time zone."), "naive")
    _check_seller(taxpayer, by)
    if taxpayer.status != TaxpayerStatus.NORMAL:
        raise ValidationError(
            _("%(taxpayer)s is %(status)s: devices are sold only to taxpayers in normal standing.")
            % {"taxpayer": taxpayer.name, "status": taxpayer.get_status_display()},
            code="taxpayer_status",
        )
    sold_on = timezone.localtime(sold_at).date()
    with transaction.atomic(), audit.acting(by):
        # Serialise sales of one unit: the number sequence and the stock checks.
        unit = ServiceUnit.objects.select_for_update().get(pk=taxpayer.service_unit_id)
        devices = _devices_for_sale(taxpayer, serials)
        sale = Sale.objects.create(
            service_unit=unit,
            taxpayer=taxpayer,
            number=_next_number(unit, sold_on),
            sold_on=sold_at,
            sold_by=by,
            application=_application(taxpayer, devices, sold_at, application or {}),
        )
        priced = charge_sold_devices(
            taxpayer=taxpayer, devices=devices, service_date=sold_on, by=by, sale=sale
        )
        for device, (price, _charge) in zip(devices, priced, strict=True):
            move_device(
                device,
                DeviceStatus.SOLD,
                on=sold_on,
                by=by,
                note=_("Sold on %(sale)s") % {"sale": sale.number},
            )
            device.refresh_from_db()
            device.taxpayer = taxpayer
            device.sale = sale
            device.sold_on = sold_on
            device.warranty_until = warranty_end(sold_on, warranty_years(unit, device.device_type))
            device.save()
            SaleLine.objects.create(
                sale=sale,
                device=device,
                list_price=price.list_price,
                price=price.amount,
                price_note=price.note,
            )
        _pair_in_sale(devices, by)
        _start_entry_clock(taxpayer, unit, sold_at, by)
    return sale


def _pair_in_sale(devices: list[Device], by) -> None:
    """A sale of one main disk and one reporting disk pairs them (unless either is paired)."""
    from taxdesk.devices.actions import pair_reporting_disk

    mains = [d for d in devices if d.device_type in MAIN_DISKS]
    reporting = [d for d in devices if d.device_type == DeviceType.REPORTING_DISK]
    if len(mains) == 1 and len(reporting) == 1:
        main, disk = mains[0], reporting[0]
        main.refresh_from_db()
        disk.refresh_from_db()
        if disk.paired_with_id is None and main.partner is None:
            pair_reporting_disk(disk, main, by=by)


def _start_entry_clock(taxpayer, unit, sold_at: datetime, by) -> None:
    """INS-06: the new user's record is due complete 3 working days after the first sale."""
    if Deadline.objects.filter(
        content_type__app_label="customers",
        content_type__model="taxpayer",
        object_id=taxpayer.pk,
        rule="INS-06",
    ).exists():
        return  # not a new user: the clock ran at the first sale
    start_deadline(
        taxpayer, "INS-06", started_at=sold_at, service_unit=unit, taxpayer=taxpayer, by=by
    )
    if taxpayer.entered_at is not None:
        # Entered completely before the sale: the clock is met at once.
        stop_deadline(taxpayer, "INS-06", at=max(sold_at, taxpayer.entered_at), by=by)
        return
    from taxdesk.customers.actions import refresh_entry

    refresh_entry(taxpayer, by=by, at=sold_at)
