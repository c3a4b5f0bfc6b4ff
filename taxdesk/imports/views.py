"""Pages of the imports: the jobs of a unit, the upload form, a job with its progress and its
errors, the templates and the error report."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View

from taxdesk.core.choices import Role
from taxdesk.core.generic import ObjectDetailView, ObjectListView, ScopedMixin
from taxdesk.core.scoping import VIEW

from .actions import create_job, fail_if_stalled, kinds_for, may_write, start_import
from .choices import JobKind, JobState
from .filtersets import ImportJobFilterSet
from .forms import UploadForm
from .models import ImportJob
from .sheets import XLSX_TYPE, build_template, error_report, spool

# Row errors shown on the page; the error report (.xlsx) has every stored one.
ERRORS_SHOWN = 200


class ImportJobListView(ObjectListView):
    model = ImportJob
    filterset_class = ImportJobFilterSet
    ordering = ("-created_at", "-id")
    template_name = "imports/job_list.html"
    partial_template_name = "imports/partials/job_table.html"
    export_columns = [
        ("No.", "pk"),
        "kind",
        "original_name",
        "service_unit",
        "state",
        "total_rows",
        "valid_rows",
        "error_count",
        "created_count",
        "updated_count",
        "created_by",
        "created_at",
        "finished_at",
    ]

    def base_queryset(self):
        return ImportJob.objects.select_related("service_unit", "created_by").defer("errors")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_upload"] = bool(kinds_for(self.request.user))
        context["template_kinds"] = JobKind.choices
        return context


class ImportUploadView(LoginRequiredMixin, View):
    template_name = "imports/upload.html"

    def _form(self, request, *args, **kwargs):
        if not kinds_for(request.user):
            raise PermissionDenied
        return UploadForm(*args, user=request.user, **kwargs)

    def get(self, request):
        form = self._form(request, initial={"kind": request.GET.get("kind")})
        return render(request, self.template_name, {"form": form})

    def post(self, request):
        form = self._form(request, request.POST, request.FILES)
        if form.is_valid():
            try:
                job = create_job(
                    kind=form.cleaned_data["kind"],
                    file=form.cleaned_data["file"],
                    service_unit=form.cleaned_data.get("service_unit"),
                    by=request.user,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.info(request, _("The file was uploaded and is being checked."))
                return redirect(job)
        return render(request, self.template_name, {"form": form}, status=400)


class ImportJobDetailView(ObjectDetailView):
    model = ImportJob
    template_name = "imports/job_detail.html"

    def base_queryset(self):
        return ImportJob.objects.select_related("service_unit", "created_by", "run_by")

    def get_object(self, queryset=None):
        return fail_if_stalled(super().get_object(queryset))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        job = self.object
        context.update(
            job=job,
            can_run=(
                context["can_change"]
                and job.state == JobState.VALIDATED
                and may_write(self.request.user, job.kind, job.service_unit)
            ),
            shown_errors=job.errors[:ERRORS_SHOWN],
            hidden_errors=max(job.error_count - min(len(job.errors), ERRORS_SHOWN), 0),
        )
        return context


class ImportJobStatusView(ImportJobDetailView):
    """The job's panel alone: htmx polls it every second while a run is in progress."""

    template_name = "imports/partials/job_panel.html"


class ImportRunView(ScopedMixin, View):
    model = ImportJob

    def post(self, request, pk):
        job = get_object_or_404(ImportJob.objects.restrict(request.user, VIEW), pk=pk)
        try:
            start_import(job, by=request.user, valid_only=request.POST.get("valid_only") == "1")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.info(request, _("The import has started."))
        return redirect(job)


class TemplateDownloadView(LoginRequiredMixin, View):
    """The import template of a kind, with the user's unit's tax offices as a list."""

    def get(self, request, kind):
        if kind not in JobKind.values:
            raise Http404
        if request.user.role == Role.TAXPAYER:
            raise PermissionDenied
        offices = []
        unit = request.user.service_unit
        if unit is not None and kind == JobKind.TAXPAYERS:
            offices = list(unit.tax_offices.order_by("name").values_list("name", "code"))
        workbook = build_template(kind, offices)
        return FileResponse(
            spool(workbook),
            as_attachment=True,
            filename=_("%(kind)s import template.xlsx") % {"kind": JobKind(kind).label},
            content_type=XLSX_TYPE,
        )


class ErrorReportView(ScopedMixin, View):
    """The stored row errors of a job as .xlsx."""

    model = ImportJob

    def get(self, request, pk):
        job = get_object_or_404(self.get_queryset(), pk=pk)
        return FileResponse(
            spool(error_report(job)),
            as_attachment=True,
            filename=_("Import %(job)s errors.xlsx") % {"job": job.pk},
            content_type=XLSX_TYPE,
        )
