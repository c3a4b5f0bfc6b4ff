"""Filters shared by the device pages and the API."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from taxdesk.core.filters import IdChoiceFilter, IdFilter
from taxdesk.core.models import ServiceUnit

from .choices import DeviceStatus, DeviceType
from .models import Device, StockBatch
from .serials import normalise_serial


def units_in_reach(request):
    """The service units the user sees (a short list), for the unit filter."""
    if request is None:
        return ServiceUnit.objects.none()
    return ServiceUnit.objects.restrict(request.user).order_by("name")


class WarrantyState:
    UNDER = "under"
    OUT = "out"
    NONE = "none"
    CHOICES = (
        (UNDER, _("Under warranty today")),
        (OUT, _("Warranty ended")),
        (NONE, _("No warranty recorded")),
    )


class DeviceFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label=_("Search"),
        help_text=_("Serial number (or its beginning), or part of the taxpayer's name"),
    )
    device_type = django_filters.ChoiceFilter(choices=DeviceType.choices, label=_("Type"))
    status = django_filters.ChoiceFilter(choices=DeviceStatus.choices, label=_("Status"))
    warranty = django_filters.ChoiceFilter(
        choices=WarrantyState.CHOICES, method="filter_warranty", label=_("Warranty")
    )
    service_unit = IdChoiceFilter(queryset=units_in_reach, label=_("Service unit"))
    # By id: set by links (a taxpayer's page, a batch's page) and by API clients.
    taxpayer = IdFilter(field_name="taxpayer_id", label=_("Taxpayer id"))
    batch = IdFilter(field_name="batch_id", label=_("Stock batch id"))

    class Meta:
        model = Device
        fields = ["q", "device_type", "status", "warranty", "service_unit", "taxpayer", "batch"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        serial = normalise_serial(value)
        condition = Q(taxpayer__name__icontains=value) | Q(taxpayer__number=value.upper())
        if serial.isascii() and serial.isalnum():
            # Exact or by its beginning: the unique index on serial serves both.
            condition |= Q(serial__startswith=serial)
        return queryset.filter(condition)

    def filter_warranty(self, queryset, name, value):
        today = timezone.localdate()
        if value == WarrantyState.UNDER:
            return queryset.filter(warranty_until__gte=today)
        if value == WarrantyState.OUT:
            return queryset.filter(warranty_until__lt=today)
        if value == WarrantyState.NONE:
            return queryset.filter(warranty_until__isnull=True)
        return queryset


class StockBatchFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search", label=_("Search"), help_text=_("Delivery note number or supplier")
    )
    device_type = django_filters.ChoiceFilter(choices=DeviceType.choices, label=_("Type"))
    service_unit = IdChoiceFilter(queryset=units_in_reach, label=_("Service unit"))
    received_from = django_filters.DateFilter(
        field_name="received_on",
        lookup_expr="gte",
        label=_("Received from"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    received_to = django_filters.DateFilter(
        field_name="received_on",
        lookup_expr="lte",
        label=_("Received to"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = StockBatch
        fields = ["q", "device_type", "service_unit", "received_from", "received_to"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(delivery_note__icontains=value) | Q(supplier__icontains=value))
