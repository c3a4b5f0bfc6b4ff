"""The index behind "any part of the name" (queries.search).

A B-tree cannot find a fragment inside a name, so each database gets its own trigram index,
kept by the database itself (bulk inserts and imports included):

- SQLite: an FTS5 table with the ``trigram`` tokenizer over ``customers_taxpayer.name``
  (external content, kept in step by three triggers);
- PostgreSQL: a GIN index with ``gin_trgm_ops`` on the name (extension ``pg_trgm``), which
  serves ``ILIKE '%…%'`` directly.

A trigram index serves fragments of three characters or more. Two characters (a 字号 alone,
"华为") have a bigram index of their own:

- SQLite: a contentless FTS5 table holding each name's overlapping pairs of characters as
  words ("杭州华为" → "杭州 州华 华为"), written by triggers;
- PostgreSQL: a GIN index over ``taxdesk_name_bigrams(name)``, an immutable SQL function
  returning the name's pairs in lower case, searched with ``@>``.

The bigram index answers for two Chinese characters, ASCII letters or digits (a pair with
punctuation or a space is split by FTS5's tokenizer); the caller checks the name again, so
no index can bring a row whose name lacks the fragment. One character, and anything the
indexes cannot serve, is matched by ``ILIKE`` over the scoped rows in name order, which stops
as soon as a page is full when the fragment is common.

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
BIGRAM_TABLE = "customers_taxpayer_name_bigrams"
PG_BIGRAM_INDEX = "taxpayer_name_bigram_idx"
PG_BIGRAM_FUNCTION = "taxdesk_name_bigrams"
# Taxpayer.name's max_length: every pair of a name this long is indexed.
NAME_LENGTH = 200


def _sqlite_pairs(column: str) -> str:
    """SQL: the overlapping pairs of characters of ``column``, separated by spaces (a trigger
    cannot loop, so each position is written out; past the end ``substr`` gives less)."""
    return " || ' ' || ".join(f"substr({column}, {i}, 2)" for i in range(1, NAME_LENGTH))


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
_SQLITE_BIGRAM_TRIGGERS = {
    f"{BIGRAM_TABLE}_ai": (
        f"CREATE TRIGGER IF NOT EXISTS {BIGRAM_TABLE}_ai AFTER INSERT ON {TABLE} BEGIN "
        f"INSERT INTO {BIGRAM_TABLE}(rowid, pairs) VALUES (new.id, {_sqlite_pairs('new.name')}); "
        "END"
    ),
    f"{BIGRAM_TABLE}_ad": (
        f"CREATE TRIGGER IF NOT EXISTS {BIGRAM_TABLE}_ad AFTER DELETE ON {TABLE} BEGIN "
        f"INSERT INTO {BIGRAM_TABLE}({BIGRAM_TABLE}, rowid, pairs) "
        f"VALUES ('delete', old.id, {_sqlite_pairs('old.name')}); END"
    ),
    f"{BIGRAM_TABLE}_au": (
        f"CREATE TRIGGER IF NOT EXISTS {BIGRAM_TABLE}_au AFTER UPDATE OF name ON {TABLE} BEGIN "
        f"INSERT INTO {BIGRAM_TABLE}({BIGRAM_TABLE}, rowid, pairs) "
        f"VALUES ('delete', old.id, {_sqlite_pairs('old.name')}); "
        f"INSERT INTO {BIGRAM_TABLE}(rowid, pairs) VALUES (new.id, {_sqlite_pairs('new.name')}); "
        "END"
    ),
}
_PG_BIGRAM_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {PG_BIGRAM_FUNCTION}(name text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT lower(substr(name, i, 2))), '{{}}')
    FROM generate_series(1, char_length(name) - 1) AS i
$$"""


def _sqlite_ensure(connection) -> None:
    triggers = {**_SQLITE_TRIGGERS, **_SQLITE_BIGRAM_TRIGGERS}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger') AND name IN "
            f"({', '.join(['%s'] * (len(triggers) + 3))})",
            [TABLE, FTS_TABLE, BIGRAM_TABLE, *triggers],
        )
        present = {row[0] for row in cursor.fetchall()}
        if TABLE not in present:
            return
        if not present >= {FTS_TABLE, *_SQLITE_TRIGGERS}:
            cursor.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
                f"name, content='{TABLE}', content_rowid='id', tokenize='trigram')"
            )
            for sql in _SQLITE_TRIGGERS.values():
                cursor.execute(sql)
            # Some rows may have been written while a trigger was missing.
            cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
        if not present >= {BIGRAM_TABLE, *_SQLITE_BIGRAM_TRIGGERS}:
            # Contentless: the pairs exist only in the index (the name is in the table).
            cursor.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {BIGRAM_TABLE} USING fts5("
                "pairs, content='', tokenize='unicode61 remove_diacritics 0')"
            )
            for sql in _SQLITE_BIGRAM_TRIGGERS.values():
                cursor.execute(sql)
            cursor.execute(f"INSERT INTO {BIGRAM_TABLE}({BIGRAM_TABLE}) VALUES ('delete-all')")
            cursor.execute(
                f"INSERT INTO {BIGRAM_TABLE}(rowid, pairs) "
                f"SELECT id, {_sqlite_pairs('name')} FROM {TABLE}"
            )


def _postgresql_ensure(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT to_regclass(%s), to_regclass(%s), to_regclass(%s)",
            [TABLE, PG_INDEX, PG_BIGRAM_INDEX],
        )
        table, index, bigram_index = cursor.fetchone()
        if table is None:
            return
        if bigram_index is None:
            with transaction.atomic(using=connection.alias):
                cursor.execute(_PG_BIGRAM_FUNCTION_SQL)
                cursor.execute(
                    f"CREATE INDEX IF NOT EXISTS {PG_BIGRAM_INDEX} ON {TABLE} "
                    f"USING gin ({PG_BIGRAM_FUNCTION}(name))"
                )
        if index is not None:
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
            for name in (*_SQLITE_TRIGGERS, *_SQLITE_BIGRAM_TRIGGERS):
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            cursor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
            cursor.execute(f"DROP TABLE IF EXISTS {BIGRAM_TABLE}")
        elif connection.vendor == "postgresql":
            cursor.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")
            cursor.execute(f"DROP INDEX IF EXISTS {PG_BIGRAM_INDEX}")
            cursor.execute(f"DROP FUNCTION IF EXISTS {PG_BIGRAM_FUNCTION}(text)")


def name_ids(fragment: str, limit: int, using: str = "default") -> list[int] | None:
    """Ids of taxpayers whose name contains ``fragment`` (any case), at most ``limit``; for
    two characters, of names holding the pair (the caller checks the name again).

    ``None`` when no index can serve the fragment (one character, a pair with a separator, or
    another database): the caller then matches the name in its own query.
    """
    if len(fragment) < MIN_TRIGRAM:
        if len(fragment) == 2 and all(_pair_char(ch) for ch in fragment):
            return _pair_ids(fragment, limit, connections[using])
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


def _pair_char(ch: str) -> bool:
    """A character both indexes keep inside a word: a Chinese character, an ASCII letter or
    digit (FTS5's tokenizer splits at anything it takes for punctuation)."""
    return ("\u4e00" <= ch <= "\u9fff") or (ch.isascii() and ch.isalnum())


def _pair_ids(pair: str, limit: int, connection) -> list[int] | None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT rowid FROM {BIGRAM_TABLE} WHERE {BIGRAM_TABLE} MATCH %s LIMIT %s",
                [f'"{pair}"', limit],
            )
            return [row[0] for row in cursor.fetchall()]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {TABLE} WHERE {PG_BIGRAM_FUNCTION}(name) @> ARRAY[lower(%s)] "
                "LIMIT %s",
                [pair, limit],
            )
            return [row[0] for row in cursor.fetchall()]
    return None
