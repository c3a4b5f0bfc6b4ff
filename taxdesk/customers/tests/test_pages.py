"""The taxpayer pages for every member of the cast: the list and the taxpayer page show
exactly their rows (404 outside), the forms only to the unit's editors (403 for the others),
errors next to the field, INS-06 on the taxpayer page, and lists whose query count does not
grow with the rows.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from taxdesk.core.models import AuditEntry
from taxdesk.customers.actions import change_status
from taxdesk.customers.models import TAXPAYER_EDITORS, Contact, Taxpayer, TaxpayerChange
from taxdesk.testing.cast import EXPECTED_VIEW
from taxdesk.testing.customers import (
    MOBILE,
    credit_code,
    make_charge,
    make_contact,
    make_contract,
    make_device,
    make_sale,
    make_taxpayer,
    register,
    wrong_check,
)

CAST = sorted(EXPECTED_VIEW)
TAXPAYERS = ("pa1", "pa2", "pb1", "pc1")
SH = ZoneInfo("Asia/Shanghai")


def visible(username) -> set[str]:
    return set(EXPECTED_VIEW[username]["taxpayers"])


def may_change(cast, username, key) -> bool:
    user = cast.users[username]
    if user.is_superuser:
        return True
    taxpayer = cast.taxpayers[key]
    return user.role in TAXPAYER_EDITORS and user.service_unit_id == taxpayer.service_unit_id


def may_add(cast, username) -> bool:
    user = cast.users[username]
    return user.is_superuser or user.role in TAXPAYER_EDITORS


def row_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-taxpayer="(\d+)">', html)]


def errors_for(html: str, field: str) -> list[str]:
    return re.findall(rf'data-error-for="{field}">([^<]*)</div>', html)


def english(client):
    client.cookies["django_language"] = "en"
    return client


def snapshot() -> tuple:
    return (
        list(Taxpayer.objects.order_by("pk").values()),
        list(Contact.objects.order_by("pk").values()),
        TaxpayerChange.objects.count(),
        AuditEntry.objects.count(),
    )


# --------------------------------------------------------------------------- who sees what
@pytest.mark.parametrize("username", CAST)
def test_list_shows_exactly_their_taxpayers(cast, client_for, username):
    response = client_for(cast.users[username]).get("/taxpayers/")
    assert response.status_code == 200
    shown = {
        key for key in TAXPAYERS if cast.taxpayers[key].pk in row_ids(response.content.decode())
    }
    assert shown == visible(username)
    assert len(response.context["rows"]) == len(visible(username))
    page = response.content.decode()
    for key in TAXPAYERS:
        assert (cast.taxpayers[key].name in page) == (key in visible(username))
    assert ('data-testid="add"' in page) == may_add(cast, username)


@pytest.mark.parametrize("username", CAST)
def test_taxpayer_page_is_404_outside_scope_and_offers_edits_only_to_editors(
    cast, client_for, username
):
    client = client_for(cast.users[username])
    for key in TAXPAYERS:
        taxpayer = cast.taxpayers[key]
        response = client.get(f"/taxpayers/{taxpayer.pk}/")
        if key not in visible(username):
            assert response.status_code == 404, key
            continue
        assert response.status_code == 200, key
        page = response.content.decode()
        assert taxpayer.name in page and taxpayer.number in page
        editor = may_change(cast, username, key)
        assert ('data-testid="edit"' in page) == editor, key
        assert ('data-testid="add-contact"' in page) == editor, key
        assert (f"/taxpayers/{taxpayer.pk}/status/" in page) == editor, key
        # The history names staff: not shown to the taxpayer's own users.
        assert ('data-testid="history"' in page) == (username != "taxpayer_pa1")


WRITE_PAGES = ("edit/", "status/", "type/", "tax-office/", "contacts/add/")


@pytest.mark.parametrize("username", CAST)
def test_write_pages_are_403_when_visible_and_404_when_not(cast, client_for, username):
    client = client_for(cast.users[username])
    for key in TAXPAYERS:
        taxpayer = cast.taxpayers[key]
        if may_change(cast, username, key):
            expected = 200
        else:
            expected = 403 if key in visible(username) else 404
        for page in WRITE_PAGES:
            url = f"/taxpayers/{taxpayer.pk}/{page}"
            assert client.get(url).status_code == expected, url
            if expected != 200:
                assert client.post(url, {"name": "x", "to": "cancelled"}).status_code == expected
    assert client.get("/taxpayers/add/").status_code == (200 if may_add(cast, username) else 403)


@pytest.mark.parametrize("username", CAST)
def test_contact_pages_are_403_when_visible_and_404_when_not(cast, client_for, username):
    client = client_for(cast.users[username])
    before = snapshot()
    for key in TAXPAYERS:
        contact = make_contact(cast.taxpayers[key], mobile=MOBILE)
        if may_change(cast, username, key):
            expected = 200
        else:
            expected = 403 if key in visible(username) else 404
        for page in ("edit/", "delete/"):
            url = f"/taxpayers/contacts/{contact.pk}/{page}"
            assert client.get(url).status_code == expected, url
            if expected != 200:
                assert client.post(url, {"name": "x", "mobile": MOBILE}).status_code == expected
    assert Contact.objects.count() == len(before[1]) + len(TAXPAYERS)


def test_anonymous_visitors_are_sent_to_the_login(client, cast):
    response = client.get("/taxpayers/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --------------------------------------------------------------------------- the list
def test_list_filters_and_search_and_htmx(cast, client_for):
    hz = make_taxpayer(cast.unit_a, name="杭州华为科技有限公司", district="西湖区")
    make_contact(hz, mobile="13812345678")
    client = client_for(cast.sales_a)
    html = client.get("/taxpayers/", {"q": "5678"}).content.decode()
    assert row_ids(html) == [hz.pk]
    html = client.get("/taxpayers/", {"district": "西湖区"}).content.decode()
    assert row_ids(html) == [hz.pk]
    response = client.get("/taxpayers/", {"q": "华为"}, HTTP_HX_REQUEST="true")
    names = [t.name for t in response.templates]
    assert "customers/partials/taxpayer_table.html" in names and "base.html" not in names
    assert row_ids(response.content.decode()) == [hz.pk]
    html = client.get("/taxpayers/", {"q": "深圳"}).content.decode()
    assert row_ids(html) == [] and 'data-testid="empty"' in html
    # A bad value shows the filter's error and no rows.
    html = client.get("/taxpayers/", {"contract_expiring": "soon"}).content.decode()
    assert row_ids(html) == []


def test_list_pages_by_name(cast, client_for, monkeypatch):
    from taxdesk.customers import views

    monkeypatch.setattr(views.TaxpayerListView, "page_size", 2)
    client = client_for(cast.admin_a)
    extra = make_taxpayer(cast.unit_a, name="企业pa3")
    first = client.get("/taxpayers/")
    assert row_ids(first.content.decode()) == [cast.pa1.pk, cast.pa2.pk]
    cursor = first.context["next_cursor"]
    second = client.get("/taxpayers/", {"cursor": cursor})
    assert row_ids(second.content.decode()) == [extra.pk]


def test_list_queries_do_not_grow_with_the_rows(cast, client_for):
    client = client_for(cast.supervisor_x)
    client.get("/taxpayers/")

    def cost():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/taxpayers/", {"q": "企业"})
        return len(ctx.captured_queries), len(row_ids(response.content.decode()))

    before, rows_before = cost()
    for n in range(5):
        taxpayer = make_taxpayer(cast.unit_b if n % 2 else cast.unit_a, name=f"企业q{n}")
        make_contact(taxpayer, mobile=f"1390000000{n}")
        make_device(taxpayer, f"55000000000{n}")
    after, rows_after = cost()
    assert rows_after == rows_before + 5
    assert after == before


# --------------------------------------------------------------------------- the taxpayer page
@pytest.fixture
def frozen_now(time_machine):
    """The whole process's clock stopped at a moment the page's figures are computed from."""
    now = datetime(2025, 9, 30, 16, 25, tzinfo=SH)
    time_machine.move_to(now, tick=False)
    return now


@pytest.mark.rule("INS-06")
def test_ins_06_taxpayer_page_lists_what_is_missing_with_the_time_left(
    cast, client_for, frozen_now
):
    html = english(client_for(cast.sales_a)).get(f"/taxpayers/{cast.pa1.pk}/").content.decode()
    missing = re.search(r'<ul class="mb-2" data-testid="missing">(.*?)</ul>', html, re.S).group(1)
    assert re.findall(r"<li>([^<]*)</li>", missing) == [
        "address",
        "district",
        "taxpayer type",
        "approved on",
        "a contact with a mobile number",
    ]
    assert re.findall(r'data-testid="remaining">([^<]*)</span>', html) == [
        "7 hours 34 minutes left"
    ]
    assert f'href="/clocks/{cast.clock_pa1.pk}/"' in html


@pytest.mark.rule("INS-06")
def test_ins_06_taxpayer_page_speaks_chinese_by_default(cast, client_for, frozen_now):
    html = client_for(cast.sales_a).get(f"/taxpayers/{cast.pa1.pk}/").content.decode()
    assert re.findall(r'data-testid="remaining">([^<]*)</span>', html) == ["还剩 7 小时 34 分钟"]


@pytest.mark.rule("INS-06")
def test_ins_06_a_late_entry_shows_as_breached_on_the_taxpayer_page(cast, client_for):
    client = english(client_for(cast.sales_a))
    response = client.post(
        f"/taxpayers/{cast.pa1.pk}/contacts/add/", {"name": "张三", "mobile": MOBILE}
    )
    assert response.status_code == 302  # the role defaults to a tax clerk
    response = client.post(
        f"/taxpayers/{cast.pa1.pk}/edit/",
        {
            "number": cast.pa1.number,
            "name": cast.pa1.name,
            "address": "某路 1 号",
            "district": "上城区",
            "taxpayer_type": "small",
            "approved_on": "2025-09-01",
        },
    )
    assert response.status_code == 302
    html = client.get(f"/taxpayers/{cast.pa1.pk}/").content.decode()
    assert 'data-testid="missing"' not in html
    assert "Complete since" in html
    remaining = re.findall(r'data-testid="remaining">([^<]*)</span>', html)
    assert len(remaining) == 1 and remaining[0].startswith("Closed ") and "late" in remaining[0]
    assert 'class="clock-overdue"' in html


@pytest.mark.rule("INS-06")
def test_ins_06_without_a_sale_there_is_no_clock_yet(cast, client_for):
    taxpayer = make_taxpayer(cast.unit_a)
    html = english(client_for(cast.sales_a)).get(f"/taxpayers/{taxpayer.pk}/").content.decode()
    assert 'data-testid="entry-clock"' not in html
    assert "The 3-working-day clock starts with the first sale." in html


def test_taxpayer_page_shows_everything_about_them_and_nothing_of_others(cast, client_for):
    mine = register(cast.unit_a, cast.sales_a, name="我的企业")
    other = make_taxpayer(cast.unit_a, name="别的企业")
    for taxpayer, tag in ((mine, "1"), (other, "2")):
        make_device(taxpayer, f"66000000000{tag}")
        make_contract(taxpayer, ends_in_days=30, number=f"HT-PAGE-{tag}")
        make_charge(taxpayer, description=f"维护费-{tag}")
        make_sale(taxpayer, number=f"XS-PAGE-{tag}")
        make_contact(taxpayer, name=f"联系人{tag}", mobile=f"1390000000{tag}")
    change_status(mine, "abnormal", effective_on=timezone.localdate(), note="走逃", by=cast.admin_a)
    html = english(client_for(cast.sales_a)).get(f"/taxpayers/{mine.pk}/").content.decode()
    for text in (
        "660000000001",
        "HT-PAGE-1",
        "维护费-1",
        "XS-PAGE-1",
        "联系人1",
        "走逃",
        "Abnormal",
    ):
        assert text in html, text
    for text in ("660000000002", "HT-PAGE-2", "维护费-2", "XS-PAGE-2", "联系人2"):
        assert text not in html, text
    changes = re.search(r'data-testid="changes">(.*?)</section>', html, re.S).group(1)
    assert "Normal" in changes and "Abnormal" in changes and "admin_a" in changes


def test_the_taxpayers_own_user_sees_no_staff_names_in_the_changes(cast, client_for):
    change_status(cast.pa1, "abnormal", effective_on=timezone.localdate(), by=cast.admin_a)
    html = client_for(cast.taxpayer_pa1).get(f"/taxpayers/{cast.pa1.pk}/").content.decode()
    changes = re.search(r'data-testid="changes">(.*?)</section>', html, re.S).group(1)
    assert "admin_a" not in changes


def test_taxpayer_page_queries_do_not_grow_with_its_records(cast, client_for):
    taxpayer = register(cast.unit_a, cast.sales_a)
    client = client_for(cast.sales_a)
    client.get(f"/taxpayers/{taxpayer.pk}/")

    def cost():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/taxpayers/{taxpayer.pk}/").status_code == 200
        return len(ctx.captured_queries)

    before = cost()
    for n in range(4):
        make_device(taxpayer, f"77000000000{n}")
        make_contract(taxpayer, ends_in_days=30 + n)
        make_charge(taxpayer)
        make_sale(taxpayer)
        make_contact(taxpayer, mobile=f"1370000000{n}")
        change_status(
            taxpayer,
            "abnormal" if n % 2 == 0 else "normal",
            effective_on=timezone.localdate(),
            by=cast.admin_a,
        )
    assert cost() == before


# --------------------------------------------------------------------------- register and edit
def register_data(cast, **overrides) -> dict:
    data = {
        "number": credit_code(),
        "name": "杭州新用户有限公司",
        "address": "杭州市上城区 1 号",
        "district": "上城区",
        "tax_office": cast.office_a.pk,
        "taxpayer_type": "general",
        "approved_on": "2025-09-01",
        "office_hours": "09:00-17:00",
        "invoice_types": ["special", "digital"],
        "contact-name": "张三",
        "contact-role": "clerk",
        "contact-mobile": "138 1234 5678",
        "contact-landline": "",
    }
    data.update(overrides)
    return data


@pytest.mark.rule("INS-06")
def test_ins_06_a_sales_clerk_registers_a_complete_taxpayer(cast, client_for):
    data = register_data(cast)
    response = client_for(cast.sales_a).post("/taxpayers/add/", data)
    assert response.status_code == 302
    taxpayer = Taxpayer.objects.get(number=data["number"])
    assert response["Location"] == f"/taxpayers/{taxpayer.pk}/"
    assert taxpayer.service_unit == cast.unit_a
    assert taxpayer.invoice_types == ["special", "digital"]
    assert taxpayer.entered_at is not None
    assert list(taxpayer.contacts.values_list("name", "mobile")) == [("张三", MOBILE)]


def test_register_without_a_contact_is_allowed(cast, client_for):
    data = register_data(cast, **{"contact-name": "", "contact-mobile": ""})
    assert client_for(cast.sales_a).post("/taxpayers/add/", data).status_code == 302
    taxpayer = Taxpayer.objects.get(number=data["number"])
    assert not taxpayer.contacts.exists() and taxpayer.entered_at is None


def test_register_form_shows_the_expected_check_character_next_to_the_number(cast, client_for):
    code = credit_code()
    client = english(client_for(cast.sales_a))
    before = snapshot()
    response = client.post("/taxpayers/add/", register_data(cast, number=wrong_check(code)))
    assert response.status_code == 400
    assert errors_for(response.content.decode(), "number") == [
        f"The 18th character (the check character) should be {code[17]}."
    ]
    assert snapshot() == before


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"tax_office": "OFFICE_B"}, "tax_office"),  # not an office unit A serves
        ({"name": ""}, "name"),
        ({"contact-mobile": "1381234"}, "mobile"),
        ({"contact-mobile": "", "contact-landline": ""}, "mobile"),
        ({"approved_on": "2999-01-01"}, "approved_on"),
        ({"invoice_types": ["paper"]}, "invoice_types"),
    ],
)
def test_register_form_errors_are_next_to_the_field_and_save_nothing(
    cast, client_for, overrides, field
):
    if overrides.get("tax_office") == "OFFICE_B":
        overrides["tax_office"] = cast.office_b.pk
    client = client_for(cast.sales_a)  # signing in is an audit entry of its own
    before = snapshot()
    response = client.post("/taxpayers/add/", register_data(cast, **overrides))
    assert response.status_code == 400
    assert errors_for(response.content.decode(), field), field
    assert snapshot() == before


def test_register_form_refuses_a_duplicate_of_another_unit_without_naming_it(cast, client_for):
    client = english(client_for(cast.sales_a))
    before = snapshot()
    response = client.post("/taxpayers/add/", register_data(cast, number=cast.pb1.number))
    assert response.status_code == 400
    html = response.content.decode()
    assert errors_for(html, "number") == [
        "This number is already registered with another service unit of this supervision area."
    ]
    assert cast.pb1.name not in html
    assert snapshot() == before


def test_the_platform_administrator_registers_for_a_chosen_unit(cast, client_for):
    client = client_for(cast.root)
    assert 'name="service_unit"' in client.get("/taxpayers/add/").content.decode()
    data = register_data(cast, service_unit=cast.unit_c.pk, tax_office=cast.office_c.pk)
    assert client.post("/taxpayers/add/", data).status_code == 302
    assert Taxpayer.objects.get(number=data["number"]).service_unit == cast.unit_c
    # Unit staff never choose: their own unit.
    assert (
        'name="service_unit"'
        not in client_for(cast.sales_a).get("/taxpayers/add/").content.decode()
    )


def test_edit_form_saves_and_hides_type_and_office_once_set(cast, client_for):
    taxpayer = register(cast.unit_a, cast.sales_a)
    client = client_for(cast.dispatcher_a)
    page = client.get(f"/taxpayers/{taxpayer.pk}/edit/").content.decode()
    assert 'name="taxpayer_type"' not in page and 'name="tax_office"' not in page
    assert f'value="{taxpayer.number}"' in page
    response = client.post(
        f"/taxpayers/{taxpayer.pk}/edit/",
        {
            "number": taxpayer.number,
            "name": "改名后有限公司",
            "address": "新址",
            "district": "西湖区",
            "approved_on": "2025-09-01",
            "invoice_types": ["ordinary"],
        },
    )
    assert response.status_code == 302
    taxpayer.refresh_from_db()
    assert (taxpayer.name, taxpayer.address, taxpayer.invoice_types) == (
        "改名后有限公司",
        "新址",
        ["ordinary"],
    )
    # pa1 has no type yet: its edit form offers it.
    assert 'name="taxpayer_type"' in client.get(f"/taxpayers/{cast.pa1.pk}/edit/").content.decode()


def test_edit_form_errors_are_next_to_the_field(cast, client_for):
    taxpayer = register(cast.unit_a, cast.sales_a)
    client = client_for(cast.sales_a)
    before = snapshot()
    response = client.post(
        f"/taxpayers/{taxpayer.pk}/edit/",
        {"number": cast.pa2.number, "name": taxpayer.name},
    )
    assert response.status_code == 400
    assert errors_for(response.content.decode(), "number")
    assert snapshot() == before


# --------------------------------------------------------------------------- contacts
def test_contact_add_edit_and_remove(cast, client_for):
    client = client_for(cast.sales_a)
    response = client.post(
        f"/taxpayers/{cast.pa1.pk}/contacts/add/",
        {"name": "张三", "role": "finance", "mobile": "+86 138 1234 5678", "landline": ""},
    )
    assert response.status_code == 302 and response["Location"] == f"/taxpayers/{cast.pa1.pk}/"
    contact = cast.pa1.contacts.get()
    assert (contact.mobile, contact.role) == (MOBILE, "finance")
    response = client.post(
        f"/taxpayers/contacts/{contact.pk}/edit/",
        {"name": "张三丰", "role": "finance", "mobile": "", "landline": "0571-87654321"},
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.name, contact.mobile, contact.landline) == ("张三丰", "", "0571 8765 4321")
    assert client.post(f"/taxpayers/contacts/{contact.pk}/delete/").status_code == 302
    assert not cast.pa1.contacts.exists()


@pytest.mark.parametrize(
    "data, field",
    [
        ({"name": "张三", "role": "clerk", "mobile": "12345"}, "mobile"),
        ({"name": "张三", "role": "clerk", "mobile": "", "landline": ""}, "mobile"),
        ({"name": "张三", "role": "clerk", "landline": "0571"}, "landline"),
        ({"name": "", "role": "clerk", "mobile": MOBILE}, "name"),
        ({"name": "李四", "role": "clerk", "mobile": "13900001111"}, "mobile"),  # taken
    ],
)
def test_contact_form_errors_are_next_to_the_field(cast, client_for, data, field):
    make_contact(cast.pa1, mobile="13900001111")
    client = client_for(cast.sales_a)
    before = snapshot()
    response = client.post(f"/taxpayers/{cast.pa1.pk}/contacts/add/", data)
    assert response.status_code == 400
    assert errors_for(response.content.decode(), field)
    assert snapshot() == before


# --------------------------------------------------------------------------- dated changes
def test_status_change_form_offers_the_allowed_moves_and_keeps_the_change(cast, client_for):
    client = english(client_for(cast.admin_a))
    form = client.get(f"/taxpayers/{cast.pa1.pk}/status/").context["form"]
    assert [v for v, _ in form.fields["to"].choices] == ["cancelled", "abnormal"]
    response = client.post(
        f"/taxpayers/{cast.pa1.pk}/status/",
        {"to": "cancelled", "effective_on": timezone.localdate().isoformat(), "note": "注销登记"},
    )
    assert response.status_code == 302
    assert Taxpayer.objects.get(pk=cast.pa1.pk).status == "cancelled"
    change = TaxpayerChange.objects.get()
    assert (change.before, change.after, change.note, change.by) == (
        "normal",
        "cancelled",
        "注销登记",
        cast.admin_a,
    )
    # From 注销 only back to 正常; a forged move is refused next to the field.
    form = client.get(f"/taxpayers/{cast.pa1.pk}/status/").context["form"]
    assert [v for v, _ in form.fields["to"].choices] == ["normal"]
    before = snapshot()
    response = client.post(
        f"/taxpayers/{cast.pa1.pk}/status/",
        {"to": "abnormal", "effective_on": timezone.localdate().isoformat()},
    )
    assert response.status_code == 400
    assert errors_for(response.content.decode(), "to")
    assert snapshot() == before


def test_a_future_change_is_refused_next_to_the_date(cast, client_for):
    client = client_for(cast.admin_a)
    before = snapshot()
    response = client.post(
        f"/taxpayers/{cast.pa1.pk}/type/", {"to": "small", "effective_on": "2999-01-01"}
    )
    assert response.status_code == 400
    assert errors_for(response.content.decode(), "effective_on")
    assert snapshot() == before


def test_tax_office_change_form_offers_only_the_units_other_offices(cast, client_for):
    client = client_for(cast.admin_a)
    html = client.get(f"/taxpayers/{cast.pa1.pk}/tax-office/").content.decode()
    assert 'data-testid="empty"' in html  # unit A serves one office only
    from taxdesk.core.models import TaxOffice

    second = TaxOffice.objects.create(
        name="税务局A2", code="TA2", city="城a", supervision_body=cast.body_x
    )
    cast.unit_a.tax_offices.add(second)
    response = client.get(f"/taxpayers/{cast.pa1.pk}/tax-office/")
    assert list(response.context["form"].fields["to"].queryset) == [second]
    response = client.post(
        f"/taxpayers/{cast.pa1.pk}/tax-office/",
        {"to": second.pk, "effective_on": timezone.localdate().isoformat()},
    )
    assert response.status_code == 302
    assert Taxpayer.objects.get(pk=cast.pa1.pk).tax_office == second


# --------------------------------------------------------------------------- export
def exported(client, **params):
    import io

    from openpyxl import load_workbook

    response = client.get("/taxpayers/", {**params, "export": "xlsx"})
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    return rows[0], rows[1:]


@pytest.mark.parametrize("username", CAST)
def test_export_has_the_filtered_scoped_rows(cast, client_for, username):
    _headers, rows = exported(client_for(cast.users[username]))
    assert {r[0] for r in rows} == {cast.taxpayers[k].number for k in visible(username)}


def test_export_follows_the_search_and_shows_labels(cast, client_for):
    taxpayer = register(cast.unit_a, cast.sales_a, name="导出测试有限公司")
    client = english(client_for(cast.sales_a))
    headers, rows = exported(client, q="导出测试")
    assert [r[0] for r in rows] == [taxpayer.number]
    row = dict(zip(headers, rows[0], strict=True))
    assert row["Name"] == "导出测试有限公司"
    assert row["Tax office"] == "税务局A"
    assert row["Status"] == "Normal"
    assert row["Invoice types"] == "VAT special invoice、VAT ordinary invoice"
    assert row["Service unit"] == "服务单位A"
