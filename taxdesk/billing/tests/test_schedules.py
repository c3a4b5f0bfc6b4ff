"""Fee schedules: approvals (MNT-13), items, no overlap within a unit, closing, and prices
that no longer change once used."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from taxdesk.billing.actions import (
    close_fee_schedule,
    create_charge,
    create_fee_schedule,
    update_fee_schedule,
)
from taxdesk.billing.choices import FeeKind
from taxdesk.billing.models import FeeItem, FeeSchedule
from taxdesk.core.models import AuditEntry
from taxdesk.testing.billing import items_2012, items_2017, make_schedule, signed_contract

D = Decimal


def schedule_args(cast, **overrides):
    args = {
        "service_unit": cast.unit_a,
        "name": "2017年收费标准",
        "valid_from": date(2017, 7, 1),
        "valid_to": None,
        "supervision_approval": "监督批复〔2017〕8号",
        "tax_approval": "税务批复〔2017〕12号",
        "approved_on": date(2017, 6, 20),
        "items": items_2017(),
        "by": cast.admin_a,
    }
    args.update(overrides)
    return args


def refused(call, **kwargs):
    with pytest.raises(ValidationError) as caught:
        call(**kwargs)
    return caught.value


def field_codes(error: ValidationError) -> dict[str, list[str]]:
    return {field: [e.code for e in errors] for field, errors in error.error_dict.items()}


def test_create_with_items_and_audit(cast):
    schedule = create_fee_schedule(**schedule_args(cast))
    items = {(i.kind, i.device_type): i for i in schedule.items.all()}
    assert items[("device", "golden_tax_disk")].amount == D("200.00")
    assert items[("maintenance", "")].amount == D("280.00")
    assert items[("maintenance", "")].name  # a default name from the kind
    assert {i.name for i in schedule.items.filter(kind=FeeKind.REPAIR)} == {
        "更换USB接口",
        "主板维修",
    }
    entry = AuditEntry.objects.filter(object_id=str(schedule.pk), object_repr=schedule.name).get()
    assert entry.actor == cast.admin_a
    assert entry.unit_id == cast.unit_a.pk


@pytest.mark.rule("MNT-13")
def test_mnt_13_both_approvals_are_required(cast):
    error = refused(
        create_fee_schedule, **schedule_args(cast, supervision_approval=" ", tax_approval="")
    )
    assert field_codes(error) == {
        "supervision_approval": ["approval_required"],
        "tax_approval": ["approval_required"],
    }
    assert not FeeSchedule.objects.exists()


@pytest.mark.rule("MNT-13")
def test_mnt_13_not_in_force_before_its_approval(cast):
    error = refused(create_fee_schedule, **schedule_args(cast, approved_on=date(2017, 7, 2)))
    assert field_codes(error) == {"approved_on": ["approved_after_start"]}
    # Approved on the first day itself is fine.
    create_fee_schedule(**schedule_args(cast, approved_on=date(2017, 7, 1)))


def test_period_and_future_approval_refused(cast):
    error = refused(create_fee_schedule, **schedule_args(cast, valid_to=date(2017, 6, 30)))
    assert field_codes(error) == {"valid_to": ["period"]}
    tomorrow = timezone.localdate() + timedelta(days=1)
    error = refused(
        create_fee_schedule,
        **schedule_args(cast, approved_on=tomorrow, valid_from=tomorrow),
    )
    assert field_codes(error) == {"approved_on": ["future"]}


@pytest.mark.parametrize(
    ("items", "code"),
    [
        ([], "items_required"),
        ([{"kind": "gift", "amount": "1"}], "kind"),
        ([{"kind": "device", "amount": "200"}], "device_type_required"),
        ([{"kind": "maintenance", "device_type": "ukey", "amount": "1"}], "device_type_unexpected"),
        ([{"kind": "repair", "amount": "50"}], "name_required"),
        ([{"kind": "maintenance", "amount": "-1"}], "amount_negative"),
        ([{"kind": "maintenance", "amount": "280.001"}], "amount_places"),
        ([{"kind": "maintenance", "amount": "abc"}], "amount_invalid"),
        ([{"kind": "maintenance"}], "amount_invalid"),
        (
            [{"kind": "maintenance", "amount": "280"}, {"kind": "maintenance", "amount": "330"}],
            "duplicate_item",
        ),
        (
            [
                {"kind": "device", "device_type": "ukey", "amount": "0"},
                {"kind": "device", "device_type": "ukey", "amount": "10"},
            ],
            "duplicate_item",
        ),
        (
            [
                {"kind": "repair", "name": "换壳", "amount": "20"},
                {"kind": "repair", "name": "换壳", "amount": "30"},
            ],
            "duplicate_name",
        ),
    ],
)
def test_items_are_checked(cast, items, code):
    error = refused(create_fee_schedule, **schedule_args(cast, items=items))
    assert code in field_codes(error)["items"]
    assert not FeeSchedule.objects.exists()
    assert not FeeItem.objects.exists()


def test_every_bad_item_row_is_reported_with_its_row(cast):
    items = [
        {"kind": "device", "device_type": "golden_tax_disk", "amount": "200"},
        {"kind": "repair", "amount": "50"},
        {"kind": "maintenance", "amount": "-5"},
    ]
    error = refused(create_fee_schedule, **schedule_args(cast, items=items))
    assert field_codes(error)["items"] == ["name_required", "amount_negative"]
    messages = [e.messages[0] for e in error.error_dict["items"]]
    assert "2" in messages[0] and "3" in messages[1]


def test_repair_items_by_name_and_zero_prices_allowed(cast):
    schedule = create_fee_schedule(
        **schedule_args(
            cast,
            items=[
                {"kind": "device", "device_type": "ukey", "amount": D("0")},
                {"kind": "repair", "name": "换壳", "amount": D("20")},
                {"kind": "repair", "name": "换接口", "amount": D("30.50")},
            ],
        )
    )
    assert schedule.items.count() == 3


# ---------------------------------------------------------------------------- overlaps
@pytest.fixture
def closed_2012(cast):
    return make_schedule(
        cast.unit_a,
        valid_from=date(2012, 1, 1),
        valid_to=date(2017, 6, 30),
        items=items_2012(),
        name="2012标准",
    )


@pytest.mark.parametrize(
    ("valid_from", "valid_to"),
    [
        (date(2012, 1, 1), date(2012, 12, 31)),  # inside
        (date(2011, 1, 1), date(2012, 1, 1)),  # touches its first day
        (date(2017, 6, 30), None),  # open-ended from its last day
        (date(2010, 1, 1), None),  # open-ended from before: reaches everything after
        (date(2010, 1, 1), date(2020, 1, 1)),  # around it
    ],
)
def test_overlap_with_a_closed_schedule_refused(cast, closed_2012, valid_from, valid_to):
    error = refused(
        create_fee_schedule,
        **schedule_args(
            cast,
            valid_from=valid_from,
            valid_to=valid_to,
            approved_on=min(valid_from, date(2010, 1, 1)),
        ),
    )
    assert field_codes(error) == {"valid_from": ["schedule_overlap"]}
    assert "2012标准" in error.error_dict["valid_from"][0].messages[0]
    assert FeeSchedule.objects.count() == 1


def test_adjacent_periods_do_not_overlap(cast, closed_2012):
    create_fee_schedule(**schedule_args(cast, valid_from=date(2017, 7, 1)))
    create_fee_schedule(
        **schedule_args(
            cast,
            name="2011",
            valid_from=date(2011, 1, 1),
            valid_to=date(2011, 12, 31),
            approved_on=date(2010, 12, 1),
        )
    )
    assert FeeSchedule.objects.filter(service_unit=cast.unit_a).count() == 3


def test_an_open_ended_schedule_overlaps_everything_after_it(cast):
    make_schedule(cast.unit_a, valid_from=date(2017, 7, 1), name="开放标准")
    error = refused(
        create_fee_schedule,
        **schedule_args(
            cast,
            valid_from=date(2030, 1, 1),
            valid_to=date(2030, 12, 31),
            approved_on=date(2020, 1, 1),
        ),
    )
    message = error.error_dict["valid_from"][0].messages[0]
    assert "开放标准" in message
    assert "2029-12-31" in message  # says where to close it
    # Before it, a closed period is fine.
    create_fee_schedule(
        **schedule_args(
            cast,
            name="2016",
            valid_from=date(2016, 1, 1),
            valid_to=date(2017, 6, 30),
            approved_on=date(2015, 12, 1),
        )
    )


def test_other_units_schedules_do_not_overlap_ours(cast):
    make_schedule(cast.unit_b, valid_from=date(2017, 7, 1))
    create_fee_schedule(**schedule_args(cast))  # unit A, same period


def test_close_then_start_the_next_one(cast):
    old = make_schedule(
        cast.unit_a, valid_from=date(2012, 1, 1), items=items_2012(), name="2012标准"
    )
    close_fee_schedule(old, date(2017, 6, 30), by=cast.admin_a)
    old.refresh_from_db()
    assert old.valid_to == date(2017, 6, 30)
    new = create_fee_schedule(**schedule_args(cast, valid_from=date(2017, 7, 1)))
    assert new.valid_to is None
    error = refused(close_fee_schedule, schedule=old, valid_to=date(2016, 1, 1), by=cast.admin_a)
    assert field_codes(error) == {"valid_to": ["not_open"]}
    error = refused(close_fee_schedule, schedule=new, valid_to=date(2017, 6, 1), by=cast.admin_a)
    assert field_codes(error) == {"valid_to": ["period"]}


def test_close_keeps_every_charge_inside_the_period(cast):
    schedule = make_schedule(cast.unit_a, valid_from=date(2017, 7, 1))
    signed_contract(cast.pa1)
    create_charge(
        taxpayer=cast.pa1, fee_kind=FeeKind.ONSITE, service_date=date(2025, 5, 1), by=cast.admin_a
    )
    error = refused(
        close_fee_schedule, schedule=schedule, valid_to=date(2025, 4, 30), by=cast.admin_a
    )
    assert field_codes(error) == {"valid_to": ["charges_outside"]}
    close_fee_schedule(schedule, date(2025, 5, 1), by=cast.admin_a)


def test_amounts_of_a_used_schedule_cannot_change(cast):
    schedule = make_schedule(cast.unit_a, valid_from=date(2017, 7, 1))
    # Unused: the items may still be corrected.
    update_fee_schedule(
        schedule, by=cast.admin_a, items=[{"kind": "maintenance", "amount": D("270")}]
    )
    assert list(schedule.items.values_list("amount", flat=True)) == [D("270.00")]
    update_fee_schedule(schedule, by=cast.admin_a, items=items_2017())
    create_charge(
        taxpayer=cast.pa1, fee_kind=FeeKind.ONSITE, service_date=date(2025, 5, 1), by=cast.admin_a
    )
    error = refused(
        update_fee_schedule,
        schedule=schedule,
        by=cast.admin_a,
        items=[{"kind": "maintenance", "amount": D("1")}],
    )
    assert field_codes(error) == {"items": ["schedule_in_use"]}
    assert schedule.items.get(kind="maintenance").amount == D("280.00")
    # The approval details may still be corrected.
    update_fee_schedule(schedule, by=cast.admin_a, tax_approval="税务批复〔2017〕13号")
    schedule.refresh_from_db()
    assert schedule.tax_approval == "税务批复〔2017〕13号"


def test_only_the_units_administrator_enters_schedules(cast):
    for user in (cast.sales_a, cast.dispatcher_a, cast.supervisor_x, cast.tax_a, cast.admin_b):
        error = refused(create_fee_schedule, **schedule_args(cast, by=user))
        assert error.code == "forbidden"
    create_fee_schedule(**schedule_args(cast, by=cast.root))


def test_moving_a_period_onto_another_schedule_is_refused(cast, closed_2012):
    later = create_fee_schedule(**schedule_args(cast, valid_from=date(2017, 7, 1)))
    error = refused(
        update_fee_schedule, schedule=later, by=cast.admin_a, valid_from=date(2017, 6, 25)
    )
    assert field_codes(error) == {"valid_from": ["schedule_overlap"]}
    later.refresh_from_db()
    assert later.valid_from == date(2017, 7, 1)


def test_the_units_row_is_locked_before_the_overlap_check(cast):
    """Two administrators entering overlapping schedules at once: the second waits for the
    first (PostgreSQL: the unit row is locked; SQLite: every transaction is IMMEDIATE)."""
    with CaptureQueriesContext(connection) as ctx:
        create_fee_schedule(**schedule_args(cast))
    sql = [q["sql"] for q in ctx.captured_queries]
    check = next(
        i for i, s in enumerate(sql) if s.startswith("SELECT") and '"billing_feeschedule"' in s
    )
    if connection.features.has_select_for_update:
        lock = next(i for i, s in enumerate(sql) if '"core_serviceunit"' in s and "FOR UPDATE" in s)
        assert lock < check
    else:
        assert connection.settings_dict["OPTIONS"].get("transaction_mode") == "IMMEDIATE"
