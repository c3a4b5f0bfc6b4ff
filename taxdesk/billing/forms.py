"""Page forms: they check the shape of what was typed; the actions check the rules."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from taxdesk.core.models import ServiceUnit
from taxdesk.core.scoping import CHANGE
from taxdesk.customers.models import Taxpayer
from taxdesk.devices.choices import DeviceType

from .choices import FeeKind
from .models import FeeItem, FeeSchedule

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MONEY = {"max_digits": 12, "decimal_places": 2, "min_value": 0}


def _today():
    return timezone.localdate()


class TaxpayerNumberField(forms.CharField):
    """A taxpayer the user may see, by identification number."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label", _("Taxpayer identification number"))
        kwargs.setdefault("max_length", 20)
        super().__init__(*args, **kwargs)
        self.user = None

    def clean(self, value):
        number = "".join((super().clean(value) or "").split()).upper()
        if not number:
            return None
        found = list(
            Taxpayer.objects.restrict(self.user)
            .filter(number=number)
            .select_related("service_unit")[:2]
        )
        if not found:
            raise forms.ValidationError(
                _("No taxpayer of yours has the number %(number)s.") % {"number": number},
                code="taxpayer_unknown",
            )
        if len(found) > 1:
            raise forms.ValidationError(
                _("Several taxpayers have the number %(number)s; open the taxpayer's page.")
                % {"number": number},
                code="taxpayer_ambiguous",
            )
        return found[0]


class UserFormMixin:
    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        for field in self.fields.values():
            if isinstance(field, TaxpayerNumberField):
                field.user = user


# ------------------------------------------------------------------------- fee schedules
def units_for(user):
    """The units a user may enter fee schedules for (their own, or any for the platform)."""
    return ServiceUnit.objects.restrict(user, CHANGE).order_by("name")


class FeeScheduleForm(UserFormMixin, forms.Form):
    service_unit = forms.ModelChoiceField(
        queryset=ServiceUnit.objects.none(), label=_("Service unit")
    )
    name = forms.CharField(label=_("Name"), max_length=100)
    valid_from = forms.DateField(label=_("Valid from"), widget=DATE)
    valid_to = forms.DateField(
        label=_("Valid to"),
        widget=DATE,
        required=False,
        help_text=_("Empty: until a later schedule replaces it."),
    )
    supervision_approval = forms.CharField(
        label=_("Supervision body's approval no."), max_length=100
    )
    tax_approval = forms.CharField(label=_("Tax authority's approval no."), max_length=100)
    approved_on = forms.DateField(label=_("Approved on"), widget=DATE)

    def __init__(self, *args, fixed_unit=None, **kwargs):
        super().__init__(*args, **kwargs)
        if fixed_unit is not None:
            del self.fields["service_unit"]
        else:
            self.fields["service_unit"].queryset = units_for(self.user)


class FeeItemForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=FeeKind.choices)
    device_type = forms.ChoiceField(
        label=_("Device type"), choices=[("", "—"), *DeviceType.choices], required=False
    )
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        required=False,
        help_text=_("Needed for repair items; others default to their kind."),
    )
    amount = forms.DecimalField(label=_("Amount (yuan)"), required=False, **MONEY)


class BaseFeeItemFormSet(forms.BaseFormSet):
    def items(self) -> list[dict]:
        """The rows that carry an amount; a row left without one is not an item."""
        rows = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if data.get("amount") is None:
                continue
            rows.append(
                {
                    "kind": data["kind"],
                    "device_type": data.get("device_type") or "",
                    "name": data.get("name") or "",
                    "amount": data["amount"],
                }
            )
        return rows


FeeItemFormSet = forms.formset_factory(
    FeeItemForm, formset=BaseFeeItemFormSet, extra=0, max_num=60, absolute_max=60
)


def blank_item_rows(extra_repairs: int = 3) -> list[dict]:
    """The rows a new schedule starts with: every device type, the annual fee, on-site, and
    a few repair rows."""
    rows = [{"kind": FeeKind.DEVICE, "device_type": t} for t in DeviceType.values]
    rows += [{"kind": FeeKind.MAINTENANCE}, {"kind": FeeKind.ONSITE}]
    rows += [{"kind": FeeKind.REPAIR} for _ in range(extra_repairs)]
    return rows


def item_rows(schedule: FeeSchedule, extra_repairs: int = 2) -> list[dict]:
    rows = [
        {"kind": i.kind, "device_type": i.device_type, "name": i.name, "amount": i.amount}
        for i in schedule.items.all()
    ]
    return rows + [{"kind": FeeKind.REPAIR} for _ in range(extra_repairs)]


class CloseScheduleForm(forms.Form):
    valid_to = forms.DateField(label=_("Last day in force"), widget=DATE)


class ProrationForm(forms.Form):
    """Twelve months; an empty month charges the whole year."""

    def __init__(self, *args, rates=None, **kwargs):
        super().__init__(*args, **kwargs)
        rates = rates or {}
        for month in range(1, 13):
            self.fields[f"month_{month}"] = forms.DecimalField(
                label=_("Service starting in month %(month)s (%%)") % {"month": month},
                required=False,
                max_digits=5,
                decimal_places=2,
                min_value=0,
                max_value=100,
                initial=rates.get(month),
            )

    def rates(self) -> dict:
        return {
            month: self.cleaned_data[f"month_{month}"]
            for month in range(1, 13)
            if self.cleaned_data.get(f"month_{month}") is not None
        }


# ------------------------------------------------------------------------------ charges
class ChargeForm(UserFormMixin, forms.Form):
    taxpayer = TaxpayerNumberField()
    fee_kind = forms.ChoiceField(label=_("Fee"), choices=FeeKind.choices)
    service_date = forms.DateField(label=_("Service date"), widget=DATE, initial=_today)
    device = forms.CharField(
        label=_("Device serial number"),
        max_length=20,
        required=False,
        help_text=_("For a device price, or the device served."),
    )
    repair_item = forms.ChoiceField(label=_("Repair item"), required=False, choices=())
    description = forms.CharField(
        label=_("Description"),
        max_length=200,
        required=False,
        help_text=_("Empty: the fee item's name. The amount comes from the fee schedule."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        names = (
            FeeItem.objects.restrict(self.user)
            .filter(kind=FeeKind.REPAIR)
            .order_by("name")
            .values_list("name", flat=True)
            .distinct()
        )
        self.fields["repair_item"].choices = [("", "—"), *((n, n) for n in names)]

    def clean(self):
        data = super().clean()
        taxpayer = data.get("taxpayer")
        serial = "".join((data.get("device") or "").split()).upper()
        data["device"] = None
        if serial and taxpayer is not None:
            device = taxpayer.devices.filter(serial=serial).first()
            if device is None:
                self.add_error(
                    "device",
                    _("%(taxpayer)s holds no device %(serial)s.")
                    % {"taxpayer": taxpayer.name, "serial": serial},
                )
            data["device"] = device
        name = data.get("repair_item")
        data["item"] = None
        if name and taxpayer is not None:
            data["item"] = (
                FeeItem.objects.filter(
                    schedule__service_unit=taxpayer.service_unit_id,
                    kind=FeeKind.REPAIR,
                    name=name,
                )
                .order_by("-schedule__valid_from")
                .first()
            )
        return data


class PaymentForm(forms.Form):
    paid_on = forms.DateField(label=_("Paid on"), widget=DATE, initial=_today)


class InvoiceForm(forms.Form):
    invoice_code = forms.CharField(
        label=_("Invoice code"),
        max_length=20,
        required=False,
        help_text=_("10 or 12 digits; empty for a fully digital invoice (数电票)."),
    )
    invoice_number = forms.CharField(
        label=_("Invoice number"),
        max_length=30,
        help_text=_("8 digits with a code, or the 20-digit number of a 数电票."),
    )
    invoice_date = forms.DateField(label=_("Invoice date"), widget=DATE, initial=_today)


class CorrectionForm(forms.Form):
    new_amount = forms.DecimalField(label=_("Correct amount (yuan)"), **MONEY)
    reason = forms.CharField(label=_("Reason"), max_length=180)


class RefundForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount to refund (yuan)"), **MONEY)
    reason = forms.CharField(label=_("Reason"), max_length=180)
    on = forms.DateField(label=_("Refunded on"), widget=DATE, initial=_today)


# ----------------------------------------------------------------------------- contracts
class ContractForm(UserFormMixin, forms.Form):
    taxpayer = TaxpayerNumberField()
    starts_on = forms.DateField(label=_("Starts on"), widget=DATE, initial=_today)
    ends_on = forms.DateField(
        label=_("Ends on"), widget=DATE, required=False, help_text=_("Empty: one year.")
    )
    annual_fee = forms.DecimalField(
        label=_("Annual fee (yuan)"),
        required=False,
        help_text=_("Empty: the approved maintenance fee in force on the first day."),
        **MONEY,
    )


class SignForm(forms.Form):
    signed_on = forms.DateField(label=_("Signed on"), widget=DATE, initial=_today)


class RefusalForm(forms.Form):
    refused_on = forms.DateField(label=_("Refused on"), widget=DATE, initial=_today)
    note = forms.CharField(
        label=_("What the user said"),
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class RenewForm(forms.Form):
    years = forms.TypedChoiceField(
        label=_("Years"), coerce=int, choices=[(n, n) for n in range(1, 6)], initial=1
    )
