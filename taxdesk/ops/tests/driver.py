"""What the deployment tests do inside an installation, run as its own process with the
installation's environment (its TAXDESK_VAR_DIR and DATABASE_URL), never on pytest's database:

    python -m taxdesk.ops.tests.driver setup --writers 20 [--import-rows N]
    python -m taxdesk.ops.tests.driver write --threads 20 --log acks.jsonl --stop-file stop
    python -m taxdesk.ops.tests.driver verify --acks acks.jsonl [--before T] [--jobs 7:1,8:2]

Each prints one JSON object on its last line of output.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taxdesk.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from taxdesk.core.choices import AuditAction, Role  # noqa: E402
from taxdesk.core.models import AuditEntry, ServiceUnit, SupervisionBody, TaxOffice, User  # noqa: E402
from taxdesk.customers.actions import register_taxpayer  # noqa: E402
from taxdesk.customers.models import Contact, Taxpayer  # noqa: E402
from taxdesk.imports.models import ImportJob  # noqa: E402
from taxdesk.testing.imports import complete_taxpayer, mobile, taxpayer_number  # noqa: E402

OFFICE = "税务局部署"
PASSWORD = "deploy-Password-7"
# Numbers of the writers' taxpayers (over the ORM here, over HTTP in the deployment test) and
# of the rows of import files: three prefixes, so no two of them can meet.
ORM_PREFIX, HTTP_PREFIX, IMPORT_PREFIX = "9144030", "9132050", "9133010"


def writer_number(prefix: str, writer: int, n: int) -> str:
    return taxpayer_number(writer * 1_000_000 + n, prefix=prefix)


def import_rows(job: int, rows: int) -> list[dict]:
    """The rows of the ``job``-th import file (complete taxpayers of the test's tax office)."""
    return [complete_taxpayer(job * 10_000 + i, OFFICE) for i in range(1, rows + 1)]


def setup(args) -> dict:
    """A supervision body, a unit, its tax office, ``writers`` sales clerks with API tokens,
    one user who signs in with a password, and (``--import-rows``) an imported file."""
    body = SupervisionBody.objects.create(name="监督部署", code="SBD")
    office = TaxOffice.objects.create(name=OFFICE, code="TD", city="杭州", supervision_body=body)
    unit = ServiceUnit.objects.create(
        name="服务单位部署", code="UD", city="杭州", supervision_body=body
    )
    unit.tax_offices.add(office)
    tokens = []
    for i in range(args.writers):
        user = User(
            username=f"writer{i:02d}",
            role=Role.SALES_CLERK,
            full_name=f"并发写入{i:02d}",
            service_unit=unit,
        )
        user.set_unusable_password()
        user.full_clean()
        user.save()
        tokens.append(Token.objects.create(user=user).key)
    admin = User(
        username="deploy_admin", role=Role.UNIT_ADMIN, full_name="部署管理员", service_unit=unit
    )
    admin.set_password(PASSWORD)  # the production hasher: the login over HTTP checks it
    admin.full_clean()
    admin.save()
    result = {
        "unit": unit.pk,
        "office": office.pk,
        "tokens": tokens,
        "admin": admin.username,
        "password": PASSWORD,
    }
    if args.import_rows:
        # An uploaded file through the real action, checked and imported at once: the
        # backup must carry the upload (MEDIA_ROOT) with the rows it made.
        from taxdesk.imports.actions import create_job, start_import
        from taxdesk.testing.imports import taxpayers_upload

        settings.IMPORTS_INLINE = True
        job = create_job(
            kind="taxpayers", file=taxpayers_upload(import_rows(1, args.import_rows)), by=admin
        )
        job = start_import(ImportJob.objects.get(pk=job.pk), by=admin)
        job.refresh_from_db()
        result["job"] = {"id": job.pk, "state": job.state, "created": job.created_count}
    return result


def write(args) -> dict:
    """``threads`` writers, each registering taxpayers through the real action (one
    transaction with its audit entries) until the stop file appears; every write whose action
    returned (committed) is appended to the log with the time it was acknowledged."""
    unit = ServiceUnit.objects.get()
    office = TaxOffice.objects.get(name=OFFICE)
    users = list(User.objects.filter(username__startswith="writer").order_by("username"))
    stop_file = Path(args.stop_file)
    deadline = time.monotonic() + args.max_seconds
    log_lock = threading.Lock()
    errors: list[str] = []
    counts = [0] * args.threads
    start = threading.Barrier(args.threads)

    with open(args.log, "a", encoding="utf-8") as log:

        def writer(i: int) -> None:
            user = users[i % len(users)]
            start.wait()
            n = 0
            try:
                while not stop_file.exists() and time.monotonic() < deadline:
                    n += 1
                    number = writer_number(ORM_PREFIX, i, n)
                    try:
                        taxpayer = register_taxpayer(
                            service_unit=unit,
                            by=user,
                            number=number,
                            name=f"并发企业{i:02d}-{n:05d}",
                            tax_office=office,
                            contacts=[{"name": f"联系人{i}-{n}", "mobile": mobile(i * 10_000 + n)}],
                        )
                    except Exception as exc:
                        errors.append(f"writer {i}: {type(exc).__name__}: {exc}")
                        continue
                    acked = time.time()
                    counts[i] += 1
                    line = json.dumps({"number": number, "id": taxpayer.pk, "at": acked})
                    with log_lock:
                        log.write(line + "\n")
                        log.flush()
            finally:
                connection.close()

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(args.threads)]
        began = time.time()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return {
        "acked": sum(counts),
        "per_writer": counts,
        "errors": errors[:50],
        "error_count": len(errors),
        "seconds": round(time.time() - began, 2),
    }


def _audited_ids(model, ids: list[int]) -> set[int]:
    content_type = ContentType.objects.get_for_model(model)
    found: set[int] = set()
    for start in range(0, len(ids), 500):
        chunk = [str(pk) for pk in ids[start : start + 500]]
        found.update(
            int(pk)
            for pk in AuditEntry.objects.filter(
                content_type=content_type, action=AuditAction.CREATE, object_id__in=chunk
            ).values_list("object_id", flat=True)
        )
    return found


def verify(args) -> dict:
    """What of the acknowledged writes the database holds (with their audit entries and
    contacts), its integrity, and what became of the import jobs."""
    result: dict = {"vendor": connection.vendor}
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA integrity_check")
            result["integrity"] = [row[0] for row in cursor.fetchall()]
    acks = [json.loads(line) for line in Path(args.acks).read_text().splitlines() if line]
    before = [a for a in acks if args.before is None or a["at"] < args.before]
    after = [a for a in acks if args.before is not None and a["at"] >= args.before]
    rows = {}
    numbers = [a["number"] for a in acks]
    for start in range(0, len(numbers), 500):
        rows.update(
            Taxpayer.objects.filter(number__in=numbers[start : start + 500]).values_list(
                "number", "pk"
            )
        )
    missing = [a["number"] for a in before if rows.get(a["number"]) != a["id"]]
    audited = _audited_ids(Taxpayer, [a["id"] for a in before])
    with_contact = set(
        Contact.objects.filter(taxpayer_id__in=[a["id"] for a in before]).values_list(
            "taxpayer_id", flat=True
        )
    )
    result.update(
        acked_before=len(before),
        missing_before=missing[:50],
        missing_before_count=len(missing),
        unaudited_before=len([a for a in before if a["id"] not in audited]),
        without_contact_before=len([a for a in before if a["id"] not in with_contact]),
        acked_after=len(after),
        found_after=len([a for a in after if rows.get(a["number"]) == a["id"]]),
        taxpayers=Taxpayer.objects.count(),
    )
    if args.contacts:
        acked = [json.loads(line)["id"] for line in Path(args.contacts).read_text().splitlines()]
        held = set(Contact.objects.filter(pk__in=acked).values_list("pk", flat=True))
        result.update(contacts_acked=len(acked), contacts_missing=len(set(acked) - held))
    if args.jobs:
        result["jobs"] = {}
        job_type = ContentType.objects.get_for_model(ImportJob)
        for job_id in [int(x) for x in args.jobs.split(",")]:
            job = ImportJob.objects.get(pk=job_id)
            moves = [
                entry["changes"]["state"]
                for entry in AuditEntry.objects.filter(
                    content_type=job_type, object_id=str(job_id)
                ).values("changes")
                if "state" in entry["changes"]
            ]
            numbers = [row["number"] for row in import_rows(args.job_index[job_id], args.rows)]
            per_number = {}
            for number in Taxpayer.objects.filter(number__in=numbers).values_list(
                "number", flat=True
            ):
                per_number[number] = per_number.get(number, 0) + 1
            result["jobs"][str(job_id)] = {
                "state": job.state,
                "created": job.created_count,
                "updated": job.updated_count,
                "unchanged": job.unchanged_count,
                "failure": job.failure,
                "moves": sorted(f"{a}>{b}" for a, b in moves),
                "rows_found": len(per_number),
                "rows_twice": sum(1 for c in per_number.values() if c != 1),
            }
    return result


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("setup")
    p.add_argument("--writers", type=int, default=20)
    p.add_argument("--import-rows", type=int, default=0)
    p = commands.add_parser("write")
    p.add_argument("--threads", type=int, default=20)
    p.add_argument("--log", required=True)
    p.add_argument("--stop-file", required=True)
    p.add_argument("--max-seconds", type=float, default=90)
    p = commands.add_parser("verify")
    p.add_argument("--acks", required=True)
    p.add_argument("--before", type=float, default=None)
    p.add_argument("--jobs", default="", help="job ids, each with its file's index: 7:1,8:2")
    p.add_argument("--rows", type=int, default=0, help="rows of each import file")
    p.add_argument("--contacts", default="", help="a log of acknowledged contacts' ids")
    args = parser.parse_args(argv)
    if args.command == "verify" and args.jobs:
        pairs = [item.split(":") for item in args.jobs.split(",")]
        args.job_index = {int(job): int(index) for job, index in pairs}
        args.jobs = ",".join(job for job, _index in pairs)
    result = {"setup": setup, "write": write, "verify": verify}[args.command](args)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1:])
