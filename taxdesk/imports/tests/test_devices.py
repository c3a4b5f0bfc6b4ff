"""Importing devices into stock: the devices app's rules (serial format per type, unique
across the system, delivery note and date), re-imports that update instead of duplicating."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from taxdesk.core.choices import AuditAction
from taxdesk.core.models import AuditEntry
from taxdesk.devices.actions import receive_stock
from taxdesk.devices.choices import DeviceStatus, DeviceType
from taxdesk.devices.models import Device, DeviceEvent, StockBatch
from taxdesk.imports.actions import create_job, start_import
from taxdesk.imports.models import ImportJob
from taxdesk.testing.imports import devices_upload, serial

RECEIVED = "2025-09-01"


def device(n, **extra):
    return {
        "device_type": "金税盘",
        "serial": serial(n),
        "delivery_note": "CK-1",
        "received_on": RECEIVED,
        "supplier": "航天信息",
        **extra,
    }


def check(cast, rows, by=None):
    job = create_job(kind="devices", file=devices_upload(rows), by=by or cast.sales_a)
    return ImportJob.objects.get(pk=job.pk)


def run(job, by, valid_only=False):
    start_import(job, by=by, valid_only=valid_only)
    return ImportJob.objects.get(pk=job.pk)


def problems(job):
    return {(e["row"], e["column"], e["code"]) for e in job.errors}


def test_clean_file_receives_the_devices_into_stock(cast, imports_inline):
    rows = [
        device(1),
        device(2),
        device(3, device_type="报税盘", delivery_note="CK-2"),
        {
            "device_type": "税务UKey",
            "serial": "ukey00000001ab",  # capitals are folded, as receive_stock does
            "delivery_note": "CK-3",
            "received_on": "2025/9/2",
        },
    ]
    job = check(cast, rows)
    assert (job.state, job.total_rows, job.valid_rows, job.error_count) == ("validated", 4, 4, 0)
    assert not Device.objects.filter(serial__in=[serial(1), serial(2)]).exists()
    job = run(job, cast.admin_a)
    assert (job.state, job.created_count, job.updated_count) == ("done", 4, 0)
    gold = Device.objects.filter(batch__delivery_note="CK-1").order_by("serial")
    assert [d.serial for d in gold] == [serial(1), serial(2)]
    one = gold[0]
    assert one.service_unit == cast.unit_a
    assert one.device_type == DeviceType.GOLDEN_TAX_DISK
    assert one.status == DeviceStatus.IN_STOCK
    assert one.status_changed_on == date(2025, 9, 1)
    assert one.taxpayer is None
    batch = one.batch
    assert (batch.service_unit, batch.received_on, batch.supplier) == (
        cast.unit_a,
        date(2025, 9, 1),
        "航天信息",
    )
    assert StockBatch.objects.filter(service_unit=cast.unit_a).count() == 3
    ukey = Device.objects.get(serial="UKEY00000001AB")
    assert ukey.device_type == DeviceType.UKEY
    assert ukey.status_changed_on == date(2025, 9, 2)
    event = DeviceEvent.objects.get(device=one)
    assert (event.from_status, event.to_status, event.on, event.by) == (
        "",
        DeviceStatus.IN_STOCK,
        date(2025, 9, 1),
        cast.admin_a,
    )
    assert "CK-1" in event.note
    created = AuditEntry.objects.filter(
        content_type__model="device", action=AuditAction.CREATE, actor=cast.admin_a
    )
    assert created.count() == 4
    assert set(created.values_list("unit_id", flat=True)) == {cast.unit_a.pk}


def test_bad_device_rows_are_reported_and_nothing_is_received(cast, imports_inline):
    receive_stock(
        service_unit=cast.unit_b,
        device_type=DeviceType.TAX_CONTROL_DISK,
        delivery_note="B-1",
        received_on=date(2025, 8, 1),
        serials=[serial(900)],
        by=cast.admin_b,
    )
    future = (timezone.localdate() + timedelta(days=2)).isoformat()
    rows = [
        device(1),  # 2: good
        device(2, serial="12345"),  # 3: not 12 digits
        device(3, device_type="打印机"),  # 4: no such type
        device(4, device_type="税控盘", serial=serial(900)),  # 5: unit B's serial
        device(5, serial=serial(1)),  # 6: repeats row 2
        device(6, received_on="2025-09-02"),  # 7: CK-1 has another date on row 2
        device(7, delivery_note="CK-9", received_on=future),  # 8: in the future
        device(8, delivery_note=""),  # 9: no delivery note
        device(9, received_on=None),  # 10: no date
        device(10, supplier="供应商乙"),  # 11: CK-1 has another supplier on row 2
    ]
    job = check(cast, rows)
    assert problems(job) == {
        (3, "设备编号", "bad_serial"),
        (4, "设备类型", "bad_choice"),
        (5, "设备编号", "duplicate_serial"),
        (6, "设备编号", "duplicate_in_file"),
        (7, "入库日期", "batch_mismatch"),
        (8, "入库日期", "future"),
        (9, "出库单号", "required"),
        (10, "入库日期", "required"),
        (11, "供应商", "batch_mismatch"),
    }
    assert (job.total_rows, job.valid_rows) == (10, 1)
    # Unit B's serial is not said to be unit B's.
    taken = next(e for e in job.errors if e["row"] == 5)
    assert "服务单位B" not in taken["message"] and "unit B" not in taken["message"]
    assert not Device.objects.filter(service_unit=cast.unit_a).exists()
    job = run(job, cast.sales_a, valid_only=True)
    assert list(
        Device.objects.filter(service_unit=cast.unit_a).values_list("serial", flat=True)
    ) == [serial(1)]


def test_reimport_updates_by_serial_instead_of_duplicating(cast, imports_inline):
    run(check(cast, [device(1), device(2)]), cast.sales_a)
    renamed = "航天信息股份有限公司"
    job = run(
        check(
            cast,
            [device(n, supplier=renamed) for n in (1, 2, 3)],
        ),
        cast.sales_a,
    )
    assert job.state == "done"
    assert job.created_count == 1
    # The supplier is the delivery note's: changed once, by the first row.
    assert (job.updated_count, job.unchanged_count) == (1, 1)
    assert Device.objects.filter(service_unit=cast.unit_a).count() == 3
    assert StockBatch.objects.filter(service_unit=cast.unit_a).count() == 1
    assert StockBatch.objects.get(service_unit=cast.unit_a).supplier == renamed
    assert DeviceEvent.objects.filter(device__service_unit=cast.unit_a).count() == 3
    again = run(check(cast, [device(1, supplier=renamed)]), cast.sales_a)
    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 0, 1)


def test_a_serial_cannot_change_type_or_delivery_note_on_reimport(cast, imports_inline):
    run(check(cast, [device(1), device(2)]), cast.sales_a)
    job = check(
        cast,
        [device(1, device_type="税控盘"), device(2, delivery_note="CK-2")],
    )
    assert problems(job) == {
        (2, "设备类型", "type_mismatch"),
        (3, "出库单号", "other_delivery_note"),
    }


def test_a_delivery_note_received_earlier_keeps_its_date(cast, imports_inline):
    run(check(cast, [device(1)]), cast.sales_a)
    job = check(cast, [device(2, received_on="2025-09-05")])
    assert problems(job) == {(2, "入库日期", "batch_mismatch")}
    # The same date: the new serial joins the delivery note's batch.
    job = run(check(cast, [device(2)]), cast.sales_a)
    assert job.created_count == 1
    assert StockBatch.objects.get(delivery_note="CK-1").devices.count() == 2


@pytest.mark.parametrize("username", ["dispatcher_a", "repair_a", "technician_a"])
def test_only_the_administrator_and_the_sales_clerk_import_devices(cast, imports_inline, username):
    with pytest.raises(PermissionDenied):
        check(cast, [device(1)], by=cast.users[username])
    assert not ImportJob.objects.exists()
