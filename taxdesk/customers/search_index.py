"""The index behind "any part of the name" (queries.search).

A B-tree cannot find a fragment inside a name, so each database gets its own trigram index,
kept by the database itself (bulk inserts and imports included):

- SQLite: an FTS5 table with the ``trigram`` tokenizer over ``customers_taxpayer.name``
  (external content, kept in step by three triggers);
- PostgreSQL: a GIN index with ``gin_trgm_ops`` on the name (extension ``pg_trgm``), which
  serves ``ILIKE '%…%'`` directly.

A trigram index serves fragments of three characters or more. Shorter fragments (one or two
Chinese characters, "华为") are matched by ``ILIKE`` over the scoped rows in name order, which
stops as soon as a page is full when the fragment is common.

:func:`ensure_name_index` is idempotent. A migration calls it, and so does ``post_migrate``:
on SQLite a later migration that rebuilds the taxpayer table drops its triggers, and they
must come back (with the index rebuilt) before anyone searches.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, connections, transaction

logger = logging.getLogger(__name__)

TABLE = "customers_taxpayer"
FTS_TABLE = "customers_taxpayer_name_fts"
PG_INDEX = "taxpayer_name_trgm_idx"
MIN_TRIGRAM = 3

_SQLITE_TRIGGERS = {
    f"{FTS_TABLE}_ai": (
        f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ai AFTER INSERT ON {TABLE} BEGIN "
        f"INSERT INTO {FTS_TABLE}(rowid, name) VALUES (new.id, new.name); END"
    ),
    f"{FTS_TABLE}_ad": (
        f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ad AFTER DELETE ON {TABLE} BEGIN "
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, name) VALUES ('delete', old.id, old.name); "
        "END"
    ),
    f"{FTS_TABLE}_au": (
        f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_au AFTER UPDATE OF name ON {TABLE} BEGIN "
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, name) VALUES ('delete', old.id, old.name); "
        f"INSERT INTO {FTS_TABLE}(rowid, name) VALUES (new.id, new.name); END"
    ),
}


def _sqlite_ensure(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger') AND name IN "
            f"({', '.join(['%s'] * (len(_SQLITE_TRIGGERS) + 2))})",
            [TABLE, FTS_TABLE, *_SQLITE_TRIGGERS],
        )
        present = {row[0] for row in cursor.fetchall()}
        if TABLE not in present:
            return
        if present >= {FTS_TABLE, *_SQLITE_TRIGGERS}:
            return
        cursor.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
            f"name, content='{TABLE}', content_rowid='id', tokenize='trigram')"
        )
        for sql in _SQLITE_TRIGGERS.values():
            cursor.execute(sql)
        # Some rows may have been written while a trigger was missing.
        cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")


def _postgresql_ensure(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s), to_regclass(%s)", [TABLE, PG_INDEX])
        table, index = cursor.fetchone()
        if table is None or index is not None:
            return
        try:
            with transaction.atomic(using=connection.alias):
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                cursor.execute(
                    f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON {TABLE} "
                    "USING gin (name gin_trgm_ops)"
                )
        except DatabaseError as exc:  # no right to create the extension: search still works
            logger.warning("No trigram index on taxpayer names (%s); name search scans.", exc)


def ensure_name_index(connection=None) -> None:
    connection = connection or connections["default"]
    if connection.vendor == "sqlite":
        _sqlite_ensure(connection)
    elif connection.vendor == "postgresql":
        _postgresql_ensure(connection)


def drop_name_index(connection) -> None:
    """Reverse of the migration."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for name in _SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            cursor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
        elif connection.vendor == "postgresql":
            cursor.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")


def name_ids(fragment: str, limit: int, using: str = "default") -> list[int] | None:
    """Ids of taxpayers whose name contains ``fragment`` (any case), at most ``limit``.

    ``None`` when no index can serve the fragment (too short, or another database): the
    caller then matches the name in its own query.
    """
    if len(fragment) < MIN_TRIGRAM:
        return None
    connection = connections[using]
    if connection.vendor == "sqlite":
        phrase = '"' + fragment.replace('"', '""') + '"'
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s LIMIT %s",
                [phrase, limit],
            )
            return [row[0] for row in cursor.fetchall()]
    if connection.vendor == "postgresql":
        # ILIKE on the column itself: the trigram index serves it. (Django's icontains writes
        # UPPER(name) LIKE UPPER(…), which the index on name cannot serve.)
        pattern = "%" + fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id FROM {TABLE} WHERE name ILIKE %s LIMIT %s", [pattern, limit])
            return [row[0] for row in cursor.fetchall()]
    return None
