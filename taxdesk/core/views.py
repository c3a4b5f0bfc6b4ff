"""Pages of the core: service units and the audit trail."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from .actions import end_all_sessions, update_service_unit
from .filtersets import AuditEntryFilterSet, ServiceUnitFilterSet
from .forms import ServiceUnitSettingsForm
from .generic import ObjectDetailView, ObjectListView, ScopedMixin, object_for
from .models import AuditEntry, ServiceUnit
from .privacy import Personal, mask_personal
from .scoping import CHANGE


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
        Personal("changes", mask_personal),
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


class EndAllSessionsView(LoginRequiredMixin, View):
    """ "Sign out everywhere": every session of the user, this one too, and their API token."""

    http_method_names = ["post"]

    def post(self, request):
        end_all_sessions(request.user, by=request.user)
        request.session.flush()
        request.user = AnonymousUser()
        messages.success(
            request,
            _(
                "You were signed out everywhere and your API token was deleted. "
                "Please sign in again."
            ),
        )
        return redirect(settings.LOGIN_URL)
