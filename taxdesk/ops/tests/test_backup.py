"""manage.py backup and restore on a real database (the run's kind: SQLite, or PostgreSQL
when DATABASE_URL names one): what an archive holds, what a restore refuses, retention, and
an older backup brought forward by migrate."""

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from taxdesk.ops.backup import backups_in, prune

from .harness import TEST_SECRET_KEY

pytestmark = pytest.mark.deployment


def _manifest(archive: Path) -> dict:
    with tarfile.open(archive) as tar:
        return json.loads(tar.extractfile("manifest.json").read())


def _tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _rewrite(archive: Path, dest: Path, change) -> None:
    """A copy of ``archive`` with each member's bytes passed through ``change(name, data)``."""
    with tarfile.open(archive) as source, tarfile.open(dest, "w") as out:
        for member in source.getmembers():
            data = change(member.name, source.extractfile(member).read())
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))


def test_backup_holds_database_files_key_and_manifest_and_restore_refuses_what_it_must(
    new_site, tmp_path
):
    site = new_site("main")
    site.manage("migrate", "--noinput", "-v0")
    world = site.driver("setup", "--writers", "2", "--import-rows", "5")
    assert world["job"]["state"] == "done" and world["job"]["created"] == 5
    backups = tmp_path / "backups"

    # In production the key comes from the environment: the manifest says so, no key part.
    site.manage("backup", "--dir", backups, SECRET_KEY=TEST_SECRET_KEY)
    (env_archive,) = backups_in(backups)
    env_manifest = _manifest(env_archive)
    assert env_manifest["secret_key"]["source"] == "environment"
    assert not env_manifest["secret_key"]["included"]
    assert "not in this backup" in env_manifest["secret_key"]["note"]
    assert "secret_key" not in {p["kind"] for p in env_manifest["parts"]}

    latest = site.manage("backup", "--dir", backups, "--keep", "1")
    assert f"Removed the older backup {env_archive.name}" in latest.stdout
    (archive,) = backups_in(backups)
    assert archive.name.startswith("taxdesk-backup-") and archive.stat().st_mode & 0o077 == 0
    assert archive.name in latest.stdout
    manifest = _manifest(archive)
    assert manifest["format"] == "taxdesk-backup/1"
    assert manifest["database"]["kind"] == site.kind
    assert manifest["secret_key"] == {"source": "file", "included": True}
    assert manifest["migrations"]["not_yet_applied"] == []
    assert "0001_initial" in manifest["migrations"]["applied"]["customers"]
    assert manifest["app"]["version"] and manifest["app"]["django"].startswith("5.2")
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        for part in manifest["parts"]:
            data = tar.extractfile(part["path"]).read()
            assert (len(data), hashlib.sha256(data).hexdigest()) == (part["size"], part["sha256"])
    assert names == {p["path"] for p in manifest["parts"]} | {"manifest.json"}
    uploads = [p for p in manifest["parts"] if p["kind"] == "file"]
    assert [p["path"].endswith(".xlsx") for p in uploads] == [True]  # the uploaded file
    assert manifest["sizes"]["file_count"] == 1
    assert manifest["sizes"]["database"] == manifest["parts"][0]["size"] > 0

    # A damaged archive is refused before anything changes.
    damaged = tmp_path / "damaged.tar"
    database_part = manifest["parts"][0]["path"]
    _rewrite(
        archive,
        damaged,
        lambda name, data: (data[:-1] + bytes([data[-1] ^ 1])) if name == database_part else data,
    )
    target = new_site("restore", create=False)
    refused = target.manage("restore", damaged, check=False)
    assert refused.returncode != 0 and "fails verification" in refused.stderr
    assert f"{database_part}: SHA-256 differs from the manifest" in refused.stderr
    assert not (target.var_dir / "media").exists()
    if site.kind == "sqlite":
        assert not (target.var_dir / "taxdesk.sqlite3").exists()

    # A good one restores database, files and key, then migrates.
    checked = target.manage("restore", "--check", archive)
    assert "every SHA-256 matches" in checked.stdout
    target.manage("restore", archive)
    assert _tree(target.var_dir / "media") == _tree(site.var_dir / "media")
    key = (site.var_dir / "secret_key").read_text()
    assert (target.var_dir / "secret_key").read_text() == key
    assert not list(target.var_dir.glob("secret_key.replaced-*"))  # a fresh one, no data
    counts = target.driver("verify", "--acks", "/dev/null")
    assert counts["taxpayers"] == 5
    if site.kind == "sqlite":
        assert counts["integrity"] == ["ok"]

    # Not over a database that holds tables, unless asked to.
    refused = target.manage("restore", archive, check=False)
    assert refused.returncode != 0 and "is not empty" in refused.stderr
    assert "--force" in refused.stderr
    (target.var_dir / "secret_key").write_text("the key of the data being replaced")
    target.manage("restore", "--force", archive)
    assert target.driver("verify", "--acks", "/dev/null")["taxpayers"] == 5
    assert (target.var_dir / "secret_key").read_text() == key
    (aside,) = target.var_dir.glob("secret_key.replaced-*")
    assert aside.read_text() == "the key of the data being replaced"


def test_an_older_backup_is_migrated_forward_and_a_newer_one_refused(new_site, tmp_path):
    site = new_site("main")
    # "Older": the database of a version that had only the first apps' migrations.
    site.manage("migrate", "customers", "0001", "--noinput", "-v0")
    backups = tmp_path / "backups"
    site.manage("backup", "--dir", backups)
    (archive,) = backups_in(backups)
    manifest = _manifest(archive)
    assert "customers.0002_taxpayer_register" in manifest["migrations"]["not_yet_applied"]

    target = new_site("restore", create=False)
    result = target.manage("restore", archive)
    assert "Migrating" in result.stdout
    target.manage("migrate", "--check")  # every migration of this code is applied

    # A backup of a newer TaxDesk (a migration this code does not know) is refused.
    def newer(name, data):
        if name != "manifest.json":
            return data
        changed = json.loads(data)
        changed["migrations"]["applied"]["customers"].append("0999_from_the_future")
        return json.dumps(changed).encode()

    future = tmp_path / "future.tar"
    _rewrite(archive, future, newer)
    other = new_site("future", create=False)
    refused = other.manage("restore", future, check=False)
    assert refused.returncode != 0
    assert "newer TaxDesk" in refused.stderr and "customers.0999_from_the_future" in refused.stderr


def test_keep_leaves_the_newest_backups_and_nothing_else(tmp_path):
    names = [
        "taxdesk-backup-20261201T020000Z.tar",
        "taxdesk-backup-20261202T020000Z.tar",
        "taxdesk-backup-20261202T020000Z-2.tar",
        "taxdesk-backup-20261203T020000Z.tar",
    ]
    for name in [*names, "notes.txt", "taxdesk-backup-x.tar"]:
        (tmp_path / name).write_text("x")
    removed = prune(tmp_path, 2)
    assert [p.name for p in removed] == names[:2]
    assert [p.name for p in backups_in(tmp_path)] == names[2:]
    assert (tmp_path / "notes.txt").exists() and (tmp_path / "taxdesk-backup-x.tar").exists()
