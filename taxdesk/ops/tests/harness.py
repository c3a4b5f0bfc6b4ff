"""Installations for the deployment tests: each its own TAXDESK_VAR_DIR and database (a
SQLite file, or a PostgreSQL database named ``taxdesk_deploy…`` on DATABASE_URL's server),
driven through ``manage.py``, the driver (``driver.py``) and real server processes."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
TEST_SECRET_KEY = "deploy-test-secret-key-" + "0123456789abcdefghijklmnopqrstuvwxyz"
REDIS_URL = os.environ.get("TAXDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


def clean_environment() -> dict:
    """This process's environment without any of TaxDesk's own settings."""
    prefixes = ("TAXDESK_", "DATABASE_URL", "SECRET_KEY", "REDIS_URL", "ALLOWED_HOSTS", "CSRF_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def postgres_server() -> str | None:
    """DATABASE_URL without its database name, when it names a PostgreSQL server."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return None
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/", parts.query, ""))


def _admin_connection(server: str):
    import psycopg

    parts = urlsplit(server)
    return psycopg.connect(
        host=parts.hostname or None,
        port=parts.port or None,
        user=parts.username or None,
        password=parts.password or None,
        dbname="postgres",
        autocommit=True,
    )


def drop_database(server: str, name: str) -> None:
    from psycopg import sql

    assert name.startswith("taxdesk_deploy"), name  # the tests' own databases only
    with _admin_connection(server) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def create_database(server: str, name: str) -> None:
    from psycopg import sql

    drop_database(server, name)
    with _admin_connection(server) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


@dataclass
class Site:
    """One installation: its directory and database, the settings of its processes."""

    var_dir: Path
    database_url: str | None = None
    settings: dict = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "postgresql" if self.database_url else "sqlite"

    def env(self, **more) -> dict:
        env = clean_environment()
        env.update(
            TAXDESK_VAR_DIR=str(self.var_dir),
            DJANGO_SETTINGS_MODULE="taxdesk.settings",
            PYTHONUNBUFFERED="1",
        )
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        env.update(self.settings)
        env.update(more)
        return env

    def run(self, args: list, *, timeout: float = 300, check: bool = True, **env):
        result = subprocess.run(
            [str(a) for a in args],
            cwd=ROOT,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(map(str, args))} failed ({result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def manage(self, *args, **kwargs):
        return self.run([sys.executable, "manage.py", *args], **kwargs)

    def popen(self, args: list, log: Path, **env) -> subprocess.Popen:
        out = log.open("w")
        return subprocess.Popen(
            [str(a) for a in args],
            cwd=ROOT,
            env=self.env(**env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as one, by its id
        )

    def driver(self, *args, timeout: float = 300) -> dict:
        result = self.run(
            [sys.executable, "-m", "taxdesk.ops.tests.driver", *args], timeout=timeout
        )
        return json.loads(result.stdout.strip().splitlines()[-1])


def stop(process: subprocess.Popen, timeout: float = 30) -> None:
    """Stop a process group this test started (SIGTERM: gunicorn and Celery shut down
    gracefully), then wait for it; SIGKILL only if it does not end."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def wait_for_log(log: Path, pattern: str, process: subprocess.Popen, timeout: float) -> re.Match:
    regex = re.compile(pattern)

    def found():
        if process.poll() is not None:
            raise AssertionError(f"{log.name}: the process ended:\n{log.read_text()[-3000:]}")
        return regex.search(log.read_text(errors="replace"))

    return wait_for(found, timeout, f"{pattern!r} in {log.name}")


class Http:
    """A small HTTP client (one connection per request: gunicorn's sync workers close it)."""

    def __init__(self, port: int, timeout: float = 60):
        self.port = port
        self.timeout = timeout

    def request(self, method: str, path: str, *, token=None, json_body=None, body=None, ctype=None):
        headers = {"Host": "127.0.0.1", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        if json_body is not None:
            body = json.dumps(json_body).encode()
            ctype = "application/json"
        if ctype:
            headers["Content-Type"] = ctype
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = data.decode(errors="replace")
        return response.status, parsed

    def upload(self, path: str, *, token: str, fields: dict, file_name: str, content: bytes):
        boundary = uuid.uuid4().hex
        chunks = []
        for name, value in fields.items():
            chunks.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{file_name}"\r\nContent-Type: application/vnd.openxmlformats-'
            f"officedocument.spreadsheetml.sheet\r\n\r\n".encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return self.request(
            "POST",
            path,
            token=token,
            body=b"".join(chunks),
            ctype=f"multipart/form-data; boundary={boundary}",
        )


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"
