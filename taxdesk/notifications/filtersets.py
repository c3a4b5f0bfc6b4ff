"""Filters of the message log, shared by the page and the API."""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from taxdesk.core.filters import IdChoiceFilter, IdFilter
from taxdesk.core.models import ServiceUnit

from . import catalogue
from .choices import Channel, MessageStatus
from .models import Message, MessageTemplate

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def units_in_reach(request):
    """The service units the user sees (a short list), for the unit filter."""
    if request is None:
        return ServiceUnit.objects.none()
    return ServiceUnit.objects.restrict(request.user).order_by("name")


def kind_choices():
    return [(kind.key, kind.name) for kind in catalogue.kinds()]


class MessageFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label=_("Recipient"),
        help_text=_("Phone number or address, the recipient's name, or the taxpayer's name"),
    )
    channel = django_filters.ChoiceFilter(choices=Channel.choices, label=_("Channel"))
    status = django_filters.ChoiceFilter(choices=MessageStatus.choices, label=_("Status"))
    template_key = django_filters.ChoiceFilter(choices=kind_choices, label=_("Kind"))
    service_unit = IdChoiceFilter(queryset=units_in_reach, label=_("Service unit"))
    sent_from = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", label=_("From"), widget=DATE
    )
    sent_to = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", label=_("Until"), widget=DATE
    )
    # For API clients and the pages of the records messages are about.
    taxpayer = IdFilter(field_name="taxpayer_id", label=_("Taxpayer id"), widget=forms.HiddenInput)
    related_type = django_filters.CharFilter(
        method="filter_related_type",
        label=_("About (app_label.model)"),
        widget=forms.HiddenInput,
    )
    related_id = IdFilter(field_name="related_id", label=_("About (id)"), widget=forms.HiddenInput)

    class Meta:
        model = Message
        fields = [
            "q",
            "channel",
            "status",
            "template_key",
            "service_unit",
            "sent_from",
            "sent_to",
            "taxpayer",
            "related_type",
            "related_id",
        ]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        condition = Q(recipient_name__icontains=value) | Q(taxpayer__name__icontains=value)
        if value.isdigit():
            condition |= Q(to__contains=value)
        else:
            condition |= Q(to__icontains=value)
        return queryset.filter(condition)

    def filter_related_type(self, queryset, name, value):
        app_label, _dot, model = value.strip().lower().partition(".")
        try:
            content_type = ContentType.objects.get_by_natural_key(app_label, model)
        except ContentType.DoesNotExist:
            return queryset.none()
        return queryset.filter(related_type=content_type)


class MessageTemplateFilterSet(django_filters.FilterSet):
    service_unit = IdChoiceFilter(queryset=units_in_reach, label=_("Service unit"))
    key = django_filters.ChoiceFilter(choices=kind_choices, label=_("Kind"))

    class Meta:
        model = MessageTemplate
        fields = ["service_unit", "key"]
