from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from taxdesk.devices.serials import split_serials


class SaleForm(forms.Form):
    serials = forms.CharField(
        label=_("Devices"),
        widget=forms.Textarea(attrs={"rows": 4, "autofocus": True}),
        help_text=_(
            "One serial number per line, or several separated by commas (a scanner works)."
        ),
    )
    sold_at = forms.DateTimeField(
        label=_("Sold at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        initial=lambda: timezone.localtime().replace(second=0, microsecond=0),
    )
    remarks = forms.CharField(label=_("Remarks on the application"), required=False, max_length=200)

    def serial_list(self) -> list[str]:
        """One serial per line or several separated by commas; spaces inside a serial belong
        to it ("1234 5678 9012" is one serial)."""
        return split_serials(self.cleaned_data["serials"])
