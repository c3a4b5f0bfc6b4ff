"""Pages of the core: the home page per role, service units, the audit trail."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from taxdesk.clocks.models import Deadline
from taxdesk.clocks.queries import breached_or_at_risk, unit_clock_counts

from .actions import update_service_unit
from .choices import UNIT_ROLES, Role
from .filtersets import AuditEntryFilterSet, ServiceUnitFilterSet
from .forms import ServiceUnitSettingsForm
from .generic import ObjectDetailView, ObjectListView, ScopedMixin, object_for
from .models import AuditEntry, ServiceUnit
from .scoping import CHANGE


def _unit_rows(user, clocks) -> list[dict]:
    """The units a user oversees with their clock counts (two queries, whatever the size)."""
    counts = {c["service_unit_id"]: c for c in unit_clock_counts(clocks)}
    empty = {"open": 0, "overdue": 0, "breached": 0}
    return [
        {"unit": unit, **{k: counts.get(unit.id, empty)[k] for k in empty}}
        for unit in ServiceUnit.objects.restrict(user).order_by("name")[:200]
    ]


class HomeView(LoginRequiredMixin, TemplateView):
    """Each role's own start page, built from the rows that role may see."""

    template_name = "core/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        clocks = Deadline.objects.restrict(user).select_related("service_unit", "content_type")
        if user.is_superuser:
            context["panel"] = "platform"
            context["unit_rows"] = _unit_rows(user, clocks)
        elif user.role in UNIT_ROLES:
            context["panel"] = "unit"
            context["unit"] = user.service_unit
            context["at_risk"] = list(breached_or_at_risk(clocks)[:10])
        elif user.role == Role.SUPERVISION_OFFICER:
            context["panel"] = "supervision"
            context["unit_rows"] = _unit_rows(user, clocks)
        elif user.role == Role.TAX_OFFICER:
            context["panel"] = "tax_office"
            context["unit_rows"] = _unit_rows(user, clocks)
        else:
            context["panel"] = "taxpayer"
            context["taxpayer"] = user.taxpayer
            context["open_clocks"] = list(clocks.filter(stopped_at__isnull=True)[:10])
        return context


class ServiceUnitListView(ObjectListView):
    model = ServiceUnit
    filterset_class = ServiceUnitFilterSet
    ordering = ("name", "id")
    template_name = "core/unit_list.html"
    partial_template_name = "core/partials/unit_table.html"

    def base_queryset(self):
        return ServiceUnit.objects.select_related("supervision_body")


class ServiceUnitDetailView(ObjectDetailView):
    model = ServiceUnit
    template_name = "core/unit_detail.html"

    def base_queryset(self):
        return ServiceUnit.objects.select_related("supervision_body").prefetch_related(
            "tax_offices"
        )


class ServiceUnitEditView(ScopedMixin, View):
    """The unit administrator's settings of their own unit."""

    model = ServiceUnit
    action = CHANGE
    template_name = "core/unit_edit.html"

    def _unit(self, pk):
        return object_for(self.request.user, ServiceUnit.objects.all(), pk)

    def get(self, request, pk):
        unit = self._unit(pk)
        return render(
            request,
            self.template_name,
            {"object": unit, "form": ServiceUnitSettingsForm(instance=unit)},
        )

    def post(self, request, pk):
        unit = self._unit(pk)
        form = ServiceUnitSettingsForm(request.POST, instance=ServiceUnit.objects.get(pk=unit.pk))
        if form.is_valid():
            try:
                update_service_unit(
                    unit,
                    by=request.user,
                    **{name: form.cleaned_data[name] for name in form.Meta.fields},
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("The service unit was saved."))
                return redirect(unit)
        return render(request, self.template_name, {"object": unit, "form": form}, status=400)


class AuditSearchView(ObjectListView):
    """The trail, for administrators and supervision officers, within their scope."""

    model = AuditEntry
    filterset_class = AuditEntryFilterSet
    ordering = ("-at", "-id")
    template_name = "core/audit_search.html"
    partial_template_name = "core/partials/audit_table.html"
    export_columns = [
        "at",
        "actor_repr",
        "action",
        "object_repr",
        "changes",
        "source",
        "ip",
        "request_id",
    ]

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.can_search_audit:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def base_queryset(self):
        return AuditEntry.objects.select_related("content_type")
