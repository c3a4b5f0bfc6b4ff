"""Logins, failed logins and logouts go into the audit trail."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from . import audit
from .choices import AuditAction


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
    audit.write_entry(
        AuditAction.LOGOUT, object_repr=user.username, user=user, unit_id=unit_id, body_id=body_id
    )


@receiver(user_login_failed, dispatch_uid="audit-login-failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    audit.write_entry(AuditAction.LOGIN_FAILED, object_repr=str(credentials.get("username", "")))
