"""Base page views: a page names its model, filterset and template; scoping, keyset paging
and htmx partials are handled here (NetBox's ``ObjectListView`` in spirit).
"""

from __future__ import annotations

import base64
import binascii
import json

from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.views.generic import DetailView, TemplateView

from .models import AuditEntry
from .privacy import Personal, needs_personal_data
from .scoping import CHANGE, VIEW, can


class ScopedMixin(LoginRequiredMixin):
    """Every row a page shows comes from ``restrict(user, action)``."""

    model = None
    action = VIEW

    def base_queryset(self):
        return self.model.objects.all()

    def get_queryset(self):
        if self.model is None:
            raise ImproperlyConfigured(f"{type(self).__name__} names no model")
        return self.base_queryset().restrict(self.request.user, self.action)


def object_for(user, queryset, pk, action: str = CHANGE):
    """The record ``pk`` of ``queryset`` for ``action`` by ``user``: out of the user's scope it
    is a 404, visible but not open to the action a 403."""
    obj = get_object_or_404(queryset.restrict(user, VIEW), pk=pk)
    if not can(user, action, obj):
        raise PermissionDenied
    return obj


def _encode(values) -> str:
    raw = json.dumps(values, default=str, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str):
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return values if isinstance(values, list) else None


def keyset_page(queryset, ordering: tuple[str, str], cursor: str | None, size: int):
    """One page after ``cursor`` by two columns (a sort key and a unique tie-breaker).

    No ``COUNT(*)``: a page fetches ``size + 1`` rows to know whether there is a next one.
    """
    first, second = ordering
    descending = first.startswith("-")
    if descending != second.startswith("-"):
        raise ValueError("both ordering columns must run the same way")
    key, tie = first.lstrip("-"), second.lstrip("-")
    queryset = queryset.order_by(first, second)
    values = _decode(cursor) if cursor else None
    if values is not None and len(values) == 2:
        from django.db.models import Q

        op = "lt" if descending else "gt"
        if values[0] is None:
            queryset = queryset.filter(**{f"{key}__isnull": True, f"{tie}__{op}": values[1]})
        else:
            queryset = queryset.filter(
                Q(**{f"{key}__{op}": values[0]}) | Q(**{key: values[0], f"{tie}__{op}": values[1]})
            )
    rows = list(queryset[: size + 1])
    has_next = len(rows) > size
    rows = rows[:size]
    next_cursor = None
    if has_next and rows:
        last = rows[-1]
        next_cursor = _encode([getattr(last, key), getattr(last, tie)])
    return rows, next_cursor


class ObjectListView(ScopedMixin, TemplateView):
    """A scoped, filtered, keyset-paged list; an htmx request gets only the table.

    Export to Excel: a list that names ``export_columns`` offers “Export to Excel” (a link that
    keeps the current filters, kept up to date when htmx swaps the table), and
    ``?export=xlsx`` answers the WHOLE filtered, scoped queryset (every row, not the page) as
    an .xlsx file, in the list's ordering::

        export_columns = [
            "number",                        # a field, or a path across relations
            "service_unit.name",             # ("service_unit" alone gives str(unit))
            ("Record", "record_label"),      # a header and an attribute path
            (_("Time left"), remaining),     # a header and any callable of the row
            Personal("mobile"),              # personal data: masked for roles without need
        ]

    A bare field path is headed by the field's verbose name; a choice field shows its
    label; a header given as a plain string is a msgid, translated when the file is written
    (the header of a lazy string too), so the file speaks the user's language. Values: an
    aware datetime in local time, a date, a number, a Decimal, a bool as 是/否, a list joined
    with 、, anything else as text (never as a formula). Rows are read with
    ``.iterator(chunk_size=export_chunk_size)`` — prefetches run per chunk, no COUNT is made
    — and written by openpyxl's write-only workbook into a temporary file, so memory stays
    bounded whatever the number of rows.
    """

    filterset_class = None
    ordering: tuple[str, str] = ("-id", "-pk")
    page_size = 50
    partial_template_name: str | None = None
    export_columns: list | None = None
    export_chunk_size = 2000

    def get(self, request, *args, **kwargs):
        if self.export_columns and request.GET.get("export") == "xlsx":
            return self.export_xlsx()
        return super().get(request, *args, **kwargs)

    def get_filterset(self, queryset):
        if self.filterset_class is None:
            return None
        return self.filterset_class(
            self.request.GET or None, queryset=queryset, request=self.request
        )

    def get_template_names(self):
        if self.request.htmx and self.partial_template_name:
            return [self.partial_template_name]
        return super().get_template_names()

    def filter_queryset(self, queryset):
        """The scoped queryset narrowed by the filterset: ``(queryset, filterset)``."""
        filterset = self.get_filterset(queryset)
        if filterset is not None:
            # An unbound filterset (no query string: the first visit) filters nothing; only
            # a bound one with invalid values shows no rows.
            valid = not filterset.is_bound or filterset.is_valid()
            queryset = filterset.qs if valid else queryset.none()
        return queryset, filterset

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        queryset, filterset = self.filter_queryset(self.get_queryset())
        rows, next_cursor = keyset_page(
            queryset, self.ordering, self.request.GET.get("cursor"), self.page_size
        )
        query = self.request.GET.copy()
        query.pop("cursor", None)
        query.pop("export", None)
        context.update(
            rows=rows,
            filterset=filterset,
            next_cursor=next_cursor,
            query=query.urlencode(),
            model_meta=self.model._meta,
        )
        if self.export_columns:
            query["export"] = "xlsx"
            context["export_url"] = f"{self.request.path}?{query.urlencode()}"
        return context

    def render_to_response(self, context, **response_kwargs):
        response = super().render_to_response(context, **response_kwargs)
        if self.request.htmx and context.get("export_url"):
            # The table was swapped for new filters: the export link follows them.
            from django.template.loader import render_to_string

            def add_export_link(response):
                link = render_to_string(
                    "includes/export_link.html",
                    {"export_url": context["export_url"], "oob": True},
                    request=self.request,
                )
                response.content = response.content + link.encode()

            response.add_post_render_callback(add_export_link)
        return response

    # ------------------------------------------------------------------ export to Excel
    def export_filename(self) -> str:
        from django.utils import timezone
        from django.utils.text import capfirst

        name = capfirst(str(self.model._meta.verbose_name_plural))
        return f"{name}-{timezone.localdate():%Y%m%d}.xlsx"

    def export_getters(self) -> list[tuple[str, object]]:
        """Each export column as (header, function of a row)."""
        return [self._export_column(spec) for spec in self.export_columns]

    def _export_column(self, spec) -> tuple[str, object]:
        from django.utils.text import capfirst
        from django.utils.translation import gettext

        if isinstance(spec, Personal):
            # Personal data: masked for a user without need (core.privacy).
            header, getter = self._export_column(spec.column)
            if needs_personal_data(self.request.user):
                return header, getter
            mask = spec.mask
            return header, lambda obj: mask(getter(obj))
        if isinstance(spec, str):
            header, accessor = None, spec
        else:
            header, accessor = spec
        if callable(accessor):
            return gettext(str(header)), accessor
        field = self._export_field(accessor)
        if header is None:
            header = capfirst(str(field.verbose_name)) if field is not None else accessor
        return gettext(str(header)), self._export_getter(accessor, field)

    def _export_field(self, path: str):
        """The model field a dotted path ends on, or None (a property or a method)."""
        from django.core.exceptions import FieldDoesNotExist

        model, field = self.model, None
        for part in path.split("."):
            if model is None:
                return None
            try:
                field = model._meta.get_field(part)
            except FieldDoesNotExist:
                return None
            model = field.related_model
        return field

    @staticmethod
    def _export_getter(path: str, field):
        parts = path.split(".")
        last = parts[-1]
        display = f"get_{last}_display" if field is not None and field.choices else None

        def getter(obj):
            for part in parts[:-1]:
                obj = getattr(obj, part, None)
                if obj is None:
                    return None
            if display is not None:
                return getattr(obj, display)()
            value = getattr(obj, last, None)
            return value() if callable(value) and not hasattr(value, "all") else value

        return getter

    @staticmethod
    def export_cell(value):
        """A value as a spreadsheet can hold it."""
        import datetime
        import decimal

        from django.db.models import Model
        from django.utils import timezone
        from django.utils.translation import gettext

        if isinstance(value, bool):
            return gettext("Yes") if value else gettext("No")
        if value is None or isinstance(value, int | float | decimal.Decimal):
            return value
        if isinstance(value, datetime.datetime):
            if timezone.is_aware(value):
                value = timezone.localtime(value)
            return value.replace(tzinfo=None)
        if isinstance(value, datetime.date):
            return value
        if isinstance(value, list | tuple | set | frozenset):
            return "、".join(str(v) for v in value)
        if isinstance(value, dict):
            return json.dumps(value, ensure_ascii=False, default=str)
        if isinstance(value, Model):
            return str(value)
        return str(value)

    def export_xlsx(self):
        """The whole filtered, scoped queryset as an .xlsx download."""
        import tempfile

        from django.http import FileResponse
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter

        queryset, _filterset = self.filter_queryset(self.get_queryset())
        queryset = queryset.order_by(*self.ordering)
        columns = self.export_getters()
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(str(self.model._meta.verbose_name_plural)[:31] or "Sheet")
        for index, (header, _getter) in enumerate(columns, start=1):
            width = min(max(10, 2 * len(header) + 4), 40)
            sheet.column_dimensions[get_column_letter(index)].width = width
        bold = Font(bold=True)
        header_cells = []
        for header, _getter in columns:
            cell = WriteOnlyCell(sheet, header)
            cell.font = bold
            header_cells.append(cell)
        sheet.append(header_cells)

        def cell_of(value):
            value = self.export_cell(value)
            if isinstance(value, str):
                cell = WriteOnlyCell(sheet, ILLEGAL_CHARACTERS_RE.sub("", value))
                # Text stays text: "=…" typed by someone must not become a formula.
                cell.data_type = "s"
                return cell
            return value

        for obj in queryset.iterator(chunk_size=self.export_chunk_size):
            sheet.append([cell_of(getter(obj)) for _header, getter in columns])
        out = tempfile.TemporaryFile()  # removed when the response closes it
        workbook.save(out)
        out.seek(0)
        return FileResponse(
            out,
            as_attachment=True,
            filename=self.export_filename(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )


class ObjectDetailView(ScopedMixin, DetailView):
    """One record the user may see; anything else is a 404."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_change"] = can(self.request.user, CHANGE, self.object)
        context["history_url"] = history_url(self.object)
        return context


def history_url(obj) -> str:
    from django.urls import reverse

    return reverse("core:history", args=[obj._meta.label_lower, obj.pk])


class ObjectHistoryView(LoginRequiredMixin, TemplateView):
    """The audit entries of one record, for whoever may see the record."""

    template_name = "core/history.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        app_label, _, model_name = kwargs["label"].partition(".")
        try:
            content_type = ContentType.objects.get_by_natural_key(app_label, model_name)
        except ContentType.DoesNotExist:
            raise Http404 from None
        model = content_type.model_class()
        if model is None or not hasattr(model, "scope") or self.request.user.role == "taxpayer":
            # Histories name staff and their addresses: not for the taxpayers' own users.
            raise Http404
        obj = get_object_or_404(model.objects.restrict(self.request.user, VIEW), pk=kwargs["pk"])
        entries = AuditEntry.objects.filter(
            content_type=content_type, object_id=str(obj.pk)
        ).select_related("actor")
        rows, next_cursor = keyset_page(
            entries, ("-at", "-id"), self.request.GET.get("cursor"), 100
        )
        context.update(object=obj, rows=rows, next_cursor=next_cursor, model_meta=model._meta)
        return context
