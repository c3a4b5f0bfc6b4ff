"""Send the messages due for another attempt, once (cron, every minute, in the embedded
default; with a worker Celery beat runs ``notifications.tasks.retry_due`` instead)."""

from django.core.management.base import BaseCommand

from taxdesk.core import audit
from taxdesk.core.choices import AuditSource


class Command(BaseCommand):
    help = "Send the messages (SMS, e-mail) due for another attempt."

    def add_arguments(self, parser):
        parser.add_argument(
            "--limit", type=int, default=500, help="at most this many messages (default 500)"
        )

    def handle(self, *args, limit=500, **options):
        from taxdesk.notifications.actions import retry_due

        with audit.context(source=AuditSource.COMMAND):
            counts = retry_due(limit=limit)
        total = sum(counts.values())
        detail = ", ".join(f"{status} {count}" for status, count in sorted(counts.items()))
        self.stdout.write(f"{total} messages tried" + (f": {detail}" if detail else ""))
