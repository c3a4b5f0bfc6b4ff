"""API of the clocks: read a unit's deadlines; pause and resume where the rule allows."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from taxdesk.core.api.serializers import NoBodySerializer, StrictModelSerializer, StrictSerializer
from taxdesk.core.api.viewsets import ScopedReadOnlyViewSet

from .actions import pause_deadline, resume_deadline
from .choices import PauseReason
from .display import remaining_text
from .filtersets import DeadlineFilterSet
from .models import Deadline, DeadlinePause


class DeadlinePauseSerializer(StrictModelSerializer):
    class Meta:
        model = DeadlinePause
        fields = ["id", "reason", "evidence", "started_at", "ended_at", "paused_by"]
        read_only_fields = fields  # pauses are made by POST …/pause/, not written here


class DeadlineSerializer(StrictModelSerializer):
    record = serializers.CharField(source="record_label", read_only=True)
    record_type = serializers.CharField(source="content_type.model", read_only=True)
    overdue = serializers.SerializerMethodField()
    remaining = serializers.SerializerMethodField()
    pauses = DeadlinePauseSerializer(many=True, read_only=True)

    class Meta:
        model = Deadline
        fields = [
            "id",
            "rule",
            "kind",
            "service_unit",
            "taxpayer",
            "record_type",
            "object_id",
            "record",
            "started_at",
            "due_at",
            "provisional",
            "status",
            "stopped_at",
            "paused_for",
            "overdue",
            "remaining",
            "pauses",
        ]
        read_only_fields = fields

    def get_overdue(self, obj) -> bool:
        return obj.is_overdue()

    def get_remaining(self, obj) -> str:
        return remaining_text(obj)


class PauseRequestSerializer(StrictSerializer):
    reason = serializers.ChoiceField(choices=PauseReason.choices)
    evidence = serializers.CharField(max_length=2000)


class DeadlineViewSet(ScopedReadOnlyViewSet):
    """Deadlines in the caller's scope, soonest due first."""

    # The record of each row is fetched per content type, not once per row.
    queryset = Deadline.objects.select_related("content_type").prefetch_related("pauses", "record")
    serializer_class = DeadlineSerializer
    filterset_class = DeadlineFilterSet
    cursor_ordering = ("due_at", "id")

    def write_action(self):
        return "change" if self.action in ("pause", "resume") else super().write_action()

    @extend_schema(request=PauseRequestSerializer, responses=DeadlineSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        deadline = self.get_object()
        body = PauseRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        pause_deadline(deadline, at=timezone.now(), by=request.user, **body.validated_data)
        deadline.refresh_from_db()
        return Response(DeadlineSerializer(deadline).data)

    @extend_schema(request=None, responses=DeadlineSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        deadline = self.get_object()
        NoBodySerializer(data=request.data).is_valid(raise_exception=True)
        resume_deadline(deadline, at=timezone.now(), by=request.user)
        return Response(DeadlineSerializer(deadline).data)
