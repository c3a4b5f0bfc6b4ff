"""Filters shared by the pages and the API."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import AuditAction
from .filters import IdChoiceFilter
from .models import AuditEntry, ServiceUnit, SupervisionBody


# The choices of an id filter are the rows the caller sees: another tenant's id is "not a
# valid choice" exactly as an id that does not exist (never an empty list that says it does).
def units_in_reach(request):
    if request is None:
        return ServiceUnit.objects.none()
    return ServiceUnit.objects.restrict(request.user).order_by("name")


def bodies_in_reach(request):
    if request is None:
        return SupervisionBody.objects.none()
    return SupervisionBody.objects.restrict(request.user).order_by("name")


class ServiceUnitFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    city = django_filters.CharFilter(lookup_expr="icontains", label=_("City"))
    supervision_body = IdChoiceFilter(queryset=bodies_in_reach, label=_("Supervision body"))

    class Meta:
        model = ServiceUnit
        fields = ["q", "city", "supervision_body", "is_active"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(code__icontains=value))


class AuditEntryFilterSet(django_filters.FilterSet):
    user = django_filters.CharFilter(
        field_name="actor_repr", lookup_expr="icontains", label=_("User")
    )
    action = django_filters.ChoiceFilter(choices=AuditAction.choices, label=_("Action"))
    record = django_filters.CharFilter(
        field_name="object_repr", lookup_expr="icontains", label=_("Record")
    )
    request_id = django_filters.CharFilter(label=_("Request id"))
    since = django_filters.DateFilter(field_name="at", lookup_expr="date__gte", label=_("From"))
    until = django_filters.DateFilter(field_name="at", lookup_expr="date__lte", label=_("To"))

    class Meta:
        model = AuditEntry
        fields = ["user", "action", "record", "request_id", "since", "until"]
