from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .auth import Lockout, lockout_of
from .models import ServiceUnit


def add_action_errors(form: forms.Form, exc: ValidationError) -> None:
    """An action's refusal on the form: next to the field it names, else above the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def lockout_error(lockout: Lockout) -> ValidationError:
    """The plain words for a refused sign-in: what is locked and for how many minutes."""
    if lockout.kind == "address":
        message = _(
            "Too many failed logins from this address: signing in from it is locked for "
            "%(minutes)s min."
        )
        code = "throttled_address"
    else:
        message = _("Too many failed logins for this user name: it is locked for %(minutes)s min.")
        code = "throttled"
    return ValidationError(message, code=code, params={"minutes": lockout.minutes})


class LockoutMessageMixin:
    """A sign-in form that says plainly when the attempt was refused by the limits."""

    def get_invalid_login_error(self):
        lockout = lockout_of(self.request)
        if lockout is None:
            return super().get_invalid_login_error()
        return lockout_error(lockout)


class LoginForm(LockoutMessageMixin, AuthenticationForm):
    """The sign-in page's form."""


class AdminLoginForm(LockoutMessageMixin, AdminAuthenticationForm):
    """The admin's sign-in form (the same limits, the same words)."""


class ServiceUnitSettingsForm(forms.ModelForm):
    class Meta:
        model = ServiceUnit
        fields = [
            "address",
            "hotline",
            "working_hours",
            "entry_deadline_workdays",
            "session_idle_minutes",
        ]
