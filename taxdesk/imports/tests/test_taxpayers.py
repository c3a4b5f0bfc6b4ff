"""Importing taxpayers: a clean file, bad rows reported by row, column and reason with
nothing imported, the valid rows only on request, re-imports that update, and the customers
app's rules (number, uniqueness within the supervision body, tax office served, INS-06)."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext

from taxdesk.clocks.models import Deadline
from taxdesk.core.choices import AuditAction, AuditSource
from taxdesk.core.models import AuditEntry
from taxdesk.customers.choices import ChangeKind, ContactRole, TaxpayerType
from taxdesk.customers.models import Contact, Taxpayer, TaxpayerChange
from taxdesk.imports.actions import create_job, start_import
from taxdesk.imports.models import ImportJob
from taxdesk.testing.imports import (
    complete_taxpayer,
    mobile,
    taxpayer_number,
    taxpayers_upload,
    xlsx_upload,
)


def check(cast, rows, by=None, name="taxpayers.xlsx"):
    job = create_job(
        kind="taxpayers", file=taxpayers_upload(rows, name=name), by=by or cast.sales_a
    )
    return ImportJob.objects.get(pk=job.pk)


def run(job, by, valid_only=False):
    start_import(job, by=by, valid_only=valid_only)
    return ImportJob.objects.get(pk=job.pk)


def imported():
    return Taxpayer.objects.filter(name__startswith="导入企业")


def problems(job) -> set[tuple[int, str, str]]:
    return {(e["row"], e["column"], e["code"]) for e in job.errors}


# --------------------------------------------------------------------------- a clean file
def test_clean_file_is_checked_without_writing_then_imported(cast, imports_inline):
    rows = [complete_taxpayer(n, "税务局A") for n in (1, 2)]
    rows.append(
        {
            "number": taxpayer_number(3),
            "name": "导入企业3",
            "tax_office": "TA",  # by code
            "taxpayer_type": "小规模纳税人",
            "contact_name": "王五",
            "contact_role": "财务负责人",
            "contact_landline": "0571-87654321",
        }
    )
    last_entry = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    job = check(cast, rows)
    assert job.state == "validated"
    assert (job.total_rows, job.valid_rows, job.error_count, job.errors) == (3, 3, 0, [])
    assert job.processed_rows == 3
    assert job.validated_at is not None
    # Checking writes nothing but the job itself.
    assert not imported().exists()
    assert set(
        AuditEntry.objects.filter(id__gt=last_entry).values_list("content_type__model", flat=True)
    ) == {"importjob"}

    job = run(job, cast.sales_a)
    assert job.state == "done"
    assert (job.created_count, job.updated_count, job.unchanged_count) == (3, 0, 0)
    assert job.processed_rows == 3
    assert job.finished_at is not None
    assert not job.rows_file  # the checked rows are not kept once imported

    one = Taxpayer.objects.get(number=taxpayer_number(1))
    assert one.service_unit == cast.unit_a
    assert one.supervision_body == cast.body_x
    assert one.tax_office == cast.office_a
    assert one.taxpayer_type == TaxpayerType.GENERAL
    assert str(one.approved_on) == "2025-01-15"
    assert one.invoice_types == ["special", "ordinary"]
    assert one.status == "normal"
    assert [(c.name, c.mobile, c.role) for c in one.contacts.all()] == [
        ("联系人1", mobile(1), ContactRole.CLERK)
    ]
    # INS-06: a complete record is entered; one without a mobile contact is not yet.
    assert one.entered_at is not None
    three = Taxpayer.objects.get(number=taxpayer_number(3))
    assert three.tax_office == cast.office_a
    assert three.entered_at is None
    assert [(c.name, c.role, c.landline) for c in three.contacts.all()] == [
        ("王五", ContactRole.FINANCE, "0571 8765 4321")
    ]


def test_every_imported_row_is_in_the_audit_trail_as_the_importer(cast, imports_inline):
    job = run(check(cast, [complete_taxpayer(n, "税务局A") for n in (1, 2)]), cast.admin_a)
    taxpayers = ContentType.objects.get_for_model(Taxpayer)
    contacts = ContentType.objects.get_for_model(Contact)
    for model, pks in (
        (taxpayers, imported().values_list("pk", flat=True)),
        (contacts, Contact.objects.filter(taxpayer__in=imported()).values_list("pk", flat=True)),
    ):
        entries = AuditEntry.objects.filter(
            content_type=model, object_id__in=[str(pk) for pk in pks]
        )
        assert entries.count() == 2
        assert {(e.action, e.actor_id, e.source, e.unit_id) for e in entries} == {
            (AuditAction.CREATE, cast.admin_a.pk, AuditSource.TASK, cast.unit_a.pk)
        }
    assert job.run_by == cast.admin_a


def test_numbers_typed_as_numbers_and_dates_as_dates_are_read(cast, imports_inline):
    """An old 15-digit number, a mobile and a date as Excel stores them (not as text)."""
    import datetime

    from taxdesk.testing.imports import TAXPAYER_HEADERS

    row = [None] * len(TAXPAYER_HEADERS)
    row[0], row[1] = 330106123456789, "导入企业15"
    row[6] = datetime.datetime(2024, 3, 1)
    row[9], row[11] = "张三", 13800138000
    upload = xlsx_upload(TAXPAYER_HEADERS, [row])
    job = ImportJob.objects.get(pk=create_job(kind="taxpayers", file=upload, by=cast.sales_a).pk)
    assert job.error_count == 0, job.errors
    job = run(job, cast.sales_a)
    taxpayer = Taxpayer.objects.get(number="330106123456789")
    assert str(taxpayer.approved_on) == "2024-03-01"
    assert taxpayer.contacts.get().mobile == "13800138000"


def test_blank_rows_are_skipped_and_headers_may_carry_a_required_mark(cast, imports_inline):
    from taxdesk.testing.imports import TAXPAYER_HEADERS, taxpayer_row

    headers = [f"{h}*" if i < 2 else h for i, h in enumerate(TAXPAYER_HEADERS)]
    headers.append("备注")  # a column the importer does not know is ignored
    rows = [
        [*taxpayer_row(number=taxpayer_number(1), name="导入企业1"), "x"],
        [None] * 14,
        ["  ", None, "", None],
        [*taxpayer_row(number=taxpayer_number(2), name="导入企业2"), None],
    ]
    job = ImportJob.objects.get(
        pk=create_job(kind="taxpayers", file=xlsx_upload(headers, rows), by=cast.sales_a).pk
    )
    assert (job.total_rows, job.valid_rows, job.error_count) == (2, 2, 0), job.errors


# --------------------------------------------------------------------------- bad rows
BAD_ROWS = [
    complete_taxpayer(1, "税务局A"),  # row 2: good
    complete_taxpayer(2, "税务局A", number="91330100000000002X"),  # 3: wrong check character
    complete_taxpayer(3, "税务局A", name=""),  # 4: no name
    complete_taxpayer(4, "不存在的税务局"),  # 5: unknown tax office
    complete_taxpayer(5, "税务局B"),  # 6: an office unit A does not serve
    complete_taxpayer(6, "税务局A", approved_on="2999-01-01"),  # 7: approval in the future
    complete_taxpayer(7, "税务局A", contact_mobile="12345"),  # 8: not a mobile
    complete_taxpayer(8, "税务局A", contact_name=""),  # 9: a phone without a contact name
    complete_taxpayer(9, "税务局A", taxpayer_type="个体户"),  # 10: no such type
    complete_taxpayer(10, "税务局A", number=taxpayer_number(1)),  # 11: repeats row 2
    complete_taxpayer(11, "税务局A", approved_on="去年"),  # 12: not a date
    complete_taxpayer(12, "税务局A", invoice_types="专票、支票"),  # 13: no such invoice
    complete_taxpayer(13, "税务局A"),  # row 14: good
]


def test_bad_rows_are_reported_by_row_column_and_reason_and_nothing_is_imported(
    cast, imports_inline
):
    rows = [*BAD_ROWS, complete_taxpayer(14, "税务局A", number=cast.pb1.number)]  # 15: unit B's
    job = check(cast, rows)
    assert job.state == "validated"
    assert problems(job) == {
        (3, "纳税人识别号", "bad_check"),
        (4, "纳税人名称", "required"),
        (5, "主管税务机关", "unknown_tax_office"),
        (6, "主管税务机关", "foreign_tax_office"),
        (7, "认定日期", "future_date"),
        (8, "联系人手机", "bad_mobile"),
        (9, "联系人", "required"),
        (10, "纳税人类型", "bad_choice"),
        (11, "纳税人识别号", "duplicate_in_file"),
        (12, "认定日期", "bad_date"),
        (13, "发票种类", "bad_invoice_type"),
        (15, "纳税人识别号", "duplicate"),
    }
    assert (job.total_rows, job.valid_rows, job.error_count) == (14, 2, 12)
    by_row = {e["row"]: e for e in job.errors}
    assert by_row[3]["value"] == "91330100000000002X"
    with translation.override(job.language):
        assert by_row[11]["message"] == gettext(
            "Row %(row)s has the same %(column)s: a file may name each record once."
        ) % {"row": 2, "column": "纳税人识别号"}
    assert all(e["message"] for e in job.errors)
    # Nothing is imported while the file has errors, unless asked for explicitly.
    with pytest.raises(ValidationError) as refused:
        start_import(job, by=cast.sales_a)
    assert refused.value.code == "not_clean"
    assert ImportJob.objects.get(pk=job.pk).state == "validated"
    assert not imported().exists()


def test_error_messages_speak_the_uploaders_language(cast, imports_inline):
    with translation.override("zh-hans"):
        job = check(cast, [complete_taxpayer(1, "税务局A", name="")])
    assert job.language == "zh-hans"
    with translation.override("zh-hans"):
        expected = translation.gettext("This column is required.")
    assert job.errors[0]["message"] == expected


def test_valid_rows_only_imports_exactly_those(cast, imports_inline):
    job = check(cast, BAD_ROWS)
    assert job.valid_rows == 2
    job = run(job, cast.sales_a, valid_only=True)
    assert job.state == "done"
    assert job.import_valid_only
    assert job.created_count == 2
    assert set(imported().values_list("number", flat=True)) == {
        taxpayer_number(1),
        taxpayer_number(13),
    }
    # The rows that were not imported stay listed.
    assert job.error_count == 11


def test_a_file_without_valid_rows_cannot_be_imported(cast, imports_inline):
    job = check(cast, [complete_taxpayer(1, "税务局A", name="")])
    with pytest.raises(ValidationError) as refused:
        start_import(job, by=cast.sales_a, valid_only=True)
    assert refused.value.code == "nothing_to_import"


def test_a_missing_required_column_is_an_error_of_the_header_row(cast, imports_inline):
    upload = xlsx_upload(["纳税人名称", "地址"], [["导入企业1", "某地"]])
    job = ImportJob.objects.get(pk=create_job(kind="taxpayers", file=upload, by=cast.sales_a).pk)
    assert job.state == "validated"
    assert problems(job) == {(1, "纳税人识别号", "missing_column")}
    assert job.valid_rows == 0


def test_an_unreadable_file_fails_the_job(cast, imports_inline):
    from django.core.files.uploadedfile import SimpleUploadedFile

    job = create_job(
        kind="taxpayers", file=SimpleUploadedFile("x.xlsx", b"not a zip"), by=cast.sales_a
    )
    job = ImportJob.objects.get(pk=job.pk)
    assert job.state == "failed"
    assert job.failure


def test_a_number_of_another_supervision_body_is_a_new_taxpayer(cast, imports_inline):
    """One taxpayer per number within a supervision body: unit C (body Y) has pc1's number,
    unit A (body X) may register it too."""
    row = complete_taxpayer(1, "税务局A", number=cast.pc1.number)
    job = run(check(cast, [row]), cast.sales_a)
    assert job.created_count == 1
    assert Taxpayer.objects.filter(number=cast.pc1.number).count() == 2


# --------------------------------------------------------------------------- re-imports
def test_reimport_updates_by_number_instead_of_duplicating(cast, imports_inline):
    first = [complete_taxpayer(n, "税务局A") for n in (1, 2)]
    run(check(cast, first), cast.sales_a)
    ids = dict(imported().values_list("number", "pk"))

    second = [
        complete_taxpayer(1, "税务局A", name="导入企业1（更名）", address="新地址"),
        complete_taxpayer(2, "税务局A"),  # the same again
        complete_taxpayer(3, "税务局A"),  # new
    ]
    job = run(check(cast, second), cast.sales_a)
    assert (job.created_count, job.updated_count, job.unchanged_count) == (1, 1, 1)
    assert imported().count() == 3
    one = Taxpayer.objects.get(number=taxpayer_number(1))
    assert one.pk == ids[taxpayer_number(1)]
    assert (one.name, one.address) == ("导入企业1（更名）", "新地址")
    assert one.contacts.count() == 1  # the same mobile: the same contact
    entry = AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Taxpayer),
        object_id=str(one.pk),
        action=AuditAction.UPDATE,
    ).get()
    assert entry.changes == {
        "name": ["导入企业1", "导入企业1（更名）"],
        "address": ["文三路1号", "新地址"],
    }


def test_reimport_leaves_empty_cells_alone_and_adds_a_new_contact(cast, imports_inline):
    run(check(cast, [complete_taxpayer(1, "税务局A")]), cast.sales_a)
    row = {
        "number": taxpayer_number(1),
        "name": "导入企业1",
        "contact_name": "新联系人",
        "contact_mobile": mobile(99),
    }
    job = run(check(cast, [row]), cast.sales_a)
    assert job.updated_count == 1
    one = Taxpayer.objects.get(number=taxpayer_number(1))
    assert one.address == "文三路1号"
    assert one.invoice_types == ["special", "ordinary"]
    assert sorted(one.contacts.values_list("mobile", flat=True)) == [mobile(1), mobile(99)]


@pytest.mark.rule("INS-06")
def test_ins_06_reimport_that_completes_the_record_stops_the_entry_clock(cast, imports_inline):
    """pa1 was sold to (its INS-06 clock runs) and lacks most of its record: the import that
    fills it in is the moment it is entered."""
    row = complete_taxpayer(1, "税务局A", number=cast.pa1.number, name=cast.pa1.name)
    job = run(check(cast, [row]), cast.dispatcher_a)
    assert job.updated_count == 1
    pa1 = Taxpayer.objects.get(pk=cast.pa1.pk)
    assert pa1.entered_at is not None
    clock = Deadline.objects.get(pk=cast.clock_pa1.pk)
    assert clock.stopped_at is not None
    assert clock.status in ("met", "breached")
    # pa2's clock, not in the file, still runs.
    assert Deadline.objects.get(pk=cast.clock_pa2.pk).stopped_at is None


def test_reimport_changes_a_set_taxpayer_type_through_the_dated_action(cast, imports_inline):
    run(check(cast, [complete_taxpayer(1, "税务局A")]), cast.sales_a)
    job = run(
        check(cast, [complete_taxpayer(1, "税务局A", taxpayer_type="小规模纳税人")]), cast.sales_a
    )
    assert job.updated_count == 1
    one = Taxpayer.objects.get(number=taxpayer_number(1))
    assert one.taxpayer_type == TaxpayerType.SMALL
    change = TaxpayerChange.objects.get(taxpayer=one)
    assert (change.kind, change.before, change.after) == (
        ChangeKind.TYPE,
        TaxpayerType.GENERAL,
        TaxpayerType.SMALL,
    )
    assert change.effective_on == timezone.localdate()
    assert change.by == cast.sales_a
    assert f"#{job.pk}" in change.note


def test_an_empty_type_and_tax_office_are_filled_in_without_a_dated_change(cast, imports_inline):
    """pa2 has a tax office but no type yet: the import fills the type in (first entry)."""
    row = {"number": cast.pa2.number, "name": cast.pa2.name, "taxpayer_type": "一般纳税人"}
    job = run(check(cast, [row]), cast.sales_a)
    assert job.updated_count == 1
    assert Taxpayer.objects.get(pk=cast.pa2.pk).taxpayer_type == TaxpayerType.GENERAL
    assert not TaxpayerChange.objects.exists()


# --------------------------------------------------------------------------- who may
@pytest.mark.parametrize("username", ["admin_a", "sales_a", "dispatcher_a"])
def test_unit_writers_may_import_taxpayers(cast, imports_inline, username):
    job = run(
        check(cast, [complete_taxpayer(1, "税务局A")], by=cast.users[username]),
        cast.users[username],
    )
    assert job.created_count == 1


@pytest.mark.parametrize(
    "username", ["technician_a", "trainer_a", "repair_a", "supervisor_x", "tax_a", "taxpayer_pa1"]
)
def test_other_roles_may_not_upload(cast, imports_inline, username):
    with pytest.raises(PermissionDenied):
        check(cast, [complete_taxpayer(1, "税务局A")], by=cast.users[username])
    assert not ImportJob.objects.exists()


def test_another_units_job_cannot_be_imported(cast, imports_inline):
    job = check(cast, [complete_taxpayer(1, "税务局A")])
    with pytest.raises(PermissionDenied):
        start_import(job, by=cast.admin_b)
    assert ImportJob.objects.get(pk=job.pk).state == "validated"


def test_a_job_is_imported_once(cast, imports_inline):
    job = run(check(cast, [complete_taxpayer(1, "税务局A")]), cast.sales_a)
    with pytest.raises(ValidationError) as refused:
        start_import(job, by=cast.sales_a)
    assert refused.value.code == "not_validated"
    assert imported().count() == 1


def test_a_row_that_became_invalid_before_the_import_is_reported_not_written(cast, imports_inline):
    """Between the check and the import unit B registered one of the numbers."""
    job = check(cast, [complete_taxpayer(n, "税务局A") for n in (1, 2)])
    Taxpayer.objects.create(
        number=taxpayer_number(2),
        name="B的企业",
        service_unit=cast.unit_b,
        tax_office=cast.office_b,
    )
    job = run(job, cast.sales_a)
    assert job.state == "done"
    assert job.created_count == 1
    assert problems(job) == {(3, "纳税人识别号", "duplicate")}
    assert not Taxpayer.objects.filter(number=taxpayer_number(2), service_unit=cast.unit_a).exists()


def test_a_failing_chunk_leaves_the_database_as_it_was_and_the_job_says_how_far(
    cast, imports_inline, monkeypatch
):
    from taxdesk.imports import rows as pipeline
    from taxdesk.imports.taxpayers import TaxpayerImporter

    monkeypatch.setattr(pipeline, "BATCH_SIZE", 2)
    job = check(cast, [complete_taxpayer(n, "税务局A") for n in range(1, 6)])
    original = TaxpayerImporter.write
    calls = []

    def failing_second_chunk(self, rows):
        calls.append(len(rows))
        result = original(self, rows)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return result

    monkeypatch.setattr(TaxpayerImporter, "write", failing_second_chunk)
    job = run(job, cast.sales_a)
    assert job.state == "failed"
    assert "disk full" in job.failure
    # The first chunk (2 rows) is in; the second was rolled back; the third never ran.
    assert imported().count() == 2
    assert (job.created_count, job.processed_rows) == (2, 2)
    assert job.finished_at is not None
