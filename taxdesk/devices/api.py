"""API of the device register: devices (move, pair), stock batches (receive), warranty
policies. (The sales API is in the sales app.)"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from taxdesk.core.api.fields import ScopedRelatedField
from taxdesk.core.api.serializers import StrictModelSerializer, StrictSerializer
from taxdesk.core.api.viewsets import ScopedGenericViewSet, ScopedReadOnlyViewSet
from taxdesk.core.models import ServiceUnit
from taxdesk.core.scoping import CHANGE

from .actions import (
    MAX_SERIALS_PER_BATCH,
    move_device,
    pair_reporting_disk,
    receive_stock,
    set_warranty_policy,
)
from .choices import DeviceStatus, DeviceType
from .filtersets import DeviceFilterSet, StockBatchFilterSet
from .models import Device, DeviceEvent, StockBatch, WarrantyPolicy
from .queries import batch_counts, for_list


# --------------------------------------------------------------------------- devices
class DeviceEventSerializer(StrictModelSerializer):
    class Meta:
        model = DeviceEvent
        fields = ["id", "from_status", "to_status", "on", "note"]
        read_only_fields = fields


class DeviceSerializer(StrictModelSerializer):
    device_type_display = serializers.CharField(source="get_device_type_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    taxpayer_name = serializers.CharField(source="taxpayer.name", read_only=True, default=None)
    partner = serializers.SerializerMethodField()
    under_warranty = serializers.SerializerMethodField()
    next_statuses = serializers.SerializerMethodField()

    class Meta:
        model = Device
        fields = [
            "id",
            "service_unit",
            "device_type",
            "device_type_display",
            "serial",
            "batch",
            "status",
            "status_display",
            "status_changed_on",
            "taxpayer",
            "taxpayer_name",
            "sale",
            "sold_on",
            "warranty_until",
            "under_warranty",
            "paired_with",
            "partner",
            "next_statuses",
        ]
        read_only_fields = fields

    def get_partner(self, obj) -> int | None:
        partner = obj.partner
        return partner.pk if partner is not None else None

    def get_under_warranty(self, obj) -> bool:
        return obj.under_warranty(timezone.localdate())

    def get_next_statuses(self, obj) -> list[str]:
        """The moves POST …/move/ accepts now."""
        return obj.manual_moves


class DeviceDetailSerializer(DeviceSerializer):
    events = DeviceEventSerializer(many=True, read_only=True)

    class Meta(DeviceSerializer.Meta):
        fields = [*DeviceSerializer.Meta.fields, "events"]
        read_only_fields = fields


class MoveSerializer(StrictSerializer):
    to_status = serializers.ChoiceField(choices=DeviceStatus.choices)
    on = serializers.DateField(required=False, help_text="Default: today (Asia/Shanghai).")
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    from_status = serializers.ChoiceField(
        choices=DeviceStatus.choices,
        required=False,
        help_text="The state the caller saw; refused if the device has moved since.",
    )


class PairSerializer(StrictSerializer):
    device = ScopedRelatedField(Device, help_text="The id of the device to pair with.")


class DeviceViewSet(ScopedReadOnlyViewSet):
    """Devices in the caller's scope by serial number; move one along its lifecycle, pair a
    reporting disk with its main disk."""

    queryset = for_list(Device.objects.all())
    serializer_class = DeviceSerializer
    filterset_class = DeviceFilterSet
    cursor_ordering = ("serial", "id")

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("events")
        return queryset

    def get_serializer_class(self):
        return DeviceDetailSerializer if self.action == "retrieve" else DeviceSerializer

    def write_action(self):
        return CHANGE if self.action in ("move", "pair") else super().write_action()

    def _detail(self, device):
        device = self.get_queryset().prefetch_related("events").get(pk=device.pk)
        return Response(DeviceDetailSerializer(device).data)

    @extend_schema(request=MoveSerializer, responses=DeviceDetailSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        device = self.get_object()
        body = MoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if data["to_status"] == DeviceStatus.SOLD:
            # The sale is its own action (prices, the application form, the INS-06 clock).
            raise exceptions.ValidationError(
                {
                    "to_status": [
                        exceptions.ErrorDetail(
                            _("A device is sold through a sale, not moved to “sold”."),
                            "sell_through_sale",
                        )
                    ]
                }
            )
        if data.get("from_status") and data["from_status"] != device.status:
            raise DjangoValidationError(
                _("The device was moved by someone else meanwhile; reload it and try again."),
                code="moved_meanwhile",
            )
        move_device(
            device,
            data["to_status"],
            on=data.get("on") or timezone.localdate(),
            by=request.user,
            note=data.get("note", ""),
        )
        return self._detail(device)

    @extend_schema(request=PairSerializer, responses=DeviceDetailSerializer)
    @action(detail=True, methods=["post"])
    def pair(self, request, pk=None):
        device = self.get_object()
        body = PairSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        # A device out of reach is answered as an id that does not exist ("does_not_exist");
        # a device named as its own partner is refused by the action (not the right type).
        other = body.validated_data["device"]
        if device.device_type == DeviceType.REPORTING_DISK:
            reporting, main = device, other
        else:
            reporting, main = other, device
        pair_reporting_disk(reporting, main, by=request.user)
        return self._detail(device)


# --------------------------------------------------------------------------- stock batches
class StockBatchSerializer(StrictModelSerializer):
    # A unit out of reach is "does not exist", as an id that never was.
    service_unit = ScopedRelatedField(
        ServiceUnit, required=False, help_text="Default: the caller's own unit."
    )
    device_type_display = serializers.CharField(source="get_device_type_display", read_only=True)
    serials = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=100),
        write_only=True,
        allow_empty=False,
        max_length=MAX_SERIALS_PER_BATCH,
        help_text="The serial numbers received; an error names each bad one by its index.",
    )
    devices = serializers.SerializerMethodField()
    in_stock = serializers.SerializerMethodField()

    class Meta:
        model = StockBatch
        fields = [
            "id",
            "service_unit",
            "device_type",
            "device_type_display",
            "delivery_note",
            "supplier",
            "received_on",
            "serials",
            "devices",
            "in_stock",
        ]
        read_only_fields = ["id"]
        # The action checks the delivery note's uniqueness and says it in its own words.
        validators = []

    def _counts(self, obj) -> dict:
        counts = self.context.get("batch_counts")
        if counts is None:
            counts = batch_counts([obj.pk])
        return counts.get(obj.pk, {"total": 0, "in_stock": 0})

    def get_devices(self, obj) -> int:
        return self._counts(obj)["total"]

    def get_in_stock(self, obj) -> int:
        return self._counts(obj)["in_stock"]


def _by_index(exc: DjangoValidationError) -> exceptions.ValidationError:
    """receive_stock's errors with each bad serial under "serials.<index>"."""
    detail = {}
    for field, errors in exc.error_dict.items():
        for error in errors:
            params = error.params or {}
            if field == "serials" and "index" in params:
                key, message = f"serials.{params['index']}", str(params["problem"])
            else:
                key, message = field, error.messages[0]
            detail.setdefault(key, []).append(
                exceptions.ErrorDetail(message, error.code or "invalid")
            )
    return exceptions.ValidationError(detail)


class StockBatchViewSet(mixins.CreateModelMixin, ScopedReadOnlyViewSet):
    """Stock batches (devices received on one delivery note) in the caller's scope; POST
    receives a batch: every serial is checked, every bad one reported by its index, and
    nothing is received unless all are good."""

    queryset = StockBatch.objects.select_related("service_unit")
    serializer_class = StockBatchSerializer
    filterset_class = StockBatchFilterSet
    cursor_ordering = ("-received_on", "-id")

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        context = {
            **self.get_serializer_context(),
            "batch_counts": batch_counts(b.pk for b in page),
        }
        serializer = self.get_serializer_class()(page, many=True, context=context)
        return self.get_paginated_response(serializer.data)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        unit = data.get("service_unit")
        if unit is None:
            if request.user.service_unit_id is None:
                raise exceptions.ValidationError(
                    {
                        "service_unit": [
                            exceptions.ErrorDetail(_("Name the service unit."), "required")
                        ]
                    }
                )
            unit = request.user.service_unit
        try:
            batch = receive_stock(
                service_unit=unit,
                device_type=data["device_type"],
                delivery_note=data["delivery_note"],
                received_on=data["received_on"],
                supplier=data.get("supplier", ""),
                serials=data["serials"],
                by=request.user,
            )
        except DjangoValidationError as exc:
            if hasattr(exc, "error_dict"):
                raise _by_index(exc) from None
            raise
        return Response(self.get_serializer(batch).data, status=status.HTTP_201_CREATED)


# --------------------------------------------------------------------------- warranty
class WarrantyPolicySerializer(StrictModelSerializer):
    service_unit = ScopedRelatedField(
        ServiceUnit, required=False, help_text="Default: the caller's own unit."
    )
    device_type = serializers.ChoiceField(choices=DeviceType.choices)
    # Required: POST creates or changes a type's policy, so a default would silently reset an
    # existing policy's years.
    years = serializers.IntegerField(min_value=1, max_value=10)

    class Meta:
        model = WarrantyPolicy
        fields = ["id", "service_unit", "device_type", "years"]
        read_only_fields = ["id"]
        validators = []


class WarrantyYearsSerializer(StrictSerializer):
    years = serializers.IntegerField(min_value=1, max_value=10)


class WarrantyPolicyViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ScopedGenericViewSet,
):
    """Years of free repair of quality defects per unit and device type (3 where a unit sets
    none). The unit administrator sets them: POST creates or changes a type's policy."""

    queryset = WarrantyPolicy.objects.all()
    serializer_class = WarrantyPolicySerializer
    cursor_ordering = ("id",)
    http_method_names = ["get", "post", "patch", "head", "options"]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        unit = data.get("service_unit") or request.user.service_unit
        if unit is None:
            raise exceptions.ValidationError(
                {"service_unit": [exceptions.ErrorDetail(_("Name the service unit."), "required")]}
            )
        existed = WarrantyPolicy.objects.filter(
            service_unit=unit, device_type=data["device_type"]
        ).exists()
        policy = set_warranty_policy(
            service_unit=unit, device_type=data["device_type"], years=data["years"], by=request.user
        )
        return Response(
            self.get_serializer(policy).data,
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )

    @extend_schema(request=WarrantyYearsSerializer, responses=WarrantyPolicySerializer)
    def partial_update(self, request, *args, **kwargs):
        policy = self.get_object()
        body = WarrantyYearsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        policy = set_warranty_policy(
            service_unit=policy.service_unit,
            device_type=policy.device_type,
            years=body.validated_data["years"],
            by=request.user,
        )
        return Response(self.get_serializer(policy).data)
