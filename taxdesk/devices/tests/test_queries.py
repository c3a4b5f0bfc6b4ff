"""Shared reads: the stock summary, status counts, and the one filterset of page and API."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from taxdesk.devices.choices import DeviceStatus, DeviceType
from taxdesk.devices.filtersets import DeviceFilterSet, StockBatchFilterSet
from taxdesk.devices.models import Device, StockBatch
from taxdesk.devices.queries import batch_counts, held_by, status_counts, stock_summary
from taxdesk.testing.devices import receive


def test_stock_summary_counts_devices_in_stock_per_unit_and_type_in_one_query(fleet):
    receive(fleet.unit_a, DeviceType.UKEY, "U-1", ["537100000001"], by=fleet.admin_a)
    with CaptureQueriesContext(connection) as ctx:
        summary = stock_summary(Device.objects.all())
    assert len(ctx.captured_queries) == 1
    by_unit = {row["unit"]: (row["counts"], row["total"]) for row in summary}
    assert [row["unit"] for row in summary] == [
        fleet.unit_a.name,
        fleet.unit_b.name,
        fleet.unit_c.name,
    ]
    assert by_unit[fleet.unit_a.name] == (
        {
            DeviceType.GOLDEN_TAX_DISK: 2,
            DeviceType.TAX_CONTROL_DISK: 0,
            DeviceType.REPORTING_DISK: 1,
            DeviceType.UKEY: 1,
        },
        4,
    )
    assert by_unit[fleet.unit_b.name][1] == 1
    assert by_unit[fleet.unit_c.name][0][DeviceType.GOLDEN_TAX_DISK] == 1


@pytest.mark.parametrize(
    ("username", "units"),
    [("admin_b", {"b"}), ("supervisor_x", {"a", "b"}), ("tax_a", set()), ("taxpayer_pa1", set())],
)
def test_stock_summary_of_what_a_user_sees(fleet, username, units):
    summary = stock_summary(Device.objects.restrict(fleet.users[username]))
    assert {row["unit_id"] for row in summary} == {fleet.units[f"unit_{u}"].pk for u in units}


def test_status_and_batch_counts(fleet):
    counts = status_counts(Device.objects.filter(service_unit=fleet.unit_a))
    assert counts[DeviceStatus.IN_STOCK] == 3
    assert counts[DeviceStatus.SOLD] == 2
    assert counts[DeviceStatus.IN_USE] == 1
    assert counts[DeviceStatus.RETURNED] == 0
    with CaptureQueriesContext(connection) as ctx:
        per_batch = batch_counts([fleet.GA.pk, fleet.RA.pk, fleet.TB.pk])
    assert len(ctx.captured_queries) == 1
    assert per_batch[fleet.GA.pk] == {"total": 4, "in_stock": 2}
    assert per_batch[fleet.RA.pk] == {"total": 2, "in_stock": 1}
    assert per_batch[fleet.TB.pk] == {"total": 2, "in_stock": 1}


def test_held_by_lists_what_a_taxpayer_holds_now(fleet):
    assert [d.serial for d in held_by(fleet.pa1)] == ["661100000003", "881100000001"]
    assert [d.serial for d in held_by(fleet.pb1)] == ["551200000002"]


# --------------------------------------------------------------------------- the filterset
def filtered(fleet, user, **params) -> set[str]:
    request = RequestFactory().get("/devices/", params)
    request.user = user
    filterset = DeviceFilterSet(params, queryset=Device.objects.restrict(user), request=request)
    assert filterset.is_valid(), filterset.errors
    return {fleet.device_key(d) for d in filterset.qs}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "661100000003"}, {"gold_pa1"}),  # exact serial
        ({"q": "6611"}, {"ga_stock1", "ga_stock2", "gold_pa1", "gold_pa2"}),  # its beginning
        ({"q": "661"}, {"ga_stock1", "ga_stock2", "gold_pa1", "gold_pa2", "gc_stock", "gold_pc1"}),
        ({"q": "８８１１"}, {"rep_pa1", "rep_stock"}),  # typed full-width
        ({"q": "pa1"}, {"gold_pa1", "rep_pa1"}),  # part of the taxpayer's name
        ({"q": "企业p"}, {"gold_pa1", "rep_pa1", "gold_pa2", "tc_pb1", "gold_pc1"}),
        ({"q": "91330100MA0000PA2"}, {"gold_pa2"}),  # the taxpayer's number
        ({"q": "9999"}, set()),
        ({"device_type": DeviceType.REPORTING_DISK}, {"rep_pa1", "rep_stock"}),
        ({"status": DeviceStatus.IN_USE}, {"gold_pa1"}),
        ({"warranty": "under"}, {"gold_pa1", "rep_pa1", "tc_pb1", "gold_pc1"}),
        ({"warranty": "out"}, {"gold_pa2"}),
        ({"warranty": "none"}, {"ga_stock1", "ga_stock2", "rep_stock", "tb_stock", "gc_stock"}),
    ],
)
def test_device_filters(fleet, params, expected):
    assert filtered(fleet, fleet.root, **params) == expected


def test_device_filters_by_taxpayer_batch_and_unit(fleet):
    assert filtered(fleet, fleet.root, taxpayer=fleet.pa1.pk) == {"gold_pa1", "rep_pa1"}
    assert filtered(fleet, fleet.root, batch=fleet.RA.pk) == {"rep_pa1", "rep_stock"}
    assert filtered(fleet, fleet.root, service_unit=fleet.unit_b.pk) == {"tb_stock", "tc_pb1"}
    assert filtered(fleet, fleet.root, status=DeviceStatus.SOLD, taxpayer=fleet.pa1.pk) == {
        "rep_pa1"
    }


def test_the_unit_filter_offers_only_units_in_reach(fleet):
    request = RequestFactory().get("/devices/", {"service_unit": fleet.unit_b.pk})
    request.user = fleet.admin_a
    filterset = DeviceFilterSet(
        request.GET, queryset=Device.objects.restrict(fleet.admin_a), request=request
    )
    assert list(filterset.form.fields["service_unit"].queryset) == [fleet.unit_a]
    assert not filterset.is_valid()  # unit B is not a choice for unit A's staff


def test_filters_never_widen_the_scope(fleet):
    assert filtered(fleet, fleet.admin_b, q="6611") == set()
    assert filtered(fleet, fleet.taxpayer_pa1, taxpayer=fleet.pa2.pk) == set()
    assert filtered(fleet, fleet.tax_a, status=DeviceStatus.IN_STOCK) == set()


def test_batch_filters(fleet):
    def batches(**params):
        request = RequestFactory().get("/devices/batches/", params)
        request.user = fleet.root
        filterset = StockBatchFilterSet(params, queryset=StockBatch.objects.all(), request=request)
        assert filterset.is_valid(), filterset.errors
        return {fleet.batch_key(b) for b in filterset.qs}

    assert batches(q="ck-a") == {"GA", "RA"}
    assert batches(q="百望") == {"TB"}
    assert batches(device_type=DeviceType.GOLDEN_TAX_DISK) == {"GA", "GC"}
    assert batches(service_unit=fleet.unit_c.pk) == {"GC"}
    received = fleet.GA.received_on.isoformat()
    assert batches(received_from=received, received_to=received) == {"GA", "RA", "TB", "GC"}
