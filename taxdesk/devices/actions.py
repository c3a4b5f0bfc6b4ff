"""Every operation that changes the device register: stock received, lifecycle moves, pairing,
warranty policies. (Selling is its own action, in ``sales.py``, and calls :func:`move_device`.)

Each action checks who acts, owns its transaction and writes through the audited models; a
lifecycle move claims its row with a conditional UPDATE on the old state, so two people moving
the same device at once cannot both succeed.
"""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from taxdesk.core import audit
from taxdesk.core.errors import field_error as _field_error
from taxdesk.core.scoping import CHANGE, can, may_add

from .choices import (
    FINAL_STATUSES,
    HELD_STATUSES,
    MAIN_DISKS,
    TRANSITIONS,
    DeviceStatus,
    DeviceType,
)
from .models import Device, DeviceEvent, StockBatch, WarrantyPolicy, validate_serial
from .serials import normalise_serial

# One delivery note is at most this many devices: a request stays bounded.
MAX_SERIALS_PER_BATCH = 10_000
# Rows per INSERT when a batch is written (well under SQLite's variable limit).
BULK_SIZE = 500


def _as_date(day, field: str) -> date:
    if isinstance(day, datetime):
        if timezone.is_naive(day):
            raise _field_error(field, _("The time must carry a time zone."), "naive")
        return timezone.localtime(day).date()
    if not isinstance(day, date):
        raise _field_error(field, _("Give a date."), "invalid")
    return day


def _not_future(day: date, field: str) -> None:
    if day > timezone.localdate():
        raise _field_error(
            field, _("%(day)s is in the future.") % {"day": day.isoformat()}, "future"
        )


# --------------------------------------------------------------------------- stock
def receive_stock(
    *,
    service_unit,
    device_type: str,
    delivery_note: str,
    received_on: date,
    serials: list[str],
    supplier: str = "",
    by,
) -> StockBatch:
    """Receive devices into ``service_unit``'s stock on one delivery note (出库单).

    Every serial is checked for its type's format and against the other lines and the devices
    already registered; every bad line is reported (ValidationError on "serials", one message
    per line, "Line N: …", with ``params["index"]`` the line's position from 0). Blank lines are
    skipped but keep their number. Nothing is created unless every line is good.
    """
    if not may_add(by, StockBatch, service_unit):
        raise ValidationError(
            _("You may not receive stock into this service unit."), code="forbidden"
        )
    problems: dict[str, ValidationError] = {}
    if device_type not in DeviceType.values:
        problems["device_type"] = ValidationError(_("Choose a device type."), code="invalid")
    delivery_note = (delivery_note or "").strip()
    supplier = (supplier or "").strip()
    if not delivery_note:
        problems["delivery_note"] = ValidationError(
            _("Give the delivery note number (出库单号)."), code="required"
        )
    elif len(delivery_note) > StockBatch._meta.get_field("delivery_note").max_length:
        problems["delivery_note"] = ValidationError(
            _("The delivery note number is too long."), code="max_length"
        )
    elif (
        device_type in DeviceType.values
        and StockBatch.objects.filter(
            service_unit=service_unit, delivery_note=delivery_note, device_type=device_type
        ).exists()
    ):
        problems["delivery_note"] = ValidationError(
            _("Delivery note %(note)s was already received for this device type.")
            % {"note": delivery_note},
            code="duplicate_note",
        )
    if len(supplier) > StockBatch._meta.get_field("supplier").max_length:
        problems["supplier"] = ValidationError(_("The supplier's name is too long."), "max_length")
    try:
        received_on = _as_date(received_on, "received_on")
        _not_future(received_on, "received_on")
    except ValidationError as exc:
        problems.update({k: v[0] for k, v in exc.error_dict.items()})
    serial_errors = _check_serials(device_type, serials)
    if serial_errors:
        problems["serials"] = serial_errors
    if problems:
        raise ValidationError(problems)

    lines = [(i, normalise_serial(raw)) for i, raw in enumerate(serials)]
    lines = [(i, s) for i, s in lines if s]
    with transaction.atomic(), audit.acting(by):
        batch = StockBatch.objects.create(
            service_unit=service_unit,
            device_type=device_type,
            delivery_note=delivery_note,
            supplier=supplier,
            received_on=received_on,
        )
        devices = [
            Device(
                service_unit=service_unit,
                device_type=device_type,
                serial=serial,
                batch=batch,
                status=DeviceStatus.IN_STOCK,
                status_changed_on=received_on,
            )
            for _i, serial in lines
        ]
        try:
            with transaction.atomic():
                Device.objects.bulk_create(devices, batch_size=BULK_SIZE)
        except IntegrityError:
            # Someone registered one of these serials since the check above.
            raise _field_error(
                "serials",
                _("Some of these serial numbers were registered meanwhile; check again."),
                "duplicate_serial",
            ) from None
        note = _("Received on delivery note %(note)s") % {"note": delivery_note}
        DeviceEvent.objects.bulk_create(
            [
                DeviceEvent(
                    device=device,
                    from_status="",
                    to_status=DeviceStatus.IN_STOCK,
                    on=received_on,
                    note=note[:200],
                    by=by,
                )
                for device in devices
            ],
            batch_size=BULK_SIZE,
        )
    return batch


def _line_error(index: int, serial: str, problem: str, code: str) -> ValidationError:
    return ValidationError(
        _("Line %(line)s: %(problem)s"),
        code=code,
        params={"line": index + 1, "index": index, "serial": serial, "problem": problem},
    )


def _check_serials(device_type: str, serials) -> list[ValidationError]:
    """One error per bad line (format, repeated in the input, already registered)."""
    if not isinstance(serials, list | tuple):
        return [ValidationError(_("Give a list of serial numbers."), code="invalid")]
    if len(serials) > MAX_SERIALS_PER_BATCH:
        return [
            ValidationError(
                _("At most %(max)s devices per delivery note.") % {"max": MAX_SERIALS_PER_BATCH},
                code="too_many",
            )
        ]
    lines = [(i, normalise_serial(raw)) for i, raw in enumerate(serials)]
    lines = [(i, s) for i, s in lines if s]
    if not lines:
        return [ValidationError(_("Give at least one serial number."), code="required")]
    errors: dict[int, ValidationError] = {}
    first_line: dict[str, int] = {}
    for index, serial in lines:
        if device_type in DeviceType.values:
            try:
                validate_serial(device_type, serial)
            except ValidationError as exc:
                errors[index] = _line_error(index, serial, exc.messages[0], "bad_serial")
                continue
        if serial in first_line:
            errors[index] = _line_error(
                index,
                serial,
                _("%(serial)s repeats line %(first)s.")
                % {"serial": serial, "first": first_line[serial] + 1},
                "duplicate_in_input",
            )
            continue
        first_line[serial] = index
    candidates = list(first_line)
    registered: set[str] = set()
    for start in range(0, len(candidates), BULK_SIZE):
        chunk = candidates[start : start + BULK_SIZE]
        # Serials are unique across the system: say it is taken, not where.
        registered.update(Device.objects.filter(serial__in=chunk).values_list("serial", flat=True))
    for serial in registered:
        index = first_line[serial]
        errors[index] = _line_error(
            index,
            serial,
            _("%(serial)s is already registered.") % {"serial": serial},
            "duplicate_serial",
        )
    return [errors[i] for i in sorted(errors)]


# --------------------------------------------------------------------------- lifecycle
def move_device(device: Device, to_status: str, *, on, by, note: str = "") -> Device:
    """Move ``device`` to ``to_status`` on ``on`` — only along the declared TRANSITIONS.

    The move is dated (not before the device's last move, not in the future), recorded as a
    DeviceEvent, and claimed with a conditional UPDATE on the state the caller saw: if someone
    moved the device meanwhile, this move is refused. A device reaching an end state (replaced,
    returned, cancelled, migrated) keeps its taxpayer, so its history still says whose it was,
    and leaves its pairing. Selling (to SOLD) is done by ``sales.sell_devices``, which calls
    this and then records the taxpayer, the sale and the warranty.
    """
    if not can(by, CHANGE, device):
        raise ValidationError(_("You may not move this device."), code="forbidden")
    on = _as_date(on, "on")
    old = device.status
    if to_status not in DeviceStatus.values:
        raise _field_error("to_status", _("Choose a state."), "invalid")
    if to_status not in TRANSITIONS.get(old, frozenset()):
        raise _field_error(
            "to_status",
            _("A device cannot move from “%(old)s” to “%(new)s”.")
            % {"old": DeviceStatus(old).label, "new": DeviceStatus(to_status).label},
            "not_allowed",
        )
    if to_status in HELD_STATUSES - {DeviceStatus.SOLD} and device.taxpayer_id is None:
        raise _field_error(
            "to_status",
            _("The device has no taxpayer; it must be sold first."),
            "no_taxpayer",
        )
    last = device.status_changed_on
    if last is not None and on < last:
        raise _field_error(
            "on",
            _("The device last moved on %(last)s; a move cannot be dated before it.")
            % {"last": last.isoformat()},
            "before_last_move",
        )
    _not_future(on, "on")
    note = (note or "").strip()
    if len(note) > DeviceEvent._meta.get_field("note").max_length:
        raise _field_error("note", _("The note is too long."), "max_length")
    with transaction.atomic(), audit.acting(by):
        claimed = Device.objects.filter(pk=device.pk, status=old, status_changed_on__lte=on).update(
            status=to_status, status_changed_on=on
        )
        if not claimed:
            raise ValidationError(
                _("The device was moved by someone else meanwhile; reload it and try again."),
                code="moved_meanwhile",
            )
        DeviceEvent.objects.create(
            device=device, from_status=old, to_status=to_status, on=on, note=note, by=by
        )
        if to_status in FINAL_STATUSES:
            # Either side of a pair: the reporting disk holds the link.
            Device.objects.filter(pk=device.pk, paired_with__isnull=False).update(paired_with=None)
            Device.objects.filter(paired_with=device.pk).update(paired_with=None)
    device.refresh_from_db()
    return device


# --------------------------------------------------------------------------- pairing
def pair_reporting_disk(reporting: Device, main: Device, *, by) -> Device:
    """Pair a 报税盘 with a 金税盘 or 税控盘: both held by the same taxpayer, or both in the
    same unit's stock; each device in at most one pair."""
    if not (can(by, CHANGE, reporting) and can(by, CHANGE, main)):
        raise ValidationError(_("You may not pair these devices."), code="forbidden")
    if reporting.device_type != DeviceType.REPORTING_DISK:
        raise ValidationError(
            _("%(device)s is not a reporting disk.") % {"device": reporting},
            code="not_reporting_disk",
        )
    if main.device_type not in MAIN_DISKS:
        raise ValidationError(
            _(
                "A reporting disk pairs with a golden tax disk or a tax-control disk, "
                "not %(device)s."
            )
            % {"device": main},
            code="not_main_disk",
        )
    both_held = (
        reporting.status in HELD_STATUSES
        and main.status in HELD_STATUSES
        and reporting.taxpayer_id is not None
        and reporting.taxpayer_id == main.taxpayer_id
    )
    both_in_stock = (
        reporting.status == DeviceStatus.IN_STOCK
        and main.status == DeviceStatus.IN_STOCK
        and reporting.service_unit_id == main.service_unit_id
    )
    if not (both_held or both_in_stock):
        raise ValidationError(
            _(
                "Only devices held by the same taxpayer, or both in the same unit's stock, "
                "can be paired."
            ),
            code="pair_mismatch",
        )
    if reporting.paired_with_id is not None or Device.objects.filter(paired_with=main).exists():
        raise ValidationError(_("One of these devices is already paired."), code="already_paired")
    taken = ValidationError(_("One of these devices is already paired."), code="already_paired")
    with transaction.atomic(), audit.acting(by):
        try:
            with transaction.atomic():
                # Claimed on the state checked above; the one-to-one key refuses a second
                # reporting disk on the same main disk.
                claimed = Device.objects.filter(
                    pk=reporting.pk,
                    paired_with__isnull=True,
                    status=reporting.status,
                    taxpayer=reporting.taxpayer_id,
                ).update(paired_with=main.pk)
        except IntegrityError:
            raise taken from None
        if not claimed:
            raise taken
        if not Device.objects.filter(pk=main.pk, status=main.status).exists():
            raise ValidationError(
                _("The main disk was moved meanwhile; reload it and try again."),
                code="moved_meanwhile",
            )
    reporting.refresh_from_db()
    return reporting


# --------------------------------------------------------------------------- warranty
def set_warranty_policy(*, service_unit, device_type: str, years: int, by) -> WarrantyPolicy:
    """How many years a unit repairs quality defects of one device type free (unit admin).

    Applies to devices sold from now on: a device's warranty end is fixed at its sale.
    """
    if not may_add(by, WarrantyPolicy, service_unit):
        raise ValidationError(
            _("Only the unit's administrator sets its warranty policy."), code="forbidden"
        )
    if device_type not in DeviceType.values:
        raise _field_error("device_type", _("Choose a device type."), "invalid")
    with transaction.atomic(), audit.acting(by):
        policy = (
            WarrantyPolicy.objects.select_for_update()
            .filter(service_unit=service_unit, device_type=device_type)
            .first()
        ) or WarrantyPolicy(service_unit=service_unit, device_type=device_type)
        policy.years = years
        policy.full_clean(validate_unique=False, validate_constraints=False)
        try:
            with transaction.atomic():
                policy.save()
        except IntegrityError:
            # Created by someone else meanwhile: change that one.
            policy = WarrantyPolicy.objects.get(service_unit=service_unit, device_type=device_type)
            policy.years = years
            policy.save()
    return policy
