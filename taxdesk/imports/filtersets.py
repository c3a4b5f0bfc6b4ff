import django_filters
from django.utils.translation import gettext_lazy as _

from .choices import JobKind, JobState
from .models import ImportJob


class ImportJobFilterSet(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=JobKind.choices, label=_("Kind"))
    state = django_filters.ChoiceFilter(choices=JobState.choices, label=_("State"))

    class Meta:
        model = ImportJob
        fields = ["kind", "state"]
