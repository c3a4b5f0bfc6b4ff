"""Which database a benchmark uses: never the demo's or the application's, unless asked.

Every benchmark takes the same options and calls :func:`setup` before it imports anything
from Django:

- SQLite (the default when ``DATABASE_URL`` is not set): ``TAXDESK_VAR_DIR`` is set to
  ``var/bench/<label>/`` (``--var-dir`` to choose another), so the database is
  ``var/bench/<label>/taxdesk.sqlite3``, beside and apart from the demo's ``var/``;
- PostgreSQL (``--db postgresql``, or ``DATABASE_URL`` set to a PostgreSQL server): the same
  server as ``DATABASE_URL`` (else ``postgres://postgres@127.0.0.1:5432``), in a database of
  its own, ``taxdesk_bench_<label>`` (``--pg-name`` to choose another), created if missing.

``<label>`` names a data set: ``10k``, ``1m``… (``--label``; the generator derives it from its
size), so the data sets of several sizes live side by side.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def size_label(count: int) -> str:
    """10000 → "10k", 1000000 → "1m", 2500 → "2500"."""
    if count % 1_000_000 == 0:
        return f"{count // 1_000_000}m"
    if count % 1000 == 0:
        return f"{count // 1000}k"
    return str(count)


def _pg_env() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith("postgres")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("database (never the demo's by default)")
    group.add_argument(
        "--db",
        choices=("sqlite", "postgresql"),
        default="postgresql"
        if os.environ.get("DATABASE_URL", "").startswith("postgres")
        else "sqlite",
        help="default: postgresql if DATABASE_URL names a PostgreSQL server, else sqlite",
    )
    group.add_argument("--label", help="the data set's name (default from its size: 10k, 1m…)")
    group.add_argument("--var-dir", help="SQLite: TAXDESK_VAR_DIR (default var/bench/<label>)")
    group.add_argument(
        "--pg-name", help="PostgreSQL: database name (default taxdesk_bench_<label>)"
    )


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def setup(args: argparse.Namespace, *, create: bool = False) -> str:
    """Point Django at the benchmark's database and set Django up; returns a description."""
    label = args.label
    if args.db == "sqlite":
        var_dir = Path(args.var_dir) if args.var_dir else ROOT / "var" / "bench" / label
        var_dir = var_dir.resolve()
        if var_dir == (ROOT / "var").resolve():
            sys.exit("Refusing to use var/ itself: that is the demo's database.")
        var_dir.mkdir(parents=True, exist_ok=True)
        os.environ["TAXDESK_VAR_DIR"] = str(var_dir)
        os.environ.pop("DATABASE_URL", None)
        where = f"SQLite {var_dir / 'taxdesk.sqlite3'}"
    else:
        server = os.environ.get("DATABASE_URL", "")
        if not server.startswith("postgres"):
            server = DEFAULT_PG
        app_name = urlsplit(server).path.lstrip("/")
        name = args.pg_name or f"taxdesk_bench_{label}"
        if name == app_name and not args.pg_name:
            sys.exit(f"Refusing to use {name}: that is DATABASE_URL's own database.")
        url = _with_database(server, name)
        if create:
            _create_pg_database(server, name)
        os.environ["DATABASE_URL"] = url
        # The bench's var dir holds nothing but the secret key and uploads.
        os.environ.setdefault("TAXDESK_VAR_DIR", str(ROOT / "var" / "bench" / label))
        where = f"PostgreSQL {urlsplit(url).hostname}/{name}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taxdesk.settings")
    os.environ.setdefault("TAXDESK_DEBUG", "0")
    import django

    django.setup()
    return where


def _create_pg_database(server: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_with_database(server, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def drop(args: argparse.Namespace) -> None:
    """Remove the benchmark's database (``--reset``)."""
    if args.db == "sqlite":
        var_dir = Path(args.var_dir) if args.var_dir else ROOT / "var" / "bench" / args.label
        for suffix in ("", "-wal", "-shm"):
            path = var_dir / f"taxdesk.sqlite3{suffix}"
            if path.exists():
                path.unlink()
        return
    import psycopg

    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith("postgres"):
        server = DEFAULT_PG
    name = args.pg_name or f"taxdesk_bench_{args.label}"
    if name == urlsplit(server).path.lstrip("/"):
        sys.exit(f"Refusing to drop {name}: that is DATABASE_URL's own database.")
    with psycopg.connect(_with_database(server, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
