"""``manage.py backup``: the database, the uploaded files and the secret key in one .tar."""

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from taxdesk.ops.backup import BackupError, create_backup


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


class Command(BaseCommand):
    help = (
        "Back up the database (SQLite: online backup API; PostgreSQL: pg_dump), the uploaded "
        "files and the secret key into one .tar named with the time, with a manifest. Runs "
        "while the system is in use."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dir",
            type=Path,
            default=None,
            help="where the backups go (default TAXDESK_BACKUP_DIR, else VAR_DIR/backups)",
        )
        parser.add_argument(
            "--keep",
            type=int,
            default=None,
            metavar="N",
            help="afterwards, keep only the N newest backups of the directory",
        )

    def handle(self, *args, dir=None, keep=None, **options):
        directory = dir or Path(settings.BACKUP_DIR)
        began = time.monotonic()
        try:
            result = create_backup(directory, keep=keep, log=self.stdout.write)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        sizes = result.manifest["sizes"]
        self.stdout.write(
            self.style.SUCCESS(
                f"Backup {result.path} ({_size(result.path.stat().st_size)}) in "
                f"{time.monotonic() - began:.1f} s: database {_size(sizes['database'])}, "
                f"{sizes['file_count']} files ({_size(sizes['files'])}), secret key "
                f"{result.manifest['secret_key']['source']}"
                + (" (not included)" if not result.manifest["secret_key"]["included"] else "")
            )
        )
        for path in result.removed:
            self.stdout.write(f"Removed the older backup {path.name} (--keep {keep})")
