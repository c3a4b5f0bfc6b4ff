"""In a real Chromium: the unit administrator rewrites a message template, the preview
follows each keystroke (htmx) with the sample values and shows an unknown variable at
once; saving stores the text; the log and the preview fit a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from taxdesk.notifications.actions import deliver, send_message
from taxdesk.notifications.models import MessageTemplate
from taxdesk.testing.browser import (  # fixtures, imported to be registered here
    PHONE,
    browser,
    browsing,
    chromium,
    live_world,
)

__all__ = ["browser", "browsing", "chromium", "live_world"]

pytestmark = pytest.mark.browser


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.rule("MNT-07")
def test_admin_edits_a_template_with_its_live_preview(live_world, browsing):
    cast = live_world
    row = MessageTemplate.objects.get(service_unit=cast.unit_a, key="visit.no_show")
    page = browsing.new_page()
    browsing.log_in(page, "admin_a")
    expect(page).to_have_url(browsing.url("/"))
    page.locator("[data-testid=menu] [data-nav=messages]").click()
    expect(page).to_have_url(browsing.url("/messages/"))
    page.locator("[data-testid=message-tabs] a").nth(1).click()
    expect(page).to_have_url(browsing.url("/messages/templates/"))
    page.locator("tr[data-key='visit.no_show'] [data-testid=edit]").click()
    expect(page).to_have_url(browsing.url(f"/messages/templates/{row.pk}/"))

    preview = page.locator("[data-testid=preview-sms]")
    expect(preview).to_contain_text("【服务单位A】杭州测试科技有限公司您好")
    body = page.locator("textarea[name=body]")
    body.fill("{{ taxpayer }}：技术员{{ technician }}于{{ arrived_at }}到达，{{ left_at }}离开。")
    expect(preview).to_have_text(
        "【服务单位A】杭州测试科技有限公司：技术员李工于2025-10-09 14:02到达，"
        "2025-10-09 14:20离开。"
    )
    expect(page.locator("[data-testid=sms-length]")).to_contain_text("1")

    # A misspelt variable is shown at once, before anything is saved.
    body.press_sequentially("{{ leftat }}")
    errors = page.locator("[data-testid=preview-errors]")
    expect(errors).to_contain_text("未知变量")
    expect(errors).to_contain_text("leftat")
    expect(preview).to_have_count(0)

    # Saving it anyway is refused next to the field, and nothing changed.
    page.locator("[data-testid=save]").click()
    expect(page.locator("[data-error-for=body]")).to_contain_text("leftat")
    row.refresh_from_db()
    assert row.is_default

    body.fill("{{ taxpayer }}：{{ arrived_at }}到达，{{ left_at }}离开，请致电{{ hotline }}。")
    expect(page.locator("[data-testid=preview-sms]")).to_contain_text("请致电400-000-0001")
    page.locator("[data-testid=save]").click()
    expect(page).to_have_url(browsing.url("/messages/templates/"))
    expect(page.locator("tr[data-key='visit.no_show'] [data-testid=changed]")).to_be_visible()
    row.refresh_from_db()
    assert (
        row.body == "{{ taxpayer }}：{{ arrived_at }}到达，{{ left_at }}离开，请致电{{ hotline }}。"
    )
    assert row.updated_by == cast.admin_a


def test_the_log_and_a_message_fit_a_phone(live_world, browsing):
    cast = live_world
    message = send_message(
        service_unit=cast.unit_a,
        channel="sms",
        to="13812345678",
        by=cast.dispatcher_a,
        body="您好，技术服务人员将于明天上午上门，请保持电话畅通。",
        taxpayer=cast.pa1,
        recipient_name="张三",
    )
    deliver(message.pk)
    page = browsing.new_page(viewport=PHONE)
    browsing.log_in(page, "dispatcher_a")
    page.goto(browsing.url("/messages/"))
    expect(page.locator(f"tr[data-pk='{message.pk}']")).to_be_visible()
    assert fits_the_width(page)
    page.locator(f"tr[data-pk='{message.pk}'] a").click()
    expect(page).to_have_url(re.compile(rf"/messages/{message.pk}/$"))
    expect(page.locator("[data-testid=text]")).to_contain_text("【服务单位A】您好")
    expect(page.locator("[data-testid=attempts] tr[data-outcome=sent]")).to_have_count(1)
    assert fits_the_width(page)
