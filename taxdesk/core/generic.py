"""Base page views: a page names its model, filterset and template; scoping, keyset paging
and htmx partials are handled here (NetBox's ``ObjectListView`` in spirit).
"""

from __future__ import annotations

import base64
import binascii
import json

from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.views.generic import DetailView, TemplateView

from .models import AuditEntry
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
    """A scoped, filtered, keyset-paged list; an htmx request gets only the table."""

    filterset_class = None
    ordering: tuple[str, str] = ("-id", "-pk")
    page_size = 50
    partial_template_name: str | None = None

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

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        queryset = self.get_queryset()
        filterset = self.get_filterset(queryset)
        if filterset is not None:
            # An unbound filterset (no query string: the first visit) filters nothing; only
            # a bound one with invalid values shows no rows.
            valid = not filterset.is_bound or filterset.is_valid()
            queryset = filterset.qs if valid else queryset.none()
        rows, next_cursor = keyset_page(
            queryset, self.ordering, self.request.GET.get("cursor"), self.page_size
        )
        query = self.request.GET.copy()
        query.pop("cursor", None)
        context.update(
            rows=rows,
            filterset=filterset,
            next_cursor=next_cursor,
            query=query.urlencode(),
            model_meta=self.model._meta,
        )
        return context


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
