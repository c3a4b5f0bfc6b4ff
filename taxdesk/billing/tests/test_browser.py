"""In a real Chromium: a sales clerk draws up a service contract, the user signs it, the clerk
charges the maintenance fee (INS-07), records the payment and the formal invoice; the pages fit
a phone and a desktop."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect

from taxdesk.billing.choices import ContractState, PaymentState
from taxdesk.billing.models import Charge, ServiceContract
from taxdesk.testing.billing import make_schedule
from taxdesk.testing.browser import (  # fixtures, imported to be registered here
    DESKTOP,
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


@pytest.mark.rule("INS-07")
def test_ins_07_clerk_contract_signature_fee_payment_invoice(live_world, browsing, tmp_path):
    cast = live_world
    make_schedule(cast.unit_a, valid_from=date(2017, 7, 1))
    page = browsing.new_page()
    browsing.log_in(page, "sales_a")
    expect(page).to_have_url(browsing.url("/"))

    page.goto(browsing.url("/billing/contracts/add/"))
    page.fill("input[name=taxpayer]", cast.pa1.number)
    page.fill("input[name=starts_on]", "2025-03-01")
    page.click("main form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/billing/contracts/\d+/$"))
    contract = ServiceContract.objects.get(taxpayer=cast.pa1)
    expect(page).to_have_url(browsing.url(f"/billing/contracts/{contract.pk}/"))
    expect(page.locator("[data-testid=contract-pdf]")).to_be_visible()

    sign = page.locator("[data-testid=sign-form]")
    sign.locator("input[name=signed_on]").fill("2025-03-01")
    sign.locator("button[type=submit]").click()
    expect(page.locator("[data-testid=state]")).to_contain_text("2025-03-01")
    contract.refresh_from_db()
    assert contract.state == ContractState.SIGNED

    page.goto(browsing.url("/billing/charges/add/"))
    page.fill("input[name=taxpayer]", cast.pa1.number)
    page.select_option("select[name=fee_kind]", "maintenance")
    page.fill("input[name=service_date]", "2025-03-01")
    page.click("main form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/billing/charges/\d+/$"))
    charge = Charge.objects.get(taxpayer=cast.pa1)
    expect(page).to_have_url(browsing.url(f"/billing/charges/{charge.pk}/"))
    expect(page.locator("[data-testid=amount]")).to_have_text("280.00")

    pay = page.locator("[data-testid=pay-form]")
    pay.locator("input[name=paid_on]").fill("2025-03-02")
    pay.locator("button[type=submit]").click()
    expect(page.locator("[data-testid=payment]")).to_contain_text("2025-03-02")

    invoice = page.locator("[data-testid=invoice-form]")
    invoice.locator("input[name=invoice_number]").fill("25332000000000000123")
    invoice.locator("input[name=invoice_date]").fill("2025-03-02")
    invoice.locator("button[type=submit]").click()
    expect(page.locator("[data-testid=invoice]")).to_contain_text("25332000000000000123")
    charge.refresh_from_db()
    assert (charge.payment_state, charge.invoice_number) == (
        PaymentState.PAID,
        "25332000000000000123",
    )

    # Screenshots for a person to look at (not committed): under the test's own tmp_path
    # (kept by pytest for the last runs), not a fixed file that parallel runs would share.
    folder = Path(os.environ.get("TAXDESK_SCREENSHOT_DIR") or tmp_path)
    for size, viewport, options in (
        ("desktop", DESKTOP, {}),
        ("phone", PHONE, {"is_mobile": True, "has_touch": True}),
    ):
        view = browsing.new_page(viewport=viewport, **options)
        browsing.log_in(view, "sales_a")
        for name, path in (
            ("charge", f"/billing/charges/{charge.pk}/"),
            ("charges", "/billing/charges/"),
            ("contracts", "/billing/contracts/"),
            ("contract", f"/billing/contracts/{contract.pk}/"),
            ("schedules", "/billing/schedules/"),
        ):
            view.goto(browsing.url(path))
            expect(view.locator("h1")).to_be_visible()
            assert fits_the_width(view), f"{path} scrolls sideways at {size} size"
            view.screenshot(path=folder / f"taxdesk-billing-{name}-{size}.png", full_page=True)
