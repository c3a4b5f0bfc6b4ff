"""The billing pages for every member of the cast: exact rows, 404 outside scope, 403 for
read-only roles, the forms end to end, htmx partials and query counts."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from taxdesk.billing.actions import create_charge
from taxdesk.billing.choices import ChargeKind, ContractState, FeeKind, PaymentState
from taxdesk.billing.models import Charge, FeeSchedule, ProrationRate, ServiceContract
from taxdesk.customers.models import Taxpayer
from taxdesk.testing.billing import (
    CHARGE_WRITERS,
    EXPECTED_BILLING,
    SCHEDULE_WRITERS,
    build_billing,
    signed_contract,
)

CAST = sorted(EXPECTED_BILLING)
D = Decimal

LISTS = {
    "schedules": "/billing/schedules/",
    "charges": "/billing/charges/",
    "contracts": "/billing/contracts/",
}
DETAILS = {
    "schedules": "/billing/schedules/{}/",
    "charges": "/billing/charges/{}/",
    "contracts": "/billing/contracts/{}/",
}


@pytest.fixture
def world(cast):
    return build_billing(cast)


def row_pks(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-pk="(\d+)"', html)]


def keys_of(world, group: str, pks) -> set[str]:
    by_pk = {obj.pk: key for key, obj in getattr(world, group).items()}
    return {by_pk.get(pk, f"?{pk}") for pk in pks}


# ------------------------------------------------------------------- what each one sees
@pytest.mark.parametrize("username", CAST)
@pytest.mark.parametrize("group", sorted(LISTS))
def test_lists_show_exactly_the_rows_in_scope(world, client_for, username, group):
    user = world.cast.users[username]
    response = client_for(user).get(LISTS[group])
    assert response.status_code == 200
    html = response.content.decode()
    assert keys_of(world, group, row_pks(html)) == EXPECTED_BILLING[username][group]
    if not EXPECTED_BILLING[username][group]:
        assert 'data-testid="empty"' in html


@pytest.mark.parametrize("username", CAST)
@pytest.mark.parametrize("group", sorted(DETAILS))
def test_details_404_outside_scope(world, client_for, username, group):
    client = client_for(world.cast.users[username])
    for key, obj in getattr(world, group).items():
        response = client.get(DETAILS[group].format(obj.pk))
        expected = 200 if key in EXPECTED_BILLING[username][group] else 404
        assert response.status_code == expected, (key, response.status_code)


@pytest.mark.parametrize("username", CAST)
def test_contract_pdf_for_whoever_sees_the_contract(world, client_for, username):
    client = client_for(world.cast.users[username])
    for key, contract in world.contracts.items():
        response = client.get(f"/billing/contracts/{contract.pk}/pdf/")
        if key not in EXPECTED_BILLING[username]["contracts"]:
            assert response.status_code == 404
            continue
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == (
            f'inline; filename="contract-{contract.number}.pdf"'
        )
        assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_anonymous_is_sent_to_log_in(world, client):
    for url in (*LISTS.values(), "/billing/proration/", "/billing/charges/add/"):
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"]


# ----------------------------------------------------------------------------- writes
@pytest.mark.parametrize("username", CAST)
def test_add_pages_only_for_writers(world, client_for, username):
    client = client_for(world.cast.users[username])
    may_schedule = username in SCHEDULE_WRITERS
    may_charge = username in CHARGE_WRITERS
    assert client.get("/billing/schedules/add/").status_code == (200 if may_schedule else 403)
    assert client.get("/billing/charges/add/").status_code == (200 if may_charge else 403)
    assert client.get("/billing/contracts/add/").status_code == (200 if may_charge else 403)
    html = client.get("/billing/charges/").content.decode()
    assert ('data-testid="add"' in html) == may_charge


def _charge_posts(charge):
    return {
        f"/billing/charges/{charge.pk}/pay/": {"paid_on": "2025-03-02"},
        f"/billing/charges/{charge.pk}/invoice/": {
            "invoice_number": "25332000000000000077",
            "invoice_date": "2025-03-02",
        },
        f"/billing/charges/{charge.pk}/correct/": {"new_amount": "1", "reason": "x"},
        f"/billing/charges/{charge.pk}/refund/": {"amount": "1", "reason": "x", "on": "2025-03-2"},
    }


def _contract_posts(contract):
    return {
        f"/billing/contracts/{contract.pk}/sign/": {"signed_on": "2025-01-02"},
        f"/billing/contracts/{contract.pk}/refuse/": {"refused_on": "2025-01-02", "note": "x"},
        f"/billing/contracts/{contract.pk}/renew/": {"years": "1"},
    }


@pytest.mark.parametrize("username", CAST)
def test_write_forms_404_outside_scope_403_when_read_only(world, client_for, username):
    """Every action form of every record: 404 if the user cannot see the record, 403 if they
    see it but may not change it; nothing changes either way."""
    client = client_for(world.cast.users[username])
    before = {
        "charges": Charge.objects.count(),
        "contracts": list(ServiceContract.objects.values_list("pk", "state")),
    }
    for key, charge in world.charges.items():
        visible = key in EXPECTED_BILLING[username]["charges"]
        for url, data in _charge_posts(charge).items():
            status = client.post(url, data).status_code
            if not visible:
                assert status == 404, url
            elif username not in CHARGE_WRITERS:
                assert status == 403, url
    for key, contract in world.contracts.items():
        visible = key in EXPECTED_BILLING[username]["contracts"]
        for url, data in _contract_posts(contract).items():
            status = client.post(url, data).status_code
            if not visible:
                assert status == 404, url
            elif username not in CHARGE_WRITERS:
                assert status == 403, url
    for key, schedule in world.schedules.items():
        visible = key in EXPECTED_BILLING[username]["schedules"]
        for url, data in (
            (f"/billing/schedules/{schedule.pk}/close/", {"valid_to": "2030-01-01"}),
            (f"/billing/schedules/{schedule.pk}/edit/", {}),
        ):
            status = client.post(url, data).status_code
            if not visible:
                assert status == 404, url
            elif username not in SCHEDULE_WRITERS:
                assert status == 403, url
    if username not in CHARGE_WRITERS:
        assert Charge.objects.count() == before["charges"]
        assert list(ServiceContract.objects.values_list("pk", "state")) == before["contracts"]
    if username not in SCHEDULE_WRITERS:
        assert not FeeSchedule.objects.filter(valid_to=date(2030, 1, 1)).exists()


# ------------------------------------------------------------------------- the flows
def test_admin_enters_a_schedule_with_its_items(cast, client_for):
    client = client_for(cast.admin_a)
    page = client.get("/billing/schedules/add/").content.decode()
    assert 'name="items-TOTAL_FORMS" value="9"' in page  # 4 devices, 2 fees, 3 repair rows
    assert 'name="service_unit"' not in page  # their own unit
    rows = [
        ("device", "golden_tax_disk", "", "200"),
        ("device", "tax_control_disk", "", "200"),
        ("device", "reporting_disk", "", "100"),
        ("device", "ukey", "", ""),  # left empty: not an item
        ("maintenance", "", "", "280"),
        ("onsite", "", "", "100"),
        ("repair", "", "更换USB接口", "60"),
    ]
    data = {
        "name": "2017年收费标准",
        "valid_from": "2017-07-01",
        "valid_to": "",
        "supervision_approval": "监督批复〔2017〕8号",
        "tax_approval": "税务批复〔2017〕12号",
        "approved_on": "2017-06-20",
        "items-TOTAL_FORMS": str(len(rows)),
        "items-INITIAL_FORMS": "0",
    }
    for i, (kind, device_type, name, amount) in enumerate(rows):
        data.update(
            {
                f"items-{i}-kind": kind,
                f"items-{i}-device_type": device_type,
                f"items-{i}-name": name,
                f"items-{i}-amount": amount,
            }
        )
    response = client.post("/billing/schedules/add/", data)
    assert response.status_code == 302
    schedule = FeeSchedule.objects.get()
    assert schedule.service_unit == cast.unit_a
    assert schedule.items.count() == 6
    assert response["Location"] == f"/billing/schedules/{schedule.pk}/"
    # The same period again: refused, with the other schedule named on the page.
    data["name"] = "重复"
    response = client.post("/billing/schedules/add/", data)
    assert response.status_code == 400
    assert "2017年收费标准" in response.content.decode()
    # Both approvals are required (MNT-13).
    data.update(name="2012", valid_from="2012-01-01", valid_to="2017-06-30", tax_approval="")
    data["approved_on"] = "2011-12-01"
    response = client.post("/billing/schedules/add/", data)
    assert response.status_code == 400
    assert 'data-error-for="tax_approval"' in response.content.decode()
    assert FeeSchedule.objects.count() == 1


def test_admin_closes_and_edits_a_schedule(world, client_for):
    client = client_for(world.cast.admin_a)
    schedule = world.fees_a_2017
    html = client.get(f"/billing/schedules/{schedule.pk}/").content.decode()
    assert 'data-testid="in-use"' in html  # charged already: amounts frozen
    page = client.get(f"/billing/schedules/{schedule.pk}/edit/").content.decode()
    assert "items-TOTAL_FORMS" not in page
    response = client.post(f"/billing/schedules/{schedule.pk}/close/", {"valid_to": "2017-01-01"})
    assert response.status_code == 400
    response = client.post(f"/billing/schedules/{schedule.pk}/close/", {"valid_to": "2030-12-31"})
    assert response.status_code == 302
    schedule.refresh_from_db()
    assert schedule.valid_to == date(2030, 12, 31)
    html = client.get(f"/billing/schedules/{schedule.pk}/").content.decode()
    assert "/close/" not in html  # closed already


def test_proration_page(world, client_for):
    cast = world.cast
    admin = client_for(cast.admin_a)
    page = admin.get("/billing/proration/").content.decode()
    assert 'name="month_7"' in page
    response = admin.post("/billing/proration/", {"month_7": "50", "month_12": "10"})
    assert response.status_code == 302
    assert dict(
        ProrationRate.objects.filter(service_unit=cast.unit_a).values_list("month", "percent")
    ) == {7: D("50.00"), 12: D("10.00")}
    response = admin.post("/billing/proration/", {"month_7": "150"})
    assert response.status_code == 400
    # A clerk reads the table; they do not change it.
    sales = client_for(cast.sales_a)
    page = sales.get("/billing/proration/").content.decode()
    assert 'name="month_7"' not in page and "50.00%" in page
    assert sales.post("/billing/proration/", {"month_7": "1"}).status_code == 403
    # The supervision officer chooses a unit of their body; another body's unit is a 404.
    supervisor = client_for(cast.supervisor_x)
    assert 'data-testid="empty"' in supervisor.get("/billing/proration/").content.decode()
    page = supervisor.get(f"/billing/proration/?unit={cast.unit_a.pk}").content.decode()
    assert "50.00%" in page
    assert supervisor.get(f"/billing/proration/?unit={cast.unit_c.pk}").status_code == 404
    assert (
        supervisor.post(f"/billing/proration/?unit={cast.unit_a.pk}", {"month_7": "1"})
    ).status_code == 403


@pytest.mark.rule("INS-07")
def test_ins_07_clerk_contract_then_maintenance_fee_through_the_pages(world, client_for):
    cast = world.cast
    taxpayer = Taxpayer.objects.create(
        number="91330100MA27XYZ01K",
        name="杭州新用户有限公司",
        service_unit=cast.unit_a,
        tax_office=cast.office_a,
    )
    client = client_for(cast.sales_a)
    charge_form = {
        "taxpayer": taxpayer.number,
        "fee_kind": FeeKind.MAINTENANCE,
        "service_date": "2025-06-01",
    }
    response = client.post("/billing/charges/add/", charge_form)
    assert response.status_code == 400
    assert "INS-07" in response.content.decode()
    response = client.post(
        "/billing/contracts/add/", {"taxpayer": taxpayer.number, "starts_on": "2025-06-01"}
    )
    assert response.status_code == 302
    contract = ServiceContract.objects.get(taxpayer=taxpayer)
    assert (contract.ends_on, contract.annual_fee) == (date(2026, 5, 31), D("280.00"))
    page = client.get(f"/billing/contracts/{contract.pk}/").content.decode()
    assert 'data-testid="sign-form"' in page and 'data-testid="refuse-form"' in page
    response = client.post(f"/billing/contracts/{contract.pk}/sign/", {"signed_on": "2025-06-01"})
    assert response.status_code == 302
    contract.refresh_from_db()
    assert contract.state == ContractState.SIGNED
    response = client.post("/billing/charges/add/", {**charge_form, "amount": "1"})
    assert response.status_code == 302
    charge = Charge.objects.get(taxpayer=taxpayer)
    assert (charge.amount, charge.contract) == (D("280.00"), contract)  # never typed in
    page = client.get(f"/billing/charges/{charge.pk}/").content.decode()
    assert 'data-testid="pay-form"' in page and 'data-testid="refund-form"' not in page
    response = client.post(f"/billing/charges/{charge.pk}/pay/", {"paid_on": "2025-06-02"})
    assert response.status_code == 302
    invoice = {"invoice_code": "", "invoice_number": "00000002", "invoice_date": "2025-06-02"}
    response = client.post(f"/billing/charges/{charge.pk}/invoice/", invoice)
    assert response.status_code == 400
    assert 'data-error-for="invoice_code"' in response.content.decode()
    invoice["invoice_code"] = "3300251130"
    response = client.post(f"/billing/charges/{charge.pk}/invoice/", invoice)
    assert response.status_code == 302
    charge.refresh_from_db()
    assert (charge.payment_state, charge.invoice_number) == (PaymentState.PAID, "00000002")
    # The same invoice on another charge is refused.
    other = world.charge_pa2
    response = client.post(f"/billing/charges/{other.pk}/invoice/", invoice)
    assert response.status_code == 400
    assert 'data-error-for="invoice_number"' in response.content.decode()
    # Refund more than paid: refused; then a correction and a refund, as new entries.
    response = client.post(
        f"/billing/charges/{charge.pk}/refund/",
        {"amount": "280.01", "reason": "退", "on": "2025-06-03"},
    )
    assert response.status_code == 400
    response = client.post(
        f"/billing/charges/{charge.pk}/correct/", {"new_amount": "250", "reason": "优惠"}
    )
    assert response.status_code == 302
    response = client.post(
        f"/billing/charges/{charge.pk}/refund/",
        {"amount": "30", "reason": "退优惠", "on": "2025-06-03"},
    )
    assert response.status_code == 302
    kinds = sorted(Charge.objects.filter(taxpayer=taxpayer).values_list("kind", "amount"))
    assert kinds == [
        (ChargeKind.CHARGE, D("280.00")),
        (ChargeKind.CORRECTION, D("-30.00")),
        (ChargeKind.REFUND, D("-30.00")),
    ]
    page = client.get(f"/billing/charges/{charge.pk}/").content.decode()
    assert re.search(r'data-testid="net">250\.00<', page)


def test_refusal_and_renewal_through_the_pages(world, client_for):
    client = client_for(world.cast.admin_a)
    draft = ServiceContract.objects.create(
        service_unit=world.cast.unit_a,
        taxpayer=world.cast.pa1,
        number="HT-TEST-1",
        starts_on=date(2027, 1, 1),
        ends_on=date(2027, 12, 31),
        annual_fee=D("280"),
    )
    response = client.post(f"/billing/contracts/{draft.pk}/refuse/", {"refused_on": "2025-06-01"})
    assert response.status_code == 400  # the note is required
    response = client.post(
        f"/billing/contracts/{draft.pk}/refuse/",
        {"refused_on": "2025-06-01", "note": "用户拒签"},
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.state == ContractState.REFUSED
    signed = world.contract_pa1
    response = client.post(f"/billing/contracts/{signed.pk}/renew/", {"years": "1"})
    assert response.status_code == 302
    renewal = ServiceContract.objects.get(renewal_of=signed)
    assert response["Location"] == f"/billing/contracts/{renewal.pk}/"
    page = client.get(f"/billing/contracts/{signed.pk}/").content.decode()
    assert renewal.number in page and 'data-testid="renew-form"' not in page
    assert client.post(f"/billing/contracts/{signed.pk}/renew/", {"years": "1"}).status_code == 400


# ---------------------------------------------------------------------------- filters
def test_charge_filters(world, client_for):
    cast = world.cast
    client = client_for(cast.supervisor_x)

    def keys(**params):
        html = client.get("/billing/charges/", params).content.decode()
        return keys_of(world, "charges", row_pks(html))

    assert keys(taxpayer=cast.pa1.number.lower()) == {"charge_pa1"}
    assert keys(payment_state="unpaid") == {"charge_pa2", "charge_pb1"}
    assert keys(has_invoice="true") == {"charge_pa1"}
    assert keys(has_invoice="false") == {"charge_pa2", "charge_pb1"}
    assert keys(fee_kind="onsite") == set()
    assert keys(kind="charge", service_from="2025-03-01", service_to="2025-03-01") == {
        "charge_pa1",
        "charge_pa2",
        "charge_pb1",
    }
    assert keys(service_to="2025-02-28") == set()
    assert keys(taxpayer=cast.pc1.number) == set()  # not theirs


def test_contracts_ending_filter_lists_the_soonest_first(cast, client_for):
    from taxdesk.testing.billing import make_schedule

    make_schedule(cast.unit_a, valid_from=date(2017, 7, 1))
    today = timezone.localdate()
    soon = signed_contract(cast.pa1, starts_on=today - timedelta(days=360))  # ends in 4 days
    later = signed_contract(cast.pa2, starts_on=today - timedelta(days=340))  # ends in 24 days
    client = client_for(cast.sales_a)
    html = client.get("/billing/contracts/", {"ending_within": "30"}).content.decode()
    assert row_pks(html) == [soon.pk, later.pk]
    html = client.get("/billing/contracts/", {"ending_within": "10"}).content.decode()
    assert row_pks(html) == [soon.pk]
    html = client.get("/billing/contracts/", {"ending_within": "-1"}).content.decode()
    assert row_pks(html) == []  # an invalid filter shows nothing, not everything
    assert 'data-testid="ending-30"' in html


def test_schedule_filter_in_force_on(world, client_for):
    client = client_for(world.cast.admin_a)
    html = client.get("/billing/schedules/", {"in_force_on": "2016-05-01"}).content.decode()
    assert keys_of(world, "schedules", row_pks(html)) == {"fees_a_2012"}
    html = client.get("/billing/schedules/", {"open": "true"}).content.decode()
    assert keys_of(world, "schedules", row_pks(html)) == {"fees_a_2017"}
    # The unit filter offers only the units the user may see.
    page = client.get("/billing/schedules/").content.decode()
    assert "服务单位A" in page and "服务单位B" not in page


def test_htmx_gets_the_table_only(world, client_for):
    response = client_for(world.cast.admin_a).get(
        "/billing/charges/", {"payment_state": "paid"}, HTTP_HX_REQUEST="true"
    )
    names = [t.name for t in response.templates]
    assert "billing/partials/charge_table.html" in names and "base.html" not in names
    html = response.content.decode()
    assert "<form" not in html
    assert keys_of(world, "charges", row_pks(html)) == {"charge_pa1"}


# ------------------------------------------------------------------------ query counts
@pytest.mark.parametrize("group", sorted(LISTS))
def test_list_queries_do_not_grow_with_rows(world, client_for, group):
    cast = world.cast
    client = client_for(cast.supervisor_x)
    client.get(LISTS[group])

    def count():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(LISTS[group])
        assert response.status_code == 200
        return len(ctx.captured_queries), len(row_pks(response.content.decode()))

    before, rows_before = count()
    for n in range(4):
        taxpayer = Taxpayer.objects.create(
            number=f"91330100MA2QQQ{n:03d}X",
            name=f"新增{n}",
            service_unit=cast.unit_b,
            tax_office=cast.office_b,
        )
        if group == "schedules":
            from taxdesk.testing.billing import make_schedule

            make_schedule(
                cast.unit_b,
                valid_from=date(2000 + n, 1, 1),
                valid_to=date(2000 + n, 12, 31),
                name=f"B {2000 + n}",
            )
        else:
            signed_contract(taxpayer)
            create_charge(
                taxpayer=taxpayer,
                fee_kind=FeeKind.MAINTENANCE,
                service_date=date(2025, 2, 1),
                by=cast.root,
            )
    after, rows_after = count()
    assert rows_after == rows_before + 4
    assert after == before
