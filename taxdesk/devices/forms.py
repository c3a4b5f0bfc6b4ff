from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from taxdesk.core.models import ServiceUnit

from .actions import MAX_SERIALS_PER_BATCH
from .choices import DeviceStatus, DeviceType
from .models import StockBatch, WarrantyPolicy
from .serials import normalise_serial, split_serials


class DateInput(forms.DateInput):
    input_type = "date"


class MoveForm(forms.Form):
    """Move a device: only the states its current one allows are offered."""

    to_status = forms.ChoiceField(label=_("New state"))
    on = forms.DateField(label=_("Date"), widget=DateInput)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
    # The state the form was built on: a device moved meanwhile is not moved again by mistake.
    from_status = forms.ChoiceField(choices=DeviceStatus.choices, widget=forms.HiddenInput)

    def __init__(self, *args, device, **kwargs):
        kwargs.setdefault("initial", {"on": timezone.localdate(), "from_status": device.status})
        super().__init__(*args, **kwargs)
        self.fields["to_status"].choices = [(s, DeviceStatus(s).label) for s in device.manual_moves]

    def __iter__(self):
        # includes/form.html draws a label per field: the hidden one is drawn on its own
        # (``hidden_fields`` and ``visible_fields`` read the fields, not this).
        return (self[name] for name in self.fields if not self[name].is_hidden)

    def hidden_fields(self):
        return [self[name] for name in self.fields if self[name].is_hidden]

    def visible_fields(self):
        return list(self)


class PairForm(forms.Form):
    serial = forms.CharField(
        label=_("Serial number of the device to pair with"), max_length=40, strip=True
    )

    def clean_serial(self) -> str:
        return normalise_serial(self.cleaned_data["serial"])


class ReceiveForm(forms.Form):
    """Devices received on one delivery note: one serial number per line."""

    service_unit = forms.ModelChoiceField(
        label=_("Service unit"), queryset=ServiceUnit.objects.none(), required=False
    )
    device_type = forms.ChoiceField(label=_("Device type"), choices=DeviceType.choices)
    delivery_note = forms.CharField(
        label=_("Delivery note no. (出库单号)"),
        max_length=StockBatch._meta.get_field("delivery_note").max_length,
    )
    supplier = forms.CharField(
        label=_("Supplier"),
        max_length=StockBatch._meta.get_field("supplier").max_length,
        required=False,
    )
    received_on = forms.DateField(label=_("Received on"), widget=DateInput)
    serials = forms.CharField(
        label=_("Serial numbers"),
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false", "class": "font-monospace"}),
        help_text=_(
            "One per line (or several separated by commas), as on the delivery note "
            "(at most %(max)s)."
        )
        % {"max": MAX_SERIALS_PER_BATCH},
    )

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("initial", {"received_on": timezone.localdate()})
        super().__init__(*args, **kwargs)
        if user.is_superuser:
            self.fields["service_unit"].queryset = ServiceUnit.objects.order_by("name")
            self.fields["service_unit"].required = True
        else:
            del self.fields["service_unit"]

    def serial_lines(self) -> list[str]:
        """The serials typed or pasted, normalised; a blank line keeps its place, so the
        action's "Line N" is the box's line N when there is one serial per line."""
        return split_serials(self.cleaned_data["serials"])


class WarrantyPolicyForm(forms.Form):
    """Years of free repair of quality defects, per device type, for one unit."""

    def __init__(self, *args, years_by_type: dict[str, int], **kwargs):
        super().__init__(*args, **kwargs)
        field = WarrantyPolicy._meta.get_field("years")
        for value, label in DeviceType.choices:
            self.fields[value] = forms.IntegerField(
                label=label,
                min_value=1,
                max_value=10,
                initial=years_by_type.get(value, field.default),
            )
