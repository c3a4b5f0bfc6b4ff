from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import PauseReason


class PauseForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=PauseReason.choices)
    evidence = forms.CharField(
        label=_("Evidence"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text=_("What shows the reason: calls tried, the message sent, the faulty part."),
    )

    def __init__(self, *args, deadline=None, **kwargs):
        super().__init__(*args, **kwargs)
        if deadline is not None:
            allowed = set(deadline.rule_info.pause_reasons)
            self.fields["reason"].choices = [c for c in PauseReason.choices if c[0] in allowed]
