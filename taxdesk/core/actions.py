"""Operations that change tenancy records and users."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from . import audit
from .choices import AuditAction
from .models import ServiceUnit, User
from .scoping import CHANGE, can
from .signals import working_hours_changed

UNIT_SETTINGS = (
    "address",
    "hotline",
    "working_hours",
    "entry_deadline_workdays",
    "session_idle_minutes",
)


def update_service_unit(unit: ServiceUnit, *, by, **changes) -> ServiceUnit:
    """Change a unit's own settings; a change of working hours moves its open clocks."""
    unknown = set(changes) - set(UNIT_SETTINGS)
    if unknown:
        raise ValueError(f"not a unit setting: {', '.join(sorted(unknown))}")
    if not can(by, CHANGE, unit):
        raise ValidationError(_("You may not change this service unit."), code="forbidden")
    with transaction.atomic(), audit.acting(by):
        hours_before = unit.working_hours
        for name, value in changes.items():
            setattr(unit, name, value)
        unit.full_clean()
        unit.save()
        if unit.working_hours != hours_before:
            working_hours_changed.send(sender=ServiceUnit, service_unit=unit, by=by)
    return unit


def create_user(*, username: str, password: str | None, role: str, by=None, **fields) -> User:
    """Create a user of a role, tied to the tenant the role needs."""
    with transaction.atomic(), audit.acting(by):
        user = User(username=username, role=role, **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.full_clean()
        user.save()
    return user


def end_all_sessions(user: User, *, by) -> bool:
    """End every session of ``user`` (on every device) and delete their API token.

    The session generation is raised (every session's hash changes, so each is refused at
    its next request, the caller's own included) in one audited update; the token's deletion
    is recorded in a ``logout`` entry. Returns whether a token was deleted.
    """
    if by.pk != user.pk and not by.is_superuser:
        raise ValidationError(_("You may end only your own sessions."), code="forbidden")
    with transaction.atomic(), audit.acting(by):
        User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
        deleted, _counts = Token.objects.filter(user=user).delete()
        unit_id, body_id = user.audit_tenants()
        audit.write_entry(
            AuditAction.LOGOUT,
            object_repr=user.username,
            user=by,
            unit_id=unit_id,
            body_id=body_id,
            changes={"sessions": "all ended", "api_token": "deleted" if deleted else "none"},
        )
    user.refresh_from_db(fields=["session_epoch"])
    return bool(deleted)
