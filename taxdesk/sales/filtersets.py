"""Filters shared by the sales page and the API."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from taxdesk.core.filters import IdChoiceFilter, IdFilter
from taxdesk.devices.filtersets import units_in_reach

from .models import Sale

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class SaleFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label=_("Search"),
        help_text=_("Sale number, or the taxpayer's number or part of its name"),
    )
    service_unit = IdChoiceFilter(queryset=units_in_reach, label=_("Service unit"))
    # By id, as on the devices: set by the taxpayer's page and by API clients.
    taxpayer = IdFilter(field_name="taxpayer_id", label=_("Taxpayer id"))
    sold_from = django_filters.DateFilter(
        field_name="sold_on", lookup_expr="date__gte", label=_("Sold from"), widget=DATE
    )
    sold_to = django_filters.DateFilter(
        field_name="sold_on", lookup_expr="date__lte", label=_("Sold until"), widget=DATE
    )

    class Meta:
        model = Sale
        fields = ["q", "service_unit", "taxpayer", "sold_from", "sold_to"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(number__icontains=value)
            | Q(taxpayer__number__startswith=value.upper())
            | Q(taxpayer__name__icontains=value)
        )
