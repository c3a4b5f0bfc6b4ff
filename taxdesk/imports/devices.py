"""Importing devices into a unit's stock (入库), by serial number.

The rules are the devices app's (``receive_stock``): the serial in its type's format
(``validate_serial``, after ``normalise_serial``), unique across the system (a serial held by
another unit is an error row and is not said where); the delivery note (出库单号) and
supplier within their lengths; the receipt date not in the future. Rows of one delivery note
and type form one stock batch and must agree on its date and supplier. New devices are
written as ``receive_stock`` writes them: in stock since the receipt date, with their first
lifecycle event.

Re-importing a serial already in this unit's stock changes nothing but the supplier of its
delivery note; its type and delivery note are facts of its receipt (a different one is an
error row), and its lifecycle moves only through the devices app's actions.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from taxdesk.devices.choices import DeviceStatus, DeviceType
from taxdesk.devices.models import Device, DeviceEvent, StockBatch, validate_serial
from taxdesk.devices.serials import normalise_serial

from .choices import JobKind
from .columns import DEVICE_TYPE_NAMES, DEVICE_TYPE_WORDS
from .rows import Importer, Row, SeenKeys, take_choice, take_date, take_text, word_lookup
from .sheets import cell_text

BULK_SIZE = 500


def _max_length(model, name: str) -> int:
    return model._meta.get_field(name).max_length


class DeviceImporter(Importer):
    kind = JobKind.DEVICES
    key_column = "serial"

    def prepare(self) -> None:
        self.type_table = word_lookup(DEVICE_TYPE_WORDS, DeviceType)

    # ------------------------------------------------------------------------- one row
    def parse(self, number: int, values: dict) -> Row:
        row = Row(number, values)
        device_type = take_choice(row, "device_type", self.type_table, DEVICE_TYPE_NAMES.values())
        if not cell_text(values.get("device_type")):
            row.fail("device_type", _("This column is required."), "required")
        serial = normalise_serial(cell_text(values.get("serial")))
        if not serial:
            row.fail("serial", _("This column is required."), "required")
        elif len(serial) > _max_length(Device, "serial"):
            row.fail(
                "serial",
                _("At most %(max)s characters (this has %(length)s).")
                % {"max": _max_length(Device, "serial"), "length": len(serial)},
                "too_long",
            )
        elif device_type:
            try:
                validate_serial(device_type, serial)
            except ValidationError as exc:
                row.fail_with("serial", exc)
            else:
                row.data["serial"] = serial
        take_text(row, "delivery_note", _max_length(StockBatch, "delivery_note"), required=True)
        take_text(row, "supplier", _max_length(StockBatch, "supplier"))
        day = row.raw.get("received_on")
        take_date(
            row,
            "received_on",
            required=True,
            today=self.today,
            future_message=_("%(day)s is in the future.") % {"day": cell_text(day)},
            future_code="future",
        )
        return row

    def check_file(self, rows: list[Row], seen: SeenKeys) -> None:
        super().check_file(rows, seen)
        # One delivery note of one type is one batch: its rows agree on date and supplier.
        for row in rows:
            data = row.data
            if not all(k in data for k in ("device_type", "delivery_note", "received_on")):
                continue
            payload = f"{data['received_on'].isoformat()}|{data.get('supplier', '')}"
            first = seen.first(
                "batch", f"{data['device_type']}|{data['delivery_note']}", row.number, payload
            )
            if first is None or first[1] == payload:
                continue
            first_day = first[1].split("|", 1)[0]
            column = "received_on" if first_day != data["received_on"].isoformat() else "supplier"
            row.fail(
                column,
                _(
                    "Row %(row)s has the same delivery note with another %(column)s: one "
                    "delivery note has one date and one supplier."
                )
                % {"row": first[0], "column": self.headers[column]},
                "batch_mismatch",
            )

    def load(self, data: dict) -> dict:
        data["received_on"] = date.fromisoformat(data["received_on"])
        return data

    # ------------------------------------------------------------------------- a chunk
    def check(self, rows: list[Row]) -> None:
        candidates = [r for r in rows if r.ok]
        if not candidates:
            return
        devices = {
            d.serial: d
            for d in Device.objects.filter(
                serial__in=[r.data["serial"] for r in candidates]
            ).select_related("batch")
        }
        keys = {(r.data["device_type"], r.data["delivery_note"]) for r in candidates}
        condition = Q()
        for device_type, note in keys:
            condition |= Q(device_type=device_type, delivery_note=note)
        self.batches = {
            (b.device_type, b.delivery_note): b
            for b in StockBatch.objects.filter(condition, service_unit=self.unit)
        }
        for row in candidates:
            data = row.data
            batch = self.batches.get((data["device_type"], data["delivery_note"]))
            if batch is not None and batch.received_on != data["received_on"]:
                row.fail(
                    "received_on",
                    _("Delivery note %(note)s was received on %(day)s.")
                    % {"note": batch.delivery_note, "day": batch.received_on.isoformat()},
                    "batch_mismatch",
                )
                continue
            device = devices.get(data["serial"])
            if device is None:
                continue
            if device.service_unit_id != self.unit.pk:
                # Serials are unique across the system: say it is taken, not where.
                row.fail(
                    "serial",
                    _("%(serial)s is already registered.") % {"serial": data["serial"]},
                    "duplicate_serial",
                )
            elif device.device_type != data["device_type"]:
                row.fail(
                    "device_type",
                    _("%(serial)s is registered as a %(type)s.")
                    % {"serial": device.serial, "type": device.get_device_type_display()},
                    "type_mismatch",
                )
            elif device.batch is None or device.batch.delivery_note != data["delivery_note"]:
                row.fail(
                    "delivery_note",
                    _("%(serial)s was received on another delivery note (%(note)s).")
                    % {
                        "serial": device.serial,
                        "note": device.batch.delivery_note if device.batch else "—",
                    },
                    "other_delivery_note",
                )
            else:
                row.existing = device

    def write(self, rows: list[Row]) -> tuple[int, int, int]:
        created = updated = unchanged = 0
        new_devices = []
        for row in rows:
            data = row.data
            key = (data["device_type"], data["delivery_note"])
            batch = self.batches.get(key)
            if batch is None:
                batch = StockBatch.objects.create(
                    service_unit=self.unit,
                    device_type=data["device_type"],
                    delivery_note=data["delivery_note"],
                    supplier=data.get("supplier", ""),
                    received_on=data["received_on"],
                )
                self.batches[key] = batch
            elif "supplier" in data and batch.supplier != data["supplier"]:
                batch.supplier = data["supplier"]
                batch.save(update_fields=["supplier"])
                if row.existing is not None:
                    updated += 1
                    continue
            if row.existing is not None:
                unchanged += 1
                continue
            new_devices.append(
                Device(
                    service_unit=self.unit,  # the unit at hand: no query per audit entry
                    device_type=data["device_type"],
                    serial=data["serial"],
                    batch=batch,
                    status=DeviceStatus.IN_STOCK,
                    status_changed_on=data["received_on"],
                )
            )
        if new_devices:
            Device.objects.bulk_create(new_devices, batch_size=BULK_SIZE)
            DeviceEvent.objects.bulk_create(
                [
                    DeviceEvent(
                        device=device,
                        from_status="",
                        to_status=DeviceStatus.IN_STOCK,
                        on=device.status_changed_on,
                        # The devices app's words for a receipt (receive_stock).
                        note=(
                            _("Received on delivery note %(note)s")
                            % {"note": device.batch.delivery_note}
                        )[:200],
                        by=self.by,
                    )
                    for device in new_devices
                ],
                batch_size=BULK_SIZE,
            )
            created = len(new_devices)
        return created, updated, unchanged
