"""In a real Chromium: the sales clerk's journey of issue 3, through the pages only.

The clerk of unit A registers a new taxpayer (a wrong check character of the 统一社会信用代码 is
refused first), sells a 金税盘 and a 报税盘, then a second set at half price, prints the
《发票税控系统用户使用申请表》 (INS-05), draws up and records the signature of the
《发票税控系统技术服务合同》 (INS-07), records the formal invoices of the device charges and finds
the new user's 3-working-day entry clock (INS-06) on the taxpayer's page. The administrator of
unit B cannot open any of it. The fixtures only create the starting world: the cast, unit A's
fee schedule and stock.

Run alone: ``pytest taxdesk/devices/tests/test_browser_journey.py -m browser``; skipped, loudly,
when Chromium is missing (see taxdesk/testing/browser.py).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from playwright.sync_api import expect
from stdnum.cn import uscc

from taxdesk.billing.choices import ContractState, FeeKind
from taxdesk.billing.models import Charge, ServiceContract
from taxdesk.clocks.choices import ClockStatus
from taxdesk.clocks.models import Deadline
from taxdesk.customers.models import Taxpayer
from taxdesk.devices.choices import DeviceStatus, DeviceType
from taxdesk.devices.models import Device
from taxdesk.sales.models import Sale, SaleLine
from taxdesk.testing.billing import make_schedule
from taxdesk.testing.browser import (  # fixtures, imported to be registered here
    browser,
    browsing,
    chromium,
    live_world,
)
from taxdesk.testing.devices import receive
from taxdesk.workdays.store import current_calendar

__all__ = ["browser", "browsing", "chromium", "live_world"]

pytestmark = pytest.mark.browser

# Unit A's stock for the journey: two sets of a 金税盘 and a 报税盘.
GOLDEN = ("661100009001", "661100009002")
REPORTING = ("881100009001", "881100009002")
# The 2017 standard (taxdesk.testing.billing.items_2017).
GOLDEN_PRICE = Decimal("200.00")
REPORTING_PRICE = Decimal("100.00")

NAME = "杭州云帆财税咨询有限公司"
# A real-format code: 9 (工商) 1 (企业), region 330106, organisation code, then the check.
CODE_BODY = "91330106MA2K0C1T8"
# Formal invoices (正式发票) of the four device charges: paper invoices with a 10- or 12-digit
# code and an 8-digit number, and fully digital ones (数电票) with a 20-digit number.
INVOICES = [
    ("3300244130", "00012345"),
    ("033002400111", "00012346"),
    ("", "25332000000000001001"),
    ("", "25332000000000001002"),
]


def credit_code() -> tuple[str, str]:
    """A valid 统一社会信用代码 and the same code with a wrong check character."""
    check = uscc.calc_check_digit(CODE_BODY)
    wrong = "0" if check != "0" else "1"
    return CODE_BODY + check, CODE_BODY + wrong


def line_cells(page, serial: str) -> list[str]:
    """The cells of the sale page's line for one device, as shown."""
    row = page.locator("[data-testid=lines] tbody tr", has_text=serial)
    expect(row).to_have_count(1)
    return [text.strip() for text in row.locator("td").all_inner_texts()]


def sell(page, browsing, taxpayer: Taxpayer, serials: tuple[str, ...]) -> Sale:
    """From the taxpayer's page, sell ``serials`` through the sale form at the default time."""
    page.goto(browsing.url(taxpayer.get_absolute_url()))
    page.get_by_role("link", name="销售设备").click()
    expect(page).to_have_url(browsing.url(f"/sales/new/{taxpayer.pk}/"))
    # The sale time is "now", prefilled by the form; the clerk keeps it.
    expect(page.get_by_label("销售时间")).to_have_value(re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d$"))
    before = set(Sale.objects.filter(taxpayer=taxpayer).values_list("pk", flat=True))
    page.get_by_label("设备", exact=True).fill("\n".join(serials))
    page.get_by_role("button", name="登记销售").click()
    expect(page).to_have_url(re.compile(r"/sales/\d+/$"))
    (sale,) = Sale.objects.filter(taxpayer=taxpayer).exclude(pk__in=before)
    expect(page).to_have_url(browsing.url(f"/sales/{sale.pk}/"))
    expect(page.locator(".alert-success")).to_have_text(f"销售单 {sale.number} 已登记。")
    return sale


@pytest.mark.rule("INS-05")
@pytest.mark.rule("INS-06")
@pytest.mark.rule("INS-07")
def test_the_sales_clerks_journey_of_a_new_user(live_world, browsing):
    cast = live_world
    make_schedule(cast.unit_a, valid_from=date(2017, 7, 1))
    receive(cast.unit_a, DeviceType.GOLDEN_TAX_DISK, "CK-A-901", GOLDEN, by=cast.admin_a)
    receive(cast.unit_a, DeviceType.REPORTING_DISK, "CK-A-902", REPORTING, by=cast.admin_a)
    today = timezone.localdate()
    number, wrong_number = credit_code()
    assert uscc.is_valid(number) and not uscc.is_valid(wrong_number)

    page = browsing.new_page()
    browsing.log_in(page, "sales_a")
    expect(page).to_have_url(browsing.url("/"))

    # 1. Register the new taxpayer; a wrong check character is refused and nothing is saved.
    page.locator("[data-testid=menu] [data-nav=taxpayers]").click()
    page.get_by_role("link", name="登记纳税人").click()
    expect(page).to_have_url(browsing.url("/taxpayers/add/"))
    form = page.locator("[data-testid=taxpayer-form]")
    form.get_by_label("纳税人识别号").fill(wrong_number)
    form.get_by_label("名称", exact=True).fill(NAME)
    form.get_by_label("地址", exact=True).fill("杭州市西湖区文三路 90 号 7 楼")
    form.get_by_label("所属区县").fill("西湖区")
    form.get_by_label("税务机关").select_option(label=cast.office_a.name)
    form.get_by_label("纳税人类型").select_option(label="一般纳税人")
    form.get_by_label("批准日期").fill(today.isoformat())
    form.get_by_label("联系人姓名").fill("王丽")
    form.get_by_label("手机号码").fill("138 1234 5678")
    taxpayers_before = Taxpayer.objects.count()
    form.get_by_role("button", name="保存").click()
    error = page.locator("[data-error-for=number]")
    expect(error).to_contain_text(f"第18位校验码应为 {number[-1]}")
    expect(page).to_have_url(browsing.url("/taxpayers/add/"))
    expect(page.locator(".alert-success")).to_have_count(0)
    assert Taxpayer.objects.count() == taxpayers_before
    assert not Taxpayer.objects.filter(name=NAME).exists()
    # What was typed is kept; only the number is corrected.
    expect(form.get_by_label("名称", exact=True)).to_have_value(NAME)
    form.get_by_label("纳税人识别号").fill(number)
    form.get_by_role("button", name="保存").click()
    expect(page).to_have_url(re.compile(r"/taxpayers/\d+/$"))
    taxpayer = Taxpayer.objects.get(number=number)
    expect(page).to_have_url(browsing.url(f"/taxpayers/{taxpayer.pk}/"))
    expect(page.locator(".alert-success")).to_have_text("纳税人已登记。")
    assert (taxpayer.name, taxpayer.service_unit, taxpayer.tax_office) == (
        NAME,
        cast.unit_a,
        cast.office_a,
    )
    assert taxpayer.contacts.get().mobile == "13812345678"
    # Everything INS-06 asks for was entered: the record is complete before any sale.
    assert taxpayer.entered_at is not None
    expect(page.locator("[data-testid=missing]")).to_have_count(0)
    expect(page.locator("[data-testid=entry-clock]")).to_have_count(0)  # starts at the sale

    # 2. Sell a 金税盘 and a 报税盘 at the list price, then a second set at half price.
    first = sell(page, browsing, taxpayer, (GOLDEN[0], REPORTING[0]))
    assert abs(timezone.now() - first.sold_on) < timedelta(minutes=5)
    assert line_cells(page, GOLDEN[0])[2:4] == [str(GOLDEN_PRICE)] * 2
    assert line_cells(page, REPORTING[0])[2:4] == [str(REPORTING_PRICE)] * 2
    expect(page.locator("[data-testid=lines]")).not_to_contain_text("第二套半价")
    first_pdf_href = page.get_by_role("link", name="打印申请表").get_attribute("href")

    second = sell(page, browsing, taxpayer, (GOLDEN[1], REPORTING[1]))
    for serial, list_price in ((GOLDEN[1], GOLDEN_PRICE), (REPORTING[1], REPORTING_PRICE)):
        half = str(list_price / 2)
        cells = line_cells(page, serial)
        assert cells[2] == str(list_price)
        assert cells[3] == f"{half} 第二套半价", cells
    prices = {
        line.device.serial: (line.list_price, line.price)
        for line in SaleLine.objects.select_related("device").filter(sale__taxpayer=taxpayer)
    }
    assert prices == {
        GOLDEN[0]: (GOLDEN_PRICE, GOLDEN_PRICE),
        REPORTING[0]: (REPORTING_PRICE, REPORTING_PRICE),
        GOLDEN[1]: (GOLDEN_PRICE, GOLDEN_PRICE / 2),
        REPORTING[1]: (REPORTING_PRICE, REPORTING_PRICE / 2),
    }
    device_charges = {
        c.device.serial: c.amount
        for c in Charge.objects.filter(taxpayer=taxpayer, fee_kind=FeeKind.DEVICE)
    }
    assert device_charges == {serial: price for serial, (_, price) in prices.items()}
    assert set(Device.objects.filter(taxpayer=taxpayer).values_list("serial", "status")) == {
        (serial, DeviceStatus.SOLD) for serial in (*GOLDEN, *REPORTING)
    }

    # 3. Print the application form of the first sale (INS-05), with the clerk's cookies.
    page.goto(browsing.url(first.get_absolute_url()))
    link = page.get_by_role("link", name="打印申请表")
    href = link.get_attribute("href")
    assert href == first_pdf_href == f"/sales/{first.pk}/application.pdf"
    response = page.request.get(browsing.url(href))
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
    # The form is filled from the record as the clerk entered it.
    application = Sale.objects.get(pk=first.pk).application
    assert application["taxpayer"]["number"] == number
    assert [d["serial"] for d in application["devices"]] == [GOLDEN[0], REPORTING[0]]

    # 4. Draw up the technical service contract and record the user's signature (INS-07).
    page.locator("[data-testid=menu] [data-nav=billing]").click()
    page.locator("[data-testid=billing-tabs]").get_by_role("link", name="合同").click()
    expect(page).to_have_url(browsing.url("/billing/contracts/"))
    page.get_by_role("link", name="新建合同").click()
    expect(page).to_have_url(browsing.url("/billing/contracts/add/"))
    page.get_by_label("纳税人识别号").fill(number)
    page.get_by_role("button", name="生成合同").click()
    expect(page).to_have_url(re.compile(r"/billing/contracts/\d+/$"))
    contract = ServiceContract.objects.get(taxpayer=taxpayer)
    expect(page).to_have_url(browsing.url(f"/billing/contracts/{contract.pk}/"))
    expect(page.locator("[data-testid=state]")).to_contain_text("待签署")
    sign = page.locator("[data-testid=sign-form]")
    expect(sign.get_by_label("签署日期")).to_have_value(today.isoformat())
    sign.get_by_role("button", name="登记签署").click()
    expect(page.locator(".alert-success")).to_have_text("合同已签署。")
    expect(page.locator("[data-testid=state]")).to_contain_text("已签署")
    expect(page.locator("[data-testid=state]")).to_contain_text(today.isoformat())
    contract.refresh_from_db()
    assert (contract.state, contract.signed_on) == (ContractState.SIGNED, today)

    # 5. Record the formal invoice of each device charge, from the sales' pages.
    recorded = {}
    invoices = iter(INVOICES)
    for sale, serials in ((first, (GOLDEN[0], REPORTING[0])), (second, (GOLDEN[1], REPORTING[1]))):
        for serial in serials:
            code, invoice_number = next(invoices)
            page.goto(browsing.url(sale.get_absolute_url()))
            page.locator("main ul a", has_text=serial).click()
            expect(page).to_have_url(re.compile(r"/billing/charges/\d+/$"))
            form = page.locator("[data-testid=invoice-form]")
            form.get_by_label("发票代码").fill(code)
            form.get_by_label("发票号码").fill(invoice_number)
            expect(form.get_by_label("开票日期")).to_have_value(today.isoformat())
            form.get_by_role("button", name="登记发票").click()
            expect(page.locator(".alert-success")).to_have_text("发票已登记。")
            shown = f"{code} {invoice_number}" if code else invoice_number
            expect(page.locator("[data-testid=invoice]")).to_contain_text(shown)
            recorded[serial] = (code, invoice_number, today)
    stored = {
        c.device.serial: (c.invoice_code, c.invoice_number, c.invoice_date)
        for c in Charge.objects.filter(taxpayer=taxpayer, fee_kind=FeeKind.DEVICE)
    }
    assert stored == recorded

    # 6. The taxpayer's page shows the INS-06 clock as the database holds it.
    page.goto(browsing.url(taxpayer.get_absolute_url()))
    clock = Deadline.objects.get(
        content_type=ContentType.objects.get_for_model(Taxpayer),
        object_id=taxpayer.pk,
        rule="INS-06",
    )
    # The record was complete before the first sale: met at once, due 3 working days on.
    assert clock.started_at == first.sold_on
    assert clock.due_at == current_calendar().workday_deadline(first.sold_on, 3)
    assert clock.status == ClockStatus.MET
    entry = page.locator("[data-testid=entry-clock]")
    expect(entry).to_contain_text("录入时限")
    expect(entry).to_contain_text("按时完成")
    expect(entry).to_contain_text(f"{timezone.localtime(clock.due_at):%Y-%m-%d %H:%M}")
    expect(page.locator("[data-testid=devices] tbody tr")).to_have_count(4)
    charges = page.locator("[data-testid=charges]")
    for _code, invoice_number in INVOICES:
        expect(charges).to_contain_text(invoice_number)

    # The administrator of unit B reaches none of it.
    other = browsing.new_page()
    browsing.log_in(other, "admin_b")
    expect(other).to_have_url(browsing.url("/"))
    for path in (
        taxpayer.get_absolute_url(),
        first.get_absolute_url(),
        contract.get_absolute_url(),
    ):
        response = other.goto(browsing.url(path))
        assert response.status == 404, path
        expect(other.locator("body")).not_to_contain_text(NAME)
    pdf = other.request.get(browsing.url(href))
    assert pdf.status == 404
    assert not pdf.body().startswith(b"%PDF")
