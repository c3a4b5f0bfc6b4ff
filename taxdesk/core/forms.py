from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .auth import is_throttled
from .models import ServiceUnit


def add_action_errors(form: forms.Form, exc: ValidationError) -> None:
    """An action's refusal on the form: next to the field it names, else above the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


class LoginForm(AuthenticationForm):
    """Sign-in that says plainly when a name is locked after repeated failures."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": _(
            "Too many failed logins for this user name. Try again after %(minutes)s min."
        ),
    }

    def clean(self):
        from django.conf import settings

        username = self.cleaned_data.get("username")
        if is_throttled(username):
            raise forms.ValidationError(
                self.error_messages["throttled"],
                code="throttled",
                params={"minutes": settings.LOGIN_FAILURE_WINDOW_MINUTES},
            )
        return super().clean()


class ServiceUnitSettingsForm(forms.ModelForm):
    class Meta:
        model = ServiceUnit
        fields = ["address", "hotline", "working_hours", "entry_deadline_workdays"]
