"""Page forms of the taxpayer register. They check shape; the actions check the rules.

Labels come from the models' verbose names, so the pages speak the models' language.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import fields_for_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from taxdesk.core.forms import add_action_errors
from taxdesk.core.models import ServiceUnit, TaxOffice

from .actions import clean_contact
from .choices import STATUS_MOVES, InvoiceType, TaxpayerStatus, TaxpayerType
from .models import Contact, Taxpayer

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class TaxpayerForm(forms.Form):
    """Register a taxpayer, or edit one (``instance``)."""

    FIELDS = (
        "number",
        "name",
        "address",
        "district",
        "tax_office",
        "taxpayer_type",
        "approved_on",
        "office_hours",
    )

    def __init__(
        self, *args, service_unit=None, instance: Taxpayer | None = None, user=None, **kwargs
    ):
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                **{name: getattr(instance, name) for name in self.FIELDS},
                "invoice_types": instance.invoice_types,
            }
        super().__init__(*args, **kwargs)
        self.instance = instance
        model_fields = fields_for_model(Taxpayer, fields=self.FIELDS)
        if user is not None and user.is_superuser and instance is None:
            self.fields["service_unit"] = forms.ModelChoiceField(
                label=ServiceUnit._meta.verbose_name,
                queryset=ServiceUnit.objects.filter(is_active=True).order_by("name"),
            )
        for name in self.FIELDS:
            self.fields[name] = model_fields[name]
        # Number as typed: the action validates it and says what is wrong.
        self.fields["number"] = forms.CharField(
            label=Taxpayer._meta.get_field("number").verbose_name,
            max_length=40,
            widget=forms.TextInput(attrs={"autocomplete": "off"}),
            help_text=_(
                "18-character unified social credit code (older numbers: 15, 17 or 20 characters)."
            ),
        )
        self.fields["approved_on"].widget = DATE
        self.fields["invoice_types"] = forms.MultipleChoiceField(
            label=Taxpayer._meta.get_field("invoice_types").verbose_name,
            choices=InvoiceType.choices,
            required=False,
            widget=forms.SelectMultiple(attrs={"size": len(InvoiceType.choices)}),
        )
        unit = instance.service_unit if instance is not None else service_unit
        offices = unit.tax_offices.all() if unit is not None else TaxOffice.objects.all()
        self.fields["tax_office"].queryset = offices.order_by("city", "name")
        if instance is not None:
            # Once set, type and tax office change only through their dated forms.
            for name in ("tax_office", "taxpayer_type"):
                if getattr(instance, name) not in (None, ""):
                    del self.fields[name]

    def action_fields(self) -> dict:
        return {name: value for name, value in self.cleaned_data.items() if name != "service_unit"}


class ContactForm(forms.Form):
    """A contact: a name and at least a mobile or a landline."""

    def __init__(self, *args, instance: Contact | None = None, **kwargs):
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                name: getattr(instance, name) for name in ("name", "role", "mobile", "landline")
            }
        super().__init__(*args, **kwargs)
        self.instance = instance
        model_fields = fields_for_model(Contact, fields=("name", "role", "mobile", "landline"))
        self.fields.update(model_fields)
        # As typed ("+86 138-1234-5678"); normalised to 11 digits when saved.
        self.fields["mobile"] = forms.CharField(
            label=Contact._meta.get_field("mobile").verbose_name,
            max_length=30,
            required=False,
            widget=forms.TextInput(attrs={"inputmode": "tel"}),
        )
        self.fields["landline"].widget.attrs.update(inputmode="tel")
        self.fields["role"].required = False  # a tax clerk (办税员) unless said otherwise
        self.fields["landline"].help_text = _("With the area code, e.g. 0571-87654321.")

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            cleaned.update(clean_contact(**self.contact_fields(cleaned)))
        except ValidationError as exc:
            add_action_errors(self, exc)
        return cleaned

    @staticmethod
    def contact_fields(cleaned) -> dict:
        return {name: cleaned.get(name) or "" for name in ("name", "role", "mobile", "landline")}


class FirstContactForm(ContactForm):
    """The optional first contact on the registration page (prefix "contact")."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "contact")
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False
        self.fields["name"].label = _("Contact's name")

    def is_empty(self) -> bool:
        data = self.data
        return not any(
            (data.get(self.add_prefix(name)) or "").strip()
            for name in ("name", "mobile", "landline")
        )

    def clean(self):
        if self.is_empty():
            return {}
        return super().clean()


class _DatedChangeForm(forms.Form):
    effective_on = forms.DateField(label=_("Effective on"), widget=DATE)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, taxpayer: Taxpayer, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("effective_on", timezone.localdate())
        super().__init__(*args, **kwargs)
        self.taxpayer = taxpayer
        # The new value first.
        self.order_fields(["to", "effective_on", "note"])

    def has_choices(self) -> bool:
        field = self.fields["to"]
        if isinstance(field, forms.ModelChoiceField):
            return field.queryset.exists()
        return bool(field.choices)


class StatusChangeForm(_DatedChangeForm):
    to = forms.ChoiceField(label=_("New status"))

    def __init__(self, *args, taxpayer: Taxpayer, **kwargs):
        super().__init__(*args, taxpayer=taxpayer, **kwargs)
        allowed = STATUS_MOVES.get(taxpayer.status, frozenset())
        self.fields["to"].choices = [c for c in TaxpayerStatus.choices if c[0] in allowed]


class TypeChangeForm(_DatedChangeForm):
    to = forms.ChoiceField(label=_("New taxpayer type"))

    def __init__(self, *args, taxpayer: Taxpayer, **kwargs):
        super().__init__(*args, taxpayer=taxpayer, **kwargs)
        self.fields["to"].choices = [
            c for c in TaxpayerType.choices if c[0] != taxpayer.taxpayer_type
        ]


class TaxOfficeChangeForm(_DatedChangeForm):
    to = forms.ModelChoiceField(label=_("New tax office"), queryset=TaxOffice.objects.none())

    def __init__(self, *args, taxpayer: Taxpayer, **kwargs):
        super().__init__(*args, taxpayer=taxpayer, **kwargs)
        self.fields["to"].queryset = taxpayer.service_unit.tax_offices.exclude(
            pk=taxpayer.tax_office_id
        ).order_by("city", "name")
