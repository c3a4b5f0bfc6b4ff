"""Logins, failed logins and logouts go into the audit trail; the signals core sends for the
apps above it to react to."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed
from django.dispatch import Signal, receiver

from . import audit
from .auth import lockout_of
from .choices import AuditAction
from .models import ServiceUnit

# Sent inside the transaction that changed a unit's working hours (``service_unit``,
# ``by``): the clocks app recomputes the unit's open working-time clocks in it.
working_hours_changed = Signal()


@receiver(user_logged_in, dispatch_uid="audit-login")
def _logged_in(sender, request, user, **kwargs):
    unit_id, body_id = user.audit_tenants()
    audit.write_entry(
        AuditAction.LOGIN, object_repr=user.username, user=user, unit_id=unit_id, body_id=body_id
    )


@receiver(user_logged_out, dispatch_uid="audit-logout")
def _logged_out(sender, request, user, **kwargs):
    if user is None:
        return
    unit_id, body_id = user.audit_tenants()
    reason = getattr(request, "signout_reason", None)  # "idle": signed out by the middleware
    audit.write_entry(
        AuditAction.LOGOUT,
        object_repr=user.username,
        user=user,
        unit_id=unit_id,
        body_id=body_id,
        changes={"reason": reason} if reason else None,
    )


@receiver(user_login_failed, dispatch_uid="audit-login-failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    # An attempt refused by the sign-in limits says which lock refused it; its password was
    # not checked.
    lockout = lockout_of(request)
    audit.write_entry(
        AuditAction.LOGIN_FAILED,
        object_repr=str(credentials.get("username", "")),
        changes={"locked": lockout.kind} if lockout is not None else None,
    )


@receiver(m2m_changed, sender=ServiceUnit.tax_offices.through, dispatch_uid="audit-unit-offices")
def _unit_offices_changed(sender, instance, action, reverse, pk_set, **kwargs):
    """The tax offices a unit serves decide what tax officers see: every change is recorded."""
    if action not in ("post_add", "post_remove", "post_clear") or reverse:
        return
    verb = {"post_add": "added", "post_remove": "removed", "post_clear": "cleared"}[action]
    audit.write_entry(
        AuditAction.UPDATE,
        instance=instance,
        changes={"tax_offices": [verb, sorted(pk_set or [])]},
    )
