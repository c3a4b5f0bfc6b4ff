"""One filterset per list, shared by the pages and the API."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from taxdesk.core.choices import UNIT_ROLES, Role
from taxdesk.core.filters import IdChoiceFilter, IdFilter
from taxdesk.core.models import ServiceUnit, TaxOffice
from taxdesk.core.privacy import needs_personal_data

from .choices import ContactRole, TaxpayerStatus, TaxpayerType
from .models import Contact, Taxpayer
from .queries import search

ONE_UNIT_ROLES = UNIT_ROLES | {Role.TAXPAYER}


def _offices(request):
    if request is None:
        return TaxOffice.objects.none()
    return TaxOffice.objects.restrict(request.user).order_by("city", "name")


def _units(request):
    if request is None:
        return ServiceUnit.objects.none()
    return ServiceUnit.objects.restrict(request.user).order_by("name")


class TaxpayerFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_q",
        label=_("Search"),
        help_text=_(
            "Number, part of the name, a contact's phone (or its last 4+ digits), "
            "or a device serial."
        ),
    )
    service_unit = IdChoiceFilter(queryset=_units, label=_("Service unit"))
    district = django_filters.CharFilter(label=_("District"))
    tax_office = IdChoiceFilter(queryset=_offices, label=_("Tax office"))
    status = django_filters.ChoiceFilter(choices=TaxpayerStatus.choices, label=_("Status"))
    taxpayer_type = django_filters.ChoiceFilter(
        choices=TaxpayerType.choices, label=_("Taxpayer type")
    )
    entered = django_filters.BooleanFilter(
        method="filter_entered",
        label=_("Record complete"),
        widget=forms.Select(choices=[("", "---------"), ("true", _("Yes")), ("false", _("No"))]),
    )

    class Meta:
        model = Taxpayer
        fields = [
            "q",
            "service_unit",
            "district",
            "tax_office",
            "status",
            "taxpayer_type",
            "entered",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = getattr(self.request, "user", None)
        if user is not None and not user.is_superuser and user.role in ONE_UNIT_ROLES:
            # Their rows are of one unit: nothing to choose.
            del self.filters["service_unit"]

    def filter_q(self, queryset, name, value):
        user = getattr(self.request, "user", None)
        return search(queryset, value, full_phones=needs_personal_data(user))

    def filter_entered(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(entered_at__isnull=not value)


class ContactFilterSet(django_filters.FilterSet):
    # An id, not a choice list: a unit has hundreds of thousands of taxpayers. The contacts
    # are already scoped, so an id outside the caller's reach finds nothing.
    taxpayer = IdFilter(field_name="taxpayer_id", label=_("Taxpayer"))
    role = django_filters.ChoiceFilter(choices=ContactRole.choices, label=_("Role"))
    mobile = django_filters.CharFilter(label=_("Mobile"))

    class Meta:
        model = Contact
        fields = ["taxpayer", "role", "mobile"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not needs_personal_data(getattr(self.request, "user", None)):
            # Numbers are masked for this caller: no asking which ones exist either.
            del self.filters["mobile"]
