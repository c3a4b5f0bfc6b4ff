"""The bigger schema-driven fuzz run of the API (issue 11): every operation of /api/schema/,
``--examples`` generated cases each, sent with the token of a member of the cast (every role
and tenant), in-process through the WSGI app. Prints the cases run, the 5xx count and the
answers that break the schema; exits 1 if either is not 0.

It runs on a test database of its own, created and dropped here (SQLite in memory, or
``test_<name>`` on the PostgreSQL server of ``DATABASE_URL``), with the test cast built in it:
never the demo's or the application's data.

    .venv/bin/python bench/fuzz_api.py --examples 25
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=25, help="cases per operation")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--show", type=int, default=20, help="failures to print")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taxdesk.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.ALLOWED_HOSTS = ["*"]
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from taxdesk.testing.cast import build_world
        from taxdesk.testing.fuzz import run

        world = build_world()
        started = time.monotonic()
        result = run(world, max_examples=args.examples, seed=args.seed)
        elapsed = time.monotonic() - started
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
    print(f"database: {connection.vendor}; examples per operation: {args.examples}")
    print(f"operations:        {result.operations}")
    print(f"cases run:         {result.cases}")
    print(f"5xx answers:       {len(result.server_errors)}")
    print(f"schema violations: {len(result.violations)}")
    print(f"time:              {elapsed:.0f} s")
    for line in (result.server_errors + result.violations)[: args.show]:
        print("  " + line.replace("\n", " ")[:400])
    return 0 if not result.server_errors and not result.violations else 1


if __name__ == "__main__":
    sys.exit(main())
