"""API of the messages: the unit's message log (POST sends free text to a taxpayer's
contact, with ``Idempotency-Key``) and the unit's message templates (read and rewrite)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.response import Response

from taxdesk.core.api.fields import ScopedRelatedField
from taxdesk.core.api.serializers import StrictModelSerializer, StrictSerializer
from taxdesk.core.api.viewsets import ScopedGenericViewSet
from taxdesk.core.scoping import may_add

from . import actions
from .choices import Channel
from .filtersets import MessageFilterSet, MessageTemplateFilterSet
from .models import Message, MessageAttempt, MessageTemplate

IDEMPOTENCY_KEY_MAX = 100


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_conflict"


class MessageAttemptSerializer(StrictModelSerializer):
    class Meta:
        model = MessageAttempt
        fields = [
            "number",
            "started_at",
            "finished_at",
            "backend",
            "outcome",
            "status_code",
            "response",
            "error",
        ]
        read_only_fields = fields


class MessageSerializer(StrictModelSerializer):
    related_type = serializers.SerializerMethodField()
    attempt_log = MessageAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "uid",
            "service_unit",
            "channel",
            "to",
            "recipient_name",
            "taxpayer",
            "template_key",
            "signature",
            "subject",
            "body",
            "related_type",
            "related_id",
            "status",
            "attempts",
            "next_attempt_at",
            "sent_at",
            "created_at",
            "created_by",
            "backend",
            "provider_status",
            "provider_message_id",
            "provider_response",
            "last_error",
            "attempt_log",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_related_type(self, obj) -> str | None:
        if obj.related_type_id is None:
            return None
        return f"{obj.related_type.app_label}.{obj.related_type.model}"


class SendRequestSerializer(StrictSerializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    contact = ScopedRelatedField("customers.Contact")
    to = serializers.CharField(
        max_length=254,
        required=False,
        allow_blank=True,
        help_text="E-mail: the address (contacts hold none). SMS: empty (the contact's mobile).",
    )
    subject = serializers.CharField(max_length=200, required=False, allow_blank=True)
    body = serializers.CharField(max_length=10_000)


class MessageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedGenericViewSet):
    """Messages of the caller's units, newest first. The list is for the unit's
    administrator and dispatchers and supervision officers; POST sends free text to a
    taxpayer's contact (the unit's administrator and dispatchers)."""

    queryset = Message.objects.select_related("related_type").prefetch_related("attempt_log")
    serializer_class = MessageSerializer
    filterset_class = MessageFilterSet
    cursor_ordering = ("-created_at", "-id")

    def list(self, request, *args, **kwargs):
        if not actions.may_read_log(request.user):
            raise exceptions.PermissionDenied()
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=SendRequestSerializer,
        responses={201: MessageSerializer, 200: MessageSerializer},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description=(
                    "The same key (per user) returns the message sent the first time, "
                    "with 200, and sends nothing more."
                ),
            )
        ],
    )
    def create(self, request):
        body = SendRequestSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        data = body.validated_data
        contact = data["contact"]
        taxpayer = contact.taxpayer
        if not may_add(request.user, Message, taxpayer.service_unit_id):
            raise exceptions.PermissionDenied()
        header = request.headers.get("Idempotency-Key", "").strip()
        if len(header) > IDEMPOTENCY_KEY_MAX:
            raise ValidationError(
                {
                    "idempotency_key": ValidationError(
                        _("An idempotency key has at most %(max)s characters.")
                        % {"max": IDEMPOTENCY_KEY_MAX},
                        code="too_long",
                    )
                }
            )
        to = (data.get("to") or "").strip()
        if data["channel"] == Channel.SMS:
            # An SMS goes to the contact's own mobile, never to a number typed beside it.
            if not contact.mobile:
                raise ValidationError(
                    {
                        "contact": ValidationError(
                            _("This contact has no mobile number."), code="no_mobile"
                        )
                    }
                )
            if to and to != contact.mobile:
                raise ValidationError(
                    {
                        "to": ValidationError(
                            _("An SMS goes to the contact's mobile number; leave this empty."),
                            code="not_the_contact",
                        )
                    }
                )
            to = contact.mobile
        try:
            message, created = actions.send_and_tell(
                service_unit=taxpayer.service_unit,
                channel=data["channel"],
                to=to,
                by=request.user,
                subject=data.get("subject", ""),
                body=data["body"],
                taxpayer=taxpayer,
                recipient_name=contact.name,
                idempotency_key=f"api:{request.user.pk}:{header}" if header else "",
            )
        except ValidationError as exc:
            if getattr(exc, "code", None) == "idempotency_conflict":
                raise Conflict(exc.messages[0]) from None
            raise
        return Response(
            MessageSerializer(message).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class VariableSerializer(StrictSerializer):
    name = serializers.CharField()
    label = serializers.CharField()
    sample = serializers.CharField()


class MessageTemplateSerializer(StrictModelSerializer):
    name = serializers.CharField(read_only=True)
    rule = serializers.SerializerMethodField()
    subject = serializers.CharField(source="effective_subject", read_only=True)
    body = serializers.CharField(source="effective_body", read_only=True)
    is_default = serializers.BooleanField(read_only=True)
    default_subject = serializers.SerializerMethodField()
    default_body = serializers.SerializerMethodField()
    variables = serializers.SerializerMethodField()

    class Meta:
        model = MessageTemplate
        fields = [
            "id",
            "service_unit",
            "key",
            "name",
            "rule",
            "subject",
            "body",
            "is_default",
            "default_subject",
            "default_body",
            "variables",
            "updated_at",
            "updated_by",
        ]
        read_only_fields = fields

    def get_rule(self, obj) -> str:
        return obj.kind.rule if obj.kind else ""

    def get_default_subject(self, obj) -> str:
        return obj.kind.subject if obj.kind else ""

    def get_default_body(self, obj) -> str:
        return obj.kind.body if obj.kind else ""

    @extend_schema_field(VariableSerializer(many=True))
    def get_variables(self, obj) -> list[dict]:
        if obj.kind is None:
            return []
        return [
            {"name": v.name, "label": str(v.label), "sample": v.sample}
            for v in obj.kind.all_variables
        ]


class TemplateUpdateSerializer(StrictSerializer):
    subject = serializers.CharField(max_length=200, required=False, allow_blank=True)
    body = serializers.CharField(max_length=2000, required=False)


class MessageTemplateViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedGenericViewSet
):
    """The texts of the kinds of message of the caller's units; the unit's administrator
    rewrites them (PUT or PATCH ``subject`` and ``body``; an unknown variable is a 400)."""

    queryset = MessageTemplate.objects.select_related("updated_by")
    serializer_class = MessageTemplateSerializer
    filterset_class = MessageTemplateFilterSet
    cursor_ordering = ("service_unit_id", "id")
    http_method_names = ["get", "put", "patch", "head", "options"]

    def list(self, request, *args, **kwargs):
        if not actions.may_read_log(request.user):
            raise exceptions.PermissionDenied()
        return super().list(request, *args, **kwargs)

    @extend_schema(request=TemplateUpdateSerializer, responses=MessageTemplateSerializer)
    def update(self, request, *args, **kwargs):
        template = self.get_object()
        body = TemplateUpdateSerializer(data=request.data, partial=kwargs.get("partial", False))
        body.is_valid(raise_exception=True)
        data = body.validated_data
        actions.update_template(
            template,
            subject=data.get("subject", template.effective_subject),
            body=data.get("body", template.effective_body),
            by=request.user,
        )
        return Response(MessageTemplateSerializer(template).data)

    @extend_schema(request=TemplateUpdateSerializer, responses=MessageTemplateSerializer)
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)
