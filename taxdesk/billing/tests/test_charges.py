"""Charges: the price from the schedule in force (MNT-13), the maintenance fee only under a
signed contract or a recorded refusal (INS-07), payments, formal invoices, corrections and
refunds as new entries, and the taxpayer's balance."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from taxdesk.billing.actions import (
    correct_charge,
    create_charge,
    create_contract,
    record_invoice,
    record_payment,
    refund_charge,
    renew_contract,
    set_proration,
    sign_contract,
)
from taxdesk.billing.choices import ChargeKind, FeeKind, PaymentState
from taxdesk.billing.models import Charge, FeeItem
from taxdesk.billing.queries import group_totals, taxpayer_balance
from taxdesk.core.choices import AuditAction
from taxdesk.core.models import AuditEntry
from taxdesk.devices.choices import DeviceType
from taxdesk.testing.billing import (
    items_2012,
    make_device,
    make_schedule,
    refused_contract,
    signed_contract,
)

D = Decimal


def refused(call, *args, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        call(*args, **kwargs)
    return caught.value


def code_of(error: ValidationError, field: str | None = None) -> str:
    if field is None:
        return error.code
    return error.error_dict[field][0].code


@pytest.fixture
def fees(cast):
    """Unit A: 2012 prices until 2017-06-30, 2017 prices from 2017-07-01."""
    old = make_schedule(
        cast.unit_a,
        valid_from=date(2012, 1, 1),
        valid_to=date(2017, 6, 30),
        items=items_2012(),
        name="2012",
    )
    new = make_schedule(cast.unit_a, valid_from=date(2017, 7, 1), name="2017")
    return old, new


def maintenance(taxpayer, day, by, **kwargs):
    return create_charge(
        taxpayer=taxpayer, fee_kind=FeeKind.MAINTENANCE, service_date=day, by=by, **kwargs
    )


# ------------------------------------------------------------------------------ INS-07
@pytest.mark.rule("INS-07")
def test_ins_07_maintenance_fee_refused_without_a_contract(cast, fees):
    error = refused(maintenance, cast.pa1, date(2025, 3, 1), cast.sales_a)
    assert code_of(error, "contract") == "contract_required"
    assert "INS-07" in error.error_dict["contract"][0].messages[0]
    assert not Charge.objects.exists()


@pytest.mark.rule("INS-07")
def test_ins_07_a_draft_contract_is_not_enough(cast, fees):
    contract = create_contract(taxpayer=cast.pa1, starts_on=date(2025, 1, 1), by=cast.sales_a)
    for kwargs in ({}, {"contract": contract}):
        error = refused(maintenance, cast.pa1, date(2025, 3, 1), cast.sales_a, **kwargs)
        assert code_of(error, "contract") == "contract_required"
    sign_contract(contract, signed_on=date(2025, 1, 5), by=cast.sales_a)
    charge = maintenance(cast.pa1, date(2025, 3, 1), cast.sales_a)
    assert charge.contract == contract
    assert charge.amount == D("280.00")
    assert charge.payment_state == PaymentState.UNPAID


@pytest.mark.rule("INS-07")
def test_ins_07_signed_contract_must_cover_the_service_date(cast, fees):
    contract = signed_contract(cast.pa1, starts_on=date(2025, 1, 1))
    for day in (date(2024, 12, 31), date(2026, 1, 1)):
        error = refused(maintenance, cast.pa1, day, cast.sales_a)
        assert code_of(error, "contract") == "contract_required"
        error = refused(maintenance, cast.pa1, day, cast.sales_a, contract=contract)
        assert code_of(error, "contract") == "contract_required"
    assert maintenance(cast.pa1, date(2025, 12, 31), cast.sales_a).contract == contract


@pytest.mark.rule("INS-07")
def test_ins_07_a_recorded_refusal_allows_the_fee(cast, fees):
    contract = refused_contract(cast.pa2, starts_on=date(2025, 1, 1))
    charge = maintenance(cast.pa2, date(2025, 3, 1), cast.sales_a)
    assert charge.contract == contract
    assert charge.amount == D("280.00")


@pytest.mark.rule("INS-07")
def test_ins_07_another_taxpayers_contract_does_not_count(cast, fees):
    contract = signed_contract(cast.pa2)
    error = refused(maintenance, cast.pa1, date(2025, 3, 1), cast.sales_a, contract=contract)
    assert code_of(error, "contract") == "other_taxpayer"


def test_maintenance_charged_once_per_contract_year(cast, fees):
    contract = signed_contract(cast.pa1, ends_on=date(2026, 12, 31))  # two years
    maintenance(cast.pa1, date(2025, 1, 1), cast.sales_a)
    error = refused(maintenance, cast.pa1, date(2025, 12, 31), cast.sales_a)
    assert code_of(error, "service_date") == "already_charged"
    second = maintenance(cast.pa1, date(2026, 1, 1), cast.sales_a)
    assert second.contract == contract


def test_first_year_prorated_then_renewals_in_full(cast, fees):
    set_proration(service_unit=cast.unit_a, rates={7: D("50")}, by=cast.admin_a)
    contract = signed_contract(cast.pa1, starts_on=date(2024, 7, 1))
    first = maintenance(cast.pa1, date(2024, 7, 10), cast.sales_a)
    assert first.amount == D("140.00")
    assert "50%" in first.description
    renewal = renew_contract(contract, by=cast.sales_a)
    sign_contract(renewal, signed_on=date(2025, 6, 20), by=cast.sales_a)
    assert maintenance(cast.pa1, date(2025, 7, 1), cast.sales_a).amount == D("280.00")


def test_the_contract_fee_caps_the_charge(cast, fees):
    signed_contract(cast.pa1, annual_fee=D("200"))
    assert maintenance(cast.pa1, date(2025, 3, 1), cast.sales_a).amount == D("200.00")


# ------------------------------------------------------------------------------ MNT-13
@pytest.mark.rule("MNT-13")
def test_mnt_13_a_charge_before_the_new_schedule_uses_the_old_prices(cast, fees):
    old, new = fees
    before = create_charge(
        taxpayer=cast.pa1, fee_kind=FeeKind.ONSITE, service_date=date(2017, 6, 30), by=cast.root
    )
    after = create_charge(
        taxpayer=cast.pa1, fee_kind=FeeKind.ONSITE, service_date=date(2017, 7, 1), by=cast.root
    )
    assert (before.amount, before.item.schedule) == (D("150.00"), old)
    assert (after.amount, after.item.schedule) == (D("100.00"), new)
    # The maintenance fee of a contract year starting under the old schedule: 330.
    signed_contract(cast.pa2, starts_on=date(2017, 1, 1))
    assert maintenance(cast.pa2, date(2017, 2, 1), cast.root).amount == D("330.00")


@pytest.mark.rule("MNT-13")
def test_mnt_13_no_schedule_in_force_is_refused(cast, fees):
    error = refused(
        create_charge,
        taxpayer=cast.pa1,
        fee_kind=FeeKind.ONSITE,
        service_date=date(2011, 12, 31),
        by=cast.root,
    )
    assert code_of(error, "service_date") == "no_schedule"
    # Unit B has no schedule at all.
    error = refused(
        create_charge,
        taxpayer=cast.pb1,
        fee_kind=FeeKind.ONSITE,
        service_date=date(2025, 1, 1),
        by=cast.root,
    )
    assert code_of(error, "service_date") == "no_schedule"
    assert not Charge.objects.exists()


@pytest.mark.rule("REP-04")
def test_repair_item_priced_by_the_schedule_in_force(cast, fees):
    old, new = fees
    old_item = old.items.get(name="更换USB接口")  # 80 in 2012, 60 in 2017
    charge = create_charge(
        taxpayer=cast.pa1,
        fee_kind=FeeKind.REPAIR,
        service_date=date(2025, 5, 1),
        item=old_item,
        by=cast.root,
    )
    assert (charge.amount, charge.item.schedule) == (D("60.00"), new)
    only_new = new.items.get(name="主板维修")
    error = refused(
        create_charge,
        taxpayer=cast.pa1,
        fee_kind=FeeKind.REPAIR,
        service_date=date(2015, 5, 1),
        item=only_new,
        by=cast.root,
    )
    assert code_of(error, "item") == "no_price"
    error = refused(
        create_charge,
        taxpayer=cast.pa1,
        fee_kind=FeeKind.REPAIR,
        service_date=date(2025, 5, 1),
        by=cast.root,
    )
    assert code_of(error, "item") == "item_required"


def test_device_price_first_and_second_set(cast, fees):
    first = make_device(cast.unit_a, taxpayer=cast.pa1)
    second = make_device(cast.unit_a, taxpayer=cast.pa1)
    reporting = make_device(cast.unit_a, DeviceType.REPORTING_DISK, taxpayer=cast.pa2)
    charge = create_charge(
        taxpayer=cast.pa2,
        fee_kind=FeeKind.DEVICE,
        service_date=date(2025, 1, 1),
        device=reporting,
        by=cast.sales_a,
    )
    assert charge.amount == D("100.00")
    charge = create_charge(
        taxpayer=cast.pa1,
        fee_kind=FeeKind.DEVICE,
        service_date=date(2025, 1, 1),
        device=second,
        by=cast.sales_a,
    )
    # pa1 holds another 金税盘 (first): this one is the second set, at half price.
    assert charge.amount == D("100.00")
    assert charge.item.amount == D("200.00")
    assert second.serial in charge.description
    error = refused(
        create_charge,
        taxpayer=cast.pa1,
        fee_kind=FeeKind.DEVICE,
        service_date=date(2025, 1, 2),
        device=second,
        by=cast.sales_a,
    )
    assert code_of(error, "device") == "already_charged"
    error = refused(
        create_charge,
        taxpayer=cast.pa2,
        fee_kind=FeeKind.DEVICE,
        service_date=date(2025, 1, 2),
        device=first,
        by=cast.sales_a,
    )
    assert code_of(error, "device") == "other_taxpayer"
    error = refused(
        create_charge,
        taxpayer=cast.pa1,
        fee_kind=FeeKind.DEVICE,
        service_date=date(2025, 1, 2),
        by=cast.sales_a,
    )
    assert code_of(error, "device") == "device_required"


def test_a_sold_device_keeps_the_price_of_its_sale(cast, fees):
    from taxdesk.sales.models import Sale, SaleLine

    device = make_device(cast.unit_a, taxpayer=cast.pa1)
    sale = Sale.objects.create(
        service_unit=cast.unit_a,
        taxpayer=cast.pa1,
        number="XS-TEST-1",
        sold_on=timezone.now() - timedelta(days=400),
    )
    SaleLine.objects.create(
        sale=sale, device=device, list_price=D("200"), price=D("100"), price_note="第二套半价"
    )
    charge = create_charge(
        taxpayer=cast.pa1,
        fee_kind=FeeKind.DEVICE,
        service_date=date(2025, 1, 1),
        device=device,
        sale=sale,
        by=cast.sales_a,
    )
    assert charge.amount == D("100.00")
    assert "第二套半价" in charge.description


def test_who_may_charge(cast, fees):
    for user in (cast.technician_a, cast.dispatcher_a, cast.supervisor_x, cast.tax_a):
        error = refused(
            create_charge,
            taxpayer=cast.pa1,
            fee_kind=FeeKind.ONSITE,
            service_date=date(2025, 1, 1),
            by=user,
        )
        assert error.code == "forbidden"
    error = refused(
        create_charge,
        taxpayer=cast.pa1,
        fee_kind=FeeKind.ONSITE,
        service_date=date(2025, 1, 1),
        by=cast.admin_b,
    )
    assert error.code == "forbidden"
    for user in (cast.admin_a, cast.sales_a, cast.root):
        create_charge(
            taxpayer=cast.pa1, fee_kind=FeeKind.ONSITE, service_date=date(2025, 1, 1), by=user
        )


# --------------------------------------------------------------------- payment, invoice
@pytest.fixture
def onsite(cast, fees):
    return create_charge(
        taxpayer=cast.pa1, fee_kind=FeeKind.ONSITE, service_date=date(2025, 3, 1), by=cast.sales_a
    )


def test_record_payment_once(cast, onsite):
    paid = record_payment(onsite, paid_on=date(2025, 3, 2), by=cast.sales_a)
    assert (paid.payment_state, paid.paid_on) == (PaymentState.PAID, date(2025, 3, 2))
    # A second click (or a stale copy of the charge) changes nothing.
    error = refused(record_payment, onsite, paid_on=date(2025, 3, 3), by=cast.sales_a)
    assert error.code == "nothing_to_pay"
    onsite.refresh_from_db()
    assert onsite.paid_on == date(2025, 3, 2)
    future = timezone.localdate() + timedelta(days=1)
    error = refused(record_payment, onsite, paid_on=future, by=cast.sales_a)
    assert code_of(error, "paid_on") == "future"


def test_payment_of_a_corrected_charge_settles_the_net(cast, onsite):
    correct_charge(onsite, new_amount=D("80"), reason="优惠", by=cast.sales_a)
    record_payment(onsite, paid_on=date(2025, 3, 2), by=cast.sales_a)
    totals = group_totals(onsite)
    assert (totals["net"], totals["paid"], totals["outstanding"]) == (
        D("80.00"),
        D("80.00"),
        D("0.00"),
    )


@pytest.mark.rule("MNT-13")
def test_mnt_13_formal_invoice_recorded_in_either_format(cast, onsite, fees):
    record_invoice(
        onsite,
        invoice_code="3300251130",
        invoice_number="00001234",
        invoice_date=date(2025, 3, 2),
        by=cast.sales_a,
    )
    onsite.refresh_from_db()
    assert (onsite.invoice_code, onsite.invoice_number) == ("3300251130", "00001234")
    other = create_charge(
        taxpayer=cast.pa2, fee_kind=FeeKind.ONSITE, service_date=date(2025, 3, 1), by=cast.sales_a
    )
    record_invoice(
        other, invoice_number="25332000000000000001", invoice_date=date(2025, 3, 2), by=cast.admin_a
    )
    other.refresh_from_db()
    assert (other.invoice_code, other.invoice_number) == ("", "25332000000000000001")
    error = refused(
        record_invoice,
        other,
        invoice_code="3300251130",
        invoice_number="123",
        invoice_date=date(2025, 3, 2),
        by=cast.admin_a,
    )
    assert code_of(error, "invoice_number") == "invoice_number_format"


def test_an_invoice_is_not_recorded_twice_in_a_unit(cast, onsite, fees):
    record_invoice(
        onsite,
        invoice_code="3300251130",
        invoice_number="00001234",
        invoice_date=date(2025, 3, 2),
        by=cast.sales_a,
    )
    other = create_charge(
        taxpayer=cast.pa2, fee_kind=FeeKind.ONSITE, service_date=date(2025, 3, 1), by=cast.sales_a
    )
    error = refused(
        record_invoice,
        other,
        invoice_code="3300251130",
        invoice_number="00001234",
        invoice_date=date(2025, 3, 2),
        by=cast.sales_a,
    )
    assert code_of(error, "invoice_number") == "invoice_used"
    # The same 8-digit number under another code is another invoice.
    record_invoice(
        other,
        invoice_code="3300251131",
        invoice_number="00001234",
        invoice_date=date(2025, 3, 2),
        by=cast.sales_a,
    )
    # Another unit keeps its own numbers.
    make_schedule(cast.unit_b, valid_from=date(2017, 7, 1))
    charge_b = create_charge(
        taxpayer=cast.pb1, fee_kind=FeeKind.ONSITE, service_date=date(2025, 3, 1), by=cast.admin_b
    )
    record_invoice(
        charge_b,
        invoice_code="3300251130",
        invoice_number="00001234",
        invoice_date=date(2025, 3, 2),
        by=cast.admin_b,
    )


def test_the_database_holds_the_invoice_line_too(cast, onsite, fees):
    """Two clerks at once pass the check; the unique constraint stops the second."""
    from django.db import IntegrityError, transaction

    other = create_charge(
        taxpayer=cast.pa2, fee_kind=FeeKind.ONSITE, service_date=date(2025, 3, 1), by=cast.sales_a
    )
    Charge.objects.filter(pk=onsite.pk).update(invoice_code="1", invoice_number="2")
    with pytest.raises(IntegrityError), transaction.atomic():
        Charge.objects.filter(pk=other.pk).update(invoice_code="1", invoice_number="2")


def test_re_recording_an_invoice_replaces_it_and_history_keeps_the_old(cast, onsite):
    record_invoice(
        onsite,
        invoice_number="25332000000000000001",
        invoice_date=date(2025, 3, 2),
        by=cast.sales_a,
    )
    record_invoice(
        onsite,
        invoice_number="25332000000000000002",
        invoice_date=date(2025, 3, 2),
        by=cast.sales_a,
    )
    onsite.refresh_from_db()
    assert onsite.invoice_number == "25332000000000000002"
    changes = [
        e.changes["invoice_number"]
        for e in AuditEntry.objects.filter(object_id=str(onsite.pk), action=AuditAction.UPDATE)
        if "invoice_number" in e.changes
    ]
    assert ["25332000000000000001", "25332000000000000002"] in changes


# ------------------------------------------------------------------ corrections, refunds
def test_a_correction_is_a_new_entry_and_the_original_stays(cast, onsite):
    entry = correct_charge(onsite, new_amount=D("60"), reason="按实际工时", by=cast.sales_a)
    onsite.refresh_from_db()
    assert onsite.amount == D("100.00")  # untouched
    assert (entry.kind, entry.amount, entry.corrects) == (
        ChargeKind.CORRECTION,
        D("-40.00"),
        onsite,
    )
    assert "按实际工时" in entry.description
    # Correcting the correction corrects the charge.
    again = correct_charge(entry, new_amount=D("90"), reason="复核", by=cast.sales_a)
    assert (again.amount, again.corrects) == (D("30.00"), onsite)
    assert group_totals(onsite)["net"] == D("90.00")
    error = refused(correct_charge, onsite, new_amount=D("90"), reason="x", by=cast.sales_a)
    assert code_of(error, "new_amount") == "no_change"
    error = refused(correct_charge, onsite, new_amount=D("50"), reason=" ", by=cast.sales_a)
    assert code_of(error, "reason") == "reason_required"
    error = refused(correct_charge, onsite, new_amount=D("-1"), reason="x", by=cast.sales_a)
    assert code_of(error, "new_amount") == "amount_negative"


def test_refunds_are_capped_by_what_was_paid(cast, onsite):
    day = date(2025, 3, 5)
    error = refused(refund_charge, onsite, amount=D("1"), reason="退", on=day, by=cast.sales_a)
    assert code_of(error, "amount") == "refund_too_large"  # nothing paid yet
    record_payment(onsite, paid_on=date(2025, 3, 2), by=cast.sales_a)
    first = refund_charge(onsite, amount=D("30"), reason="部分退款", on=day, by=cast.sales_a)
    assert (first.kind, first.amount, first.corrects) == (ChargeKind.REFUND, D("-30.00"), onsite)
    assert (first.payment_state, first.paid_on) == (PaymentState.PAID, day)
    error = refused(refund_charge, onsite, amount=D("70.01"), reason="退", on=day, by=cast.sales_a)
    assert code_of(error, "amount") == "refund_too_large"
    assert "70.00" in error.error_dict["amount"][0].messages[0]
    refund_charge(onsite, amount=D("70"), reason="全部退款", on=day, by=cast.sales_a)
    error = refused(refund_charge, onsite, amount=D("0.01"), reason="退", on=day, by=cast.sales_a)
    assert code_of(error, "amount") == "refund_too_large"
    error = refused(refund_charge, onsite, amount=D("0"), reason="退", on=day, by=cast.sales_a)
    assert code_of(error, "amount") == "amount_positive"
    # A refund entry itself is not refunded, corrected, paid or invoiced.
    for call, kwargs in (
        (refund_charge, {"amount": D("1"), "reason": "x", "on": day}),
        (correct_charge, {"new_amount": D("1"), "reason": "x"}),
        (record_payment, {"paid_on": day}),
        (record_invoice, {"invoice_number": "25332000000000000009", "invoice_date": day}),
    ):
        assert refused(call, first, by=cast.sales_a, **kwargs).code == "refund_entry"


def test_refund_after_a_downward_correction(cast, onsite):
    record_payment(onsite, paid_on=date(2025, 3, 2), by=cast.sales_a)
    correct_charge(onsite, new_amount=D("60"), reason="多收", by=cast.sales_a)
    assert taxpayer_balance(cast.pa1).due == D("-40.00")  # the unit owes 40
    refund_charge(onsite, amount=D("40"), reason="退多收", on=date(2025, 3, 5), by=cast.sales_a)
    assert taxpayer_balance(cast.pa1).due == D("0.00")


def test_nothing_is_ever_deleted(cast, onsite):
    record_payment(onsite, paid_on=date(2025, 3, 2), by=cast.sales_a)
    correct_charge(onsite, new_amount=D("60"), reason="多收", by=cast.sales_a)
    refund_charge(onsite, amount=D("40"), reason="退多收", on=date(2025, 3, 5), by=cast.sales_a)
    assert Charge.objects.filter(taxpayer=cast.pa1).count() == 3
    assert not AuditEntry.objects.filter(action=AuditAction.DELETE).exists()
    from taxdesk.billing import actions

    assert not [name for name in dir(actions) if "delete" in name.lower()]


# ---------------------------------------------------------------------------- balance
def test_taxpayer_balance_in_one_query(cast, fees):
    signed_contract(cast.pa1)
    fee = maintenance(cast.pa1, date(2025, 3, 1), cast.sales_a)  # 280
    visit = create_charge(
        taxpayer=cast.pa1, fee_kind=FeeKind.ONSITE, service_date=date(2025, 4, 1), by=cast.sales_a
    )  # 100
    record_payment(fee, paid_on=date(2025, 3, 2), by=cast.sales_a)
    correct_charge(visit, new_amount=D("80"), reason="优惠", by=cast.sales_a)
    refund_charge(fee, amount=D("30"), reason="部分退款", on=date(2025, 3, 5), by=cast.sales_a)
    create_charge(  # another taxpayer's charge does not count
        taxpayer=cast.pa2, fee_kind=FeeKind.ONSITE, service_date=date(2025, 4, 1), by=cast.sales_a
    )
    with CaptureQueriesContext(connection) as ctx:
        balance = taxpayer_balance(cast.pa1)
    assert len(ctx.captured_queries) == 1
    assert balance.charged == D("360.00")  # 280 + 100 − 20
    assert balance.paid == D("280.00")
    assert balance.refunded == D("30.00")
    assert balance.due == D("110.00")  # 80 still owed for the visit, 30 given back


def test_a_taxpayer_without_charges_owes_nothing(cast):
    balance = taxpayer_balance(cast.pa1)
    assert (balance.charged, balance.paid, balance.refunded, balance.due) == (
        D("0.00"),
        D("0.00"),
        D("0.00"),
        D("0.00"),
    )


def test_fee_items_are_not_charged_elsewhere(cast, fees):
    """Only pricing.py reads an amount from a fee item: charges carry the item they used."""
    old, _new = fees
    charge = create_charge(
        taxpayer=cast.pa1, fee_kind=FeeKind.ONSITE, service_date=date(2016, 1, 1), by=cast.root
    )
    assert charge.item == FeeItem.objects.get(schedule=old, kind=FeeKind.ONSITE)


def test_the_admin_is_read_only(cast, rf):
    from django.contrib import admin

    from taxdesk.billing.models import FeeSchedule, ProrationRate, ServiceContract

    request = rf.get("/admin/")
    request.user = cast.root
    for model in (Charge, FeeSchedule, FeeItem, ServiceContract, ProrationRate):
        if model is FeeItem:  # shown inline on its schedule only
            assert model not in admin.site._registry
            continue
        model_admin = admin.site._registry[model]
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)
