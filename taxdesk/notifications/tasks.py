"""Background jobs of the messages (see actions.py for when they run)."""

from celery import shared_task

from taxdesk.core import audit
from taxdesk.core.choices import AuditSource


@shared_task(name="taxdesk.notifications.tasks.deliver")
def deliver(message_id: int) -> str:
    """Send one committed message (queued or due for a retry); its status afterwards."""
    from .actions import deliver as deliver_message

    with audit.context(source=AuditSource.TASK):
        return deliver_message(message_id)


@shared_task(name="taxdesk.notifications.tasks.retry_due")
def retry_due() -> dict[str, int]:
    """Send every message due for another attempt (run every minute by Celery beat)."""
    from .actions import retry_due as retry_due_messages

    with audit.context(source=AuditSource.TASK):
        return retry_due_messages()
