"""Backups and restores of a TaxDesk installation (docs/operations.md, decision 0009).

A backup is one ``.tar`` named with its time (``taxdesk-backup-20261204T153000Z.tar``)
holding:

- ``database.sqlite3`` — SQLite copied through the online backup API in one step: a
  consistent snapshot taken in a read transaction while writers go on (WAL); checked with
  ``PRAGMA integrity_check`` before it is kept; or
- ``database.pgdump`` — PostgreSQL through ``pg_dump`` in the custom format, run on a
  snapshot exported by our own ``REPEATABLE READ`` transaction, in which the migration state
  written to the manifest is read too;
- ``files/<root>/…`` — every file of the file-system storages (``MEDIA_ROOT``: the uploaded
  import files and their checked rows), copied after the database's snapshot, so every file
  the snapshot names is there (files are written before the row that names them commits and
  never change afterwards);
- ``secret_key`` — the key file of the embedded default; when ``SECRET_KEY`` comes from the
  environment the manifest says so and the key is not in the backup;
- ``manifest.json`` (last) — what, when, the database's kind, sizes, the SHA-256 of every
  part, the application's version and the migrations applied.

A restore verifies every checksum before it changes anything, refuses a database that holds
tables (unless ``force``), restores the database, the files and the key, then migrates (an
older backup is brought forward).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import io
import json
import os
import re
import shutil
import socket
import sqlite3
import stat
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import django
from django.apps import apps
from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.db import connections, models

FORMAT = "taxdesk-backup/1"
MANIFEST = "manifest.json"
KEY_PART = "secret_key"
NAME_PATTERN = re.compile(r"^taxdesk-backup-(\d{8}T\d{6}Z)(?:-(\d+))?\.tar$")
CHUNK = 1 << 20
KINDS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}


class BackupError(Exception):
    """Something an operator must know: the message says what and what to do."""


Log = Callable[[str], None]


def _quiet(message: str) -> None:
    pass


# ----------------------------------------------------------------------------- what to back up
def database_kind(alias: str = "default") -> str:
    vendor = connections[alias].vendor
    if vendor not in KINDS:
        raise BackupError(f"Backups support SQLite and PostgreSQL, not {vendor}.")
    return vendor


def file_roots() -> dict[str, Path]:
    """The directories of the file-system storages, by a label that names the same place on
    another machine: ``media`` for the default storage (``MEDIA_ROOT``), a storage's alias in
    ``STORAGES``, else the directory's path below ``VAR_DIR``. Static files are not data."""
    roots: dict[str, Path] = {}
    static_root = Path(settings.STATIC_ROOT).resolve() if settings.STATIC_ROOT else None

    def add(storage, label: str | None) -> None:
        if not isinstance(storage, FileSystemStorage):
            return
        path = Path(storage.location).resolve()
        if path == static_root or path in roots.values():
            return
        if label is None:
            try:
                label = "-".join(path.relative_to(Path(settings.VAR_DIR).resolve()).parts)
            except ValueError:
                label = path.name
        label = label or "files"
        while label in roots:
            label += "_"
        roots[label] = path

    for alias in settings.STORAGES:
        if alias != "staticfiles":
            add(storages[alias], "media" if alias == "default" else alias)
    for model in apps.get_models():
        for model_field in model._meta.get_fields():
            if isinstance(model_field, models.FileField):
                add(model_field.storage, None)
    return roots


def _files_under(root: Path) -> Iterator[tuple[Path, str]]:
    """Regular files below ``root`` (symbolic links are not followed), in a stable order."""
    if not root.is_dir():
        return
    for directory, subdirs, names in os.walk(root):
        subdirs.sort()
        for name in sorted(names):
            path = Path(directory, name)
            if path.is_file() and not path.is_symlink():
                yield path, path.relative_to(root).as_posix()


def secret_key_source() -> dict:
    if (os.environ.get("SECRET_KEY") or "").strip():
        return {
            "source": "environment",
            "included": False,
            "note": (
                "SECRET_KEY comes from the environment (e.g. /etc/taxdesk/env) and is not in "
                "this backup. Keep it with the deployment's other secrets: a restore needs the "
                "same value for sessions and signed links to stay valid."
            ),
        }
    path = Path(settings.VAR_DIR) / "secret_key"
    if path.is_file():
        return {"source": "file", "included": True, "file": str(path)}
    return {"source": "none", "included": False, "note": "No secret key file was found."}


def app_version() -> dict:
    try:
        version = importlib.metadata.version("taxdesk")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    commit = None
    if (Path(settings.BASE_DIR) / ".git").exists():
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            result = subprocess.run(
                ["git", "rev-parse", "HEAD"],
                cwd=settings.BASE_DIR,
                capture_output=True,
                text=True,
                timeout=10,
            )
            if result.returncode == 0:
                commit = result.stdout.strip()
    return {"name": "taxdesk", "version": version, "commit": commit, "django": django.__version__}


def code_migrations() -> set[tuple[str, str]]:
    """Every migration this code knows (squashed ones count for those they replace)."""
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = set(loader.disk_migrations)
    for migration in loader.disk_migrations.values():
        known.update(migration.replaces)
    return known


def _migration_state(rows: list[tuple[str, str]]) -> dict:
    applied: dict[str, list[str]] = {}
    for app_label, name in rows:
        applied.setdefault(app_label, []).append(name)
    missing = sorted(code_migrations() - set(rows))
    return {
        "applied": applied,
        "applied_count": len(rows),
        "not_yet_applied": [f"{app_label}.{name}" for app_label, name in missing],
    }


# ----------------------------------------------------------------------------- the database
def _sqlite_path(alias: str = "default") -> Path:
    return Path(settings.DATABASES[alias]["NAME"])


def _sqlite_snapshot(dest: Path) -> dict:
    source_path = _sqlite_path()
    if not source_path.exists():
        raise BackupError(f"The SQLite database {source_path} does not exist.")
    source = sqlite3.connect(str(source_path), timeout=60)
    try:
        target = sqlite3.connect(str(dest))
        try:
            snapshot_at = time.time()
            # One step (pages=-1): the whole database in one read transaction, a consistent
            # snapshot; in WAL mode writers go on meanwhile. Steps of a few pages would start
            # again after every write of another connection and could never finish.
            source.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            check = [row[0] for row in target.execute("PRAGMA integrity_check")]
            rows = target.execute("SELECT app, name FROM django_migrations ORDER BY id").fetchall()
        finally:
            target.close()
    finally:
        source.close()
    if check != ["ok"]:
        raise BackupError(f"The snapshot fails PRAGMA integrity_check: {'; '.join(check[:5])}")
    return {
        "kind": "sqlite",
        "name": source_path.name,
        "method": f"sqlite3 online backup API (SQLite {sqlite3.sqlite_version})",
        "integrity_check": "ok",
        "snapshot_at": snapshot_at,
        "migration_rows": rows,
    }


def _pg_settings(alias: str = "default") -> dict:
    db = settings.DATABASES[alias]
    return {
        "dbname": db["NAME"],
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": str(db["PORT"]) if db.get("PORT") else None,
        "sslmode": (db.get("OPTIONS") or {}).get("sslmode"),
    }


def _pg_connect(dbname: str | None = None, *, autocommit: bool = False):
    import psycopg

    params = _pg_settings()
    if dbname is not None:
        params["dbname"] = dbname
    params["application_name"] = "taxdesk-backup"
    return psycopg.connect(
        **{k: v for k, v in params.items() if v is not None}, autocommit=autocommit
    )


def _pg_env() -> dict:
    params = _pg_settings()
    env = dict(os.environ)
    for key, name in (
        ("host", "PGHOST"),
        ("port", "PGPORT"),
        ("user", "PGUSER"),
        ("password", "PGPASSWORD"),
        ("sslmode", "PGSSLMODE"),
    ):
        if params[key] is not None:
            env[name] = params[key]
    env["PGDATABASE"] = params["dbname"]
    return env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed: install the PostgreSQL client tools of the server's "
            "version (Debian: postgresql-client)."
        )
    return path


def _run_tool(args: list[str], what: str) -> str:
    result = subprocess.run(args, env=_pg_env(), capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{what} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    return result.stdout


def _pg_snapshot(dest: Path) -> dict:
    from psycopg import IsolationLevel

    pg_dump = _tool("pg_dump")
    tool_version = _run_tool([pg_dump, "--version"], "pg_dump --version").strip()
    with _pg_connect() as conn:
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        snapshot_at = time.time()
        # The transaction's snapshot is taken by its first query and exported to pg_dump:
        # the dump and the migration state below see the same committed writes.
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        rows = conn.execute("SELECT app, name FROM django_migrations ORDER BY id").fetchall()
        server_version = conn.info.server_version
        _run_tool(
            [
                pg_dump,
                "--format=custom",
                "--no-password",
                f"--snapshot={snapshot}",
                f"--file={dest}",
                _pg_settings()["dbname"],
            ],
            "pg_dump",
        )
        conn.rollback()
    return {
        "kind": "postgresql",
        "name": _pg_settings()["dbname"],
        "method": f"{tool_version}, custom format, on an exported snapshot",
        "server_version": server_version,
        "snapshot_at": snapshot_at,
        "migration_rows": [tuple(row) for row in rows],
    }


# ----------------------------------------------------------------------------- the archive
class _HashingReader:
    def __init__(self, raw):
        self.raw = raw
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.sha256.update(data)
        self.size += len(data)
        return data


def _add(tar: tarfile.TarFile, path: Path, name: str, kind: str, **extra) -> dict:
    with path.open("rb") as raw:
        st = os.fstat(raw.fileno())
        info = tarfile.TarInfo(name)
        info.size = st.st_size
        info.mtime = int(st.st_mtime)
        info.mode = stat.S_IMODE(st.st_mode)
        reader = _HashingReader(raw)
        tar.addfile(info, reader)
    digest = reader.sha256.hexdigest()
    return {"path": name, "kind": kind, "size": reader.size, "sha256": digest, **extra}


@contextlib.contextmanager
def _locked(directory: Path):
    with (directory / ".lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(f"Another backup is running in {directory}.") from None
        yield


def _archive_name(directory: Path, now: datetime) -> str:
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    name, n = f"taxdesk-backup-{stamp}.tar", 1
    while (directory / name).exists():
        n += 1
        name = f"taxdesk-backup-{stamp}-{n}.tar"
    return name


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")


def backups_in(directory: Path) -> list[Path]:
    """The complete backups of a directory, oldest first."""

    def order(path: Path):
        match = NAME_PATTERN.match(path.name)
        return (match.group(1), int(match.group(2) or 1))

    found = [p for p in directory.glob("taxdesk-backup-*.tar") if NAME_PATTERN.match(p.name)]
    return sorted(found, key=order)


def prune(directory: Path, keep: int) -> list[Path]:
    """Remove all but the ``keep`` newest backups; returns the removed ones."""
    if keep < 1:
        raise BackupError("--keep must be at least 1.")
    removed = backups_in(directory)[:-keep]
    for path in removed:
        path.unlink()
    return removed


@dataclass
class BackupResult:
    path: Path
    manifest: dict
    removed: list[Path] = field(default_factory=list)


def _write_archive(tar: tarfile.TarFile, kind: str, db_file: Path, database: dict, log: Log):
    """The parts (database, key, files) then the manifest; returns the manifest."""
    started = database.pop("started")
    snapshot_at = database.pop("snapshot_at")
    migrations = _migration_state(database.pop("migration_rows"))
    parts = [_add(tar, db_file, KINDS[kind], "database")]
    db_file.unlink()
    key = secret_key_source()
    if key["included"]:
        parts.append(_add(tar, Path(key.pop("file")), KEY_PART, "secret_key"))
    roots = file_roots()
    log(f"Files: {', '.join(f'{k} ({v})' for k, v in roots.items()) or 'none'}")
    for label, root in roots.items():
        for path, relative in _files_under(root):
            try:
                parts.append(_add(tar, path, f"files/{label}/{relative}", "file", root=label))
            except FileNotFoundError:
                # Removed since the walk (a checked-rows file after its import): the
                # snapshot may name it, nothing will read it again.
                continue
    finished = time.time()
    files = [p for p in parts if p["kind"] == "file"]
    manifest = {
        "format": FORMAT,
        "created_at": _iso(started),
        "snapshot_at": _iso(snapshot_at),
        "snapshot_at_epoch": snapshot_at,
        "finished_at": _iso(finished),
        "duration_seconds": round(finished - started, 3),
        "host": socket.gethostname(),
        "mode": settings.MODE,
        "app": app_version(),
        "database": database,
        "migrations": migrations,
        "secret_key": key,
        "files": {"roots": {k: str(v) for k, v in roots.items()}},
        "sizes": {
            "database": parts[0]["size"],
            "files": sum(p["size"] for p in files),
            "file_count": len(files),
            "secret_key": sum(p["size"] for p in parts if p["kind"] == "secret_key"),
        },
        "parts": parts,
    }
    data = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
    info = tarfile.TarInfo(MANIFEST)
    info.size, info.mtime, info.mode = len(data), int(finished), 0o600
    tar.addfile(info, io.BytesIO(data))
    return manifest


def create_backup(directory: Path, *, keep: int | None = None, log: Log = _quiet) -> BackupResult:
    """Back up the database, the files and the key into ``directory``; keep ``keep`` newest."""
    if keep is not None and keep < 1:
        raise BackupError("--keep must be at least 1.")
    kind = database_kind()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    if directory.stat().st_uid == os.getuid():
        directory.chmod(0o700)  # backups hold personal data and, usually, the secret key
    with _locked(directory):
        # Left by a backup that was killed (we hold the lock: none is running).
        for stale in directory.glob("taxdesk-backup-*.tar.partial"):
            stale.unlink()
        for stale in directory.glob(".taxdesk-backup-*"):
            shutil.rmtree(stale, ignore_errors=True)
        started = time.time()
        name = _archive_name(directory, datetime.fromtimestamp(started, UTC))
        final = directory / name
        partial = directory / f"{name}.partial"
        work = Path(tempfile.mkdtemp(prefix=".taxdesk-backup-", dir=directory))
        try:
            log(f"Database ({kind}): taking a snapshot")
            db_file = work / KINDS[kind]
            database = _sqlite_snapshot(db_file) if kind == "sqlite" else _pg_snapshot(db_file)
            database["started"] = started
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as raw:
                with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
                    manifest = _write_archive(tar, kind, db_file, database, log)
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(partial, final)
            _fsync_directory(directory)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
        removed = prune(directory, keep) if keep is not None else []
    return BackupResult(final, manifest, removed)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ----------------------------------------------------------------------------- verification
def _safe_name(name: str) -> bool:
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts and "" not in path.parts


def read_manifest(tar: tarfile.TarFile) -> dict:
    try:
        member = tar.getmember(MANIFEST)
    except KeyError:
        raise BackupError("Not a TaxDesk backup: it has no manifest.json.") from None
    data = tar.extractfile(member)
    if data is None:
        raise BackupError("manifest.json is not a file.")
    try:
        manifest = json.loads(data.read())
    except ValueError as exc:
        raise BackupError(f"manifest.json cannot be read: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"Unknown backup format {manifest.get('format')!r} (expected {FORMAT}).")
    return manifest


def _open(archive: Path) -> tarfile.TarFile:
    if not archive.is_file():
        raise BackupError(f"{archive} is not a file.")
    try:
        return tarfile.open(archive, mode="r:")
    except tarfile.TarError as exc:
        raise BackupError(f"{archive} is not a readable .tar: {exc}") from None


def verify(archive: Path, log: Log = _quiet) -> dict:
    """Check every part of the archive against the manifest (presence, size, SHA-256) and
    that it holds nothing else; returns the manifest."""
    with _open(archive) as tar:
        manifest = read_manifest(tar)
        members = {m.name: m for m in tar.getmembers()}
        expected = {part["path"]: part for part in manifest["parts"]}
        problems = []
        for name in members.keys() - expected.keys() - {MANIFEST}:
            problems.append(f"{name}: in the archive but not in the manifest")
        for name, part in expected.items():
            member = members.get(name)
            if not _safe_name(name):
                problems.append(f"{name}: not a safe relative path")
            elif member is None:
                problems.append(f"{name}: missing")
            elif not member.isfile():
                problems.append(f"{name}: not a regular file")
            elif member.size != part["size"]:
                problems.append(f"{name}: {member.size} bytes, the manifest says {part['size']}")
            else:
                digest = hashlib.sha256()
                source = tar.extractfile(member)
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                if digest.hexdigest() != part["sha256"]:
                    problems.append(f"{name}: SHA-256 differs from the manifest")
        if problems:
            shown = "\n  ".join(problems[:20])
            more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
            raise BackupError(f"The archive fails verification:\n  {shown}{more}")
    log(f"Verified {len(expected)} parts of {archive.name}: every SHA-256 matches.")
    return manifest


# ----------------------------------------------------------------------------- restore
def _sqlite_is_empty(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return True
    conn = sqlite3.connect(str(path), timeout=60)
    try:
        tables = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchone()[0]
    finally:
        conn.close()
    return tables == 0


_PG_TABLES = """
    SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%'
"""


def _pg_state() -> str:
    """``missing``, ``empty`` or ``holds tables`` for DATABASE_URL's database."""
    import psycopg

    name = _pg_settings()["dbname"]
    try:
        with _pg_connect(name, autocommit=True) as conn:
            return "holds tables" if conn.execute(_PG_TABLES).fetchone()[0] else "empty"
    except psycopg.OperationalError as exc:
        if "does not exist" in str(exc):
            return "missing"
        raise BackupError(f"Cannot connect to the database {name}: {exc}") from None


def _pg_recreate(state: str, log: Log) -> None:
    """Create DATABASE_URL's database when missing; drop and create it when it holds tables
    (``--force``). Needs the right to create databases (as pytest's test databases do)."""
    import psycopg
    from psycopg import sql

    name = _pg_settings()["dbname"]
    connections.close_all()
    try:
        with _pg_connect("postgres", autocommit=True) as conn:
            if state == "holds tables":
                log(f"Dropping the database {name} (--force)")
                conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(name)))
            log(f"Creating the database {name}")
            conn.execute(
                sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0").format(
                    sql.Identifier(name)
                )
            )
    except psycopg.Error as exc:
        raise BackupError(
            f"Cannot replace the database {name}: {exc}. Stop the web server and the worker "
            "first; the database user needs the right to create databases."
        ) from None


def _extract(tar: tarfile.TarFile, part: dict, dest: Path) -> None:
    """Write one part to ``dest`` (through a temporary file beside it), checking it again."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    temporary = dest.with_name(f".{dest.name}.restoring")
    digest = hashlib.sha256()
    member = tar.getmember(part["path"])
    source = tar.extractfile(member)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != part["sha256"]:
            raise BackupError(f"{part['path']} changed while it was read: SHA-256 differs.")
        os.chmod(temporary, member.mode & 0o777)  # the mode it had when backed up
        os.replace(temporary, dest)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _file_destinations(manifest: dict) -> list[tuple[dict, Path]]:
    roots = file_roots()
    unknown = sorted({p["root"] for p in manifest["parts"] if p["kind"] == "file"} - set(roots))
    if unknown:
        raise BackupError(
            f"The backup holds files of storages this installation does not have: "
            f"{', '.join(unknown)} (this one has {', '.join(roots) or 'none'})."
        )
    found = []
    for part in manifest["parts"]:
        if part["kind"] == "file":
            prefix = f"files/{part['root']}/"
            found.append((part, roots[part["root"]] / part["path"].removeprefix(prefix)))
    return found


def _check_restorable(manifest: dict, kind: str) -> None:
    backup_kind = manifest["database"]["kind"]
    if backup_kind != kind:
        raise BackupError(
            f"This is a {backup_kind} backup and DATABASE_URL names a {kind} database: restore "
            f"it into a {backup_kind} database."
        )
    applied = {
        (app_label, name)
        for app_label, names in manifest["migrations"]["applied"].items()
        for name in names
    }
    newer = sorted(applied - code_migrations())
    if newer:
        shown = ", ".join(f"{a}.{n}" for a, n in newer[:10])
        raise BackupError(
            f"The backup was taken by a newer TaxDesk (version {manifest['app']['version']}, "
            f"commit {manifest['app'].get('commit') or 'unknown'}): this code does not know "
            f"its migrations {shown}. Install that version or a newer one, then restore."
        )


def _restore_sqlite(tar: tarfile.TarFile, part: dict, target: Path, log: Log) -> None:
    log(f"Database: restoring {target}")
    staged = target.with_name(f"{target.name}.restoring")
    _extract(tar, part, staged)
    check = sqlite3.connect(str(staged))
    try:
        result = [row[0] for row in check.execute("PRAGMA integrity_check")]
    finally:
        check.close()
    if result != ["ok"]:
        staged.unlink()
        raise BackupError(f"The restored database fails PRAGMA integrity_check: {result}")
    connections.close_all()
    # A journal left by the database being replaced must not be applied to this one.
    for suffix in ("-wal", "-shm", "-journal"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    os.replace(staged, target)


def _restore_postgresql(tar: tarfile.TarFile, part: dict, target: str, state: str, log: Log):
    if state != "empty":
        _pg_recreate(state, log)
    log(f"Database: pg_restore into {target}")
    with tempfile.TemporaryDirectory(prefix=".taxdesk-restore-", dir=settings.VAR_DIR) as scratch:
        dump = Path(scratch) / KINDS["postgresql"]
        _extract(tar, part, dump)
        _run_tool(
            [
                _tool("pg_restore"),
                "--exit-on-error",
                "--single-transaction",
                "--no-owner",
                "--no-privileges",
                "--no-comments",
                "--no-password",
                f"--dbname={target}",
                str(dump),
            ],
            "pg_restore",
        )
    connections.close_all()


def _restore_key(tar, part: dict | None, manifest: dict, replaced_data: bool, log: Log) -> None:
    """The backup's key file; the one it replaces is kept aside when it belonged to data
    (over an empty database it is the key the settings just generated)."""
    if part is None:
        log(f"Secret key: not in the backup. {manifest['secret_key'].get('note', '')}")
        return
    key_path = Path(settings.VAR_DIR) / "secret_key"
    if replaced_data and key_path.exists() and _file_sha256(key_path) != part["sha256"]:
        aside = key_path.with_name(f"secret_key.replaced-{int(time.time())}")
        os.replace(key_path, aside)
        log(f"Secret key: the one here was kept as {aside}")
    _extract(tar, part, key_path)
    key_path.chmod(0o600)
    log("Secret key: restored")
    if (os.environ.get("SECRET_KEY") or "").strip():
        log("Secret key: note that SECRET_KEY set in the environment overrides the file")


def restore(archive: Path, *, force: bool = False, migrate: bool = True, log: Log = _quiet):
    """Restore a backup into this installation's database, file storages and key file."""
    manifest = verify(archive, log)
    kind = database_kind()
    _check_restorable(manifest, kind)

    # Every refusal comes before the first change.
    if kind == "sqlite":
        target = _sqlite_path()
        state = "empty" if _sqlite_is_empty(target) else "holds tables"
    else:
        _tool("pg_restore")
        target = _pg_settings()["dbname"]
        state = _pg_state()
    if state == "holds tables" and not force:
        raise BackupError(
            f"The database {target} is not empty: restore into a new database, or add --force "
            "to replace it (take a backup of it first if it holds anything you may want)."
        )
    files = _file_destinations(manifest)
    conflicts = [
        dest
        for part, dest in files
        if dest.exists()
        and (dest.stat().st_size != part["size"] or _file_sha256(dest) != part["sha256"])
    ]
    if conflicts and not force:
        raise BackupError(
            f"{len(conflicts)} files exist with other contents (e.g. {conflicts[0]}): add "
            "--force to overwrite them."
        )

    parts = {part["kind"]: part for part in manifest["parts"] if part["kind"] != "file"}
    with _open(archive) as tar:
        if kind == "sqlite":
            _restore_sqlite(tar, parts["database"], target, log)
        else:
            _restore_postgresql(tar, parts["database"], target, state, log)
        log(f"Files: {len(files)}")
        for part, dest in files:
            if not (dest.exists() and _file_sha256(dest) == part["sha256"]):
                _extract(tar, part, dest)
        _restore_key(tar, parts.get(KEY_PART), manifest, state == "holds tables", log)
    if migrate:
        from django.core.management import call_command

        log("Migrating (a backup of an older version is brought forward)")
        call_command("migrate", interactive=False, verbosity=0)
    return manifest
