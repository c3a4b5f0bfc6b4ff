"""Sign-in with limits on failed attempts, for every way in (login page, API token, admin).

Attempts are counted per user name *and* address together, so a stranger who types a real
user's name five times locks that name only for the stranger's own address; and per address
across all names, with a higher limit, so one address cannot try name after name. See
docs/decisions/0007-sign-in-and-sessions.md.

An attempt is counted *before* its password is checked: a conditional ``UPDATE`` on the
counter row claims one of the attempts the window still allows, and only a request that
claimed one reaches the password check. So when many attempts arrive at once, at most the
limit of them are checked; the others are refused as locked. A successful sign-in forgets the
failures of its name from its address and gives back the attempt it claimed from the
address's count. A lock ends once the window has passed since the last counted attempt;
refused attempts are not counted and do not prolong it.

Every attempt, refused ones included, is in the audit trail (``core/signals.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from .addresses import client_address

# Longer names cannot be a user's (User.username has 150 characters); they are counted as
# their first 150.
_NAME_LENGTH = 150


@dataclass(frozen=True)
class Lockout:
    """Why and for how long sign-in is refused: ``kind`` is "name" (this user name from this
    address) or "address" (any name from this address)."""

    kind: str
    seconds: int

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.seconds / 60))


def _window() -> timedelta:
    return timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MINUTES)


def _counters(username: str, address: str):
    """(kind, user name, limit) of the counters an attempt goes into, in locking order."""
    from .models import SignInCounter

    return (
        (SignInCounter.NAME, username[:_NAME_LENGTH], settings.LOGIN_FAILURE_LIMIT),
        (SignInCounter.ADDRESS, "", settings.LOGIN_ADDRESS_FAILURE_LIMIT),
    )


def _remaining(last_at: datetime | None, now: datetime) -> int:
    if last_at is None:
        return 0
    return max(1, math.ceil((last_at + _window() - now).total_seconds()))


def claim_attempt(username: str, address: str) -> Lockout | None:
    """Count one attempt at ``username`` from ``address`` before its password is checked.

    Returns ``None`` when the attempt may go on, or the lockout that refuses it (then nothing
    is counted).
    """
    from .models import SignInCounter

    now = timezone.now()
    cutoff = now - _window()
    counters = _counters(username, address)
    # The rows exist before they are claimed (a second writer of the same row does nothing).
    SignInCounter.objects.bulk_create(
        [
            SignInCounter(kind=kind, username=name, address=address, last_at=now)
            for kind, name, _limit in counters
        ],
        ignore_conflicts=True,
    )
    with transaction.atomic():
        for kind, name, limit in counters:
            row = SignInCounter.objects.filter(kind=kind, username=name, address=address)
            # One statement decides and counts: the row is locked while it is updated, and a
            # concurrent claim sees the count this one left (PostgreSQL re-checks the
            # condition on the row it waited for; SQLite runs one writer at a time).
            claimed = row.filter(Q(attempts__lt=limit) | Q(last_at__lte=cutoff)).update(
                attempts=Case(When(last_at__lte=cutoff, then=Value(1)), default=F("attempts") + 1),
                last_at=now,
            )
            if not claimed:
                last_at = row.values_list("last_at", flat=True).first()
                transaction.set_rollback(True)  # the counters claimed before this one too
                return Lockout(kind=kind, seconds=_remaining(last_at, now))
    return None


def forget_failures(username: str, address: str) -> None:
    """After a successful sign-in: the name starts afresh from this address, and the attempt
    claimed from the address's count is given back (a success is no failure). Counters whose
    window has passed, anyone's, are dropped on the way (they would start from zero anyway)."""
    from .models import SignInCounter

    with transaction.atomic():
        SignInCounter.objects.filter(last_at__lte=timezone.now() - _window()).delete()
        SignInCounter.objects.filter(
            kind=SignInCounter.NAME, username=username[:_NAME_LENGTH], address=address
        ).delete()
        SignInCounter.objects.filter(
            kind=SignInCounter.ADDRESS, username="", address=address, attempts__gt=0
        ).update(attempts=F("attempts") - 1)


def current_lockout(username: str, address: str) -> Lockout | None:
    """The lockout an attempt would meet now (for display; nothing is counted)."""
    from .models import SignInCounter

    now = timezone.now()
    for kind, name, limit in _counters(username, address):
        last_at = (
            SignInCounter.objects.filter(
                kind=kind,
                username=name,
                address=address,
                attempts__gte=limit,
                last_at__gt=now - _window(),
            )
            .values_list("last_at", flat=True)
            .first()
        )
        if last_at is not None:
            return Lockout(kind=kind, seconds=_remaining(last_at, now))
    return None


def lockout_of(request) -> Lockout | None:
    """The lockout that refused the request's sign-in, if one did."""
    return getattr(request, "signin_lockout", None)


class ThrottledModelBackend(ModelBackend):
    """Django's model backend behind the sign-in limits (the only backend: every way in)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if not username or password is None:
            return None
        address = client_address(request) if request is not None else ""
        lockout = claim_attempt(username, address)
        if lockout is not None:
            if request is not None:
                request.signin_lockout = lockout
            # Stops every backend; Django sends user_login_failed, which is audited.
            raise PermissionDenied("sign-in locked")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            forget_failures(username, address)
        return user
