"""Benchmark: import taxpayers from an .xlsx file of 100,000 rows (and 10,000 to compare).

Run from the project root::

    .venv/bin/python bench/import_xlsx.py                      # 10,000 and 100,000 rows, SQLite
    .venv/bin/python bench/import_xlsx.py --rows 100000 --db postgresql
    .venv/bin/python bench/import_xlsx.py --tracemalloc        # also Python's own peak (slower)

The file is built with openpyxl's write-only workbook in the template's columns (纳税人识别号,
纳税人名称, 地址, … 联系人手机), every row valid, and kept in ``var/bench/`` for the next run.
It then goes through the real path of ``taxdesk.imports``, as a unit's sales clerk would
take it: ``create_job`` (the upload, which checks every row) and ``start_import`` (which
checks again and writes), run inline (``IMPORTS_INLINE``) so the time is the whole work.

Each size runs in a fresh process on a fresh database of its own (``var/bench/import-<n>/``
or ``taxdesk_bench_import_<n>``), so the peak resident memory (``ru_maxrss``) is that run's
alone; "growth" is the peak minus the process's size before the upload. Target: 100,000 rows
in under 60 s, and memory that does not grow with the file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchdb

TARGET_SECONDS = 60
OFFICE = "国家税务总局杭州市基准区税务局"


def build_file(rows: int) -> Path:
    """A valid taxpayers workbook of ``rows`` data rows in the template's columns."""
    import random

    from openpyxl import Workbook
    from stdnum.cn import uscc

    path = benchdb.ROOT / "var" / "bench" / f"taxpayers-{rows}.xlsx"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(benchdb.ROOT))
    from bench.generate import MOBILE_PREFIXES, TRADES, org_code
    from taxdesk.demo.words import BRAND_CHARS_WIDE
    from taxdesk.imports.columns import COLUMNS, SHEET_NAMES

    columns = COLUMNS["taxpayers"]
    rng = random.Random(rows)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_NAMES["taxpayers"])
    sheet.append([column.header for column in columns])
    today = date.today()
    for i in range(rows):
        body = f"91330106{org_code(i + 7_000_000)}"
        brand = rng.choice(BRAND_CHARS_WIDE) + rng.choice(BRAND_CHARS_WIDE)
        values = {
            "number": body + uscc.calc_check_digit(body),
            "name": f"杭州{brand}{rng.choice(TRADES)}有限公司",
            "address": f"杭州市西湖区文三路{rng.randrange(1, 999)}号",
            "district": "西湖区",
            "tax_office": OFFICE,
            "taxpayer_type": rng.choice(["一般纳税人", "小规模纳税人"]),
            "approved_on": (today - timedelta(days=rng.randrange(1, 3000))).isoformat(),
            "status": "正常",
            "invoice_types": "增值税专用发票、增值税普通发票",
            "office_hours": "周一至周五 9:00-17:00",
            "contact_name": "张三",
            "contact_role": "办税员",
            "contact_mobile": rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}",
            "contact_landline": "",
        }
        sheet.append([values.get(column.key, "") for column in columns])
    workbook.save(path)
    return path


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_one(args) -> dict:
    args.label = f"import_{benchdb.size_label(args.rows)}"
    benchdb.drop(args)
    where = benchdb.setup(args, create=True)
    from django.conf import settings
    from django.core.files import File
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from taxdesk.core.choices import Role
    from taxdesk.core.models import ServiceUnit, SupervisionBody, TaxOffice, User
    from taxdesk.imports.actions import create_job, start_import

    settings.IMPORTS_INLINE = True
    body = SupervisionBody.objects.create(name="基准测试监督中心", code="BENCH-SB")
    office = TaxOffice.objects.create(
        name=OFFICE, code="BENCH-TO", city="杭州", supervision_body=body
    )
    unit = ServiceUnit.objects.create(
        name="杭州基准税控服务有限公司", code="BENCH-1", city="杭州", supervision_body=body
    )
    unit.tax_offices.add(office)
    user = User.objects.create(
        username="bench_sales", role=Role.SALES_CLERK, service_unit=unit, full_name="销售员"
    )
    path = Path(args.file)
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start()
    load = os.getloadavg()[0]
    cpu_before = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
    before = rss_mib()
    started = time.perf_counter()
    with path.open("rb") as handle:
        job = create_job(kind="taxpayers", file=File(handle, name=path.name), by=user)
    checked = time.perf_counter()
    job.refresh_from_db()
    if job.state != "validated" or job.error_count:
        sys.exit(f"the check failed: {job.state} {job.error_count} errors {job.errors[:3]}")
    start_import(job, by=user)
    finished = time.perf_counter()
    job.refresh_from_db()
    result = {
        "where": where,
        "rows": args.rows,
        "file_mib": path.stat().st_size / 2**20,
        "check_s": checked - started,
        "import_s": finished - checked,
        "total_s": finished - started,
        "state": job.state,
        "created": job.created_count,
        "rss_before_mib": before,
        "rss_peak_mib": rss_mib(),
        "cpu_s": sum(resource.getrusage(resource.RUSAGE_SELF)[:2]) - cpu_before,
        "load": f"{load:.1f}→{os.getloadavg()[0]:.1f}",
    }
    if args.tracemalloc:
        result["tracemalloc_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python's peak")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    benchdb.add_arguments(parser)
    args = parser.parse_args()
    if args.one:
        args.rows = args.rows[0]
        print("RESULT " + json.dumps(run_one(args)))
        return
    results = []
    for rows in args.rows:
        started = time.perf_counter()
        path = build_file(rows)
        print(f"==> {rows:,} rows: {path.name} ({time.perf_counter() - started:.0f} s to build)")
        command = [sys.executable, __file__, "--one", "--rows", str(rows), "--file", str(path)]
        command += ["--db", args.db]
        if args.tracemalloc:
            command.append("--tracemalloc")
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        for line in output.splitlines():
            if line.startswith("RESULT "):
                result = json.loads(line[len("RESULT ") :])
                results.append(result)
                name = f"import-{args.db}-{rows}.json"
                (benchdb.ROOT / "var" / "bench" / name).write_text(json.dumps(result, indent=1))
            else:
                print(line)
    print(f"\n{results[0]['where'].split()[0]}:\n")
    header = (
        "| rows | file | check | import | total | rows/s | CPU | load avg | peak RSS | growth |"
    )
    if args.tracemalloc:
        header += " tracemalloc peak |"
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for r in results:
        line = (
            f"| {r['rows']:,} | {r['file_mib']:.1f} MiB | {r['check_s']:.1f} s | "
            f"{r['import_s']:.1f} s | {r['total_s']:.1f} s | {r['rows'] / r['total_s']:,.0f} | "
            f"{r['cpu_s']:.0f} s | {r['load']} | "
            f"{r['rss_peak_mib']:.0f} MiB | {r['rss_peak_mib'] - r['rss_before_mib']:.0f} MiB |"
        )
        if args.tracemalloc:
            line += f" {r['tracemalloc_peak_mib']:.1f} MiB |"
        print(line)
    worst = max(results, key=lambda r: r["rows"])
    verdict = "ok" if worst["total_s"] < TARGET_SECONDS else "MISSED"
    print(f"\n{worst['rows']:,} rows in {worst['total_s']:.0f} s: {verdict} (< {TARGET_SECONDS} s)")


if __name__ == "__main__":
    main()
