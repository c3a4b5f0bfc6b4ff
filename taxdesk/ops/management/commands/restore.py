"""``manage.py restore <archive>``: verify a backup, then restore it and migrate."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from taxdesk.ops.backup import BackupError, restore, verify


class Command(BaseCommand):
    help = (
        "Restore a backup made by 'manage.py backup': verify every part's SHA-256, restore "
        "the database into an empty or new one (DATABASE_URL, or the SQLite file), the files "
        "and the secret key, then migrate. Stop the web server and the worker first."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path, help="the taxdesk-backup-….tar to restore")
        parser.add_argument(
            "--force",
            action="store_true",
            help="replace a database that holds tables, and files with other contents",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="only verify the archive and say what it holds; change nothing",
        )

    def handle(self, *args, archive, force=False, check=False, **options):
        try:
            if check:
                manifest = verify(archive, log=self.stdout.write)
            else:
                manifest = restore(archive, force=force, log=self.stdout.write)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        app = manifest["app"]
        sizes = manifest["sizes"]
        summary = (
            f"{archive.name}: {manifest['database']['kind']} database taken at "
            f"{manifest['snapshot_at']} by TaxDesk {app['version']}"
            f"{' (' + app['commit'][:12] + ')' if app.get('commit') else ''}, "
            f"{manifest['migrations']['applied_count']} migrations, "
            f"{sizes['file_count']} files, secret key {manifest['secret_key']['source']}"
        )
        verb = "Verified" if check else "Restored"
        self.stdout.write(self.style.SUCCESS(f"{verb} {summary}"))
