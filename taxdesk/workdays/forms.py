from django import forms
from django.utils.translation import gettext_lazy as _


class YearForm(forms.Form):
    holidays = forms.CharField(
        label=_("Holidays"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Days off, one per line or comma-separated; a range as 2027-02-05..2027-02-11."
        ),
    )
    workdays = forms.CharField(
        label=_("Make-up working days"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Weekend days that are working days (make-up days)."),
    )
    notice = forms.CharField(label=_("Notice"), required=False, max_length=200)


class DayOverrideForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    is_workday = forms.TypedChoiceField(
        label=_("The day is"),
        choices=[("1", _("a working day")), ("0", _("a rest day"))],
        coerce=lambda v: v == "1",
    )
    reason = forms.CharField(label=_("Reason"), max_length=200)
