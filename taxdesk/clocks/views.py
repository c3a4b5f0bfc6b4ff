"""Pages of the clocks: a unit's open clocks by due time, one clock with its pauses."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from taxdesk.core.generic import ObjectDetailView, ObjectListView, ScopedMixin, object_for
from taxdesk.core.scoping import CHANGE

from .actions import pause_deadline, resume_deadline
from .filtersets import DeadlineFilterSet
from .forms import PauseForm
from .models import Deadline


class DeadlineListView(ObjectListView):
    model = Deadline
    filterset_class = DeadlineFilterSet
    ordering = ("due_at", "id")
    template_name = "clocks/deadline_list.html"
    partial_template_name = "clocks/partials/deadline_table.html"
    export_columns = [
        "rule",
        ("Record", "record_label"),
        "service_unit",
        "started_at",
        "due_at",
        "provisional",
        "status",
        "stopped_at",
    ]

    def base_queryset(self):
        # Each row shows its record: fetched per content type, not once per row.
        queryset = Deadline.objects.select_related("service_unit", "content_type").prefetch_related(
            "record"
        )
        if "open" not in self.request.GET:
            queryset = queryset.filter(stopped_at__isnull=True)
        return queryset


class DeadlineDetailView(ObjectDetailView):
    model = Deadline
    template_name = "clocks/deadline_detail.html"

    def base_queryset(self):
        return Deadline.objects.select_related("service_unit", "taxpayer", "content_type")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["pauses"] = self.object.pauses.select_related("paused_by")
        if context["can_change"] and self.object.status == "running":
            context["pause_form"] = PauseForm(deadline=self.object)
        return context


class _DeadlineActionView(ScopedMixin, View):
    model = Deadline
    action = CHANGE

    def _deadline(self, pk):
        return object_for(self.request.user, Deadline.objects.all(), pk)


class DeadlinePauseView(_DeadlineActionView):
    def post(self, request, pk):
        deadline = self._deadline(pk)
        form = PauseForm(request.POST, deadline=deadline)
        if form.is_valid():
            try:
                pause_deadline(deadline, at=timezone.now(), by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("The clock is paused."))
                return redirect(deadline)
        return render(
            request,
            "clocks/deadline_detail.html",
            {
                "object": deadline,
                "pause_form": form,
                "can_change": True,
                "pauses": deadline.pauses.all(),
            },
            status=400,
        )


class DeadlineResumeView(_DeadlineActionView):
    def post(self, request, pk):
        deadline = self._deadline(pk)
        try:
            resume_deadline(deadline, at=timezone.now(), by=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The clock runs again."))
        return redirect(deadline)
