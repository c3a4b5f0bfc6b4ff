"""Filters of fee schedules, charges and contracts, shared by the pages and the API."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from taxdesk.core.filters import IdChoiceFilter, IntegerFilter
from taxdesk.core.models import ServiceUnit

from .choices import ChargeKind, ContractState, FeeKind, PaymentState
from .models import Charge, FeeSchedule, ServiceContract
from .queries import contracts_ending

DATE = forms.DateInput(attrs={"type": "date"})


def _units(request):
    if request is None or not request.user.is_authenticated:
        return ServiceUnit.objects.none()
    return ServiceUnit.objects.restrict(request.user).order_by("name")


class TaxpayerNumberFilter(django_filters.CharFilter):
    """A taxpayer by their identification number (what the staff have at hand)."""

    def filter(self, qs, value):
        value = "".join((value or "").split()).upper()
        if not value:
            return qs
        return qs.filter(taxpayer__number=value)


class FeeScheduleFilterSet(django_filters.FilterSet):
    service_unit = IdChoiceFilter(queryset=_units, label=_("Service unit"))
    in_force_on = django_filters.DateFilter(
        method="filter_in_force", label=_("In force on"), widget=DATE
    )
    open = django_filters.BooleanFilter(
        field_name="valid_to", lookup_expr="isnull", label=_("Open-ended")
    )

    class Meta:
        model = FeeSchedule
        fields = ["service_unit", "in_force_on", "open"]

    def filter_in_force(self, queryset, name, value):
        return queryset.filter(valid_from__lte=value).filter(
            Q(valid_to__isnull=True) | Q(valid_to__gte=value)
        )


class ChargeFilterSet(django_filters.FilterSet):
    taxpayer = TaxpayerNumberFilter(label=_("Taxpayer number"))
    fee_kind = django_filters.ChoiceFilter(choices=FeeKind.choices, label=_("Fee"))
    payment_state = django_filters.ChoiceFilter(choices=PaymentState.choices, label=_("Payment"))
    kind = django_filters.ChoiceFilter(choices=ChargeKind.choices, label=_("Entry"))
    service_from = django_filters.DateFilter(
        field_name="service_date", lookup_expr="gte", label=_("Service from"), widget=DATE
    )
    service_to = django_filters.DateFilter(
        field_name="service_date", lookup_expr="lte", label=_("Service to"), widget=DATE
    )
    has_invoice = django_filters.BooleanFilter(method="filter_invoice", label=_("Invoiced"))

    class Meta:
        model = Charge
        fields = [
            "taxpayer",
            "fee_kind",
            "payment_state",
            "kind",
            "service_from",
            "service_to",
            "has_invoice",
        ]

    def filter_invoice(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.exclude(invoice_number="") if value else queryset.filter(invoice_number="")


class ContractFilterSet(django_filters.FilterSet):
    taxpayer = TaxpayerNumberFilter(label=_("Taxpayer number"))
    state = django_filters.ChoiceFilter(choices=ContractState.choices, label=_("State"))
    ending_within = IntegerFilter(
        method="filter_ending",
        label=_("Ending within (days)"),
        min_value=0,
        max_value=3660,
    )

    class Meta:
        model = ServiceContract
        fields = ["taxpayer", "state", "ending_within"]

    def filter_ending(self, queryset, name, value):
        if value is None:
            return queryset
        return contracts_ending(queryset, value, timezone.localdate())
