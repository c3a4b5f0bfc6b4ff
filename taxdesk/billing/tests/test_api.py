"""/api/fee-schedules/, /api/charges/ and /api/contracts/ for every member of the cast: exact
rows, 404 outside scope, 403 for read-only roles, the actions and their errors in the API's
one shape, and query counts."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from taxdesk.billing.actions import create_charge
from taxdesk.billing.choices import ChargeKind, ContractState, FeeKind, PaymentState
from taxdesk.billing.models import Charge, FeeSchedule, ServiceContract
from taxdesk.customers.models import Taxpayer
from taxdesk.testing.billing import (
    CHARGE_WRITERS,
    EXPECTED_BILLING,
    SCHEDULE_WRITERS,
    build_billing,
    items_2017,
    signed_contract,
)

CAST = sorted(EXPECTED_BILLING)
D = Decimal
ENDPOINTS = {
    "schedules": "/api/fee-schedules/",
    "charges": "/api/charges/",
    "contracts": "/api/contracts/",
}


@pytest.fixture
def world(cast):
    return build_billing(cast)


def post(client, url, data=None):
    return client.post(url, json.dumps(data or {}, default=str), content_type="application/json")


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    assert body["next"] is None
    return body["results"]


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["message"]
    if code is not None:
        assert error["code"] == code, error
    return error


def keys_of(world, group, ids) -> set[str]:
    by_pk = {obj.pk: key for key, obj in getattr(world, group).items()}
    return {by_pk.get(pk, f"?{pk}") for pk in ids}


@pytest.mark.parametrize("username", CAST)
@pytest.mark.parametrize("group", sorted(ENDPOINTS))
def test_lists_and_details_in_scope(world, client_for, username, group):
    client = client_for(world.cast.users[username])
    rows = results(client.get(ENDPOINTS[group]))
    assert keys_of(world, group, [r["id"] for r in rows]) == EXPECTED_BILLING[username][group]
    for key, obj in getattr(world, group).items():
        response = client.get(f"{ENDPOINTS[group]}{obj.pk}/")
        if key in EXPECTED_BILLING[username][group]:
            assert response.status_code == 200
            assert response.json()["id"] == obj.pk
        else:
            assert_error(response, 404, "not_found")


def test_representations(world, client_for):
    client = client_for(world.cast.admin_a)
    schedule = client.get(f"/api/fee-schedules/{world.fees_a_2017.pk}/").json()
    assert schedule["valid_to"] is None
    maintenance = next(i for i in schedule["items"] if i["kind"] == "maintenance")
    assert maintenance["amount"] == "280.00"
    charge = client.get(f"/api/charges/{world.charge_pa1.pk}/").json()
    assert charge["taxpayer_number"] == world.cast.pa1.number
    assert (charge["amount"], charge["payment_state"]) == ("280.00", "paid")
    assert (charge["invoice_code"], charge["invoice_number"]) == ("3300251130", "00000001")
    assert charge["schedule"] == world.fees_a_2017.pk
    contract = client.get(f"/api/contracts/{world.contract_pa1.pk}/").json()
    assert contract["pdf"] == f"/billing/contracts/{world.contract_pa1.pk}/pdf/"
    assert (contract["state"], contract["renewal"]) == ("signed", None)


@pytest.mark.parametrize("username", CAST)
def test_creates_only_for_writers(world, client_for, username):
    cast = world.cast
    client = client_for(cast.users[username])
    schedule = {
        "name": "2000",
        "valid_from": "2000-01-01",
        "valid_to": "2000-12-31",
        "supervision_approval": "监督〔1999〕1号",
        "tax_approval": "税务〔1999〕1号",
        "approved_on": "1999-12-01",
        "items": [{"kind": "maintenance", "amount": "250"}],
    }
    charge = {"taxpayer": cast.pa1.pk, "fee_kind": "onsite", "service_date": "2025-05-01"}
    contract = {"taxpayer": cast.pa1.pk, "starts_on": "2027-01-01"}
    if username == "root":
        schedule["service_unit"] = cast.unit_a.pk
    responses = {
        "schedules": post(client, "/api/fee-schedules/", schedule),
        "charges": post(client, "/api/charges/", charge),
        "contracts": post(client, "/api/contracts/", contract),
    }
    may_schedule = username in SCHEDULE_WRITERS
    may_charge = username in CHARGE_WRITERS
    if may_schedule:
        assert responses["schedules"].status_code == 201, responses["schedules"].content
    else:
        assert_error(responses["schedules"], 403, "permission_denied")
    for group in ("charges", "contracts"):
        response = responses[group]
        if not may_charge:
            assert_error(response, 403, "permission_denied")
        elif username == "admin_b":  # pa1 is not theirs: "does not exist"
            error = assert_error(response, 400)
            assert "taxpayer" in error["fields"]
        else:
            assert response.status_code == 201, response.content
    assert FeeSchedule.objects.filter(name="2000").exists() == may_schedule


def test_schedule_created_in_the_callers_unit_with_errors_per_field(world, client_for):
    cast = world.cast
    client = client_for(cast.admin_b)
    body = {
        "name": "B 2031",
        "valid_from": "2031-01-01",
        "supervision_approval": "监督〔2030〕1号",
        "tax_approval": "税务〔2030〕1号",
        "approved_on": "2025-01-01",
        "items": items_2017(),
    }
    # Overlaps B's open-ended 2017 schedule.
    error = assert_error(post(client, "/api/fee-schedules/", body), 400, "schedule_overlap")
    assert "B 2017" in error["fields"]["valid_from"][0]
    closed = post(
        client, f"/api/fee-schedules/{world.fees_b_2017.pk}/close/", {"valid_to": "2030-12-31"}
    )
    assert closed.status_code == 200 and closed.json()["valid_to"] == "2030-12-31"
    created = post(client, "/api/fee-schedules/", body)
    assert created.status_code == 201
    assert created.json()["service_unit"] == cast.unit_b.pk
    assert len(created.json()["items"]) == len(items_2017())
    # Another unit is not theirs to name.
    error = assert_error(
        post(client, "/api/fee-schedules/", {**body, "service_unit": cast.unit_a.pk}), 400
    )
    assert "service_unit" in error["fields"]
    error = assert_error(
        post(client, "/api/fee-schedules/", {**body, "tax_approval": ""}), 400, "blank"
    )
    assert "tax_approval" in error["fields"]
    error = assert_error(
        post(
            client,
            "/api/fee-schedules/",
            {**body, "valid_from": "2040-01-01", "items": [{"kind": "repair", "amount": "1"}]},
        ),
        400,
        "name_required",
    )
    assert "items" in error["fields"]


@pytest.mark.rule("INS-07")
def test_ins_07_maintenance_charge_through_the_api(world, client_for):
    cast = world.cast
    client = client_for(cast.sales_a)
    taxpayer = Taxpayer.objects.create(
        number="91330100MA27XYZ02K",
        name="新用户",
        service_unit=cast.unit_a,
        tax_office=cast.office_a,
    )
    body = {
        "taxpayer": taxpayer.pk,
        "fee_kind": "maintenance",
        "service_date": "2025-06-01",
    }
    # The amount comes from the schedule: a body naming one is refused, not read.
    error = assert_error(post(client, "/api/charges/", {**body, "amount": "1.00"}), 400)
    assert error["code"] == "unknown_field" and list(error["fields"]) == ["amount"]
    error = assert_error(post(client, "/api/charges/", body), 400, "contract_required")
    assert "contract" in error["fields"]
    created = post(client, "/api/contracts/", {"taxpayer": taxpayer.pk, "starts_on": "2025-06-01"})
    assert created.status_code == 201
    contract = created.json()
    assert (contract["state"], contract["annual_fee"]) == ("draft", "280.00")
    refusal = post(client, f"/api/contracts/{contract['id']}/refuse/", {"refused_on": "2025-06-01"})
    assert_error(refusal, 400)
    refusal = post(
        client,
        f"/api/contracts/{contract['id']}/refuse/",
        {"refused_on": "2025-06-01", "note": "用户拒签"},
    )
    assert refusal.status_code == 200 and refusal.json()["state"] == "refused"
    charge = post(client, "/api/charges/", body)
    assert charge.status_code == 201
    assert (charge.json()["amount"], charge.json()["contract"]) == ("280.00", contract["id"])
    assert_error(
        post(client, f"/api/contracts/{contract['id']}/sign/", {"signed_on": "2025-06-02"}),
        400,
        "not_draft",
    )


@pytest.mark.rule("MNT-13")
def test_mnt_13_no_schedule_in_force(world, client_for):
    client = client_for(world.cast.sales_a)
    body = {"taxpayer": world.cast.pa1.pk, "fee_kind": "onsite", "service_date": "2011-05-01"}
    error = assert_error(post(client, "/api/charges/", body), 400, "no_schedule")
    assert "service_date" in error["fields"]


def test_charge_actions_through_the_api(world, client_for):
    cast = world.cast
    client = client_for(cast.admin_a)
    charge = world.charge_pa2
    url = f"/api/charges/{charge.pk}"
    paid = post(client, f"{url}/pay/", {"paid_on": "2025-03-05"})
    assert paid.status_code == 200 and paid.json()["payment_state"] == "paid"
    assert_error(post(client, f"{url}/pay/", {"paid_on": "2025-03-05"}), 400, "nothing_to_pay")
    invoiced = post(
        client,
        f"{url}/invoice/",
        {"invoice_number": "25332000000000000001", "invoice_date": "2025-03-05"},
    )
    assert invoiced.status_code == 200
    assert invoiced.json()["invoice_number"] == "25332000000000000001"
    reused = post(
        client,
        f"/api/charges/{world.charge_pa1.pk}/invoice/",
        {"invoice_number": "25332000000000000001", "invoice_date": "2025-03-05"},
    )
    assert_error(reused, 400, "invoice_used")
    bad = post(
        client,
        f"{url}/invoice/",
        {"invoice_code": "3300251130", "invoice_number": "1234", "invoice_date": "2025-03-05"},
    )
    assert "invoice_number" in assert_error(bad, 400, "invoice_number_format")["fields"]
    corrected = post(client, f"{url}/correct/", {"new_amount": "250.00", "reason": "优惠"})
    assert corrected.status_code == 201
    assert (corrected.json()["kind"], corrected.json()["amount"]) == ("correction", "-30.00")
    assert corrected.json()["corrects"] == charge.pk
    too_much = post(
        client, f"{url}/refund/", {"amount": "280.01", "reason": "退", "on": "2025-03-06"}
    )
    assert_error(too_much, 400, "refund_too_large")
    refund = post(client, f"{url}/refund/", {"amount": "30", "reason": "退", "on": "2025-03-06"})
    assert refund.status_code == 201
    assert (refund.json()["kind"], refund.json()["amount"]) == ("refund", "-30.00")
    entries = Charge.objects.filter(taxpayer=cast.pa2).order_by("id")
    assert [(e.kind, e.amount) for e in entries] == [
        (ChargeKind.CHARGE, D("280.00")),
        (ChargeKind.CORRECTION, D("-30.00")),
        (ChargeKind.REFUND, D("-30.00")),
    ]
    charge.refresh_from_db()
    assert (charge.amount, charge.payment_state) == (D("280.00"), PaymentState.PAID)


def test_contract_sign_and_renew_through_the_api(world, client_for):
    client = client_for(world.cast.sales_a)
    renewal = post(client, f"/api/contracts/{world.contract_pa1.pk}/renew/", {"years": 2})
    assert renewal.status_code == 201
    body = renewal.json()
    assert (body["starts_on"], body["ends_on"], body["renewal_of"]) == (
        "2026-01-01",
        "2027-12-31",
        world.contract_pa1.pk,
    )
    assert client.get(f"/api/contracts/{world.contract_pa1.pk}/").json()["renewal"] == body["id"]
    signed = post(client, f"/api/contracts/{body['id']}/sign/", {"signed_on": "2025-12-20"})
    assert signed.status_code == 200 and signed.json()["state"] == ContractState.SIGNED
    assert_error(post(client, f"/api/contracts/{body['id']}/renew/", {"years": 9}), 400)


@pytest.mark.parametrize("username", CAST)
def test_actions_404_outside_scope_403_when_read_only(world, client_for, username):
    client = client_for(world.cast.users[username])
    calls = []
    for key, charge in world.charges.items():
        for name, data in (
            ("pay", {"paid_on": "2025-03-05"}),
            ("invoice", {"invoice_number": "25332000000000000099", "invoice_date": "2025-03-05"}),
            ("correct", {"new_amount": "1", "reason": "x"}),
            ("refund", {"amount": "1", "reason": "x", "on": "2025-03-05"}),
        ):
            calls.append(("charges", key, f"/api/charges/{charge.pk}/{name}/", data))
    for key, contract in world.contracts.items():
        for name, data in (
            ("sign", {"signed_on": "2025-01-02"}),
            ("refuse", {"refused_on": "2025-01-02", "note": "x"}),
            ("renew", {}),
        ):
            calls.append(("contracts", key, f"/api/contracts/{contract.pk}/{name}/", data))
    for key, schedule in world.schedules.items():
        calls.append(
            (
                "schedules",
                key,
                f"/api/fee-schedules/{schedule.pk}/close/",
                {"valid_to": "2030-01-01"},
            )
        )
    writers = {"charges": CHARGE_WRITERS, "contracts": CHARGE_WRITERS}
    writers["schedules"] = SCHEDULE_WRITERS
    for group, key, url, data in calls:
        response = post(client, url, data)
        if key not in EXPECTED_BILLING[username][group]:
            assert_error(response, 404, "not_found")
        elif username not in writers[group]:
            assert_error(response, 403, "permission_denied")
        else:
            assert response.status_code in (200, 201, 400), (url, response.content)


def test_nothing_is_deleted_or_changed_directly(world, client_for):
    client = client_for(world.cast.root)
    for url in (
        f"/api/charges/{world.charge_pa1.pk}/",
        f"/api/contracts/{world.contract_pa1.pk}/",
        f"/api/fee-schedules/{world.fees_a_2017.pk}/",
    ):
        assert_error(client.delete(url), 405)
        patch = client.patch(url, json.dumps({"amount": "1"}), content_type="application/json")
        assert_error(patch, 405)
    assert Charge.objects.count() == 4


def test_filters_are_the_pages_filters(world, client_for):
    client = client_for(world.cast.supervisor_x)

    def ids(url, **params):
        return {r["id"] for r in results(client.get(url, params))}

    assert ids("/api/charges/", payment_state="unpaid") == {
        world.charge_pa2.pk,
        world.charge_pb1.pk,
    }
    assert ids("/api/charges/", taxpayer=world.cast.pb1.number) == {world.charge_pb1.pk}
    assert ids("/api/charges/", has_invoice="true") == {world.charge_pa1.pk}
    assert ids("/api/contracts/", state="refused") == {world.contract_pa2.pk}
    assert ids("/api/fee-schedules/", in_force_on="2016-01-01") == {world.fees_a_2012.pk}
    assert ids("/api/fee-schedules/", service_unit=world.cast.unit_b.pk) == {world.fees_b_2017.pk}
    assert_error(client.get("/api/fee-schedules/", {"service_unit": world.cast.unit_c.pk}), 400)


@pytest.mark.parametrize("group", sorted(ENDPOINTS))
def test_api_list_queries_do_not_grow_with_rows(world, client_for, group):
    cast = world.cast
    client = client_for(cast.root)
    client.get(ENDPOINTS[group])

    def count():
        with CaptureQueriesContext(connection) as ctx:
            rows = results(client.get(ENDPOINTS[group]))
        return len(ctx.captured_queries), len(rows)

    before, rows_before = count()
    from taxdesk.testing.billing import make_schedule

    for n in range(4):
        taxpayer = Taxpayer.objects.create(
            number=f"91330100MA2QQR{n:03d}X",
            name=f"新增{n}",
            service_unit=cast.unit_b,
            tax_office=cast.office_b,
        )
        if group == "schedules":
            make_schedule(
                cast.unit_b,
                valid_from=date(2000 + n, 1, 1),
                valid_to=date(2000 + n, 12, 31),
                name=f"B {2000 + n}",
            )
        else:
            contract = signed_contract(taxpayer)
            create_charge(
                taxpayer=taxpayer,
                fee_kind=FeeKind.MAINTENANCE,
                service_date=date(2025, 2, 1),
                by=cast.root,
            )
            from taxdesk.billing.actions import renew_contract

            renew_contract(contract, by=cast.root)  # a renewal shown on the list too
    after, rows_after = count()
    assert rows_after == rows_before + (8 if group == "contracts" else 4)
    assert after == before
    assert ServiceContract.objects.filter(renewal_of__isnull=False).exists() == (
        group != "schedules"
    )


def test_contracts_ending_within_soonest_first(cast, client_for):
    from datetime import timedelta

    from django.utils import timezone

    from taxdesk.testing.billing import make_schedule

    make_schedule(cast.unit_a, valid_from=date(2017, 7, 1))
    today = timezone.localdate()
    later = signed_contract(cast.pa2, starts_on=today - timedelta(days=340))  # ends in 24 days
    soon = signed_contract(cast.pa1, starts_on=today - timedelta(days=360))  # ends in 4 days
    client = client_for(cast.tax_a)
    rows = results(client.get("/api/contracts/", {"ending_within": 30}))
    assert [r["id"] for r in rows] == [soon.pk, later.pk]
    rows = results(client.get("/api/contracts/", {"ending_within": 5}))
    assert [r["id"] for r in rows] == [soon.pk]
