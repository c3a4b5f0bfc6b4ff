import django_filters
from django.utils.translation import gettext_lazy as _

from taxdesk.core.filters import IdChoiceFilter, IsoDateTimeFilter
from taxdesk.core.filtersets import units_in_reach

from .choices import ClockStatus
from .models import Deadline
from .rules import RULE_CHOICES


class DeadlineFilterSet(django_filters.FilterSet):
    # Only the units the caller sees: another unit's id is not a valid choice, as a missing one.
    service_unit = IdChoiceFilter(queryset=units_in_reach, label=_("Service unit"))
    rule = django_filters.ChoiceFilter(choices=RULE_CHOICES, label=_("Rule"))
    status = django_filters.ChoiceFilter(choices=ClockStatus.choices, label=_("Status"))
    open = django_filters.BooleanFilter(method="filter_open", label=_("Open only"))
    provisional = django_filters.BooleanFilter(label=_("Provisional"))
    due_before = IsoDateTimeFilter(field_name="due_at", lookup_expr="lt", label=_("Due before"))

    class Meta:
        model = Deadline
        fields = ["service_unit", "rule", "status", "open", "provisional", "due_before"]

    def filter_open(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(stopped_at__isnull=value)
