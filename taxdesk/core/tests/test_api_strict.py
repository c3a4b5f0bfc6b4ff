"""A strict API (issue 11): a request body names only fields the endpoint writes.

Every write endpoint of the API (each POST, PUT and PATCH route of the router, its actions
included, and the token sign-in) refuses a body with a field it does not take: a 400
``unknown_field`` naming it, and nothing written. A guard lists the write routes from the
router, so a new one cannot be added without its case here; another checks that every
serializer of the API is built on the strict bases.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest
from django.db import connection
from django.test import Client

from taxdesk.core.api.serializers import StrictFieldsMixin
from taxdesk.core.models import AuditEntry
from taxdesk.devices.actions import set_warranty_policy
from taxdesk.imports.models import ImportJob
from taxdesk.testing.billing import build_billing
from taxdesk.testing.cast import PASSWORD
from taxdesk.testing.customers import credit_code
from taxdesk.testing.devices import build_fleet
from taxdesk.testing.imports import imports_inline, taxpayers_upload  # noqa: F401  (fixture)
from taxdesk.workdays.actions import enter_year

TYPO = "typo_field"


@pytest.fixture
def world(cast):
    fleet = build_fleet(cast)
    billing = build_billing(cast)
    fleet.schedule_a = billing.schedules["fees_a_2017"]
    fleet.contract_pa1 = billing.contracts["contract_pa1"]
    fleet.charge_pa2 = billing.charges["charge_pa2"]
    fleet.policy = set_warranty_policy(
        service_unit=cast.unit_a, device_type="ukey", years=4, by=cast.admin_a
    )
    fleet.year = enter_year(
        year=2027, holidays=[date(2027, 1, 1)], workdays=[], notice="", by=cast.supervisor_x
    )
    fleet.job = ImportJob.objects.create(
        service_unit=cast.unit_a, kind="taxpayers", file="x.xlsx", created_by=cast.admin_a
    )
    return fleet


@dataclass(frozen=True)
class Write:
    user: str
    method: str
    url: Callable[[object], str]
    # A body with the extra field; the field's name as the error names it. (A nested one is
    # reported with the other fields' errors: its body is otherwise right.)
    body: Callable[[object], dict] = lambda w: {TYPO: "x"}
    field: str = TYPO
    multipart: bool = False


def _template(w) -> str:
    from taxdesk.notifications.models import MessageTemplate

    template = MessageTemplate.objects.filter(service_unit=w.unit_a).order_by("pk").first()
    return f"/api/message-templates/{template.pk}/"


def _detail(prefix: str, obj: str, suffix: str = "") -> Callable[[object], str]:
    return lambda w: f"/api/{prefix}/{getattr(w, obj).pk}/{suffix}"


WRITES: dict[str, Write] = {
    "api-token": Write(
        "",
        "post",
        lambda w: "/api/auth/token/",
        lambda w: {"username": "admin_a", "password": PASSWORD, TYPO: "x"},
    ),
    "unit.partial_update": Write("admin_a", "patch", _detail("units", "unit_a")),
    "deadline.pause": Write("admin_a", "post", _detail("deadlines", "clock_pa1", "pause/")),
    "deadline.resume": Write("admin_a", "post", _detail("deadlines", "clock_pa1", "resume/")),
    "taxpayer.create": Write("admin_a", "post", lambda w: "/api/taxpayers/"),
    "taxpayer.create (a contact's field)": Write(
        "admin_a",
        "post",
        lambda w: "/api/taxpayers/",
        lambda w: {
            "number": credit_code(),
            "name": "某公司",
            "contacts": [{"name": "张三", "mobile": "13812345678", TYPO: "x"}],
        },
        field=f"contacts.0.{TYPO}",
    ),
    "taxpayer.partial_update": Write("admin_a", "patch", _detail("taxpayers", "pa1")),
    "taxpayer.change_status": Write(
        "admin_a", "post", _detail("taxpayers", "pa1", "change-status/")
    ),
    "taxpayer.change_type": Write("admin_a", "post", _detail("taxpayers", "pa1", "change-type/")),
    "taxpayer.change_tax_office": Write(
        "admin_a", "post", _detail("taxpayers", "pa1", "change-tax-office/")
    ),
    "contact.create": Write("admin_a", "post", lambda w: "/api/contacts/"),
    "contact.partial_update": Write(
        "admin_a",
        "patch",
        lambda w: f"/api/contacts/{w.pa1.contacts.create(name='李四').pk}/",
    ),
    "calendar-year.create": Write("supervisor_x", "post", lambda w: "/api/calendar/years/"),
    "calendar-year.update": Write("supervisor_x", "put", lambda w: "/api/calendar/years/2027/"),
    "calendar-day.create": Write("supervisor_x", "post", lambda w: "/api/calendar/days/"),
    "sale.create": Write("admin_a", "post", lambda w: "/api/sales/"),
    "import.create": Write(
        "admin_a",
        "post",
        lambda w: "/api/imports/",
        lambda w: {"kind": "taxpayers", "file": taxpayers_upload([]), TYPO: "x"},
        multipart=True,
    ),
    "import.run": Write("admin_a", "post", _detail("imports", "job", "run/")),
    "device.move": Write("admin_a", "post", _detail("devices", "ga_stock1", "move/")),
    "device.pair": Write("admin_a", "post", _detail("devices", "ga_stock1", "pair/")),
    "stock-batch.create": Write("admin_a", "post", lambda w: "/api/stock-batches/"),
    "warranty-policy.create": Write("admin_a", "post", lambda w: "/api/warranty-policies/"),
    "warranty-policy.partial_update": Write(
        "admin_a", "patch", _detail("warranty-policies", "policy")
    ),
    "fee-schedule.create": Write("admin_a", "post", lambda w: "/api/fee-schedules/"),
    "fee-schedule.create (an item's field)": Write(
        "admin_a",
        "post",
        lambda w: "/api/fee-schedules/",
        lambda w: {
            "name": "2030 标准",
            "valid_from": "2030-01-01",
            "supervision_approval": "监督〔2029〕1号",
            "tax_approval": "税〔2029〕2号",
            "approved_on": "2029-12-01",
            "items": [{"kind": "onsite", "amount": "100.00"}, {"kind": "repair", TYPO: 1}],
        },
        field=f"items.1.{TYPO}",
    ),
    "fee-schedule.close": Write(
        "admin_a", "post", _detail("fee-schedules", "schedule_a", "close/")
    ),
    "charge.create": Write("admin_a", "post", lambda w: "/api/charges/"),
    "charge.pay": Write("admin_a", "post", _detail("charges", "charge_pa2", "pay/")),
    "charge.invoice": Write("admin_a", "post", _detail("charges", "charge_pa2", "invoice/")),
    "charge.correct": Write("admin_a", "post", _detail("charges", "charge_pa2", "correct/")),
    "charge.refund": Write("admin_a", "post", _detail("charges", "charge_pa2", "refund/")),
    "contract.create": Write("admin_a", "post", lambda w: "/api/contracts/"),
    "contract.sign": Write("admin_a", "post", _detail("contracts", "contract_pa1", "sign/")),
    "contract.refuse": Write("admin_a", "post", _detail("contracts", "contract_pa1", "refuse/")),
    "contract.renew": Write("admin_a", "post", _detail("contracts", "contract_pa1", "renew/")),
    "message.create": Write("admin_a", "post", lambda w: "/api/messages/"),
    "message-template.update": Write("admin_a", "put", _template),
    "message-template.partial_update": Write("admin_a", "patch", _template),
}


def _row_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        counts = {}
        for table in tables:
            if table.startswith(("django_session", "sqlite_")) or "search" in table:
                continue
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
    return counts


@pytest.mark.usefixtures("imports_inline")
@pytest.mark.parametrize("name", sorted(WRITES))
def test_a_field_the_endpoint_does_not_take_is_refused_by_name(world, name):
    case = WRITES[name]
    client = Client()
    if case.user:
        client.force_login(world.users[case.user])
    url = case.url(world)
    before = _row_counts()
    entries = AuditEntry.objects.count()
    body = case.body(world)
    if case.multipart:
        response = client.post(url, body)
    else:
        response = getattr(client, case.method)(
            url, json.dumps(body), content_type="application/json"
        )
    assert response.status_code == 400, response.content[:500]
    error = response.json()["error"]
    assert error["code"] == "unknown_field", error
    assert list(error["fields"]) == [case.field], error
    assert error["fields"][case.field] and all(error["fields"][case.field]), error
    assert AuditEntry.objects.count() == entries
    assert _row_counts() == before


def test_a_field_that_is_only_read_is_refused_as_such(world, client_for):
    response = client_for(world.admin_a).patch(
        f"/api/taxpayers/{world.pa1.pk}/",
        json.dumps({"status": "cancelled", "created_at": "2020-01-01T00:00:00Z"}),
        content_type="application/json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unknown_field"
    assert sorted(error["fields"]) == ["created_at", "status"]
    world.pa1.refresh_from_db()
    assert world.pa1.status == "normal"


def write_routes() -> set[str]:
    """ "<basename>.<action>" of every POST, PUT and PATCH route of the API's router, and the
    names of the other write views of /api/."""
    from taxdesk.api_urls import router

    found = {"api-token"}
    for _prefix, viewset, basename in router.registry:
        allowed = set(viewset.http_method_names)
        for route in router.get_routes(viewset):
            for method, action in route.mapping.items():
                if method in ("post", "put", "patch") and method in allowed:
                    if hasattr(viewset, action):
                        found.add(f"{basename}.{action}")
    return found


def test_every_write_route_has_its_case():
    routes = write_routes()
    assert "charge.refund" in routes, "is the scan broken?"
    assert routes == {name.split(" (")[0] for name in WRITES}


API_MODULES = (
    "taxdesk.core.api.views",
    "taxdesk.customers.api",
    "taxdesk.devices.api",
    "taxdesk.sales.api",
    "taxdesk.billing.api",
    "taxdesk.imports.api",
    "taxdesk.workdays.api",
    "taxdesk.clocks.api",
)


def test_every_serializer_of_the_api_is_strict():
    from rest_framework import serializers

    modules = [importlib.import_module(name) for name in API_MODULES]
    found = [
        value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, serializers.Serializer)
        and value.__module__ == module.__name__
    ]
    assert len(found) > 20, "is the scan broken?"
    assert [cls.__name__ for cls in found if not issubclass(cls, StrictFieldsMixin)] == []


def test_a_warranty_policy_without_years_is_a_400_naming_it(world, client_for):
    """The schema says ``years`` is required (a default would silently reset an existing
    policy): without it the answer is a 400 naming it, never a 500."""
    client = client_for(world.admin_a)
    response = client.post(
        "/api/warranty-policies/",
        json.dumps({"device_type": "ukey"}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"].keys() == {"years"}
    world.policy.refresh_from_db()
    assert world.policy.years == 4
    schema = client.get("/api/schema/?format=json").json()
    assert "years" in schema["components"]["schemas"]["WarrantyPolicyRequest"]["required"]
