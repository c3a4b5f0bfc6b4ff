"""Channels, the states of a message and how soon a failed send is tried again."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from taxdesk.core.choices import Role


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    RETRYING = "retrying", _("Waiting to retry")
    FAILED = "failed", pgettext_lazy("message", "Failed")


class AttemptOutcome(models.TextChoices):
    SENT = "sent", _("Sent")
    RETRY = "retry", _("Failed, will retry")
    FAILED = "failed", pgettext_lazy("message", "Failed")


# Attempts at most, and the wait after each failed one (1, 5, 25, 125 minutes): the fifth
# failure is final.
MAX_ATTEMPTS = 5
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=25),
    timedelta(minutes=125),
)
# A queued message whose after-commit dispatch never ran (the process ended, the broker was
# down) is picked up by retry_due once it is this old.
QUEUED_GRACE = timedelta(minutes=1)
# A message left "sending" this long (its worker died mid-send) is claimed again; the
# provider gets the same idempotency key, so it does not send it twice.
SENDING_STALE = timedelta(minutes=10)

# The longest SMS text (a long SMS is split by the network into 67-character parts).
SMS_MAX_LENGTH = 500
SUBJECT_MAX_LENGTH = 200
EMAIL_MAX_LENGTH = 10_000

# Who sends free text to a taxpayer's contact and retries a failed message.
SENDERS = frozenset({Role.UNIT_ADMIN, Role.DISPATCHER})
# Who reads a unit's whole message log (besides supervision officers and superusers).
LOG_READERS = frozenset({Role.UNIT_ADMIN, Role.DISPATCHER})
# Who edits a unit's templates.
TEMPLATE_EDITORS = frozenset({Role.UNIT_ADMIN})


def retry_delay(attempts: int) -> timedelta | None:
    """The wait after ``attempts`` failed attempts, or None when no attempt is left."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]
