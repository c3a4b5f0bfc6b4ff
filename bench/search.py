"""Benchmark: find a taxpayer by number, name fragment, a contact's phone and a device serial.

Run from the project root, after ``bench/generate.py`` made the data sets::

    .venv/bin/python bench/search.py --labels 10k 1m                   # SQLite
    .venv/bin/python bench/search.py --labels 10k 1m --db postgresql   # PostgreSQL
    .venv/bin/python bench/search.py --labels 1m --explain             # the query plans

Each lookup is what the taxpayer list does for a unit's sales clerk who types into its search
box: ``taxdesk.customers.queries.search`` on ``Taxpayer.objects.restrict(user, VIEW)``, then
the first page in name order (``ObjectListView.page_size`` + 1 rows, with the unit and tax
office joined as the list joins them). The texts are taken from the unit's own rows (so each
lookup should find its taxpayer: the "found" column checks it), a few hundred per kind, after
a warm-up; the table gives p50, p95 and the worst lookup in milliseconds.

Kinds measured against the target (p95 < 50 ms at 1M, at most 1.5× the 10k figure):

- ``number``: a whole 统一社会信用代码;
- ``name``: a fragment of four characters from inside the name (字号 + trade, "恒达科技");
- ``phone``: a contact's whole mobile number;
- ``serial``: a whole device serial number.

Also shown, for information: ``name (2 chars)`` (a 字号 alone: too short for the trigram
index, matched by ``ILIKE`` within the unit's rows) and ``phone tail`` (the last four digits,
"尾号 5678").

Each data set is measured in a process of its own (the database is chosen before Django
starts); results are also written to ``var/bench/search-<db>-<label>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchdb

LOOKUPS = 300
WARMUP = 30
TARGET_MS = 50.0
MAX_GROWTH = 1.5
TARGET_KINDS = ("number", "name", "phone", "serial")
ALL_KINDS = (*TARGET_KINDS, "name (2 chars)", "phone tail")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def samples(user, count: int, rng: random.Random) -> dict[str, list[tuple[str, int]]]:
    """(text typed, the taxpayer it should find) per kind, from the user's unit."""
    from taxdesk.customers.models import Contact, Taxpayer
    from taxdesk.devices.models import Device

    unit = user.service_unit_id
    top = Taxpayer.objects.filter(service_unit_id=unit).order_by("-pk").values_list("pk", flat=True)
    high = top.first()
    low = Taxpayer.objects.filter(service_unit_id=unit).order_by("pk").values_list("pk", flat=True)
    low = low.first()

    def random_taxpayers(n):
        found = []
        while len(found) < n:
            ids = [rng.randint(low, high) for _ in range(n * 2)]
            found += list(
                Taxpayer.objects.filter(pk__in=ids, service_unit_id=unit).values_list(
                    "pk", "number", "name"
                )
            )
        rng.shuffle(found)
        return found[:n]

    picked = random_taxpayers(count)
    ids = [pk for pk, _n, _m in picked]
    out: dict[str, list[tuple[str, int]]] = {kind: [] for kind in ALL_KINDS}
    for pk, number, name in picked:
        out["number"].append((number, pk))
        # 城市 (2) + 字号 (2) + trade: the fragment is the 字号 and the trade's first 2 chars.
        out["name"].append((name[2:6], pk))
        out["name (2 chars)"].append((name[2:4], pk))
    phones = dict(
        Contact.objects.filter(taxpayer_id__in=ids)
        .exclude(mobile="")
        .values_list("taxpayer_id", "mobile")
    )
    serials = dict(Device.objects.filter(taxpayer_id__in=ids).values_list("taxpayer_id", "serial"))
    for pk in ids:
        if pk in phones:
            out["phone"].append((phones[pk], pk))
            out["phone tail"].append((phones[pk][-4:], pk))
        if pk in serials:
            out["serial"].append((serials[pk], pk))
    return out


def lookup(user, text: str):
    from taxdesk.core.generic import ObjectListView
    from taxdesk.core.scoping import VIEW
    from taxdesk.customers.models import Taxpayer
    from taxdesk.customers.queries import search

    queryset = search(Taxpayer.objects.restrict(user, VIEW), text)
    page = queryset.select_related("service_unit", "tax_office").order_by("name", "id")[
        : ObjectListView.page_size + 1
    ]
    return page


def measure_one(args) -> dict:
    where = benchdb.setup(args)
    from django.db import connection

    from taxdesk.core.models import User
    from taxdesk.customers.models import Taxpayer

    if connection.vendor == "postgresql":
        # The index proposed for the name search (bench/README.md): Django's icontains on
        # PostgreSQL is UPPER(name) LIKE UPPER(…), which the trigram index on name cannot
        # serve. Without --proposed-index the data set is measured as the code builds it.
        with connection.cursor() as cursor:
            if args.proposed_index:
                cursor.execute(
                    "CREATE INDEX IF NOT EXISTS bench_taxpayer_upper_name_trgm "
                    "ON customers_taxpayer USING gin (UPPER(name) gin_trgm_ops)"
                )
            else:
                cursor.execute("DROP INDEX IF EXISTS bench_taxpayer_upper_name_trgm")
            cursor.execute("ANALYZE customers_taxpayer")
    user = User.objects.filter(username="bench_sales_1").select_related("service_unit").first()
    if user is None:
        sys.exit(f"No data set at {where}: run bench/generate.py first.")
    total = Taxpayer.objects.count()
    in_unit = Taxpayer.objects.filter(service_unit_id=user.service_unit_id).count()
    rng = random.Random(7)
    texts = samples(user, args.lookups + WARMUP, rng)
    result = {
        "where": where,
        "vendor": connection.vendor,
        "label": args.label,
        "taxpayers": total,
        "in_unit": in_unit,
        "kinds": {},
        "load_before": os.getloadavg()[0],
        "proposed_index": bool(args.proposed_index),
    }
    for kind in ALL_KINDS:
        cases = texts[kind]
        for text, _pk in cases[:WARMUP]:
            list(lookup(user, text))
        timings, cpu, found, rows = [], [], 0, []
        for text, pk in cases[WARMUP:]:
            started, cpu_started = time.perf_counter(), time.process_time()
            page = list(lookup(user, text))
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
            rows.append(len(page))
            # A page holds the first rows in name order; a long result may not show the one.
            found += any(t.pk == pk for t in page) or len(page) > 50
        result["kinds"][kind] = {
            "n": len(timings),
            "p50": statistics.median(timings),
            "p95": percentile(timings, 0.95),
            "max": max(timings),
            # This process's CPU: all of the work on SQLite (in-process), only the client's on
            # PostgreSQL. On a busy machine it shows what the wall time owes to waiting.
            "cpu_p50": statistics.median(cpu),
            "cpu_p95": percentile(cpu, 0.95),
            "found": found / len(timings),
            "rows": statistics.median(rows),
        }
        if args.explain:
            text = cases[-1][0]
            print(f"--- {kind}: {text!r}")
            print(lookup(user, text).explain())
    result["load_after"] = os.getloadavg()[0]
    return result


def table(results: list[dict]) -> str:
    vendor = results[0]["vendor"]
    lines = [
        f"{vendor}: "
        + ", ".join(
            f"{r['label']} = {r['taxpayers']:,} taxpayers ({r['in_unit']:,} in the unit)"
            for r in results
        )
        + "; load average "
        + ", ".join(f"{r['load_before']:.1f}→{r['load_after']:.1f}" for r in results),
        "",
        "| kind | "
        + " | ".join(f"{r['label']} p50 | {r['label']} p95" for r in results)
        + f" | {results[-1]['label']} worst | found | verdict |",
        "|---|" + "---|---|" * len(results) + "---|---|---|",
    ]
    for kind in ALL_KINDS:
        cells = []
        for r in results:
            k = r["kinds"][kind]
            cells.append(f"{k['p50']:.1f} | {k['p95']:.1f}")
        last = results[-1]["kinds"][kind]
        first = results[0]["kinds"][kind]
        verdict = ""
        if kind in TARGET_KINDS and len(results) > 1:
            growth = last["p95"] / first["p95"] if first["p95"] else 0
            ok = last["p95"] < TARGET_MS and growth <= MAX_GROWTH
            verdict = f"{'ok' if ok else 'MISSED'} ({growth:.1f}×)"
        elif kind not in TARGET_KINDS:
            verdict = "(info)"
        found = min(r["kinds"][kind]["found"] for r in results)
        lines.append(
            f"| {kind} | {' | '.join(cells)} | {last['max']:.0f} | {found:.0%} | {verdict} |"
        )
    if vendor == "sqlite":
        lines += [
            "",
            "CPU time of the lookups (SQLite works in-process: the wall time minus waiting):",
            "",
            "| kind | "
            + " | ".join(f"{r['label']} CPU p50 | {r['label']} CPU p95" for r in results)
            + " |",
            "|---|" + "---|---|" * len(results),
        ]
        for kind in ALL_KINDS:
            cells = [
                f"{r['kinds'][kind]['cpu_p50']:.1f} | {r['kinds'][kind]['cpu_p95']:.1f}"
                for r in results
            ]
            lines.append(f"| {kind} | {' | '.join(cells)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", nargs="+", default=["10k", "1m"])
    parser.add_argument("--lookups", type=int, default=LOOKUPS, help=f"per kind ({LOOKUPS})")
    parser.add_argument("--explain", action="store_true", help="print each kind's query plan")
    parser.add_argument(
        "--proposed-index",
        action="store_true",
        help="PostgreSQL: first add the proposed gin (UPPER(name) gin_trgm_ops) index",
    )
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    benchdb.add_arguments(parser)
    args = parser.parse_args()
    if args.one:
        result = measure_one(args)
        print("RESULT " + json.dumps(result))
        return
    results = []
    for label in args.labels:
        command = [sys.executable, __file__, "--one", "--label", label, "--db", args.db]
        command += ["--lookups", str(args.lookups)]
        if args.explain:
            command.append("--explain")
        if args.proposed_index:
            command.append("--proposed-index")
        if args.var_dir:
            command += ["--var-dir", args.var_dir]
        if args.pg_name:
            command += ["--pg-name", args.pg_name]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        for line in output.splitlines():
            if line.startswith("RESULT "):
                result = json.loads(line[len("RESULT ") :])
                results.append(result)
                extra = "-proposed-index" if args.proposed_index else ""
                path = benchdb.ROOT / "var" / "bench" / f"search-{args.db}-{label}{extra}.json"
                path.write_text(json.dumps(result, indent=1))
            else:
                print(line)
    print(table(results))


if __name__ == "__main__":
    main()
