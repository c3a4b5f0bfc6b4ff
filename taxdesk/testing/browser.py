"""Browser-test fixtures: the system Chromium driven through Playwright's sync API against
pytest-django's ``live_server``.

Import the fixtures into a test module (``from taxdesk.testing.browser import ...``). One
Chromium serves the whole session; every page gets a fresh context (cookies, storage, viewport)
so tests cannot leak a login or a language choice into each other.

Playwright's sync API keeps an asyncio loop marked as running in the main thread from the moment
it starts until it stops, and Django refuses ORM calls while a loop runs. The function-scoped
``browser`` fixture therefore sets ``DJANGO_ALLOW_ASYNC_UNSAFE`` and shows Playwright its loop
only for the duration of a browser test; between them both are withdrawn, so the rest of the
suite runs as if no browser existed (see ``Chromium.awake``). The ORM is still used from one
thread at a time: the test thread sets up, the live-server thread serves while the test waits
on the browser.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from django.db import connections

from taxdesk.testing.cast import PASSWORD, World, build_world

ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
# The people using TaxDesk browse with a Chinese browser; Chromium's own default is en-US.
BROWSER_LOCALE = "zh-CN"
# Schemes that never leave the browser.
_LOCAL_SCHEMES = {"data", "blob", "about", "chrome", "chrome-extension", "devtools"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def chromium_path() -> str:
    return os.environ.get("TAXDESK_CHROMIUM") or DEFAULT_CHROMIUM


@dataclass
class Chromium:
    """The session's Playwright and browser, and the asyncio loop Playwright runs them on."""

    playwright: object
    browser: object
    loop: asyncio.AbstractEventLoop

    @contextmanager
    def awake(self) -> Iterator[object]:
        """Let a test drive the browser, then hide the loop again for the tests that follow.

        Playwright's sync API marks its loop as running in the main thread between calls; with
        the mark on, Django refuses ORM calls unless ``DJANGO_ALLOW_ASYNC_UNSAFE`` is set, and
        ``asyncio.run()`` or ``async_to_sync`` fail. Both are turned on only while a browser
        test runs, so the rest of the suite (and the subprocesses it starts) never sees them.
        """
        previous = os.environ.get(ASYNC_UNSAFE)
        os.environ[ASYNC_UNSAFE] = "true"
        asyncio._set_running_loop(self.loop)
        try:
            yield self.browser
        finally:
            asyncio._set_running_loop(None)
            if previous is None:
                os.environ.pop(ASYNC_UNSAFE, None)
            else:
                os.environ[ASYNC_UNSAFE] = previous


@pytest.fixture(scope="session")
def chromium() -> Iterator[Chromium]:
    """The system Chromium, headless, launched once per session (asleep between tests)."""
    path = chromium_path()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.skip(
            f"browser tests skipped: Chromium not found at {path}; install the Debian package "
            "chromium (or point TAXDESK_CHROMIUM at a Chromium executable)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is a dev dependency
        pytest.skip("browser tests skipped: the Python package playwright is not installed")

    playwright = sync_playwright().start()
    loop = asyncio.get_running_loop()  # marked as running by Playwright from here on
    try:
        browser = playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_ARGS
        )
    except Exception:
        playwright.stop()
        asyncio._set_running_loop(None)
        raise
    asyncio._set_running_loop(None)
    session = Chromium(playwright=playwright, browser=browser, loop=loop)
    yield session
    with session.awake():
        browser.close()
        playwright.stop()


@pytest.fixture
def browser(chromium) -> Iterator[object]:
    """The session's Chromium, awake for this test (request it before any database fixture)."""
    with chromium.awake() as browser:
        try:
            yield browser
        finally:
            # While awake, Django keeps the test's connections apart from the ones it closes
            # when the test database is dropped (they are stored per event-loop context):
            # close them here, or PostgreSQL refuses to drop a database still in use.
            connections.close_all()


@pytest.fixture
def live_world(browser, transactional_db, settings) -> World:
    """The cast's world, committed, so the live-server thread sees it.

    Requests ``browser`` first so that ``DJANGO_ALLOW_ASYNC_UNSAFE`` is set before any query.
    Passwords use a fast hasher: the cast has thirteen users and every test logs in.
    """
    assert os.environ.get(ASYNC_UNSAFE) == "true", "request browser before the database"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return build_world()


@dataclass
class Browsing:
    """Opens pages in fresh browser contexts and remembers every request that left the server."""

    browser: object
    base_url: str
    contexts: list = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)

    def new_page(self, viewport=DESKTOP, locale=BROWSER_LOCALE, **options):
        context = self.browser.new_context(
            viewport=viewport, locale=locale, timezone_id="Asia/Shanghai", **options
        )
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()
        page.on("request", self._watch)
        return page

    def _watch(self, request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in _LOCAL_SCHEMES:
            return
        if f"{parts.scheme}://{parts.netloc}" != self.base_url:
            self.foreign_requests.append(request.url)

    def url(self, path: str) -> str:
        return self.base_url + path

    def log_in(self, page, username: str, password: str = PASSWORD) -> None:
        """Fill in and submit the real login form (it stays put if the login fails)."""
        page.goto(self.url("/accounts/login/"))
        form = page.locator("[data-testid=login-form]")
        form.locator("input[name=username]").fill(username)
        form.locator("input[name=password]").fill(password)
        form.locator("button[type=submit]").click()

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def browsing(browser, live_server) -> Iterator[Browsing]:
    """Fresh pages against the live server; fails the test if any request left the server."""
    session = Browsing(browser=browser, base_url=live_server.url.rstrip("/"))
    try:
        yield session
    finally:
        session.close()
    assert not session.foreign_requests, (
        f"requests left the live server {session.base_url}: {session.foreign_requests}"
    )
