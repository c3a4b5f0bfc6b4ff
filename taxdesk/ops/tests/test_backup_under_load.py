"""A backup taken while 20 writers register taxpayers restores every write acknowledged before
it started, on the run's database (SQLite: the embedded default; PostgreSQL: pg_dump, restored
into taxdesk_deploy_restore)."""

import json
import sys
import tarfile
import time
from datetime import datetime

import pytest

from taxdesk.ops.backup import backups_in

from .harness import load_average, stop, wait_for

pytestmark = pytest.mark.deployment

WRITERS = 20


def _acks(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def test_backup_during_20_writers_restores_every_acknowledged_write(new_site, tmp_path):
    site = new_site("main")
    site.manage("migrate", "--noinput", "-v0")
    site.driver("setup", "--writers", str(WRITERS), "--import-rows", "5")
    acks_log, stop_file, backups = tmp_path / "acks.jsonl", tmp_path / "stop", tmp_path / "backups"
    acks_log.touch()
    writers = site.popen(
        [
            sys.executable,
            "-m",
            "taxdesk.ops.tests.driver",
            "write",
            "--threads",
            str(WRITERS),
            "--log",
            acks_log,
            "--stop-file",
            stop_file,
            "--max-seconds",
            "120",
        ],
        tmp_path / "writers.log",
    )
    try:
        # The writers are under way (each has written) before the backup starts …
        wait_for(lambda: len(_acks(acks_log)) >= 2 * WRITERS, 90, "the writers' first writes")
        began = time.monotonic()
        site.manage("backup", "--dir", backups)
        backup_seconds = time.monotonic() - began
        # … and go on after it ends.
        written = len(_acks(acks_log))
        wait_for(lambda: len(_acks(acks_log)) >= written + WRITERS, 60, "writes after the backup")
        stop_file.touch()
        writers.wait(120)
    finally:
        stop_file.touch()
        stop(writers)
    summary = json.loads((tmp_path / "writers.log").read_text().strip().splitlines()[-1])
    assert summary["error_count"] == 0, summary["errors"]
    assert all(summary["per_writer"]), "every writer wrote"

    (archive,) = backups_in(backups)
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
    snapshot_at = manifest["snapshot_at_epoch"]
    finished_at = datetime.fromisoformat(manifest["finished_at"]).timestamp()
    acks = _acks(acks_log)
    assert len(acks) == summary["acked"]
    assert any(a["at"] < snapshot_at for a in acks)
    assert any(a["at"] > finished_at for a in acks), "the writers went on during the backup"

    target = new_site("restore", create=False)
    restore_began = time.monotonic()
    target.manage("restore", archive)
    restore_seconds = time.monotonic() - restore_began
    found = target.driver("verify", "--acks", acks_log, "--before", repr(snapshot_at))
    if site.kind == "sqlite":
        assert found["integrity"] == ["ok"]
    assert found["acked_before"] > 0
    assert found["missing_before"] == [] and found["missing_before_count"] == 0
    assert found["unaudited_before"] == 0  # each with its audit entry …
    assert found["without_contact_before"] == 0  # … and its contact: whole transactions
    # Nothing acknowledged after the snapshot can be in it unless it committed before it.
    assert found["taxpayers"] == 5 + found["acked_before"] + found["found_after"]

    print(
        "\nFIGURES backup under load "
        + json.dumps(
            {
                "database": site.kind,
                "writers": WRITERS,
                "acknowledged": len(acks),
                "acknowledged_before_snapshot": found["acked_before"],
                "found_after_restore": found["acked_before"] - found["missing_before_count"],
                "acknowledged_after_snapshot": found["acked_after"],
                "of_those_in_backup": found["found_after"],
                "writers_seconds": summary["seconds"],
                "writes_per_second": round(len(acks) / summary["seconds"], 1),
                "backup_seconds": round(backup_seconds, 2),
                "backup_manifest_seconds": manifest["duration_seconds"],
                "archive_bytes": archive.stat().st_size,
                "database_bytes": manifest["sizes"]["database"],
                "restore_seconds": round(restore_seconds, 2),
                "load_average": load_average(),
            }
        )
    )
