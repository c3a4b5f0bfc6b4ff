"""Benchmark: precomputed working-day calendar vs. a naive day-by-day loop.

Run from the project root::

    .venv/bin/python bench/workdays.py

Compares calls per second of ``WorkdayCalendar.add_workdays`` and ``add_working_time``
(default hours 09:00-12:00,13:00-18:00; n working days = n x 8 h of working time) with
naive implementations that walk day by day calling ``chinese_calendar.is_workday`` (and,
for working time, walk through each day's opening intervals). Both implementations are
checked to give identical answers on every benchmarked input first.

No Django involved.
"""

from __future__ import annotations

import random
import sys
import time as _time
from datetime import date, datetime, time, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import chinese_calendar

from taxdesk.worktime.calendar import SHANGHAI, WorkdayCalendar
from taxdesk.worktime.hours import DEFAULT_HOURS, add_working_time

NS = (1, 5, 250)
N_INPUTS = 400
MIN_SECONDS = 0.3  # per timing run
REPEATS = 3  # best of
TARGET_SPEEDUP_AT_5 = 20.0
MAX_GROWTH = 1.5  # fast per-call time at n=250 vs n=1: "no growth" within noise


# ----------------------------------------------------------------------------- naive
def naive_add_workdays(day: date, n: int) -> date:
    while n > 0:
        day += timedelta(days=1)
        if chinese_calendar.is_workday(day):
            n -= 1
    return day


_SPANS = [
    (datetime.combine(date.min, a) - datetime.min, datetime.combine(date.min, b) - datetime.min)
    for a, b in DEFAULT_HOURS.intervals
]


def naive_add_working_time(moment: datetime, duration: timedelta) -> datetime:
    local = moment.astimezone(SHANGHAI)
    day = local.date()
    t = local - datetime.combine(day, time(0), tzinfo=SHANGHAI)
    remaining = duration
    while True:
        if chinese_calendar.is_workday(day):
            for start, end in _SPANS:
                start = max(start, t)
                if start >= end:
                    continue
                if remaining <= end - start:
                    return datetime.combine(day, time(0), tzinfo=SHANGHAI) + start + remaining
                remaining -= end - start
        day += timedelta(days=1)
        t = timedelta(0)


# ----------------------------------------------------------------------------- timing
def rate(fn, args: list[tuple]) -> float:
    """Best-of-REPEATS calls per second of fn over the argument list."""
    best = 0.0
    for _ in range(REPEATS):
        calls = 0
        t0 = _time.perf_counter()
        while True:
            for a in args:
                fn(*a)
            calls += len(args)
            elapsed = _time.perf_counter() - t0
            if elapsed >= MIN_SECONDS:
                break
        best = max(best, calls / elapsed)
    return best


def chunk(args: list[tuple], per_round: int) -> list[tuple]:
    return args[:per_round]


def main() -> int:
    t0 = _time.perf_counter()
    cal = WorkdayCalendar()
    build = _time.perf_counter() - t0
    print(f"Calendar build (2004-2099, official data): {build * 1000:.1f} ms")

    rng = random.Random(20251001)
    first, last = date(2024, 1, 1), date(2025, 10, 31)
    span = (last - first).days
    days = [first + timedelta(days=rng.randrange(span + 1)) for _ in range(N_INPUTS)]
    moments = [
        datetime.combine(d, time(rng.randrange(24), rng.randrange(60), rng.randrange(60)), SHANGHAI)
        for d in days
    ]

    rows = []
    for n in NS:
        dur = n * DEFAULT_HOURS.day_length
        day_args = [(d, n) for d in days]
        time_args = [(m, dur, DEFAULT_HOURS, cal) for m in moments]
        naive_time_args = [(m, dur) for m in moments]
        # Honest comparison: identical answers on every input, never leaving 2026.
        for d in days:
            expected = naive_add_workdays(d, n)
            assert expected.year <= 2026, (d, n, expected)
            assert cal.add_workdays(d, n) == expected, (d, n)
        for m in moments:
            expected = naive_add_working_time(m, dur)
            assert expected.year <= 2026, (m, n, expected)
            assert add_working_time(m, dur, DEFAULT_HOURS, cal) == expected, (m, n)
        # The naive loop is slow at large n; a smaller slice keeps the run short.
        naive_slice = max(10, N_INPUTS // max(1, n // 5))
        rows.append(
            (
                "add_workdays",
                n,
                rate(cal.add_workdays, day_args),
                rate(naive_add_workdays, chunk(day_args, naive_slice)),
            )
        )
        rows.append(
            (
                "add_working_time",
                n,
                rate(add_working_time, time_args),
                rate(naive_add_working_time, chunk(naive_time_args, naive_slice)),
            )
        )

    rows.sort(key=lambda r: (r[0] != "add_workdays", r[1]))
    header = (
        f"{'function':<18} {'n (days)':>8} {'precomputed/s':>15} {'naive/s':>12} {'speed-up':>10}"
    )
    print()
    print(header)
    print("-" * len(header))
    for name, n, fast, slow in rows:
        print(f"{name:<18} {n:>8} {fast:>15,.0f} {slow:>12,.0f} {fast / slow:>9.1f}x")
    print()
    print(
        f"Target: >= {TARGET_SPEEDUP_AT_5:.0f}x at n=5, and no growth with n "
        f"(precomputed calls/s at n=250 within {MAX_GROWTH}x of n=1)."
    )
    ok = True
    for name in ("add_workdays", "add_working_time"):
        by_n = {n: (fast, slow) for nm, n, fast, slow in rows if nm == name}
        speedup = by_n[5][0] / by_n[5][1]
        growth = by_n[1][0] / by_n[250][0]
        good = speedup >= TARGET_SPEEDUP_AT_5 and growth <= MAX_GROWTH
        ok &= good
        print(
            f"  {name:<18} speed-up at n=5: {speedup:6.1f}x   "
            f"cost n=250 vs n=1: {growth:4.2f}x   {'PASS' if good else 'FAIL'}"
        )
    print(
        f"Answers verified identical on {N_INPUTS} inputs per n. "
        f"Total {_time.perf_counter() - t0:.1f} s."
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
