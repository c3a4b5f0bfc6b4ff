"""/api/audit/: the audit trail for supervision and integration clients, read-only.

Scoped exactly as the audit page (``core.views.AuditSearchView``): only the users who may
search the trail (``User.can_search_audit``) reach it, and each sees the entries
``restrict`` gives them; the page's filterset filters both. Phone numbers in the changes are
masked for the roles without need (``core.privacy``).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import permissions, serializers

from taxdesk.core.filtersets import AuditEntryFilterSet
from taxdesk.core.models import AuditEntry

from .fields import PersonalJSONField
from .viewsets import ScopedReadOnlyViewSet


class CanSearchAudit(permissions.BasePermission):
    """The audit page's rule: administrators of a unit, supervision officers, superusers."""

    message = _("You may not search the audit trail.")

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.can_search_audit)


@extend_schema_field({"type": "string", "nullable": True, "example": "customers.taxpayer"})
class ObjectTypeField(serializers.Field):
    """The kind of record an entry names, as ``app_label.model``; null for a sign-in."""

    def __init__(self, **kwargs):
        kwargs.setdefault("source", "content_type")
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, content_type):
        return f"{content_type.app_label}.{content_type.model}"


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    object_type = ObjectTypeField(allow_null=True)
    changes = PersonalJSONField(read_only=True)

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "at",
            "action",
            "actor",
            "actor_repr",
            "object_type",
            "object_id",
            "object_repr",
            "changes",
            "source",
            "ip",
            "request_id",
        ]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(
        summary="Audit entries in the caller's scope, newest first",
        description=(
            "For unit administrators and supervision officers (403 for the others), the "
            "entries of the records in their scope, with the audit page's filters. "
            "`changes` maps each changed field to `[before, after]`. Read-only."
        ),
    ),
    retrieve=extend_schema(summary="One audit entry in the caller's scope"),
)
class AuditEntryViewSet(ScopedReadOnlyViewSet):
    """The audit trail, as the audit page shows it; entries are never written here."""

    queryset = AuditEntry.objects.select_related("content_type")
    serializer_class = AuditEntrySerializer
    filterset_class = AuditEntryFilterSet
    permission_classes = [permissions.IsAuthenticated, CanSearchAudit]
    # The id is unique and grows with every entry; the time is shared by the entries of one
    # bulk write (thousands for an import), which a cursor on the time could not page.
    cursor_ordering = ("-id",)
