"""Document numbers: one locked sequence row per unit and prefix, seeded once from the
numbers already issued."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from taxdesk.core.models import NumberSequence
from taxdesk.core.numbering import next_number
from taxdesk.sales.models import Sale

PREFIX = "XS900-20260926-"


def issue(world, number, unit=None):
    unit = unit or world.unit_a
    taxpayer = world.pa1 if unit == world.unit_a else world.pb1
    return Sale.objects.create(
        service_unit=unit, taxpayer=taxpayer, number=number, sold_on=timezone.now()
    )


def test_a_new_prefix_starts_at_one(cast):
    assert next_number(cast.unit_a, PREFIX, width=4, issued=Sale.objects.all()) == f"{PREFIX}0001"
    assert next_number(cast.unit_a, PREFIX, width=4, issued=Sale.objects.all()) == f"{PREFIX}0002"


def test_numbers_issued_before_the_sequence_are_continued(cast):
    issue(cast, f"{PREFIX}0007")
    issue(cast, f"{PREFIX}0003")
    issue(cast, "XS900-20260927-0042")  # another day's prefix does not count
    assert next_number(cast.unit_a, PREFIX, width=4, issued=Sale.objects.all()) == f"{PREFIX}0008"


def test_once_started_no_issued_number_is_searched(cast):
    next_number(cast.unit_a, PREFIX, width=4, issued=Sale.objects.all())
    with CaptureQueriesContext(connection) as queries:
        number = next_number(cast.unit_a, PREFIX, width=4, issued=Sale.objects.all())
    assert number == f"{PREFIX}0002"
    statements = " ".join(q["sql"] for q in queries.captured_queries)
    assert "devices_sale" not in statements
    assert "LIKE" not in statements.upper()


def test_units_and_prefixes_count_apart(cast):
    issued = Sale.objects.all()
    assert next_number(cast.unit_a, PREFIX, width=4, issued=issued).endswith("0001")
    assert next_number(cast.unit_b, PREFIX, width=4, issued=issued).endswith("0001")
    assert next_number(cast.unit_a, "HT-A-2026-", width=5, issued=issued) == "HT-A-2026-00001"
    assert NumberSequence.objects.count() == 3


def test_a_rolled_back_record_gives_its_number_back(cast):
    issued = Sale.objects.all()
    with pytest.raises(RuntimeError), transaction.atomic():
        assert next_number(cast.unit_a, PREFIX, width=4, issued=issued).endswith("0001")
        raise RuntimeError("the sale failed")
    assert next_number(cast.unit_a, PREFIX, width=4, issued=issued).endswith("0001")
