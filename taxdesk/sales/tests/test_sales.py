"""Selling devices (INS-05 application form, INS-06 entry clock, second set at half price)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from taxdesk.billing.models import Charge, FeeItem, FeeSchedule
from taxdesk.clocks.models import Deadline
from taxdesk.customers.choices import TaxpayerStatus
from taxdesk.devices.choices import DeviceStatus, DeviceType
from taxdesk.devices.models import Device
from taxdesk.sales.actions import sell_devices
from taxdesk.sales.models import Sale
from taxdesk.sales.pdf import application_form_pdf

SH = ZoneInfo("Asia/Shanghai")
SOLD_AT = datetime(2025, 9, 26, 15, 30, tzinfo=SH)  # a Friday


@pytest.fixture
def shop(cast):
    """Unit A with an approved schedule in force and devices in stock; unit B with one."""
    schedule = FeeSchedule.objects.create(
        service_unit=cast.unit_a,
        name="2017 标准",
        valid_from=date(2017, 8, 1),
        supervision_approval="监督〔2017〕1号",
        tax_approval="税〔2017〕2号",
        approved_on=date(2017, 7, 1),
    )
    for kind, device_type, name, amount in (
        ("device", DeviceType.GOLDEN_TAX_DISK, "金税盘", "490.00"),
        ("device", DeviceType.TAX_CONTROL_DISK, "税控盘", "490.00"),
        ("device", DeviceType.REPORTING_DISK, "报税盘", "230.00"),
        ("maintenance", "", "技术维护费", "280.00"),
    ):
        FeeItem.objects.create(
            schedule=schedule, kind=kind, device_type=device_type, name=name, amount=Decimal(amount)
        )
    serials = {
        "gold1": ("661000000001", DeviceType.GOLDEN_TAX_DISK, cast.unit_a),
        "gold2": ("661000000002", DeviceType.GOLDEN_TAX_DISK, cast.unit_a),
        "rep1": ("881000000001", DeviceType.REPORTING_DISK, cast.unit_a),
        "rep2": ("881000000002", DeviceType.REPORTING_DISK, cast.unit_a),
        "gold_b": ("661000000099", DeviceType.GOLDEN_TAX_DISK, cast.unit_b),
    }
    devices = {
        key: Device.objects.create(
            service_unit=unit,
            device_type=device_type,
            serial=serial,
            status_changed_on=date(2025, 9, 1),
        )
        for key, (serial, device_type, unit) in serials.items()
    }
    cast.schedule = schedule
    cast.devices = devices
    return cast


def state(cast):
    """What a refused sale must leave untouched."""
    return (
        Sale.objects.count(),
        Charge.objects.count(),
        sorted(Device.objects.values_list("serial", "status", "taxpayer_id")),
        Deadline.objects.filter(rule="INS-06").count(),
    )


def test_ins_05_a_sale_records_devices_prices_charges_and_the_application(shop):
    taxpayer = shop.pa1
    sale = sell_devices(
        taxpayer=taxpayer,
        serials=["661000000001", "881000000001"],
        sold_at=SOLD_AT,
        by=shop.sales_a,
        application={"remarks": "首次购买"},
    )
    lines = {line.device.serial: line for line in sale.lines.select_related("device")}
    assert lines["661000000001"].price == Decimal("490.00")
    assert lines["881000000001"].price == Decimal("230.00")
    assert not any(line.price_note for line in lines.values())
    gold = Device.objects.get(serial="661000000001")
    reporting = Device.objects.get(serial="881000000001")
    assert gold.status == reporting.status == DeviceStatus.SOLD
    assert gold.taxpayer == taxpayer and gold.sale == sale
    assert gold.sold_on == date(2025, 9, 26)
    assert gold.warranty_until == date(2028, 9, 25)  # 3 years for quality defects
    assert reporting.paired_with == gold  # a set: the reporting disk pairs with its main disk
    charges = Charge.objects.filter(sale=sale).order_by("amount")
    assert [c.amount for c in charges] == [Decimal("230.00"), Decimal("490.00")]
    assert all(c.taxpayer == taxpayer and c.service_date == date(2025, 9, 26) for c in charges)
    assert charges[1].item.schedule == shop.schedule
    form = sale.application
    assert form["taxpayer"]["name"] == taxpayer.name
    assert form["taxpayer"]["number"] == taxpayer.number
    assert [d["serial"] for d in form["devices"]] == ["661000000001", "881000000001"]
    assert form["date"] == "2025-09-26" and form["remarks"] == "首次购买"
    assert sale.number.endswith("-20250926-0001")


def test_a_second_set_is_half_price(shop):
    sell_devices(
        taxpayer=shop.pa1,
        serials=["661000000001", "881000000001"],
        sold_at=SOLD_AT,
        by=shop.sales_a,
    )
    second = sell_devices(
        taxpayer=shop.pa1,
        serials=["661000000002", "881000000002"],
        sold_at=SOLD_AT,
        by=shop.sales_a,
    )
    prices = {
        line.device.serial: (line.list_price, line.price, line.price_note)
        for line in second.lines.select_related("device")
    }
    assert prices["661000000002"][:2] == (Decimal("490.00"), Decimal("245.00"))
    assert prices["881000000002"][:2] == (Decimal("230.00"), Decimal("115.00"))
    assert all(note for _list, _price, note in prices.values())
    assert second.number.endswith("-0002")


def test_two_sets_in_one_sale_price_the_second_at_half(shop):
    sale = sell_devices(
        taxpayer=shop.pa2,
        serials=["661000000001", "661000000002"],
        sold_at=SOLD_AT,
        by=shop.sales_a,
    )
    assert sorted(line.price for line in sale.lines.all()) == [Decimal("245.00"), Decimal("490.00")]


def test_ins_06_the_sale_starts_the_new_users_entry_clock(shop):
    sell_devices(taxpayer=shop.pa1, serials=["661000000001"], sold_at=SOLD_AT, by=shop.sales_a)
    clock = Deadline.objects.get(
        rule="INS-06", object_id=shop.pa1.pk, content_type__model="taxpayer"
    )
    # The cast already started one on 2025-09-26 10:00; a new user's clock runs once.
    assert clock.due_at == datetime(2025, 9, 30, 23, 59, 59, tzinfo=SH)


def test_ins_06_a_first_sale_starts_the_clock_three_working_days_out(shop):
    Deadline.objects.filter(object_id=shop.pa2.pk, rule="INS-06").delete()
    sell_devices(taxpayer=shop.pa2, serials=["661000000002"], sold_at=SOLD_AT, by=shop.sales_a)
    clock = Deadline.objects.get(
        rule="INS-06", object_id=shop.pa2.pk, content_type__model="taxpayer"
    )
    assert clock.started_at == SOLD_AT
    assert clock.due_at == datetime(2025, 9, 30, 23, 59, 59, tzinfo=SH)  # 09-28 was 调休
    assert clock.status == "running"  # the cast's taxpayer lacks address, district, contacts…


@pytest.mark.parametrize(
    ("serials", "code"),
    [
        (["661000000099"], "not_in_stock"),  # unit B's device
        (["999999999999"], "not_in_stock"),  # unknown
        (["661000000001", "661000000001"], "duplicate"),
        ([], "required"),
    ],
)
def test_refused_sales_change_nothing(shop, serials, code):
    before = state(shop)
    with pytest.raises(ValidationError) as excinfo:
        sell_devices(taxpayer=shop.pa1, serials=serials, sold_at=SOLD_AT, by=shop.sales_a)
    assert code in {e.code for e in excinfo.value.error_dict["serials"]}
    assert state(shop) == before


def test_a_sold_device_cannot_be_sold_again(shop):
    sell_devices(taxpayer=shop.pa1, serials=["661000000001"], sold_at=SOLD_AT, by=shop.sales_a)
    before = state(shop)
    with pytest.raises(ValidationError) as excinfo:
        sell_devices(taxpayer=shop.pa2, serials=["661000000001"], sold_at=SOLD_AT, by=shop.sales_a)
    assert "not_in_stock" in {e.code for e in excinfo.value.error_dict["serials"]}
    assert state(shop) == before


def test_mnt_13_no_schedule_in_force_refuses_the_sale(shop):
    before = state(shop)
    with pytest.raises(ValidationError) as excinfo:
        sell_devices(
            taxpayer=shop.pa1,
            serials=["661000000001"],
            sold_at=datetime(2016, 5, 3, 10, tzinfo=SH),
            by=shop.sales_a,
        )
    assert excinfo.value.code == "no_schedule"
    assert state(shop) == before


def test_only_taxpayers_in_normal_standing_buy(shop):
    type(shop.pa1).objects.filter(pk=shop.pa1.pk).update(status=TaxpayerStatus.CANCELLED)
    shop.pa1.refresh_from_db()
    with pytest.raises(ValidationError) as excinfo:
        sell_devices(taxpayer=shop.pa1, serials=["661000000001"], sold_at=SOLD_AT, by=shop.sales_a)
    assert excinfo.value.code == "taxpayer_status"


@pytest.mark.parametrize("username", ["technician_a", "admin_b", "supervisor_x", "tax_a"])
def test_only_the_units_sellers_sell(shop, username):
    before = state(shop)
    with pytest.raises(ValidationError) as excinfo:
        sell_devices(
            taxpayer=shop.pa1,
            serials=["661000000001"],
            sold_at=SOLD_AT,
            by=shop.users[username],
        )
    assert excinfo.value.code == "forbidden"
    assert state(shop) == before


def test_naive_sale_time_is_refused(shop):
    with pytest.raises(ValidationError):
        sell_devices(
            taxpayer=shop.pa1,
            serials=["661000000001"],
            sold_at=datetime(2025, 9, 26, 10),
            by=shop.sales_a,
        )


def test_ins_05_the_application_form_prints_in_chinese(shop):
    sale = sell_devices(
        taxpayer=shop.pa1,
        serials=["661000000001", "881000000001"],
        sold_at=SOLD_AT,
        by=shop.sales_a,
    )
    pdf = application_form_pdf(sale)
    assert pdf.startswith(b"%PDF")
    assert b"STSong-Light" in pdf
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
        ).stdout.decode()
        assert "发票税控系统用户使用申请表" in text
        assert shop.pa1.name in text and "661000000001" in text


# --- pages and API ------------------------------------------------------------------------


def test_the_sales_clerk_sells_in_the_browser_form(shop, client_for):
    client = client_for(shop.sales_a)
    assert client.get(f"/sales/new/{shop.pa1.pk}/").status_code == 200
    response = client.post(
        f"/sales/new/{shop.pa1.pk}/",
        {
            "serials": "661000000001\n881000000001",
            "sold_at": "2025-09-26T15:30",
            "remarks": "",
        },
    )
    sale = Sale.objects.get()
    assert response.status_code == 302 and response["Location"] == sale.get_absolute_url()
    page = client.get(sale.get_absolute_url()).content.decode()
    assert "661000000001" in page and "490.00" in page
    pdf = client.get(f"/sales/{sale.pk}/application.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"


def test_a_bad_sale_form_shows_the_error_and_keeps_the_input(shop, client_for):
    client = client_for(shop.sales_a)
    response = client.post(
        f"/sales/new/{shop.pa1.pk}/",
        {
            "serials": "661000000099",
            "sold_at": "2025-09-26T15:30",
        },
    )
    assert response.status_code == 400
    assert "661000000099" in response.content.decode()
    assert not Sale.objects.exists()


@pytest.mark.parametrize(
    ("username", "status"),
    [
        ("sales_a", 200),
        ("admin_a", 200),
        ("technician_a", 403),
        ("tax_a", 403),
        ("admin_b", 404),
        ("supervisor_y", 404),
    ],
)
def test_the_sale_form_follows_scope(shop, client_for, username, status):
    response = client_for(shop.users[username]).get(f"/sales/new/{shop.pa1.pk}/")
    assert response.status_code == status


def test_sales_pages_and_api_are_scoped(shop, client_for):
    sale = sell_devices(
        taxpayer=shop.pa1, serials=["661000000001"], sold_at=SOLD_AT, by=shop.sales_a
    )
    visible = {
        "root",
        "admin_a",
        "dispatcher_a",
        "technician_a",
        "trainer_a",
        "sales_a",
        "repair_a",
        "supervisor_x",
        "tax_a",
        "taxpayer_pa1",
    }
    for username, user in shop.users.items():
        client = client_for(user)
        expected = 200 if username in visible else 404
        assert client.get(f"/sales/{sale.pk}/").status_code == expected, username
        assert client.get(f"/api/sales/{sale.pk}/").status_code == expected, username
        listed = [row["id"] for row in client.get("/api/sales/").json()["results"]]
        assert listed == ([sale.pk] if username in visible else []), username


def test_the_api_sells(shop, client_for):
    client = client_for(shop.sales_a)
    response = client.post(
        "/api/sales/",
        {
            "taxpayer": shop.pa1.pk,
            "serials": ["661000000001", "881000000001"],
            "sold_at": "2025-09-26T15:30:00+08:00",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [line["price"] for line in body["lines"]] == ["490.00", "230.00"]
    refused = client.post(
        "/api/sales/",
        {
            "taxpayer": shop.pa1.pk,
            "serials": ["661000000001"],
            "sold_at": "2025-09-26T15:30:00+08:00",
        },
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "not_in_stock"
    assert "serials" in refused.json()["error"]["fields"]
    other = client_for(shop.admin_b).post(
        "/api/sales/",
        {
            "taxpayer": shop.pa1.pk,
            "serials": ["661000000002"],
            "sold_at": "2025-09-26T15:30:00+08:00",
        },
        content_type="application/json",
    )
    # Another unit's taxpayer is answered as an id that does not exist (the field is named).
    assert other.status_code == 400
    assert other.json()["error"]["code"] == "does_not_exist"
    assert list(other.json()["error"]["fields"]) == ["taxpayer"]


def test_the_sales_filter_by_taxpayer_number_and_date_on_the_page_and_the_api(shop, client_for):
    first = sell_devices(
        taxpayer=shop.pa1, serials=["661000000001"], sold_at=SOLD_AT, by=shop.sales_a
    )
    second = sell_devices(
        taxpayer=shop.pa2,
        serials=["881000000001"],
        sold_at=datetime(2025, 10, 9, 10, 0, tzinfo=SH),
        by=shop.sales_a,
    )
    client = client_for(shop.sales_a)

    def api(query: str) -> list[int]:
        return [row["id"] for row in client.get(f"/api/sales/?{query}").json()["results"]]

    assert api(f"taxpayer={shop.pa1.pk}") == [first.pk]
    assert api(f"taxpayer={shop.pa2.pk}") == [second.pk]
    assert api("sold_from=2025-10-01") == [second.pk]
    assert api("sold_to=2025-09-30") == [first.pk]
    assert api(f"q={first.number}") == [first.pk]
    assert api(f"q={shop.pa2.number}") == [second.pk]
    page = client.get(f"/sales/?taxpayer={shop.pa2.pk}").content.decode()
    assert second.number in page
    assert first.number not in page
