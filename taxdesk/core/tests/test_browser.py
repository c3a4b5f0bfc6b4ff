"""The pages in a real browser: the system Chromium through Playwright, against live_server.

Every member of the cast logs in through the login form, sees exactly their menu in Chinese,
switches to English and logs out; the layout at phone and desktop sizes; a supervision
officer's journey through the working-day calendar. No request may leave the live server.

Run alone: ``pytest taxdesk/core/tests/test_browser.py -p no:randomly``; skipped, loudly, when
Chromium is missing (see taxdesk/testing/browser.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.utils import translation
from playwright.sync_api import expect

from taxdesk.testing.browser import (  # fixtures, imported to be registered here
    CJK,
    DESKTOP,
    PHONE,
    browser,
    browsing,
    chromium,
    live_world,
)
from taxdesk.workdays.models import CalendarYear

__all__ = ["browser", "browsing", "chromium", "live_world"]

pytestmark = pytest.mark.browser

MENU_ORDER = (
    "home",
    "taxpayers",
    "devices",
    "sales",
    "billing",
    "imports",
    "clocks",
    "messages",
    "units",
    "calendar",
    "audit",
    "api",
    "admin",
)
LABELS_ZH = {
    "home": "首页",
    "taxpayers": "纳税人",
    "devices": "设备",
    "sales": "销售",
    "billing": "收费与合同",
    "imports": "导入",
    "units": "服务单位",
    "clocks": "时限监控",
    "messages": "消息",
    "calendar": "工作日历",
    "audit": "审计日志",
    "api": "接口",
    "admin": "系统管理",
}
LABELS_EN = {
    "home": "Home",
    "taxpayers": "Taxpayers",
    "devices": "Devices",
    "sales": "Sales",
    "billing": "Fees and contracts",
    "imports": "Import",
    "units": "Service units",
    "clocks": "Clocks",
    "messages": "Messages",
    "calendar": "Working-day calendar",
    "audit": "Audit trail",
    "api": "API",
    "admin": "Administration",
}
AUDITORS = {"root", "admin_a", "admin_b", "supervisor_x", "supervisor_y"}
MESSAGE_READERS = {"root", "admin_a", "admin_b", "dispatcher_a", "supervisor_x", "supervisor_y"}
CAST = (
    "root",
    "admin_a",
    "dispatcher_a",
    "technician_a",
    "trainer_a",
    "sales_a",
    "repair_a",
    "admin_b",
    "technician_b",
    "supervisor_x",
    "supervisor_y",
    "tax_a",
    "taxpayer_pa1",
)


def expected_menu(username: str) -> list[str]:
    keys = {"home", "units", "clocks"}
    if username != "taxpayer_pa1":
        keys |= {"calendar", "api", "taxpayers", "devices", "sales", "billing"}
    if username in AUDITORS:
        keys.add("audit")
    if username in {"root", "admin_a", "admin_b", "dispatcher_a", "sales_a"}:
        keys.add("imports")
    if username in MESSAGE_READERS:
        keys.add("messages")
    if username == "root":
        keys.add("admin")
    return [key for key in MENU_ORDER if key in keys]


def menu_of(page) -> list[tuple[str, str]]:
    pairs = page.locator("[data-testid=menu] [data-nav]").evaluate_all(
        "els => els.map(el => [el.dataset.nav, el.textContent.trim()])"
    )
    return [tuple(pair) for pair in pairs]


def zh(message: str, **params) -> str:
    """The Chinese catalogue's text for a message, as the pages show it."""
    with translation.override("zh-hans"):
        return translation.gettext(message) % params


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("username", CAST)
def test_login_menu_language_and_logout(username, live_world, browsing):
    page = browsing.new_page()
    browsing.log_in(page, username)
    expect(page).to_have_url(browsing.url("/"))
    expect(page.locator("[data-testid=whoami]")).to_contain_text(username)
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")

    keys = expected_menu(username)
    expect(page.locator("[data-testid=menu] [data-nav]")).to_have_count(len(keys))
    assert menu_of(page) == [(key, LABELS_ZH[key]) for key in keys]

    page.locator("[data-testid=language] button[data-lang=en]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(browsing.url("/"))
    assert menu_of(page) == [(key, LABELS_EN[key]) for key in keys]

    page.locator("[data-testid=logout]").click()
    expect(page).to_have_url(browsing.url("/accounts/login/"))
    expect(page.locator("[data-testid=login-form]")).to_be_visible()
    expect(page.locator("[data-testid=menu]")).to_have_count(0)
    assert not browsing.foreign_requests


def test_wrong_password_stays_on_the_login_page_in_the_default_language(live_world, browsing):
    # A browser asking for a language TaxDesk does not offer gets the default, Chinese.
    page = browsing.new_page(locale="fr-FR")
    browsing.log_in(page, "admin_a", "not-the-password")
    error = page.locator("[data-testid=login-form] .alert-danger")
    expect(error).to_be_visible()
    assert CJK.search(error.inner_text()), error.inner_text()
    expect(page).to_have_url(browsing.url("/accounts/login/"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("[data-testid=menu]")).to_have_count(0)
    expect(page.locator("input[name=username]")).to_have_value("admin_a")


def test_phone_collapses_the_menu_behind_the_toggler(live_world, browsing):
    page = browsing.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    browsing.log_in(page, "technician_a")
    expect(page).to_have_url(browsing.url("/"))
    toggler = page.locator(".navbar-toggler")
    menu = page.locator("[data-testid=menu]")
    expect(toggler).to_be_visible()
    expect(menu).to_be_hidden()

    toggler.tap()
    expect(menu).to_be_visible()
    expect(toggler).to_have_attribute("aria-expanded", "true")
    page.locator("[data-testid=menu] [data-nav=clocks]").tap()
    expect(page).to_have_url(browsing.url("/clocks/"))
    expect(menu).to_be_hidden()
    table = page.locator("[data-testid=rows]")
    table.scroll_into_view_if_needed()
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(2)  # the clocks of pa1 and pa2
    assert fits_the_width(page), "the clocks page scrolls sideways on a phone"


def test_desktop_shows_the_menu_without_a_toggler(live_world, browsing):
    page = browsing.new_page(viewport=DESKTOP)
    browsing.log_in(page, "dispatcher_a")
    expect(page).to_have_url(browsing.url("/"))
    expect(page.locator(".navbar-toggler")).to_be_hidden()
    expect(page.locator("[data-testid=menu]")).to_be_visible()
    for key in expected_menu("dispatcher_a"):
        expect(page.locator(f"[data-testid=menu] [data-nav={key}]")).to_be_visible()


def test_supervisor_enters_a_year_and_a_conflict_changes_nothing(live_world, browsing):
    page = browsing.new_page()
    browsing.log_in(page, "supervisor_x")
    expect(page).to_have_url(browsing.url("/"))
    page.goto(browsing.url("/calendar/2027/"))
    form = page.locator("form:has(textarea[name=holidays])")
    saturday = page.locator("td[data-date='2027-01-02']")
    expect(saturday).to_have_attribute("data-working", "0")

    # New Year's Day (a Friday) off, the Saturday after worked instead.
    form.locator("textarea[name=holidays]").fill("2027-01-01")
    form.locator("textarea[name=workdays]").fill("2027-01-02")
    form.locator("input[name=notice]").fill("国务院办公厅通知（测试）")
    form.locator("button[type=submit]").click()
    expect(page.locator(".alert-success")).to_have_text(
        zh("The calendar of %(year)s was saved.", year=2027)
    )
    expect(page).to_have_url(browsing.url("/calendar/2027/"))
    expect(page.locator("td[data-date='2027-01-01']")).to_have_attribute("data-working", "0")
    expect(saturday).to_have_attribute("data-working", "1")
    expect(page.locator("[data-testid=source]")).to_contain_text("国务院办公厅通知（测试）")

    # The same day as a holiday and a make-up working day: refused, in Chinese.
    form.locator("textarea[name=holidays]").fill("2027-01-01\n2027-01-02")
    form.locator("textarea[name=workdays]").fill("2027-01-02")
    form.locator("button[type=submit]").click()
    error = page.locator("[data-error-for=workdays]")
    expected = zh("%(day)s cannot be both a holiday and a make-up working day.", day="2027-01-02")
    assert CJK.search(expected), f"the catalogue does not translate the error: {expected!r}"
    expect(error).to_have_text(expected)
    expect(page.locator(".alert-success")).to_have_count(0)

    row = CalendarYear.objects.get(year=2027)
    assert (row.holidays, row.workdays) == (["2027-01-01"], ["2027-01-02"])
    page.goto(browsing.url("/calendar/2027/"))
    expect(saturday).to_have_attribute("data-working", "1")
    expect(form.locator("textarea[name=holidays]")).to_have_value("2027-01-01")


def test_home_page_at_desktop_and_phone_sizes(live_world, browsing, tmp_path):
    """Screenshots for a person to look at (not committed); the page must not scroll sideways.

    They go to ``TAXDESK_SCREENSHOT_DIR`` or else the test's own ``tmp_path`` (pytest keeps
    the last runs'), never to a fixed file that parallel test runs would share."""
    folder = Path(os.environ.get("TAXDESK_SCREENSHOT_DIR") or tmp_path)
    for size, viewport, options in (
        ("desktop", DESKTOP, {}),
        ("phone", PHONE, {"is_mobile": True, "has_touch": True}),
    ):
        page = browsing.new_page(viewport=viewport, **options)
        browsing.log_in(page, "admin_a")
        expect(page).to_have_url(browsing.url("/"))
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
        expect(page.locator("h1")).to_contain_text("admin_a")
        expect(page.locator(".card").first).to_be_visible()
        assert fits_the_width(page), f"the home page scrolls sideways at {size} size"
        page.screenshot(path=folder / f"taxdesk-home-{size}.png", full_page=True)
