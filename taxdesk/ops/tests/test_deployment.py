"""A real deployment under load: the production settings (TAXDESK_MODE=production, a secret
key from the environment, plain HTTP behind an imagined proxy), gunicorn with several
workers, a Celery worker on Redis, on the run's database (a fresh migrated PostgreSQL database
``taxdesk_deploy``, or the embedded default's SQLite file), driven over HTTP by 20 clients.

Checked: no 5xx (on SQLite: no "database is locked"), every write answered 201 is in the
database afterwards with its audit entry, two clients racing to start the same import get one
winner, and the background runs they start happen exactly once."""

import json
import re
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from taxdesk.testing.imports import mobile, taxpayers_upload

from .driver import HTTP_PREFIX, import_rows, writer_number
from .harness import (
    BIN,
    REDIS_URL,
    TEST_SECRET_KEY,
    Http,
    load_average,
    stop,
    wait_for,
    wait_for_log,
)

pytestmark = [pytest.mark.deployment, pytest.mark.redis]

WRITERS = 20
LOAD_SECONDS = 10
GUNICORN_WORKERS = 3
JOBS = 3  # import files, each raced by two clients
JOB_ROWS = 30
TASK = "taxdesk.imports.tasks.run_import"


@pytest.fixture
def redis_db():
    """The tests' own Redis database (TAXDESK_TEST_REDIS_URL, else db 14), emptied so no
    message of an earlier run reaches the worker."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=10)
    try:
        client.ping()
    except (redis.exceptions.RedisError, OSError) as exc:
        pytest.skip(f"Redis at {REDIS_URL} is not reachable: {exc}")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


class Load:
    """What the clients saw: acknowledged writes, and every answer that was not what a
    correct server gives."""

    def __init__(self):
        self.lock = threading.Lock()
        self.taxpayers: list[dict] = []
        self.contacts: list[dict] = []
        self.server_errors: list = []
        self.unexpected: list = []
        self.transport_errors: list = []
        self.requests = 0

    def answer(self, what: str, status: int, body, expected: int) -> bool:
        with self.lock:
            self.requests += 1
            if status >= 500:
                self.server_errors.append((what, status, str(body)[:300]))
            elif status != expected:
                self.unexpected.append((what, status, str(body)[:300]))
        return status == expected


def _writer(http: Http, token: str, office: int, i: int, end: float, load: Load) -> None:
    n = 0
    while time.monotonic() < end:
        n += 1
        number = writer_number(HTTP_PREFIX, i, n)
        body = {
            "number": number,
            "name": f"接口企业{i:02d}-{n:05d}",
            "tax_office": office,
            "contacts": [{"name": f"办税员{i}-{n}", "mobile": mobile(500_000 + i * 10_000 + n)}],
        }
        try:
            status, answer = http.request("POST", "/api/taxpayers/", token=token, json_body=body)
            if not load.answer("taxpayer", status, answer, 201):
                continue
            acked = {"number": number, "id": answer["id"], "at": time.time()}
            with load.lock:
                load.taxpayers.append(acked)
            if n % 3 == 0:
                contact = {
                    "taxpayer": answer["id"],
                    "name": f"财务{i}-{n}",
                    "role": "finance",
                    "mobile": mobile(700_000 + i * 10_000 + n),
                }
                status, answer = http.request(
                    "POST", "/api/contacts/", token=token, json_body=contact
                )
                if load.answer("contact", status, answer, 201):
                    with load.lock:
                        load.contacts.append({"id": answer["id"]})
            if n % 4 == 0:
                status, answer = http.request(
                    "GET", f"/api/taxpayers/?q={quote(f'接口企业{i:02d}')}", token=token
                )
                load.answer("search", status, answer, 200)
        except Exception as exc:  # refused, reset, timed out: never acceptable here
            with load.lock:
                load.transport_errors.append(f"{type(exc).__name__}: {exc}")


def _race(http: Http, tokens: list[str], job_id: int) -> list[tuple[int, str | None]]:
    """Two clients start the same import at the same moment."""
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def client(k: int) -> None:
        barrier.wait()
        status, answer = http.request(
            "POST", f"/api/imports/{job_id}/run/", token=tokens[k], json_body={}
        )
        code = answer.get("error", {}).get("code") if isinstance(answer, dict) else None
        results[k] = (status, code)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def _no_control_socket() -> list[str]:
    """Newer gunicorns open a control socket in the user's home by default, one path for
    every server of the user: this test's server keeps out of the others' way."""
    from gunicorn.config import Config

    return ["--no-control-socket"] if "control_socket_disable" in Config().settings else []


def _job(http: Http, token: str, job_id: int) -> dict:
    status, answer = http.request("GET", f"/api/imports/{job_id}/", token=token)
    assert status == 200, answer
    return answer


def test_production_deployment_under_20_writers(new_site, redis_db, tmp_path):
    began = time.monotonic()
    site = new_site(
        "main",
        TAXDESK_MODE="production",
        SECRET_KEY=TEST_SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1",
        TAXDESK_HTTPS="false",
        REDIS_URL=REDIS_URL,
    )
    python = sys.executable
    collect = site.popen(
        [python, "manage.py", "collectstatic", "--noinput", "-v0"], tmp_path / "static.log"
    )
    site.manage("migrate", "--noinput", "-v0")
    world = site.driver("setup", "--writers", str(WRITERS))
    assert collect.wait(300) == 0, (tmp_path / "static.log").read_text()
    web_log, worker_log = tmp_path / "web.log", tmp_path / "worker.log"
    # gunicorn as bin/run starts it in production (bin/run adds check --deploy, which wants
    # HTTPS); port 0: the system picks a free one and gunicorn logs it.
    web = site.popen(
        [
            BIN / "gunicorn",
            "taxdesk.wsgi",
            "--bind",
            "127.0.0.1:0",
            "--workers",
            str(GUNICORN_WORKERS),
            "--access-logfile",
            "-",
            *_no_control_socket(),
        ],
        web_log,
    )
    worker = site.popen(
        [
            BIN / "celery",
            "-A",
            "taxdesk",
            "worker",
            "--concurrency",
            "2",
            "--loglevel",
            "INFO",
            "--hostname",
            f"deploytest-{uuid.uuid4().hex[:8]}@%h",
            "--without-gossip",
            "--without-mingle",
        ],
        worker_log,
    )
    load = Load()
    races = {}
    try:
        port = int(wait_for_log(web_log, r"Listening at: http://127\.0\.0\.1:(\d+)", web, 60)[1])
        http = Http(port)
        wait_for_log(worker_log, r"\bready\.", worker, 90)

        # A client signs in (the token endpoint checks the password) and loads a page with
        # its stylesheet (static files through WhiteNoise, collected with their hashes).
        status, answer = http.request(
            "POST",
            "/api/auth/token/",
            json_body={"username": world["admin"], "password": world["password"]},
        )
        assert status == 200, answer
        admin_token = answer["token"]
        status, page = http.request("GET", "/accounts/login/")
        assert status == 200
        stylesheet = re.search(r'href="(/static/[^"]+\.css)"', page)[1]
        assert http.request("GET", stylesheet)[0] == 200

        # Import files, each checked by the worker, then raced by two clients while the
        # writers load the server.
        jobs = {}
        for index in range(1, JOBS + 1):
            upload = taxpayers_upload(import_rows(index, JOB_ROWS), name=f"部署{index}.xlsx")
            status, answer = http.upload(
                "/api/imports/",
                token=admin_token,
                fields={"kind": "taxpayers"},
                file_name=upload.name,
                content=upload.read(),
            )
            assert status == 201, answer
            jobs[answer["id"]] = index

        tokens = world["tokens"]
        end = time.monotonic() + LOAD_SECONDS
        load_began = time.time()
        writers = [
            threading.Thread(target=_writer, args=(http, tokens[i], world["office"], i, end, load))
            for i in range(WRITERS)
        ]
        for thread in writers:
            thread.start()
        for job_id in jobs:
            wait_for(
                lambda job_id=job_id: _job(http, admin_token, job_id)["state"] == "validated",
                180,
                f"import job {job_id} to be checked",
                interval=0.5,
            )
            races[job_id] = _race(http, [admin_token, tokens[0]], job_id)
        for thread in writers:
            thread.join(LOAD_SECONDS + 120)
        load_seconds = time.time() - load_began
        finished = {
            job_id: wait_for(
                lambda job_id=job_id: (
                    job
                    if (job := _job(http, admin_token, job_id))["state"] in ("done", "failed")
                    else None
                ),
                180,
                f"import job {job_id} to finish",
                interval=0.5,
            )
            for job_id in jobs
        }
    finally:
        stop(web)
        stop(worker)
    web_text = web_log.read_text(errors="replace")
    worker_text = worker_log.read_text(errors="replace")

    # No server error; on SQLite above all no "database is locked".
    assert load.server_errors == [], load.server_errors[:5]
    assert load.transport_errors == [], load.transport_errors[:5]
    assert load.unexpected == [], load.unexpected[:5]
    assert "database is locked" not in web_text + worker_text
    assert "Traceback" not in web_text, web_text[-3000:]
    assert len(load.taxpayers) > WRITERS

    # One winner per race: the other is told it started already (or is no longer checked).
    for job_id, results in races.items():
        statuses = sorted(status for status, _code in results)
        assert statuses == [202, 400], (job_id, results)
        assert {code for _status, code in results} - {None} <= {"already_started", "not_validated"}

    # Every acknowledged write is in the database, nothing else was written.
    acks, contacts = tmp_path / "acks.jsonl", tmp_path / "contacts.jsonl"
    acks.write_text("".join(json.dumps(a) + "\n" for a in load.taxpayers))
    contacts.write_text("".join(json.dumps(c) + "\n" for c in load.contacts))
    job_args = ",".join(f"{job_id}:{index}" for job_id, index in jobs.items())
    found = site.driver(
        "verify",
        "--acks",
        acks,
        "--contacts",
        contacts,
        "--jobs",
        job_args,
        "--rows",
        str(JOB_ROWS),
    )
    assert found["missing_before_count"] == 0, found["missing_before"]
    assert found["unaudited_before"] == 0 and found["without_contact_before"] == 0
    assert found["contacts_missing"] == 0 and found["contacts_acked"] == len(load.contacts)
    assert found["taxpayers"] == len(load.taxpayers) + JOBS * JOB_ROWS

    # Each job was checked once and imported once, by the worker.
    for job_id, job in found["jobs"].items():
        assert finished[int(job_id)]["state"] == "done", finished[int(job_id)]
        assert (job["state"], job["created"], job["updated"], job["unchanged"]) == (
            "done",
            JOB_ROWS,
            0,
            0,
        ), job
        assert job["moves"] == [
            "None>uploaded",
            "importing>done",
            "uploaded>validating",
            "validated>importing",
            "validating>validated",
        ], job["moves"]
        assert (job["rows_found"], job["rows_twice"]) == (JOB_ROWS, 0)
    received = re.findall(rf"Task {re.escape(TASK)}\[[0-9a-f-]+\] received", worker_text)
    results = re.findall(
        rf"Task {re.escape(TASK)}\[[0-9a-f-]+\] succeeded in [^:]+: '(\w+)'", worker_text
    )
    assert len(received) == 2 * JOBS, worker_text[-3000:]
    assert sorted(results) == ["done"] * JOBS + ["validated"] * JOBS, worker_text[-3000:]

    print(
        "\nFIGURES deployment "
        + json.dumps(
            {
                "database": site.kind,
                "gunicorn_workers": GUNICORN_WORKERS,
                "writers": WRITERS,
                "load_seconds": round(load_seconds, 1),
                "requests": load.requests,
                "taxpayers_acknowledged": len(load.taxpayers),
                "contacts_acknowledged": len(load.contacts),
                "found": found["acked_before"] - found["missing_before_count"],
                "writes_per_second": round(len(load.taxpayers) / load_seconds, 1),
                "server_errors": len(load.server_errors),
                "races": {str(k): v for k, v in races.items()},
                "import_tasks": len(received),
                "test_seconds": round(time.monotonic() - began, 1),
                "load_average": load_average(),
            },
            ensure_ascii=False,
        )
    )
    Path(tmp_path / "figures.json").write_text(json.dumps(found))
