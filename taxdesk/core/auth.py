"""Sign-in with a limit on failed attempts.

Failures are counted from the audit trail (the ``login_failed`` entries for a user name since
its last successful login, within the window), so every server process sees the same count.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from .choices import AuditAction


def recent_failures(username: str) -> int:
    from .models import AuditEntry

    since = timezone.now() - timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MINUTES)
    last_login = (
        AuditEntry.objects.filter(action=AuditAction.LOGIN, object_repr=username, at__gte=since)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    if last_login is not None:
        since = last_login
    return AuditEntry.objects.filter(
        action=AuditAction.LOGIN_FAILED, object_repr=username, at__gt=since
    ).count()


def is_throttled(username: str | None) -> bool:
    if not username:
        return False
    return recent_failures(username) >= settings.LOGIN_FAILURE_LIMIT


class ThrottledModelBackend(ModelBackend):
    """Django's model backend that refuses a user name with too many recent failures."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get("username")
        if is_throttled(username):
            # Stops every backend; Django records the attempt as a failed login.
            raise PermissionDenied("too many failed logins")
        return super().authenticate(request, username=username, password=password, **kwargs)
