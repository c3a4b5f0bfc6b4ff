from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import SUBJECT_MAX_LENGTH


class TemplateForm(forms.Form):
    """The text of one kind of message (shape only; ``actions.update_template`` checks it)."""

    subject = forms.CharField(
        label=_("E-mail subject"),
        required=False,
        max_length=SUBJECT_MAX_LENGTH,
        help_text=_("Left empty, the default subject is used."),
    )
    body = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Variables are written {{ name }}; the ones this message may use are listed."),
    )
