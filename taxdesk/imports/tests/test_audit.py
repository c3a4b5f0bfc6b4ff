"""An import in the audit trail (docs/decisions/0004-import-audit.md): every change of a job's
state is an entry, with the counts at the end of each phase, by who uploaded (the check) or
who imported (the import); every imported row is an entry of its own; the progress heartbeat
records nothing."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile

from taxdesk.core.choices import AuditAction, AuditSource
from taxdesk.core.models import AuditEntry
from taxdesk.customers.models import Contact, Taxpayer
from taxdesk.devices.models import Device, DeviceEvent, StockBatch
from taxdesk.imports.actions import _progress, create_job, fail_if_stalled, start_import
from taxdesk.imports.models import ImportJob
from taxdesk.imports.rows import ErrorSink, Outcome
from taxdesk.testing.imports import (
    complete_taxpayer,
    devices_upload,
    serial,
    taxpayer_number,
    taxpayers_upload,
)

# What a job's entries may never show: the stored files' random names, the error list, and
# the progress counters of a running job.
OUT_OF_THE_TRAIL = {"file", "rows_file", "errors", "processed_rows", "expected_rows", "progress_at"}


def last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def job_entries(job) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(ImportJob), object_id=str(job.pk)
        ).order_by("id")
    )


def states(entry) -> list | None:
    return entry.changes.get("state")


def test_the_progress_fields_are_out_of_the_trail():
    assert set(ImportJob.audit_exclude) == OUT_OF_THE_TRAIL


def test_each_change_of_a_jobs_state_is_an_entry_with_the_phases_counts(cast, imports_inline):
    rows = [complete_taxpayer(n, "税务局A") for n in (1, 2)] + [{"name": "没有税号"}]
    job = create_job(kind="taxpayers", file=taxpayers_upload(rows), by=cast.sales_a)
    job = ImportJob.objects.get(pk=job.pk)
    start_import(job, by=cast.admin_a, valid_only=True)
    job = ImportJob.objects.get(pk=job.pk)
    assert job.state == "done" and job.created_count == 2

    entries = job_entries(job)
    assert [(e.action, states(e)) for e in entries] == [
        (AuditAction.CREATE, [None, "uploaded"]),
        (AuditAction.UPDATE, ["uploaded", "validating"]),
        (AuditAction.UPDATE, ["validating", "validated"]),
        (AuditAction.UPDATE, ["validated", "importing"]),
        (AuditAction.UPDATE, ["importing", "done"]),
    ]
    created, validating, validated, importing, done = entries
    # The check is the uploader's, run as a task; the import is the importer's.
    assert [e.actor_id for e in entries] == [cast.sales_a.pk] * 3 + [cast.admin_a.pk] * 2
    assert (validating.source, validated.source, done.source) == (AuditSource.TASK,) * 3
    assert {e.unit_id for e in entries} == {cast.unit_a.pk}
    # The counts at the end of each phase.
    assert validated.changes["total_rows"] == [0, 3]
    assert validated.changes["valid_rows"] == [0, 2]
    assert validated.changes["error_count"] == [0, 1]
    assert validated.changes["validated_at"][0] is None
    assert importing.changes["run_by"] == [None, cast.admin_a.pk]
    assert importing.changes["import_valid_only"] == [False, True]
    assert importing.changes["import_started_at"][0] is None
    assert done.changes["created_count"] == [0, 2]
    assert done.changes["finished_at"][0] is None
    assert created.changes["original_name"] == [None, "taxpayers.xlsx"]
    for entry in entries:
        assert not OUT_OF_THE_TRAIL & set(entry.changes), entry.changes


def test_a_failed_check_is_an_entry_with_the_reason(cast, imports_inline):
    upload = SimpleUploadedFile("broken.xlsx", b"not a workbook")
    job = create_job(kind="devices", file=upload, by=cast.admin_a)
    entries = job_entries(job)
    assert [states(e) for e in entries] == [
        [None, "uploaded"],
        ["uploaded", "validating"],
        ["validating", "failed"],
    ]
    assert entries[-1].changes["failure"][1]
    assert entries[-1].changes["finished_at"][0] is None


def test_a_stalled_run_failed_when_looked_at_is_an_entry(cast, imports_inline):
    job = create_job(
        kind="taxpayers", file=taxpayers_upload([complete_taxpayer(1, "税务局A")]), by=cast.sales_a
    )
    ImportJob.objects.filter(pk=job.pk).update(state="importing")
    ImportJob.objects.filter(pk=job.pk).update(progress_at=job.created_at.replace(year=2020))
    fail_if_stalled(ImportJob.objects.get(pk=job.pk))
    assert [states(e) for e in job_entries(job)][-2:] == [
        ["validated", "importing"],
        ["importing", "failed"],
    ]


def test_the_progress_heartbeat_records_nothing(cast, imports_inline):
    job = create_job(
        kind="taxpayers", file=taxpayers_upload([complete_taxpayer(1, "税务局A")]), by=cast.sales_a
    )
    before = ImportJob.objects.get(pk=job.pk).progress_at
    start = last_id()
    _progress(job.pk, Outcome(ErrorSink({}), total=7), 40)
    job = ImportJob.objects.get(pk=job.pk)
    assert (job.processed_rows, job.expected_rows) == (7, 40)
    assert job.progress_at > before
    assert not AuditEntry.objects.filter(id__gt=start).exists()


def test_every_imported_taxpayer_and_contact_is_an_entry_created_then_changed(cast, imports_inline):
    rows = [complete_taxpayer(n, "税务局A") for n in (1, 2)]
    job = create_job(kind="taxpayers", file=taxpayers_upload(rows), by=cast.sales_a)
    start = last_id()
    start_import(ImportJob.objects.get(pk=job.pk), by=cast.sales_a)
    imported = Taxpayer.objects.filter(number__in=[taxpayer_number(n) for n in (1, 2)])
    new = AuditEntry.objects.filter(id__gt=start, action=AuditAction.CREATE)
    for model, pks in (
        (Taxpayer, imported.values_list("pk", flat=True)),
        (Contact, Contact.objects.filter(taxpayer__in=imported).values_list("pk", flat=True)),
    ):
        entries = new.filter(content_type=ContentType.objects.get_for_model(model))
        assert sorted(entries.values_list("object_id", flat=True)) == sorted(map(str, pks))
        assert {(e.actor_id, e.source, e.unit_id) for e in entries} == {
            (cast.sales_a.pk, AuditSource.TASK, cast.unit_a.pk)
        }

    # The same file with a changed address: each changed row is an entry of its own.
    rows[0]["address"] = "文三路 100 号"
    job = create_job(kind="taxpayers", file=taxpayers_upload(rows), by=cast.admin_a)
    start = last_id()
    start_import(ImportJob.objects.get(pk=job.pk), by=cast.admin_a)
    assert ImportJob.objects.get(pk=job.pk).updated_count == 1
    changed = AuditEntry.objects.filter(
        id__gt=start,
        action=AuditAction.UPDATE,
        content_type=ContentType.objects.get_for_model(Taxpayer),
    )
    assert [(e.object_id, e.changes["address"][1], e.actor_id) for e in changed] == [
        (str(imported.get(number=taxpayer_number(1)).pk), "文三路 100 号", cast.admin_a.pk)
    ]


def test_every_imported_device_its_event_and_its_batch_are_entries(cast, imports_inline):
    rows = [
        {
            "device_type": "金税盘",
            "serial": serial(n),
            "delivery_note": "CK-AUDIT",
            "received_on": "2025-09-01",
        }
        for n in (1, 2, 3)
    ]
    job = create_job(kind="devices", file=devices_upload(rows), by=cast.admin_a)
    start = last_id()
    start_import(ImportJob.objects.get(pk=job.pk), by=cast.admin_a)
    new = AuditEntry.objects.filter(id__gt=start, action=AuditAction.CREATE)
    devices = Device.objects.filter(batch__delivery_note="CK-AUDIT")
    for model, pks in (
        (Device, devices.values_list("pk", flat=True)),
        (DeviceEvent, DeviceEvent.objects.filter(device__in=devices).values_list("pk", flat=True)),
        (
            StockBatch,
            StockBatch.objects.filter(delivery_note="CK-AUDIT").values_list("pk", flat=True),
        ),
    ):
        entries = new.filter(content_type=ContentType.objects.get_for_model(model))
        assert sorted(entries.values_list("object_id", flat=True)) == sorted(map(str, pks))
        assert {(e.actor_id, e.source) for e in entries} == {(cast.admin_a.pk, AuditSource.TASK)}
    assert devices.count() == 3
