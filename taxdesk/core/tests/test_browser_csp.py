"""The Content-Security-Policy in a real Chromium: the main pages of every app, the admin and
the API docs load and work without the browser reporting a single violation.

Violations are caught twice: the page's ``securitypolicyviolation`` events (a listener
installed before any page script runs) and Chromium's console errors about the policy. The
test first proves that the listeners catch a violation.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from taxdesk.testing.browser import (  # fixtures, imported to be registered here
    browser,
    browsing,
    chromium,
    live_world,
)

__all__ = ["browser", "browsing", "chromium", "live_world"]

pytestmark = pytest.mark.browser

LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} ` +
    `at ${event.sourceFile}:${event.lineNumber}`
  );
});
"""


class Watch:
    """The violations a page reported, across its navigations."""

    def __init__(self, page):
        self.page = page
        self.found: list[str] = []
        page.add_init_script(LISTEN)
        page.on("console", self._console)

    def _console(self, message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.found.append(f"{self.page.url}: {message.text}")

    def collect(self) -> None:
        events = self.page.evaluate("window.__cspViolations || []")
        self.found += [f"{self.page.url}: {event}" for event in events]
        self.page.evaluate("window.__cspViolations = []")

    def visit(self, browsing, path: str) -> None:
        response = self.page.goto(browsing.url(path))
        assert response.status == 200, (path, response.status)
        policy = response.headers.get("content-security-policy", "")
        assert "default-src 'self'" in policy, (path, policy)
        self.page.wait_for_load_state("networkidle")
        self.collect()


def test_the_listeners_catch_a_violation(live_world, browsing):
    page = browsing.new_page()
    watch = Watch(page)
    watch.visit(browsing, "/accounts/login/")
    page.evaluate(
        """() => { const s = document.createElement("script");
                   s.textContent = "window.ran = true"; document.body.append(s); }"""
    )
    page.wait_for_function("window.__cspViolations.length > 0")
    assert page.evaluate("window.ran") is None  # the inline script was blocked
    watch.collect()
    assert any("script-src" in found for found in watch.found), watch.found


def test_the_main_pages_report_no_violation(live_world, browsing):
    cast = live_world
    page = browsing.new_page()
    watch = Watch(page)
    watch.visit(browsing, "/accounts/login/")
    browsing.log_in(page, "admin_a")
    expect(page).to_have_url(browsing.url("/"))
    watch.collect()

    for path in (
        "/",
        "/taxpayers/",
        f"/taxpayers/{cast.pa1.pk}/",
        "/taxpayers/add/",
        "/devices/",
        "/devices/batches/",
        "/devices/warranty/",
        "/sales/",
        "/billing/charges/",
        "/billing/charges/add/",
        "/billing/contracts/",
        "/billing/schedules/",
        "/billing/proration/",
        "/imports/",
        "/imports/new/",
        "/clocks/",
        f"/clocks/{cast.clock_pa1.pk}/",
        "/units/",
        f"/units/{cast.unit_a.pk}/",
        f"/units/{cast.unit_a.pk}/edit/",
        "/calendar/",
        "/calendar/2027/",
        "/audit/",
        "/accounts/password/",
    ):
        watch.visit(browsing, path)

    # A list filtered through htmx (the rows are swapped in place).
    watch.visit(browsing, "/taxpayers/")
    with page.expect_response(lambda r: "/taxpayers/?" in r.url):
        page.locator("main form [name=q]").fill(cast.pa1.name)
        page.locator("main form [name=q]").dispatch_event("change")
    page.wait_for_load_state("networkidle")
    watch.collect()

    # The API docs: Swagger UI renders the schema under its own, relaxed style policy.
    watch.visit(browsing, "/api/docs/")
    expect(page.locator(".swagger-ui .information-container")).to_be_visible()
    expect(page.locator(".opblock-tag").first).to_be_visible()
    watch.collect()

    # The admin, as the platform administrator.
    root = browsing.new_page()
    root_watch = Watch(root)
    browsing.log_in(root, "root")
    expect(root).to_have_url(browsing.url("/"))
    for path in ("/admin/", "/admin/core/user/", f"/admin/core/user/{cast.admin_a.pk}/change/"):
        root_watch.visit(browsing, path)

    # A choice that sends its form (a static script, no inline handler).
    root_watch.visit(browsing, "/billing/proration/")
    root.locator("select[name=unit]").select_option(str(cast.unit_b.pk))
    expect(root).to_have_url(browsing.url(f"/billing/proration/?unit={cast.unit_b.pk}"))
    expect(root.locator("main h2")).to_have_text(cast.unit_b.name)
    root_watch.collect()

    assert watch.found + root_watch.found == []
