"""Finding taxpayers: by number, any part of the name, a contact's phone, a device serial; each
key through its own index. And the list's filters, shared by the page and the API.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from taxdesk.core.scoping import VIEW
from taxdesk.customers import queries, search_index
from taxdesk.customers.filtersets import TaxpayerFilterSet
from taxdesk.customers.models import Taxpayer
from taxdesk.customers.queries import phone_digits, prefix_range, search
from taxdesk.testing.customers import (
    credit_code,
    make_contact,
    make_contract,
    make_device,
    make_taxpayer,
)

SQLITE = connection.vendor == "sqlite"


@pytest.fixture
def world(cast):
    """Three findable taxpayers in unit A and one look-alike in unit B."""
    w = cast
    w.hz = make_taxpayer(cast.unit_a, number=credit_code(1), name="杭州华为科技有限公司")
    w.nb = make_taxpayer(cast.unit_a, number=credit_code(2), name="宁波ABC贸易有限公司")
    w.wz = make_taxpayer(cast.unit_a, number="330106123456789", name="温州小商品店")
    w.other = make_taxpayer(cast.unit_b, number=credit_code(3), name="杭州华为科技分公司")
    make_contact(w.hz, name="张三", mobile="13812345678")
    make_contact(w.nb, name="李四", mobile="13987655678", landline="0574-87654321")
    make_contact(w.other, name="王五", mobile="13812345678")
    make_device(w.hz, "661234567890")
    make_device(w.nb, "ABCD12345678", device_type="ukey")
    make_device(w.other, "661234567891")
    return w


def found(text, queryset=None) -> set[str]:
    queryset = Taxpayer.objects.all() if queryset is None else queryset
    return {t.name for t in search(queryset, text)}


# --------------------------------------------------------------------------- each key
def test_by_whole_number_in_any_case_and_spacing(world):
    code = world.hz.number
    assert found(code) == {world.hz.name}
    assert found(f" {code[:6].lower()} {code[6:]} ") == {world.hz.name}
    assert found("330106123456789") == {world.wz.name}


def test_by_the_beginning_of_the_number(world):
    assert found(world.hz.number[:17]) == {world.hz.name}
    # Every credit code made here starts with 91330100MA000000: the cast's and the others'.
    assert found("91330100MA000000") == {world.hz.name, world.nb.name, world.other.name}
    assert found("33010612") == {world.wz.name}


def test_a_number_prefix_is_a_range_on_the_index():
    condition = prefix_range("number", "9133")
    assert condition.children == [("number__gte", "9133"), ("number__lte", "9133" + "Z" * 16)]


@pytest.mark.parametrize(
    "fragment, expected",
    [
        ("华为科技", {"杭州华为科技有限公司", "杭州华为科技分公司"}),
        ("华为", {"杭州华为科技有限公司", "杭州华为科技分公司"}),  # two characters: no trigram
        ("商品", {"温州小商品店"}),
        ("有限公司", {"杭州华为科技有限公司", "宁波ABC贸易有限公司"}),
        ("abc贸易", {"宁波ABC贸易有限公司"}),  # any case
        ("abc", {"宁波ABC贸易有限公司"}),
        ("州", {"杭州华为科技有限公司", "杭州华为科技分公司", "温州小商品店"}),
        ("华为 科技", set()),
        ("深圳", set()),
    ],
)
def test_by_any_part_of_the_name(world, fragment, expected):
    assert found(fragment) == expected


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("13812345678", {"杭州华为科技有限公司", "杭州华为科技分公司"}),  # the whole mobile
        ("+86 138 1234 5678", {"杭州华为科技有限公司", "杭州华为科技分公司"}),
        ("138-1234-5678", {"杭州华为科技有限公司", "杭州华为科技分公司"}),
        ("5678", {"杭州华为科技有限公司", "杭州华为科技分公司", "宁波ABC贸易有限公司"}),  # 尾号
        ("45678", {"杭州华为科技有限公司", "杭州华为科技分公司"}),
        ("55678", {"宁波ABC贸易有限公司"}),
        ("87654321", {"宁波ABC贸易有限公司"}),  # the landline's end
        ("0574-87654321", {"宁波ABC贸易有限公司"}),
        ("678", set()),  # fewer than four digits is no phone search
        ("13812340000", set()),
    ],
)
def test_by_a_contacts_phone_or_its_last_digits(world, typed, expected):
    assert found(typed) == expected


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("661234567890", {"杭州华为科技有限公司"}),
        ("6612345678", {"杭州华为科技有限公司", "杭州华为科技分公司"}),
        ("abcd1234", {"宁波ABC贸易有限公司"}),
        ("ABCD12345679", set()),
    ],
)
def test_by_a_device_serial_or_its_beginning(world, typed, expected):
    assert found(typed) == expected


def test_search_stays_inside_the_scoped_queryset(world):
    scoped = Taxpayer.objects.restrict(world.admin_a)
    assert found("华为科技", scoped) == {world.hz.name}
    assert found("13812345678", scoped) == {world.hz.name}
    assert found("6612345678", scoped) == {world.hz.name}
    assert found("", scoped) == {t.name for t in scoped}


def test_empty_text_finds_everything(world):
    assert found("   ") == set(Taxpayer.objects.values_list("name", flat=True))


@pytest.mark.parametrize("text", ["华为科技", "5678", "6612345678", "91330100MA000000", "有限"])
def test_too_many_ids_are_matched_inside_the_query_with_the_same_result(world, monkeypatch, text):
    expected = found(text)
    monkeypatch.setattr(queries, "ID_LIMIT", 1)
    assert found(text) == expected


def test_a_search_costs_the_same_few_queries_however_many_match(world):
    def cost(text):
        with CaptureQueriesContext(connection) as ctx:
            list(search(Taxpayer.objects.all(), text))
        return len(ctx.captured_queries)

    few = cost("66123456")
    assert cost("661234567890") < few  # 12 digits not starting 0 or 1: no phone lookups
    for n in range(20):
        make_device(world.hz, f"66123456{n:04d}", unit=world.unit_a)
    assert cost("66123456") == few
    # Name, number, serial, mobile tails, landline tails, then the taxpayers.
    assert few <= 6


@pytest.mark.parametrize(
    "typed, digits",
    [("+86 138 1234 5678", "13812345678"), ("(0571)8765-4321", "057187654321"), ("12a4", None)],
)
def test_phone_digits(typed, digits):
    assert phone_digits(typed) == digits


# --------------------------------------------------------------------------- the name index
def test_the_name_index_follows_renames_and_deletes(world):
    if search_index.name_ids("华为科技", 10) is None:
        pytest.skip("no trigram index on this database")
    gone = make_taxpayer(world.unit_a, name="华为科技（待删）")
    assert set(search_index.name_ids("华为科技", 10)) == {world.hz.pk, world.other.pk, gone.pk}
    Taxpayer.objects.filter(pk=world.hz.pk).update(name="杭州鸿蒙软件有限公司")
    Taxpayer.objects.filter(pk=gone.pk).delete()
    assert search_index.name_ids("华为科技", 10) == [world.other.pk]
    assert search_index.name_ids("鸿蒙软件", 10) == [world.hz.pk]


def test_two_characters_are_found_through_the_pair_index(world):
    if search_index.name_ids("华为", 10) is None:
        pytest.skip("no pair index on this database")
    gone = make_taxpayer(world.unit_a, name="华为（待删）")
    assert set(search_index.name_ids("华为", 10)) == {world.hz.pk, world.other.pk, gone.pk}
    assert set(search_index.name_ids("ab", 10)) == {world.nb.pk}  # any case
    assert search_index.name_ids("为科", 10) is not None
    # One character, or a pair with punctuation, is left to the scoped query.
    assert search_index.name_ids("华", 10) is None
    assert search_index.name_ids("（演", 10) is None
    Taxpayer.objects.filter(pk=world.hz.pk).update(name="杭州鸿蒙软件有限公司")
    Taxpayer.objects.filter(pk=gone.pk).delete()
    assert search_index.name_ids("华为", 10) == [world.other.pk]
    assert search_index.name_ids("鸿蒙", 10) == [world.hz.pk]
    added = make_taxpayer(world.unit_a, name="华为")
    assert set(search_index.name_ids("华为", 10)) == {world.other.pk, added.pk}


def test_a_pair_is_checked_against_the_name(world):
    """The pair index only narrows; the name decides (a pair of the index never brings a
    name without the fragment)."""
    scoped = Taxpayer.objects.restrict(world.sales_a, VIEW)
    assert {t.name for t in search(scoped, "华为")} == {"杭州华为科技有限公司"}
    assert {t.name for t in search(scoped, "为杭")} == set()
    assert {t.name for t in search(scoped, "Ab")} == {"宁波ABC贸易有限公司"}


@pytest.mark.skipif(not SQLITE, reason="the SQLite name index is kept by triggers")
def test_the_sqlite_name_index_comes_back_after_a_table_rebuild(world):
    with connection.cursor() as cursor:
        for trigger in search_index._SQLITE_TRIGGERS:
            cursor.execute(f"DROP TRIGGER {trigger}")
    renamed = make_taxpayer(world.unit_a, name="新建的深圳企业")  # missed by the index
    assert search_index.name_ids("深圳企业", 10) == []
    search_index.ensure_name_index(connection)
    assert search_index.name_ids("深圳企业", 10) == [renamed.pk]
    Taxpayer.objects.filter(pk=renamed.pk).update(name="改名了的企业")
    assert search_index.name_ids("深圳企业", 10) == []


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return " | ".join(str(row[-1]) for row in cursor.fetchall())


@pytest.mark.skipif(not SQLITE, reason="reads SQLite's query plans")
def test_each_key_is_looked_up_through_an_index(world):
    from taxdesk.customers.models import Contact
    from taxdesk.devices.models import Device

    number = Taxpayer.objects.filter(prefix_range("number", "9133")).order_by().values("pk")
    assert "INDEX taxpayer_number_idx (number>? AND number<?)" in _plan(number)
    for field in ("mobile_tail", "landline_tail"):
        tails = Contact.objects.filter(**{field: "5678", f"{field}__gt": ""}).order_by()
        assert f"INDEX contact_{field}_idx ({field}=?)" in _plan(tails.values("taxpayer_id"))
    mobile = Contact.objects.filter(mobile="13812345678").order_by().values("taxpayer_id")
    assert "(mobile=?)" in _plan(mobile)
    serial = Device.objects.filter(prefix_range("serial", "6612")).order_by().values("taxpayer_id")
    assert "(serial>? AND serial<?)" in _plan(serial)
    with connection.cursor() as cursor:
        cursor.execute(
            f"EXPLAIN QUERY PLAN SELECT rowid FROM {search_index.FTS_TABLE} "
            f"WHERE {search_index.FTS_TABLE} MATCH %s",
            ['"华为科"'],
        )
        assert "VIRTUAL TABLE INDEX" in str(cursor.fetchall())
        cursor.execute(
            f"EXPLAIN QUERY PLAN SELECT rowid FROM {search_index.BIGRAM_TABLE} "
            f"WHERE {search_index.BIGRAM_TABLE} MATCH %s",
            ['"华为"'],
        )
        assert "VIRTUAL TABLE INDEX" in str(cursor.fetchall())


# --------------------------------------------------------------------------- filters
def filtered(cast, data, user=None) -> set[str]:
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user or cast.root
    filterset = TaxpayerFilterSet(
        data, queryset=Taxpayer.objects.restrict(request.user), request=request
    )
    assert filterset.is_valid(), filterset.errors
    return {t.name for t in filterset.qs}


def test_filter_by_district_office_status_type_and_unit(world):
    cast = world
    Taxpayer.objects.filter(pk=world.hz.pk).update(
        district="西湖区", taxpayer_type="general", status="abnormal"
    )
    Taxpayer.objects.filter(pk=world.nb.pk).update(district="鄞州区", tax_office=cast.office_a)
    assert filtered(cast, {"district": "西湖区"}) == {world.hz.name}
    assert filtered(cast, {"status": "abnormal"}) == {world.hz.name}
    assert filtered(cast, {"taxpayer_type": "general"}) == {world.hz.name}
    assert filtered(cast, {"tax_office": cast.office_a.pk}) == {
        "企业pa1",
        "企业pa2",
        world.nb.name,
    }
    assert filtered(cast, {"service_unit": cast.unit_b.pk}) == {"企业pb1", world.other.name}
    assert filtered(cast, {"q": "华为", "service_unit": cast.unit_a.pk}) == {world.hz.name}


def test_filter_by_a_held_device_type(world):
    cast = world
    make_device(world.wz, "771234567890", device_type="reporting_disk", status="returned")
    assert filtered(cast, {"device_type": "golden_tax_disk"}) == {world.hz.name, world.other.name}
    assert filtered(cast, {"device_type": "ukey"}) == {world.nb.name}
    # A returned device is no longer held.
    assert filtered(cast, {"device_type": "reporting_disk"}) == set()


def test_filter_by_a_signed_contract_ending_soon(world):
    cast = world
    make_contract(world.hz, ends_in_days=10)
    make_contract(world.nb, ends_in_days=40)
    make_contract(world.wz, ends_in_days=5, state="draft")
    make_contract(world.other, ends_in_days=-1)
    assert filtered(cast, {"contract_expiring": 30}) == {world.hz.name}
    assert filtered(cast, {"contract_expiring": 40}) == {world.hz.name, world.nb.name}
    assert filtered(cast, {"contract_expiring": 9}) == set()
    assert filtered(cast, {"contract_expiring": 10}) == {world.hz.name}


def test_filter_by_entry(world):
    cast = world
    from django.utils import timezone

    Taxpayer.objects.filter(pk=world.hz.pk).update(entered_at=timezone.now())
    assert filtered(cast, {"entered": "true"}) == {world.hz.name}
    assert world.hz.name not in filtered(cast, {"entered": "false"})


def test_the_tax_office_and_unit_choices_are_scoped(cast):
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = cast.admin_a
    form = TaxpayerFilterSet(queryset=Taxpayer.objects.all(), request=request).form
    assert list(form.fields["tax_office"].queryset) == [cast.office_a]
    assert "service_unit" not in form.fields  # one unit: nothing to choose
    request.user = cast.supervisor_x
    form = TaxpayerFilterSet(queryset=Taxpayer.objects.all(), request=request).form
    assert list(form.fields["tax_office"].queryset) == [cast.office_a, cast.office_b]
    assert list(form.fields["service_unit"].queryset) == [cast.unit_a, cast.unit_b]


@pytest.mark.parametrize("data", [{"contract_expiring": "soon"}, {"contract_expiring": "-1"}])
def test_bad_filter_values_are_invalid(cast, data):
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = cast.root
    filterset = TaxpayerFilterSet(data, queryset=Taxpayer.objects.all(), request=request)
    assert not filterset.is_valid()
