"""API of the taxpayer register: taxpayers (with the page's filters and search), their
contacts, and the dated changes of status, type and tax office. Every write goes through
the actions; their refusals come back in the API's one error shape.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from taxdesk.core.api.fields import PhoneField, ScopedRelatedField
from taxdesk.core.api.serializers import StrictModelSerializer, StrictSerializer
from taxdesk.core.api.viewsets import ScopedGenericViewSet
from taxdesk.core.models import ServiceUnit, TaxOffice
from taxdesk.core.privacy import record_read
from taxdesk.core.scoping import CHANGE

from . import actions
from .choices import ContactRole, InvoiceType, TaxpayerStatus, TaxpayerType
from .filtersets import ContactFilterSet, TaxpayerFilterSet
from .models import Contact, Taxpayer, TaxpayerChange


class ContactSerializer(StrictModelSerializer):
    # A taxpayer out of reach is "does not exist", never a hint that it does.
    taxpayer = ScopedRelatedField(Taxpayer)
    # As typed; the action checks and normalises the numbers (11-digit mobile). Read back
    # masked by the roles without need (core.privacy).
    mobile = PhoneField(required=False, allow_blank=True, max_length=30)
    landline = PhoneField(required=False, allow_blank=True, max_length=30)

    class Meta:
        model = Contact
        fields = ["id", "taxpayer", "name", "role", "mobile", "landline"]
        read_only_fields = ["id"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            self.fields["taxpayer"].read_only = True


class NestedContactSerializer(StrictSerializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=50)
    role = serializers.ChoiceField(choices=ContactRole.choices, default=ContactRole.CLERK)
    mobile = PhoneField(required=False, allow_blank=True, max_length=30)
    landline = PhoneField(required=False, allow_blank=True, max_length=30)


class TaxpayerChangeSerializer(StrictModelSerializer):
    before_display = serializers.CharField(read_only=True)
    after_display = serializers.CharField(read_only=True)

    class Meta:
        model = TaxpayerChange
        fields = [
            "id",
            "kind",
            "before",
            "after",
            "before_display",
            "after_display",
            "effective_on",
            "note",
        ]
        read_only_fields = fields


class TaxpayerSerializer(StrictModelSerializer):
    # As typed; the action says what is wrong with it and normalises it.
    number = serializers.CharField(max_length=40)
    invoice_types = serializers.ListField(
        child=serializers.ChoiceField(choices=InvoiceType.choices), required=False
    )
    # Units and tax offices out of reach are "does not exist", as ids that never were.
    service_unit = ScopedRelatedField(ServiceUnit, required=False)
    tax_office = ScopedRelatedField(TaxOffice, required=False, allow_null=True)
    contacts = NestedContactSerializer(many=True, required=False)
    missing_for_entry = serializers.SerializerMethodField()

    class Meta:
        model = Taxpayer
        fields = [
            "id",
            "number",
            "name",
            "address",
            "district",
            "service_unit",
            "supervision_body",
            "tax_office",
            "taxpayer_type",
            "approved_on",
            "status",
            "office_hours",
            "invoice_types",
            "entered_at",
            "missing_for_entry",
            "contacts",
            "created_at",
        ]
        read_only_fields = ["id", "supervision_body", "status", "entered_at", "created_at"]

    def get_missing_for_entry(self, obj) -> list[str]:
        if obj.entered_at is not None:
            return []
        return obj.missing_for_entry()

    def validate(self, attrs):
        if self.instance is not None:
            # Contacts change through /api/contacts/, the unit never.
            for name in ("contacts", "service_unit"):
                attrs.pop(name, None)
        return attrs


class _ChangeSerializer(StrictSerializer):
    effective_on = serializers.DateField()
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class StatusChangeSerializer(_ChangeSerializer):
    to = serializers.ChoiceField(choices=TaxpayerStatus.choices)


class TypeChangeSerializer(_ChangeSerializer):
    to = serializers.ChoiceField(choices=TaxpayerType.choices)


class TaxOfficeChangeSerializer(_ChangeSerializer):
    to = ScopedRelatedField(TaxOffice)


class TaxpayerViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ScopedGenericViewSet,
):
    """Taxpayers in the caller's scope, by name; ``q`` searches number, name, phone, serial."""

    queryset = Taxpayer.objects.select_related("tax_office").prefetch_related("contacts")
    serializer_class = TaxpayerSerializer
    filterset_class = TaxpayerFilterSet
    cursor_ordering = ("name", "id")
    http_method_names = ["get", "post", "patch", "head", "options"]

    def write_action(self):
        if self.action in ("change_status", "change_type", "change_tax_office"):
            return CHANGE
        return super().write_action()

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        user = request.user
        unit = data.pop("service_unit", None)
        if unit is None:
            unit = user.service_unit
        if unit is None:
            raise ValidationError(
                {"service_unit": ValidationError(_("Choose the service unit."), code="required")}
            )
        contacts = [dict(c) for c in data.pop("contacts", [])]
        taxpayer = actions.register_taxpayer(service_unit=unit, by=user, contacts=contacts, **data)
        taxpayer = self.get_queryset().get(pk=taxpayer.pk)
        return Response(self.get_serializer(taxpayer).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request, *args, **kwargs):
        taxpayer = self.get_object()
        # An officer's read of the full record is kept in the trail (core.privacy).
        record_read(request.user, taxpayer)
        return Response(self.get_serializer(taxpayer).data)

    def update(self, request, *args, **kwargs):
        taxpayer = self.get_object()
        serializer = self.get_serializer(taxpayer, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        actions.update_taxpayer(taxpayer, by=request.user, **serializer.validated_data)
        taxpayer = self.get_queryset().get(pk=taxpayer.pk)
        return Response(self.get_serializer(taxpayer).data)

    def _change(self, request, body_class, change):
        taxpayer = self.get_object()
        body = body_class(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = body.validated_data
        change(
            taxpayer,
            data["to"],
            effective_on=data["effective_on"],
            note=data.get("note", ""),
            by=request.user,
        )
        taxpayer = self.get_queryset().get(pk=taxpayer.pk)
        return Response(self.get_serializer(taxpayer).data)

    @extend_schema(request=StatusChangeSerializer, responses=TaxpayerSerializer)
    @action(detail=True, methods=["post"], url_path="change-status")
    def change_status(self, request, pk=None):
        return self._change(request, StatusChangeSerializer, actions.change_status)

    @extend_schema(request=TypeChangeSerializer, responses=TaxpayerSerializer)
    @action(detail=True, methods=["post"], url_path="change-type")
    def change_type(self, request, pk=None):
        return self._change(request, TypeChangeSerializer, actions.change_type)

    @extend_schema(request=TaxOfficeChangeSerializer, responses=TaxpayerSerializer)
    @action(detail=True, methods=["post"], url_path="change-tax-office")
    def change_tax_office(self, request, pk=None):
        return self._change(request, TaxOfficeChangeSerializer, actions.change_tax_office)

    @extend_schema(responses=TaxpayerChangeSerializer(many=True))
    # The whole list (a taxpayer's few changes), not a page: the schema says so too.
    @action(detail=True, methods=["get"], pagination_class=None)
    def changes(self, request, pk=None):
        taxpayer = self.get_object()
        rows = TaxpayerChange.objects.restrict(request.user).filter(taxpayer=taxpayer)
        return Response(TaxpayerChangeSerializer(rows, many=True).data)


class ContactViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ScopedGenericViewSet,
):
    """Contacts of the taxpayers in the caller's scope."""

    queryset = Contact.objects.all()
    serializer_class = ContactSerializer
    filterset_class = ContactFilterSet
    cursor_ordering = ("-id",)
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        taxpayer = data.pop("taxpayer")
        contact = actions.add_contact(taxpayer, by=request.user, **data)
        return Response(self.get_serializer(contact).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request, *args, **kwargs):
        contact = self.get_object()
        # An officer's read of a contact is a read of the taxpayer's record (core.privacy).
        record_read(request.user, contact, object_repr=f"{contact} — {contact.taxpayer}")
        return Response(self.get_serializer(contact).data)

    def update(self, request, *args, **kwargs):
        contact = self.get_object()
        serializer = self.get_serializer(contact, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = {k: v for k, v in serializer.validated_data.items() if k != "taxpayer"}
        actions.update_contact(contact, by=request.user, **data)
        return Response(self.get_serializer(contact).data)

    def perform_destroy(self, instance):
        actions.remove_contact(instance, by=self.request.user)
