"""The taxpayer register's actions: register, update, contacts, dated changes, and INS-06
(the new user's record complete within 3 working days of the sale). Every refusal leaves the
database exactly as it was.
"""

from __future__ import annotations

import datetime
from contextlib import contextmanager
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from taxdesk.clocks.actions import start_deadline
from taxdesk.clocks.choices import ClockStatus
from taxdesk.clocks.models import Deadline
from taxdesk.core.models import AuditEntry, TaxOffice
from taxdesk.customers import actions
from taxdesk.customers.actions import (
    add_contact,
    change_status,
    change_tax_office,
    change_type,
    refresh_entry,
    register_taxpayer,
    remove_contact,
    update_contact,
    update_taxpayer,
)
from taxdesk.customers.choices import ChangeKind, TaxpayerStatus, TaxpayerType
from taxdesk.customers.models import Contact, Taxpayer, TaxpayerChange
from taxdesk.testing.customers import (
    MOBILE,
    complete_fields,
    credit_code,
    make_contact,
    make_taxpayer,
    register,
    wrong_check,
)

SH = ZoneInfo("Asia/Shanghai")
TODAY = timezone.localdate
READ_ONLY = ["technician_a", "trainer_a", "repair_a", "supervisor_x", "tax_a", "taxpayer_pa1"]
EDITORS = ["admin_a", "sales_a", "dispatcher_a"]


def sh(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=SH)


def state() -> tuple:
    """Everything an action of this app may write."""
    return (
        list(Taxpayer.objects.order_by("pk").values()),
        list(Contact.objects.order_by("pk").values()),
        list(TaxpayerChange.objects.order_by("pk").values()),
        list(Deadline.objects.order_by("pk").values("pk", "status", "stopped_at")),
        AuditEntry.objects.count(),
    )


@contextmanager
def refused(code: str | None = None, field: str | None = None):
    """The block raises a ValidationError (with ``code`` on ``field``) and changes nothing."""
    before = state()
    # Messages are read in English (the actions translate when they raise).
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        yield caught
    assert state() == before
    error = caught.value
    if field is not None:
        assert field in error.error_dict, error
        codes = [e.code for e in error.error_dict[field]]
        if code is not None:
            assert code in codes, codes
    elif code is not None:
        codes = (
            [e.code for errors in error.error_dict.values() for e in errors]
            if hasattr(error, "error_dict")
            else [error.code]
        )
        assert code in codes, codes


def english(error: ValidationError, field: str | None = None) -> str:
    with translation.override("en"):
        if field is not None:
            return " ".join(m for e in error.error_dict[field] for m in e.messages)
        return " ".join(error.messages)


def entry_clock(taxpayer) -> Deadline:
    return Deadline.objects.get(
        content_type=ContentType.objects.get_for_model(Taxpayer),
        object_id=taxpayer.pk,
        rule="INS-06",
    )


# --------------------------------------------------------------------------- register
@pytest.mark.rule("INS-06")
def test_ins_06_register_a_complete_record_is_entered_at_once(cast):
    code = credit_code()
    typed = f"{code[:9].lower()} {code[9:]}"
    taxpayer = register_taxpayer(
        service_unit=cast.unit_a,
        by=cast.sales_a,
        contacts=[{"name": "张三", "mobile": "+86 138-1234-5678"}],
        **complete_fields(
            cast.unit_a, number=typed, invoice_types=["digital", "special", "digital"]
        ),
    )
    taxpayer.refresh_from_db()
    assert taxpayer.number == code
    assert taxpayer.service_unit == cast.unit_a
    assert taxpayer.supervision_body == cast.body_x
    assert taxpayer.invoice_types == ["special", "digital"]
    assert taxpayer.status == TaxpayerStatus.NORMAL
    assert taxpayer.entered_at is not None
    assert taxpayer.missing_for_entry() == []
    assert list(taxpayer.contacts.values_list("name", "mobile")) == [("张三", MOBILE)]
    # No clock yet: it starts with the first sale.
    assert not Deadline.objects.filter(object_id=taxpayer.pk, taxpayer=taxpayer).exists()
    entries = AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Taxpayer), object_id=str(taxpayer.pk)
    )
    assert entries.count() == 2  # created, then entered
    assert {e.actor for e in entries} == {cast.sales_a}


@pytest.mark.rule("INS-06")
def test_ins_06_register_without_a_mobile_contact_lists_what_is_missing(cast):
    taxpayer = register_taxpayer(
        service_unit=cast.unit_a,
        by=cast.sales_a,
        contacts=[{"name": "王五", "landline": "0571-87654321"}],
        number=credit_code(),
        name="只有名称的企业",
    )
    assert taxpayer.entered_at is None
    with translation.override("en"):
        assert taxpayer.missing_for_entry() == [
            "address",
            "district",
            "tax office",
            "taxpayer type",
            "approved on",
            "a contact with a mobile number",
        ]


@pytest.mark.parametrize("username", ["admin_a", "sales_a", "dispatcher_a", "root"])
def test_editors_register_with_their_unit(cast, username):
    taxpayer = register(cast.unit_a, cast.users[username])
    assert taxpayer.pk and taxpayer.service_unit == cast.unit_a


@pytest.mark.parametrize("username", [*READ_ONLY, "admin_b", "technician_b", "supervisor_y"])
def test_others_may_not_register_with_unit_a(cast, username):
    with refused("forbidden"):
        register(cast.unit_a, cast.users[username])


def test_register_refuses_a_wrong_check_character_and_names_the_right_one(cast):
    code = credit_code()
    with refused("bad_check", "number") as caught:
        register(cast.unit_a, cast.sales_a, number=wrong_check(code))
    assert english(caught.value, "number") == (
        f"The 18th character (the check character) should be {code[17]}."
    )


def test_register_refuses_a_number_already_in_the_unit_and_names_it(cast):
    first = register(cast.unit_a, cast.sales_a)
    with refused("duplicate", "number") as caught:
        register(cast.unit_a, cast.sales_a, number=first.number.lower(), name="另一家")
    assert first.name in english(caught.value, "number")


def test_register_refuses_a_number_of_another_unit_of_the_body_without_naming_it(cast):
    # pb1 belongs to unit B, under the same supervision body as unit A.
    with refused("duplicate", "number") as caught:
        register(cast.unit_a, cast.sales_a, number=cast.pb1.number)
    text = english(caught.value, "number")
    assert text == (
        "This number is already registered with another service unit of this supervision area."
    )
    assert cast.pb1.name not in text and cast.unit_b.name not in text


def test_the_same_number_may_be_registered_under_another_supervision_body(cast):
    # pc1 is under body Y: unit A (body X) may register the same number.
    taxpayer = register(cast.unit_a, cast.sales_a, number=cast.pc1.number)
    assert taxpayer.number == cast.pc1.number


def test_a_duplicate_that_slips_past_the_check_is_still_refused(cast, monkeypatch):
    first = register(cast.unit_a, cast.sales_a)
    monkeypatch.setattr(actions, "_refuse_duplicate", lambda *a, **k: None)
    with refused("duplicate", "number"):
        register(cast.unit_a, cast.sales_a, number=first.number)


@pytest.mark.parametrize(
    "overrides, field, code",
    [
        ({"invoice_types": ["special", "paper"]}, "invoice_types", "bad_invoice_type"),
        ({"invoice_types": "special"}, "invoice_types", "bad_invoice_type"),
        ({"name": "  "}, "name", "blank"),
        ({"taxpayer_type": "huge"}, "taxpayer_type", "invalid_choice"),
        ({"approved_on": TODAY() + timedelta(days=1)}, "approved_on", "future_date"),
        ({"number": "12345"}, "number", "bad_length"),
    ],
)
def test_register_refuses_bad_fields(cast, overrides, field, code):
    with refused(code, field):
        register(cast.unit_a, cast.sales_a, **overrides)


def test_register_refuses_a_tax_office_the_unit_does_not_serve(cast):
    with refused("foreign_tax_office", "tax_office"):
        register(cast.unit_a, cast.sales_a, tax_office=cast.office_b)


def test_register_reports_every_bad_field_at_once(cast):
    with refused() as caught:
        register(
            cast.unit_a,
            cast.sales_a,
            number=wrong_check(credit_code()),
            tax_office=cast.office_c,
            invoice_types=["x"],
        )
    assert set(caught.value.error_dict) == {"number", "tax_office", "invoice_types"}


@pytest.mark.parametrize(
    "contacts, code",
    [
        ([{"name": "张三", "mobile": "1381234"}], "bad_mobile"),
        ([{"name": "张三", "landline": "12"}], "bad_phone"),
        ([{"name": "张三"}], "no_phone"),
        ([{"name": "", "mobile": MOBILE}], "required"),
        ([{"name": "甲", "mobile": MOBILE}, {"name": "乙", "mobile": MOBILE}], "duplicate_contact"),
    ],
)
def test_register_refuses_bad_first_contacts(cast, contacts, code):
    with refused(code, "contacts") as caught:
        register(cast.unit_a, cast.sales_a, contacts=contacts)
    if code != "duplicate_contact":
        assert english(caught.value, "contacts").startswith("Contact 1: ")


def test_register_rejects_unknown_fields_loudly(cast):
    with pytest.raises(ValueError):
        register_taxpayer(service_unit=cast.unit_a, by=cast.sales_a, name="x", status="cancelled")


# --------------------------------------------------------------------------- update
def test_update_changes_the_own_fields_and_records_who(cast):
    taxpayer = register(cast.unit_a, cast.sales_a)
    before = AuditEntry.objects.count()
    update_taxpayer(
        taxpayer,
        by=cast.dispatcher_a,
        name=" 新名称有限公司 ",
        address="新地址",
        invoice_types=["digital"],
        office_hours="",
    )
    taxpayer.refresh_from_db()
    assert (taxpayer.name, taxpayer.address, taxpayer.invoice_types, taxpayer.office_hours) == (
        "新名称有限公司",
        "新地址",
        ["digital"],
        "",
    )
    entry = AuditEntry.objects.order_by("-pk").first()
    assert AuditEntry.objects.count() == before + 1
    assert entry.actor == cast.dispatcher_a
    assert set(entry.changes) == {"name", "address", "invoice_types", "office_hours"}


def test_update_of_nothing_writes_nothing(cast):
    taxpayer = register(cast.unit_a, cast.sales_a)
    before = state()
    update_taxpayer(taxpayer, by=cast.sales_a, name=taxpayer.name, number=taxpayer.number)
    assert state() == before


def test_update_keeps_an_unchanged_old_number_as_it_is(cast):
    # The cast's numbers are made up; saving other fields does not re-judge them.
    taxpayer = make_taxpayer(cast.unit_a, number="OLD-NUMBER-1")
    update_taxpayer(taxpayer, by=cast.sales_a, number="old-number-1", address="某地")
    taxpayer.refresh_from_db()
    assert (taxpayer.number, taxpayer.address) == ("OLD-NUMBER-1", "某地")


def test_update_validates_and_normalises_a_new_number(cast):
    taxpayer = register(cast.unit_a, cast.sales_a)
    code = credit_code()
    with refused("bad_check", "number"):
        update_taxpayer(taxpayer, by=cast.sales_a, number=wrong_check(code))
    update_taxpayer(taxpayer, by=cast.sales_a, number=code.lower())
    taxpayer.refresh_from_db()
    assert taxpayer.number == code


def test_update_refuses_a_number_already_registered_in_the_body(cast):
    taxpayer = register(cast.unit_a, cast.sales_a)
    with refused("duplicate", "number"):
        update_taxpayer(taxpayer, by=cast.sales_a, number=cast.pa2.number)
    with refused("duplicate", "number"):
        update_taxpayer(taxpayer, by=cast.sales_a, number=cast.pb1.number)


@pytest.mark.parametrize(
    "fields",
    [
        {"status": TaxpayerStatus.CANCELLED},
        {"taxpayer_type": TaxpayerType.SMALL},
        {"tax_office": None},
    ],
)
def test_update_refuses_status_and_a_set_type_or_office(cast, fields):
    taxpayer = register(cast.unit_a, cast.sales_a)
    field = next(iter(fields))
    with refused("use_change_action", field):
        update_taxpayer(taxpayer, by=cast.sales_a, **fields)


def test_update_fills_in_an_empty_type_and_tax_office_without_a_dated_change(cast):
    taxpayer = make_taxpayer(cast.unit_a)
    update_taxpayer(
        taxpayer, by=cast.sales_a, taxpayer_type=TaxpayerType.SMALL, tax_office=cast.office_a
    )
    taxpayer.refresh_from_db()
    assert (taxpayer.taxpayer_type, taxpayer.tax_office) == (TaxpayerType.SMALL, cast.office_a)
    assert not TaxpayerChange.objects.exists()
    other = make_taxpayer(cast.unit_a)
    with refused("foreign_tax_office", "tax_office"):
        update_taxpayer(other, by=cast.sales_a, tax_office=cast.office_b)


@pytest.mark.parametrize("username", [*READ_ONLY, "admin_b", "supervisor_y"])
def test_update_by_others_is_refused(cast, username):
    with refused("forbidden"):
        update_taxpayer(cast.pa1, by=cast.users[username], name="改名")


# --------------------------------------------------------------------------- INS-06
@pytest.mark.rule("INS-06")
def test_ins_06_completing_the_record_in_time_meets_the_clock(cast):
    taxpayer = make_taxpayer(cast.unit_a, tax_office=cast.office_a)
    sold = timezone.now() - timedelta(hours=1)
    start_deadline(
        taxpayer,
        "INS-06",
        started_at=sold,
        service_unit=cast.unit_a,
        taxpayer=taxpayer,
        by=cast.sales_a,
    )
    add_contact(taxpayer, by=cast.sales_a, name="张三", mobile=MOBILE)
    assert entry_clock(taxpayer).status == ClockStatus.RUNNING  # still missing fields
    update_taxpayer(
        taxpayer,
        by=cast.sales_a,
        address="某路 1 号",
        district="上城区",
        approved_on=TODAY(),
        taxpayer_type=TaxpayerType.GENERAL,
    )
    taxpayer.refresh_from_db()
    clock = entry_clock(taxpayer)
    assert taxpayer.entered_at is not None
    assert clock.status == ClockStatus.MET
    assert clock.stopped_at == taxpayer.entered_at


@pytest.mark.rule("INS-06")
def test_ins_06_completing_the_record_late_breaches_the_clock(cast):
    # The cast's clock on pa1 started 2025-09-26 and fell due 2025-09-30 23:59:59.
    pa1 = cast.pa1
    add_contact(pa1, by=cast.sales_a, name="张三", mobile=MOBILE)
    update_taxpayer(
        pa1,
        by=cast.sales_a,
        address="某路 1 号",
        district="上城区",
        approved_on=datetime.date(2025, 9, 1),
        taxpayer_type=TaxpayerType.SMALL,
    )
    clock = entry_clock(pa1)
    assert clock.status == ClockStatus.BREACHED
    assert clock.stopped_at == Taxpayer.objects.get(pk=pa1.pk).entered_at
    assert clock.stopped_at > clock.due_at


@pytest.mark.rule("INS-06")
@pytest.mark.parametrize(
    "entered, outcome",
    [
        (sh(2025, 9, 30, 23, 59, 59), ClockStatus.MET),  # the last second of the third day
        (sh(2025, 10, 1, 0, 0, 0), ClockStatus.BREACHED),
    ],
)
def test_ins_06_the_clock_shows_when_the_record_became_complete(cast, entered, outcome):
    pa2 = cast.pa2
    Taxpayer.objects.filter(pk=pa2.pk).update(
        address="地址",
        district="区",
        taxpayer_type="general",
        approved_on=datetime.date(2025, 9, 1),
    )
    make_contact(pa2, mobile=MOBILE)
    pa2.refresh_from_db()
    refresh_entry(pa2, by=cast.sales_a, at=entered)
    pa2.refresh_from_db()
    clock = entry_clock(pa2)
    assert pa2.entered_at == entered
    assert (clock.status, clock.stopped_at) == (outcome, entered)


@pytest.mark.rule("INS-06")
def test_ins_06_entry_before_the_sale_stops_the_clock_at_its_start(cast):
    pa2 = cast.pa2
    Taxpayer.objects.filter(pk=pa2.pk).update(
        address="地址",
        district="区",
        taxpayer_type="general",
        approved_on=datetime.date(2025, 9, 1),
    )
    make_contact(pa2, mobile=MOBILE)
    pa2.refresh_from_db()
    refresh_entry(pa2, by=cast.sales_a, at=sh(2025, 9, 20, 9))
    clock = entry_clock(pa2)
    assert (clock.status, clock.stopped_at) == (ClockStatus.MET, clock.started_at)


@pytest.mark.rule("INS-06")
def test_ins_06_entry_is_recorded_once(cast):
    taxpayer = register(cast.unit_a, cast.sales_a)
    first = taxpayer.entered_at
    before = state()
    refresh_entry(taxpayer, by=cast.sales_a)
    update_taxpayer(taxpayer, by=cast.sales_a, name=taxpayer.name)
    assert state() == before
    assert Taxpayer.objects.get(pk=taxpayer.pk).entered_at == first


@pytest.mark.rule("INS-06")
def test_ins_06_an_incomplete_record_leaves_the_clock_running(cast):
    before = state()
    refresh_entry(cast.pa1, by=cast.sales_a)
    assert state() == before
    assert entry_clock(cast.pa1).status == ClockStatus.RUNNING


@pytest.mark.rule("INS-06")
def test_ins_06_removing_the_last_mobile_contact_does_not_undo_the_entry(cast):
    taxpayer = register(cast.unit_a, cast.sales_a)
    remove_contact(taxpayer.contacts.get(), by=cast.sales_a)
    taxpayer.refresh_from_db()
    assert taxpayer.entered_at is not None
    assert taxpayer.missing_for_entry()  # but the page shows the gap


@pytest.mark.rule("INS-06")
def test_ins_06_a_dated_type_change_can_complete_the_record(cast):
    pa2 = cast.pa2
    Taxpayer.objects.filter(pk=pa2.pk).update(
        address="地址", district="区", approved_on=datetime.date(2025, 9, 1)
    )
    make_contact(pa2, mobile=MOBILE)
    pa2.refresh_from_db()
    change_type(pa2, TaxpayerType.SMALL, effective_on=TODAY(), by=cast.sales_a)
    pa2.refresh_from_db()
    assert pa2.entered_at is not None
    assert entry_clock(pa2).status == ClockStatus.BREACHED


# --------------------------------------------------------------------------- contacts
def test_add_contact_normalises_the_numbers(cast):
    contact = add_contact(
        cast.pa1, by=cast.sales_a, name=" 赵六 ", mobile="138 1234 5678", landline="0571-87654321"
    )
    contact.refresh_from_db()
    assert (contact.name, contact.mobile, contact.landline) == (
        "赵六",
        MOBILE,
        "0571 8765 4321",
    )
    assert (contact.mobile_tail, contact.landline_tail) == ("5678", "4321")


def test_a_landline_alone_is_enough(cast):
    contact = add_contact(cast.pa1, by=cast.sales_a, name="前台", landline="010-12345678")
    assert contact.mobile == "" and contact.landline == "010 1234 5678"


@pytest.mark.parametrize(
    "fields, field, code",
    [
        ({"name": "张三"}, "mobile", "no_phone"),
        ({"name": "张三", "mobile": "12345"}, "mobile", "bad_mobile"),
        ({"name": "张三", "landline": "12"}, "landline", "bad_phone"),
        ({"name": "", "mobile": MOBILE}, "name", "required"),
        ({"name": "张三", "mobile": MOBILE, "role": "boss"}, "role", "invalid_choice"),
    ],
)
def test_add_contact_refusals(cast, fields, field, code):
    with refused(code, field):
        add_contact(cast.pa1, by=cast.sales_a, **fields)


def test_a_taxpayer_has_a_mobile_number_once(cast):
    add_contact(cast.pa1, by=cast.sales_a, name="张三", mobile=MOBILE)
    with refused("duplicate_contact", "mobile"):
        add_contact(cast.pa1, by=cast.sales_a, name="李四", mobile="+86 " + MOBILE)
    # Another taxpayer may share it (a bookkeeper serves several).
    add_contact(cast.pa2, by=cast.sales_a, name="张三", mobile=MOBILE)


def test_update_contact_and_its_refusals(cast):
    contact = add_contact(cast.pa1, by=cast.sales_a, name="张三", mobile=MOBILE)
    other = add_contact(cast.pa1, by=cast.sales_a, name="李四", mobile="13900001111")
    update_contact(contact, by=cast.admin_a, mobile="", landline="0571-87654321", role="finance")
    contact.refresh_from_db()
    assert (contact.mobile, contact.landline, contact.role) == ("", "0571 8765 4321", "finance")
    with refused("duplicate_contact", "mobile"):
        update_contact(contact, by=cast.admin_a, mobile=other.mobile)
    with refused("no_phone", "mobile"):
        update_contact(contact, by=cast.admin_a, landline="")


@pytest.mark.parametrize("username", [*READ_ONLY, "admin_b"])
def test_contacts_are_changed_only_by_the_units_editors(cast, username):
    contact = make_contact(cast.pa1, mobile=MOBILE)
    user = cast.users[username]
    with refused("forbidden"):
        add_contact(cast.pa1, by=user, name="张三", mobile="13900001111")
    with refused("forbidden"):
        update_contact(contact, by=user, name="改名")
    with refused("forbidden"):
        remove_contact(contact, by=user)


def test_remove_contact_is_recorded(cast):
    contact = make_contact(cast.pa1, mobile=MOBILE)
    pk = contact.pk
    remove_contact(contact, by=cast.admin_a)
    assert not Contact.objects.filter(pk=pk).exists()
    entry = AuditEntry.objects.get(
        content_type=ContentType.objects.get_for_model(Contact),
        object_id=str(pk),
        action="delete",
    )
    assert entry.actor == cast.admin_a


# --------------------------------------------------------------------------- dated changes
def test_status_moves_are_dated_and_kept_in_the_history(cast):
    pa1 = cast.pa1
    change_status(
        pa1,
        TaxpayerStatus.ABNORMAL,
        effective_on=TODAY() - timedelta(days=30),
        by=cast.admin_a,
        note=" 走逃 ",
    )
    change_status(
        pa1, TaxpayerStatus.NORMAL, effective_on=TODAY() - timedelta(days=3), by=cast.sales_a
    )
    change_status(pa1, TaxpayerStatus.CANCELLED, effective_on=TODAY(), by=cast.dispatcher_a)
    pa1.refresh_from_db()
    assert pa1.status == TaxpayerStatus.CANCELLED
    changes = list(
        TaxpayerChange.objects.filter(taxpayer=pa1).values_list(
            "kind", "before", "after", "effective_on", "note", "by__username"
        )
    )
    assert changes == [
        ("status", "normal", "cancelled", TODAY(), "", "dispatcher_a"),
        ("status", "abnormal", "normal", TODAY() - timedelta(days=3), "", "sales_a"),
        ("status", "normal", "abnormal", TODAY() - timedelta(days=30), "走逃", "admin_a"),
    ]
    with translation.override("en"):
        latest = TaxpayerChange.objects.filter(taxpayer=pa1).first()
        assert (latest.before_display, latest.after_display) == ("Normal", "Deregistered")


def test_a_deregistered_taxpayer_may_only_become_normal_again(cast):
    pa1 = cast.pa1
    change_status(pa1, TaxpayerStatus.CANCELLED, effective_on=TODAY(), by=cast.admin_a)
    with refused("bad_move", "to") as caught:
        change_status(pa1, TaxpayerStatus.ABNORMAL, effective_on=TODAY(), by=cast.admin_a)
    assert english(caught.value, "to") == (
        "A taxpayer whose status is Deregistered cannot become Abnormal."
    )
    change_status(pa1, TaxpayerStatus.NORMAL, effective_on=TODAY(), by=cast.admin_a)


@pytest.mark.parametrize(
    "to, effective_on, field, code",
    [
        ("normal", "today", "to", "no_change"),
        ("closed", "today", "to", "invalid_choice"),
        ("cancelled", "tomorrow", "effective_on", "future_date"),
        ("cancelled", None, "effective_on", "required"),
    ],
)
def test_status_change_refusals(cast, to, effective_on, field, code):
    day = {"today": TODAY(), "tomorrow": TODAY() + timedelta(days=1), None: None}[effective_on]
    with refused(code, field):
        change_status(cast.pa1, to, effective_on=day, by=cast.admin_a)


def test_a_change_cannot_take_effect_before_the_last_one_of_its_kind(cast):
    change_status(cast.pa1, "abnormal", effective_on=TODAY() - timedelta(days=5), by=cast.admin_a)
    with refused("before_last_change", "effective_on"):
        change_status(cast.pa1, "normal", effective_on=TODAY() - timedelta(days=6), by=cast.admin_a)
    # Another kind has its own history.
    change_type(cast.pa1, "small", effective_on=TODAY() - timedelta(days=6), by=cast.admin_a)


def test_a_status_changed_meanwhile_is_refused(cast):
    stale = Taxpayer.objects.get(pk=cast.pa1.pk)
    change_status(cast.pa1, "cancelled", effective_on=TODAY(), by=cast.admin_a)
    with refused("stale"):
        change_status(stale, "abnormal", effective_on=TODAY(), by=cast.admin_a)


@pytest.mark.parametrize("username", [*READ_ONLY, "admin_b", "supervisor_y"])
def test_dated_changes_by_others_are_refused(cast, username):
    user = cast.users[username]
    with refused("forbidden"):
        change_status(cast.pa1, "cancelled", effective_on=TODAY(), by=user)
    with refused("forbidden"):
        change_type(cast.pa1, "small", effective_on=TODAY(), by=user)
    office = TaxOffice.objects.create(
        name="税务局A2", code="TA2", city="城a", supervision_body=cast.body_x
    )
    cast.unit_a.tax_offices.add(office)
    with refused("forbidden"):
        change_tax_office(cast.pa1, office, effective_on=TODAY(), by=user)


def test_type_changes(cast):
    pa1 = cast.pa1  # no type yet
    change_type(pa1, TaxpayerType.SMALL, effective_on=TODAY() - timedelta(days=1), by=cast.admin_a)
    change_type(pa1, TaxpayerType.GENERAL, effective_on=TODAY(), by=cast.admin_a)
    assert Taxpayer.objects.get(pk=pa1.pk).taxpayer_type == TaxpayerType.GENERAL
    assert list(
        TaxpayerChange.objects.filter(kind=ChangeKind.TYPE).values_list("before", "after")
    ) == [("small", "general"), ("", "small")]
    with refused("no_change", "to"):
        change_type(pa1, TaxpayerType.GENERAL, effective_on=TODAY(), by=cast.admin_a)
    with refused("invalid_choice", "to"):
        change_type(pa1, "medium", effective_on=TODAY(), by=cast.admin_a)


def test_tax_office_changes(cast):
    pa1 = cast.pa1
    second = TaxOffice.objects.create(
        name="税务局A2", code="TA2", city="城a", supervision_body=cast.body_x
    )
    cast.unit_a.tax_offices.add(second)
    change_tax_office(pa1, second, effective_on=TODAY(), note="迁址", by=cast.sales_a)
    pa1.refresh_from_db()
    assert pa1.tax_office == second
    change = TaxpayerChange.objects.get(kind=ChangeKind.TAX_OFFICE)
    assert (change.before, change.after, change.note) == ("税务局A", "税务局A2", "迁址")
    assert (change.before_display, change.after_display) == ("税务局A", "税务局A2")
    with refused("no_change", "to"):
        change_tax_office(pa1, second, effective_on=TODAY(), by=cast.sales_a)
    with refused("foreign_tax_office", "to"):
        change_tax_office(pa1, cast.office_b, effective_on=TODAY(), by=cast.sales_a)
    with refused("required", "to"):
        change_tax_office(pa1, None, effective_on=TODAY(), by=cast.sales_a)
