"""Another unit's id is answered exactly as an id that does not exist, on every API endpoint
that takes an id of another record (a body field or a list filter).

For each endpoint, a user of unit A sends (a) an id that does not exist and (b) the id of a
record of unit B that does exist; the two answers must be identical but for the id itself:
same status, same error code, same message, same fields. A body field out of reach is a 400
naming the field with DRF's "does_not_exist"; an id filter out of reach is "not a valid
choice", or finds nothing, either way as a missing id.

Two guard tests list every writable related field of every API serializer (each must be a
``ScopedRelatedField``) and every list filter that names another record: each must have its
case here, so a new one cannot be added unchecked.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import django_filters
import pytest
from django.core.exceptions import FieldDoesNotExist
from django.utils import timezone
from rest_framework import relations, serializers

from taxdesk.core.api import serializers as BASES
from taxdesk.core.api.fields import ScopedRelatedField
from taxdesk.customers.models import Contact
from taxdesk.sales.actions import sell_devices
from taxdesk.testing.billing import build_billing
from taxdesk.testing.customers import credit_code
from taxdesk.testing.devices import build_fleet
from taxdesk.testing.imports import imports_inline, taxpayers_upload  # noqa: F401  (fixture)

MISSING = 987_654_321  # an id no table of the test database reaches


@pytest.fixture
def world(cast):
    """The cast with devices, fee schedules, contracts and charges in every unit, a sale in
    unit B and a contact in unit A."""
    fleet = build_fleet(cast)
    billing = build_billing(cast)
    fleet.schedules = billing.schedules
    fleet.contracts = billing.contracts
    fleet.sale_b = sell_devices(
        taxpayer=cast.pb1,
        serials=[fleet.tb_stock.serial],
        sold_at=timezone.now(),
        by=cast.admin_b,
    )
    fleet.contact_pa1 = Contact.objects.create(taxpayer=cast.pa1, name="张三", mobile="13812345678")
    fleet.contact_pb1 = Contact.objects.create(taxpayer=cast.pb1, name="王五", mobile="13912345678")
    return fleet


# --------------------------------------------------------------------------- the cases
@dataclass(frozen=True)
class Case:
    """One id an endpoint takes: how to send it, whose record of unit B to name, and what a
    unit A user is answered for both ids."""

    method: str
    url: Callable[[object], str]
    # The request's data with the id in it (the body, or the query of a GET).
    data: Callable[[object, object], dict]
    # The id of an existing record of unit B (or of body Y, for a supervision body).
    foreign: Callable[[object], object]
    # Where the id goes: a serializer field ("SaleRequestSerializer.taxpayer") or a list's
    # filter ("sale?taxpayer", by the router's basename); "" for a read-only field.
    field: str = ""
    # "does_not_exist": 400 naming the field; "invalid_choice": a filter's 400; "empty": a
    # list that finds nothing; "ignored": a filter not offered to the caller, left aside;
    # "refused": a read-only field, a 400 "unknown_field" naming it; "same": only the two
    # answers' being identical is checked.
    expect: str = "does_not_exist"
    multipart: bool = False
    # What names no record (the taxpayer filters of billing take a number, not an id).
    missing: Callable[[object], object] = lambda w: MISSING


def _taxpayer(w, **extra) -> dict:
    return {
        "number": credit_code(),
        "name": "接口注册有限公司",
        "address": "某路 1 号",
        "district": "西湖区",
        "tax_office": w.office_a.pk,
        "taxpayer_type": "small",
        "approved_on": "2025-09-01",
        "invoice_types": ["digital"],
        "contacts": [{"name": "张三", "mobile": "13812345678"}],
        **extra,
    }


def _batch(w, **extra) -> dict:
    return {
        "device_type": "golden_tax_disk",
        "delivery_note": "CK-FOREIGN",
        "received_on": timezone.localdate().isoformat(),
        "serials": ["661800000001"],
        **extra,
    }


def _charge(w, **extra) -> dict:
    return {
        "taxpayer": w.pa1.pk,
        "fee_kind": "onsite",
        "service_date": "2025-03-01",
        **extra,
    }


def _schedule(w, unit_id) -> dict:
    return {
        "service_unit": unit_id,
        "name": "2030 标准",
        "valid_from": "2030-01-01",
        "supervision_approval": "监督〔2029〕1号",
        "tax_approval": "税〔2029〕2号",
        "approved_on": "2029-12-01",
        "items": [{"kind": "onsite", "amount": "100.00"}],
    }


def _b_item(w) -> int:
    return w.schedules["fees_b_2017"].items.order_by("pk").first().pk


def _upload(w, unit_id) -> dict:
    return {"kind": "taxpayers", "file": taxpayers_upload([]), "service_unit": unit_id}


CASES: dict[str, Case] = {
    # ----------------------------------------------------------------- bodies: taxpayers
    "taxpayer create: service_unit": Case(
        "post",
        lambda w: "/api/taxpayers/",
        lambda w, i: _taxpayer(w, service_unit=i),
        lambda w: w.unit_b.pk,
        "TaxpayerSerializer.service_unit",
    ),
    "taxpayer create: tax_office": Case(
        "post",
        lambda w: "/api/taxpayers/",
        lambda w, i: _taxpayer(w, tax_office=i),
        lambda w: w.office_b.pk,
        "TaxpayerSerializer.tax_office",
    ),
    "taxpayer change: service_unit": Case(
        "patch",
        lambda w: f"/api/taxpayers/{w.pa1.pk}/",
        lambda w, i: {"service_unit": i},
        lambda w: w.unit_b.pk,
    ),
    "taxpayer change: tax_office": Case(
        "patch",
        lambda w: f"/api/taxpayers/{w.pa1.pk}/",
        lambda w, i: {"tax_office": i},
        lambda w: w.office_b.pk,
    ),
    "taxpayer change of tax office: to": Case(
        "post",
        lambda w: f"/api/taxpayers/{w.pa1.pk}/change-tax-office/",
        lambda w, i: {"to": i, "effective_on": timezone.localdate().isoformat()},
        lambda w: w.office_b.pk,
        "TaxOfficeChangeSerializer.to",
    ),
    "contact create: taxpayer": Case(
        "post",
        lambda w: "/api/contacts/",
        lambda w, i: {"taxpayer": i, "name": "李四", "mobile": "13900001111"},
        lambda w: w.pb1.pk,
        "ContactSerializer.taxpayer",
    ),
    "contact change: taxpayer": Case(
        "patch",
        lambda w: f"/api/contacts/{w.contact_pa1.pk}/",
        lambda w, i: {"taxpayer": i},
        lambda w: w.pb1.pk,
        expect="refused",  # a contact never moves to another taxpayer: read-only there
    ),
    # ----------------------------------------------------------------- bodies: devices
    "device pairing: device": Case(
        "post",
        lambda w: f"/api/devices/{w.ga_stock1.pk}/pair/",
        lambda w, i: {"device": i},
        lambda w: w.tb_stock.pk,
        "PairSerializer.device",
    ),
    "stock receipt: service_unit": Case(
        "post",
        lambda w: "/api/stock-batches/",
        lambda w, i: _batch(w, service_unit=i),
        lambda w: w.unit_b.pk,
        "StockBatchSerializer.service_unit",
    ),
    "warranty policy: service_unit": Case(
        "post",
        lambda w: "/api/warranty-policies/",
        lambda w, i: {"service_unit": i, "device_type": "ukey", "years": 4},
        lambda w: w.unit_b.pk,
        "WarrantyPolicySerializer.service_unit",
    ),
    # ----------------------------------------------------------------- bodies: sales
    "sale: taxpayer": Case(
        "post",
        lambda w: "/api/sales/",
        lambda w, i: {
            "taxpayer": i,
            "serials": [w.ga_stock1.serial],
            "sold_at": timezone.now().isoformat(),
        },
        lambda w: w.pb1.pk,
        "SaleRequestSerializer.taxpayer",
    ),
    # ----------------------------------------------------------------- bodies: billing
    "fee schedule: service_unit": Case(
        "post",
        lambda w: "/api/fee-schedules/",
        _schedule,
        lambda w: w.unit_b.pk,
        "FeeScheduleCreateSerializer.service_unit",
    ),
    "charge: taxpayer": Case(
        "post",
        lambda w: "/api/charges/",
        lambda w, i: _charge(w, taxpayer=i),
        lambda w: w.pb1.pk,
        "ChargeCreateSerializer.taxpayer",
    ),
    "charge: device": Case(
        "post",
        lambda w: "/api/charges/",
        lambda w, i: _charge(w, device=i),
        lambda w: w.tc_pb1.pk,
        "ChargeCreateSerializer.device",
    ),
    "charge: contract": Case(
        "post",
        lambda w: "/api/charges/",
        lambda w, i: _charge(w, contract=i),
        lambda w: w.contracts["contract_pb1"].pk,
        "ChargeCreateSerializer.contract",
    ),
    "charge: sale": Case(
        "post",
        lambda w: "/api/charges/",
        lambda w, i: _charge(w, sale=i),
        lambda w: w.sale_b.pk,
        "ChargeCreateSerializer.sale",
    ),
    "charge: item": Case(
        "post",
        lambda w: "/api/charges/",
        lambda w, i: _charge(w, fee_kind="repair", item=i),
        _b_item,
        "ChargeCreateSerializer.item",
    ),
    "contract: taxpayer": Case(
        "post",
        lambda w: "/api/contracts/",
        lambda w, i: {"taxpayer": i, "starts_on": "2026-01-01"},
        lambda w: w.pb1.pk,
        "ContractCreateSerializer.taxpayer",
    ),
    # ----------------------------------------------------------------- bodies: imports, core
    "import upload: service_unit": Case(
        "post",
        lambda w: "/api/imports/",
        _upload,
        lambda w: w.unit_b.pk,
        "ImportUploadSerializer.service_unit",
        multipart=True,
    ),
    "unit settings: supervision_body": Case(
        "patch",
        lambda w: f"/api/units/{w.unit_a.pk}/",
        lambda w, i: {"supervision_body": i},
        lambda w: w.body_y.pk,
        expect="refused",  # read-only: a unit does not change body through the API
    ),
    "message send: contact": Case(
        "post",
        lambda w: "/api/messages/",
        lambda w, i: {"channel": "sms", "contact": i, "body": "您好"},
        lambda w: w.contact_pb1.pk,
        "SendRequestSerializer.contact",
    ),
    # ----------------------------------------------------------------- id filters
    "messages by service_unit": Case(
        "get",
        lambda w: "/api/messages/",
        lambda w, i: {"service_unit": i},
        lambda w: w.unit_b.pk,
        "message?service_unit",
        expect="invalid_choice",
    ),
    "messages by taxpayer": Case(
        "get",
        lambda w: "/api/messages/",
        lambda w, i: {"taxpayer": i},
        lambda w: w.pb1.pk,
        "message?taxpayer",
        expect="empty",
    ),
    "message templates by service_unit": Case(
        "get",
        lambda w: "/api/message-templates/",
        lambda w, i: {"service_unit": i},
        lambda w: w.unit_b.pk,
        "message-template?service_unit",
        expect="invalid_choice",
    ),
    "taxpayers by service_unit": Case(
        "get",
        lambda w: "/api/taxpayers/",
        lambda w, i: {"service_unit": i},
        lambda w: w.unit_b.pk,
        "taxpayer?service_unit",
        expect="ignored",  # a unit's staff have one unit: the filter is not offered
    ),
    "taxpayers by tax_office": Case(
        "get",
        lambda w: "/api/taxpayers/",
        lambda w, i: {"tax_office": i},
        lambda w: w.office_b.pk,
        "taxpayer?tax_office",
        expect="invalid_choice",
    ),
    "contacts by taxpayer": Case(
        "get",
        lambda w: "/api/contacts/",
        lambda w, i: {"taxpayer": i},
        lambda w: w.pb1.pk,
        "contact?taxpayer",
        expect="empty",
    ),
    "devices by taxpayer": Case(
        "get",
        lambda w: "/api/devices/",
        lambda w, i: {"taxpayer": i},
        lambda w: w.pb1.pk,
        "device?taxpayer",
        expect="empty",
    ),
    "devices by batch": Case(
        "get",
        lambda w: "/api/devices/",
        lambda w, i: {"batch": i},
        lambda w: w.batches["TB"].pk,
        "device?batch",
        expect="empty",
    ),
    "devices by service_unit": Case(
        "get",
        lambda w: "/api/devices/",
        lambda w, i: {"service_unit": i},
        lambda w: w.unit_b.pk,
        "device?service_unit",
        expect="invalid_choice",
    ),
    "stock batches by service_unit": Case(
        "get",
        lambda w: "/api/stock-batches/",
        lambda w, i: {"service_unit": i},
        lambda w: w.unit_b.pk,
        "stock-batch?service_unit",
        expect="invalid_choice",
    ),
    "fee schedules by service_unit": Case(
        "get",
        lambda w: "/api/fee-schedules/",
        lambda w, i: {"service_unit": i},
        lambda w: w.unit_b.pk,
        "fee-schedule?service_unit",
        expect="invalid_choice",
    ),
    "deadlines by service_unit": Case(
        "get",
        lambda w: "/api/deadlines/",
        lambda w, i: {"service_unit": i},
        lambda w: w.unit_b.pk,
        "deadline?service_unit",
        expect="invalid_choice",
    ),
    "units by supervision_body": Case(
        "get",
        lambda w: "/api/units/",
        lambda w, i: {"supervision_body": i},
        lambda w: w.body_y.pk,
        "unit?supervision_body",
        expect="invalid_choice",
    ),
    "charges by taxpayer number": Case(
        "get",
        lambda w: "/api/charges/",
        lambda w, number: {"taxpayer": number},
        lambda w: w.pb1.number,
        "charge?taxpayer",
        expect="empty",
        missing=lambda w: "91330100MA9999999X",
    ),
    "contracts by taxpayer number": Case(
        "get",
        lambda w: "/api/contracts/",
        lambda w, number: {"taxpayer": number},
        lambda w: w.pb1.number,
        "contract?taxpayer",
        expect="empty",
        missing=lambda w: "91330100MA9999999X",
    ),
    # The sales list's filters (its filterset is being added on main): until it lands the
    # parameters are ignored, after it they must still be answered alike.
    "sales by taxpayer": Case(
        "get",
        lambda w: "/api/sales/",
        lambda w, i: {"taxpayer": i},
        lambda w: w.pb1.pk,
        "sale?taxpayer",
        expect="same",
    ),
    "sales by service_unit": Case(
        "get",
        lambda w: "/api/sales/",
        lambda w, i: {"service_unit": i},
        lambda w: w.unit_b.pk,
        "sale?service_unit",
        expect="same",
    ),
}


def _send(client, case: Case, world, some_id):
    url = case.url(world)
    data = case.data(world, some_id)
    if case.method == "get":
        return client.get(url, data)
    if case.multipart:
        return client.post(url, data)
    return getattr(client, case.method)(url, json.dumps(data), content_type="application/json")


def _without(value, some_id):
    """The answer with the id it names (in messages) written as <id>."""
    pattern = re.compile(rf"(?<![0-9A-Z]){re.escape(str(some_id))}(?![0-9A-Z])")
    if isinstance(value, dict):
        return {k: _without(v, some_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_without(v, some_id) for v in value]
    if isinstance(value, str):
        return pattern.sub("<id>", value)
    return value


def _answer(response, some_id) -> tuple[int, object]:
    body = response.json()
    if isinstance(body, dict) and "error" in body:
        body = _without(body, some_id)  # only error messages may name the id
    return response.status_code, body


@pytest.mark.usefixtures("imports_inline")
@pytest.mark.parametrize("name", sorted(CASES))
def test_another_units_id_is_answered_as_a_missing_one(world, client_for, name):
    case = CASES[name]
    client = client_for(world.admin_a)
    foreign, nothing = case.foreign(world), case.missing(world)
    assert foreign != nothing
    missing = _answer(_send(client, case, world, nothing), nothing)
    other = _answer(_send(client, case, world, foreign), foreign)
    assert other == missing, name
    status, body = missing
    if case.expect == "does_not_exist":
        assert status == 400, body
        assert body["error"]["code"] == "does_not_exist", body
        field = case.field.rsplit(".", 1)[-1] if "." in case.field else None
        if field:
            assert list(body["error"]["fields"]) == [field], body
        else:
            assert len(body["error"]["fields"]) == 1, body
    elif case.expect == "invalid_choice":
        assert status == 400 and body["error"]["code"] == "invalid_choice", body
    elif case.expect == "empty":
        assert status == 200 and body["results"] == [], body
    elif case.expect == "ignored":
        assert status == 200, body
    elif case.expect == "refused":
        assert status == 400 and body["error"]["code"] == "unknown_field", body
        assert list(body["error"]["fields"]) == list(case.data(world, nothing)), body


# --------------------------------------------------------------------------- the guard
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


def _serializers():
    for module in API_MODULES:
        importlib.import_module(module)
    seen, stack = set(), [serializers.BaseSerializer]
    while stack:
        for cls in stack.pop().__subclasses__():
            if cls not in seen:
                seen.add(cls)
                stack.append(cls)
    return sorted(
        (
            cls
            for cls in seen
            if cls.__module__.startswith("taxdesk.") and cls.__module__ != BASES.__name__
        ),
        key=lambda cls: (cls.__module__, cls.__name__),
    )


class _Request:
    """Enough of a request for a serializer to build its fields."""

    class user:
        is_authenticated = is_active = is_superuser = True
        role = ""


def writable_related_fields() -> dict[str, object]:
    found = {}
    for cls in _serializers():
        for name, field in cls(context={"request": _Request}).fields.items():
            if field.read_only:
                continue
            if isinstance(field, relations.ManyRelatedField):
                field = field.child_relation
            if isinstance(field, relations.RelatedField):
                found[f"{cls.__name__}.{name}"] = field
    return found


def test_every_writable_related_field_is_scoped_and_checked_here():
    fields = writable_related_fields()
    assert fields, "no writable related field found: is the scan broken?"
    not_scoped = sorted(k for k, f in fields.items() if not isinstance(f, ScopedRelatedField))
    assert not_scoped == []
    covered = {case.field for case in CASES.values() if "." in case.field}
    assert set(fields) == covered


def id_filters() -> set[str]:
    """ "<basename>?<filter>" of every API list filter that names another record: a choice
    of records, or a filter on a relation (by id, or by the taxpayer's number)."""
    from taxdesk.api_urls import router

    found = set()
    for _prefix, viewset, basename in router.registry:
        filterset = getattr(viewset, "filterset_class", None)
        if filterset is None:
            continue
        model = filterset._meta.model
        for name, filter_ in filterset.base_filters.items():
            if isinstance(
                filter_, django_filters.ModelChoiceFilter | django_filters.ModelMultipleChoiceFilter
            ):
                found.add(f"{basename}?{name}")
                continue
            if filter_.method:
                continue
            try:
                target = model._meta.get_field((filter_.field_name or "").split("__")[0])
            except FieldDoesNotExist:
                continue
            if target.is_relation:
                found.add(f"{basename}?{name}")
    return found


def test_every_id_filter_of_the_api_is_checked_here():
    found = id_filters()
    assert "device?taxpayer" in found, "is the scan broken?"
    covered = {case.field for case in CASES.values() if "?" in case.field}
    assert found - covered == set()


def test_the_foreign_records_are_really_there(world):
    """Each body case's other-unit id names a record of the field's model that exists and
    that unit A's staff do not see (else the case proves nothing)."""
    fields = writable_related_fields()
    for name, case in CASES.items():
        if "." not in case.field:
            continue
        model = fields[case.field].model
        foreign = case.foreign(world)
        assert model._base_manager.filter(pk=foreign).exists(), name
        assert not model.objects.restrict(world.admin_a).filter(pk=foreign).exists(), name
        assert not model._base_manager.filter(pk=MISSING).exists(), name
