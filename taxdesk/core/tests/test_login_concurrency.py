"""The sign-in limits hold when the attempts come at the same moment.

A real server (gunicorn: two worker processes of eight threads, each thread with its own
database connection) serves a copy of the test database (SQLite: a file made from the
in-memory test database and read back at the end; PostgreSQL: the test database itself).
Threads of the test send their attempts together, released by a barrier. The server trusts
127.0.0.1 as a proxy, so each scenario comes from its own client address
(X-Forwarded-For).

An attempt whose password was checked leaves a ``login_failed`` entry without a lock; one
refused as locked leaves ``{"locked": …}`` (``core/signals.py``).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from taxdesk.core.choices import AuditAction
from taxdesk.core.models import AuditEntry, SignInCounter

ROOT = Path(__file__).resolve().parents[3]
WRONG = "not-the-password"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_database(tmp_path) -> dict:
    """The environment that points the server at this test's committed data."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        copy = sqlite3.connect(tmp_path / "taxdesk.sqlite3")
        connection.connection.backup(copy)
        copy.close()
        return {}  # the server's default: TAXDESK_VAR_DIR/taxdesk.sqlite3
    parts = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    name = connection.settings_dict["NAME"]
    return {"DATABASE_URL": urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))}


def _read_back(tmp_path) -> None:
    """SQLite: what the server wrote, back into the test database for the assertions."""
    if connection.vendor == "sqlite":
        served = sqlite3.connect(tmp_path / "taxdesk.sqlite3")
        served.backup(connection.connection)
        served.close()


class Server:
    """A gunicorn serving the test's data; ``stop()`` ends it (SQLite: and reads its data back)."""

    def __init__(self, tmp_path):
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TAXDESK_", "DATABASE_URL", "REDIS_URL", "DJANGO_"))
        }
        env.update(
            _server_database(tmp_path),
            TAXDESK_VAR_DIR=str(tmp_path),
            TAXDESK_DEBUG="false",
            TAXDESK_TRUSTED_PROXIES="127.0.0.1",
            DJANGO_SETTINGS_MODULE="taxdesk.settings",
        )
        self.tmp_path = tmp_path
        self.base = f"http://127.0.0.1:{_free_port()}"
        self.log = open(tmp_path / "server.log", "w")  # closed by stop()
        command = [sys.executable, "-m", "gunicorn", "taxdesk.wsgi", "--bind", self.base[7:]]
        self.process = subprocess.Popen(
            [*command, "--workers", "2", "--threads", "8", "--timeout", "120"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.base + "/accounts/login/", timeout=5).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError(
                        "the server did not start:\n" + (self.tmp_path / "server.log").read_text()
                    ) from None
                time.sleep(0.2)  # polling for the server, bounded by the deadline

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        if not self.log.closed:
            self.log.close()
            _read_back(self.tmp_path)


@pytest.fixture
def server(transactional_db, cast, tmp_path):
    running = Server(tmp_path)
    try:
        running.wait_until_up()
        yield running
    finally:
        running.stop()


def _at_once(count: int, send) -> list:
    """``send(i)`` from ``count`` threads released together; the results in order."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list = []

    def run(i):
        try:
            prepared = send(i)  # everything up to the attempt itself
            barrier.wait(timeout=60)
            results[i] = prepared()
        except Exception as exc:  # reported in the test's thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(thread.is_alive() for thread in threads), "an attempt never finished"
    if errors:
        raise errors[0]
    return results


def _token_attempt(base, username, address):
    def prepared():
        request = urllib.request.Request(
            base + "/api/auth/token/",
            data=json.dumps({"username": username, "password": WRONG}).encode(),
            headers={"Content-Type": "application/json", "X-Forwarded-For": address},
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    return prepared


def _page_attempt(base, username, address):
    """The login page as a browser uses it: fetch the form (its CSRF token), then post."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    headers = {"X-Forwarded-For": address}
    with opener.open(urllib.request.Request(base + "/accounts/login/", headers=headers)) as page:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.read().decode())

    def prepared():
        form = {"username": username, "password": WRONG, "csrfmiddlewaretoken": token.group(1)}
        request = urllib.request.Request(
            base + "/accounts/login/",
            data=urllib.parse.urlencode(form).encode(),
            headers={**headers, "Referer": base + "/accounts/login/"},
        )
        with opener.open(request, timeout=120) as response:
            return response.status, "此地址登录失败次数过多" in response.read().decode()

    return prepared


def _failed(username):
    return AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED, object_repr=username)


def test_simultaneous_attempts_are_checked_at_most_up_to_the_limits(server):
    name_limit = settings.LOGIN_FAILURE_LIMIT
    address_limit = settings.LOGIN_ADDRESS_FAILURE_LIMIT
    assert (name_limit, address_limit) == (5, 20)
    base = server.base

    # Ten wrong token requests for one name from one address, at once (the token throttle
    # allows ten a minute per address): five are checked, five refused as locked.
    tokens = _at_once(10, lambda i: _token_attempt(base, "dispatcher_a", "198.51.100.10"))

    # Twenty-six wrong attempts on the login page from one address, spread over six names
    # (at most five for one name): twenty are checked, six refused as the address is locked.
    names = ["admin_a", "technician_a", "sales_a", "repair_a", "trainer_a", "tax_a"]
    pages = _at_once(
        address_limit + 6, lambda i: _page_attempt(base, names[i % 6], "198.51.100.20")
    )
    server.stop()

    assert sorted(tokens) == [400] * name_limit + [429] * (10 - name_limit)
    assert _failed("dispatcher_a").filter(changes={}).count() == name_limit
    assert _failed("dispatcher_a").filter(changes={"locked": "name"}).count() == 10 - name_limit
    counter = SignInCounter.objects.get(kind="name", username="dispatcher_a")
    assert (counter.address, counter.attempts) == ("198.51.100.10", name_limit)

    assert [status for status, _locked in pages] == [200] * (address_limit + 6)
    assert sum(locked for _status, locked in pages) == 6
    checked = _failed("").none()
    for name in names:
        checked |= _failed(name).filter(changes={})
    assert checked.count() == address_limit
    refused = AuditEntry.objects.filter(changes={"locked": "address"}, ip="198.51.100.20")
    assert refused.count() == 6
    assert SignInCounter.objects.get(kind="address", address="198.51.100.20").attempts == 20
