"""API of fee schedules, charges and contracts: the same scoping, filters and actions as the
pages. Serializers check the shape of a request; the actions check the rules (their errors
become 400s in the API's one error shape)."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from taxdesk.core.api.fields import ScopedRelatedField
from taxdesk.core.api.serializers import StrictModelSerializer, StrictSerializer
from taxdesk.core.api.viewsets import ScopedGenericViewSet
from taxdesk.core.models import ServiceUnit
from taxdesk.core.scoping import CHANGE
from taxdesk.customers.models import Taxpayer
from taxdesk.devices.choices import DeviceType
from taxdesk.devices.models import Device

from . import actions
from .choices import FeeKind
from .filtersets import ChargeFilterSet, ContractFilterSet, FeeScheduleFilterSet
from .models import Charge, FeeItem, FeeSchedule, ServiceContract

MONEY = {"max_digits": 12, "decimal_places": 2}


# ------------------------------------------------------------------------- fee schedules
class FeeItemSerializer(StrictModelSerializer):
    class Meta:
        model = FeeItem
        fields = ["id", "kind", "device_type", "name", "amount"]
        read_only_fields = fields


class FeeScheduleSerializer(StrictModelSerializer):
    service_unit_name = serializers.CharField(source="service_unit.name", read_only=True)
    items = FeeItemSerializer(many=True, read_only=True)

    class Meta:
        model = FeeSchedule
        fields = ["id", "service_unit", "service_unit_name", *actions.SCHEDULE_FIELDS, "items"]
        read_only_fields = fields


class FeeItemInputSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=FeeKind.choices)
    device_type = serializers.ChoiceField(
        choices=DeviceType.choices, required=False, allow_blank=True, default=""
    )
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    amount = serializers.DecimalField(**MONEY)


class FeeScheduleCreateSerializer(StrictSerializer):
    service_unit = ScopedRelatedField(
        ServiceUnit,
        action=CHANGE,
        required=False,
        help_text="Default: the caller's own unit.",
    )
    name = serializers.CharField(max_length=100)
    valid_from = serializers.DateField()
    valid_to = serializers.DateField(required=False, allow_null=True, default=None)
    supervision_approval = serializers.CharField(max_length=100)
    tax_approval = serializers.CharField(max_length=100)
    approved_on = serializers.DateField()
    items = FeeItemInputSerializer(many=True)

    def validate(self, data):
        if data.get("service_unit") is None:
            user = self.context["request"].user
            if user.service_unit is None:
                raise serializers.ValidationError(
                    {"service_unit": ["Name the service unit."]}, code="required"
                )
            data["service_unit"] = user.service_unit
        return data


class CloseScheduleSerializer(StrictSerializer):
    valid_to = serializers.DateField()


class FeeScheduleViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ScopedGenericViewSet
):
    """Approved fee schedules (收费标准) in the caller's scope, latest first (MNT-13)."""

    queryset = FeeSchedule.objects.select_related("service_unit").prefetch_related("items")
    serializer_class = FeeScheduleSerializer
    filterset_class = FeeScheduleFilterSet
    cursor_ordering = ("-valid_from", "-id")

    def write_action(self):
        return CHANGE if self.action == "close" else super().write_action()

    @extend_schema(request=FeeScheduleCreateSerializer, responses={201: FeeScheduleSerializer})
    def create(self, request, *args, **kwargs):
        body = FeeScheduleCreateSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        schedule = actions.create_fee_schedule(**body.validated_data, by=request.user)
        schedule = self.get_queryset().get(pk=schedule.pk)
        return Response(self.get_serializer(schedule).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CloseScheduleSerializer, responses=FeeScheduleSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        schedule = self.get_object()
        body = CloseScheduleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        actions.close_fee_schedule(schedule, body.validated_data["valid_to"], by=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=schedule.pk)).data)


# ------------------------------------------------------------------------------ charges
class ChargeSerializer(StrictModelSerializer):
    taxpayer_number = serializers.CharField(source="taxpayer.number", read_only=True)
    taxpayer_name = serializers.CharField(source="taxpayer.name", read_only=True)
    schedule = serializers.IntegerField(source="item.schedule_id", read_only=True, default=None)

    class Meta:
        model = Charge
        fields = [
            "id",
            "service_unit",
            "taxpayer",
            "taxpayer_number",
            "taxpayer_name",
            "kind",
            "fee_kind",
            "schedule",
            "item",
            "description",
            "amount",
            "service_date",
            "device",
            "sale",
            "contract",
            "corrects",
            "payment_state",
            "paid_on",
            "invoice_code",
            "invoice_number",
            "invoice_date",
            "created_at",
        ]
        read_only_fields = fields


class ChargeCreateSerializer(StrictSerializer):
    taxpayer = ScopedRelatedField(Taxpayer)
    fee_kind = serializers.ChoiceField(choices=FeeKind.choices)
    service_date = serializers.DateField()
    device = ScopedRelatedField(Device, required=False, allow_null=True, default=None)
    contract = ScopedRelatedField(
        ServiceContract,
        required=False,
        allow_null=True,
        default=None,
        help_text="Default for a maintenance fee: the contract covering the service date.",
    )
    sale = ScopedRelatedField("sales.Sale", required=False, allow_null=True, default=None)
    item = ScopedRelatedField(
        FeeItem, required=False, allow_null=True, default=None, help_text="A repair item."
    )
    description = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )


class PaymentSerializer(StrictSerializer):
    paid_on = serializers.DateField()


class InvoiceSerializer(StrictSerializer):
    invoice_code = serializers.CharField(
        max_length=20, required=False, allow_blank=True, default=""
    )
    invoice_number = serializers.CharField(max_length=30)
    invoice_date = serializers.DateField()


class CorrectionSerializer(StrictSerializer):
    new_amount = serializers.DecimalField(**MONEY)
    reason = serializers.CharField(max_length=180)


class RefundSerializer(StrictSerializer):
    amount = serializers.DecimalField(**MONEY)
    reason = serializers.CharField(max_length=180)
    on = serializers.DateField()


CHARGE_ACTIONS = ("pay", "invoice", "correct", "refund")


class ChargeViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ScopedGenericViewSet
):
    """Charges, corrections and refunds in the caller's scope, latest service date first.

    Nothing is deleted: a correction or a refund is a new entry pointing at its charge.
    """

    queryset = Charge.objects.select_related("taxpayer", "item")
    serializer_class = ChargeSerializer
    filterset_class = ChargeFilterSet
    cursor_ordering = ("-service_date", "-id")

    def write_action(self):
        return CHANGE if self.action in CHARGE_ACTIONS else super().write_action()

    def _answer(self, charge, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=charge.pk)).data, code)

    @extend_schema(request=ChargeCreateSerializer, responses={201: ChargeSerializer})
    def create(self, request, *args, **kwargs):
        body = ChargeCreateSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        charge = actions.create_charge(**body.validated_data, by=request.user)
        return self._answer(charge, status.HTTP_201_CREATED)

    @extend_schema(request=PaymentSerializer, responses=ChargeSerializer)
    @action(detail=True, methods=["post"])
    def pay(self, request, pk=None):
        charge = self.get_object()
        body = PaymentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._answer(actions.record_payment(charge, **body.validated_data, by=request.user))

    @extend_schema(request=InvoiceSerializer, responses=ChargeSerializer)
    @action(detail=True, methods=["post"])
    def invoice(self, request, pk=None):
        charge = self.get_object()
        body = InvoiceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._answer(actions.record_invoice(charge, **body.validated_data, by=request.user))

    @extend_schema(request=CorrectionSerializer, responses={201: ChargeSerializer})
    @action(detail=True, methods=["post"])
    def correct(self, request, pk=None):
        charge = self.get_object()
        body = CorrectionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        entry = actions.correct_charge(charge, **body.validated_data, by=request.user)
        return self._answer(entry, status.HTTP_201_CREATED)

    @extend_schema(request=RefundSerializer, responses={201: ChargeSerializer})
    @action(detail=True, methods=["post"])
    def refund(self, request, pk=None):
        charge = self.get_object()
        body = RefundSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        entry = actions.refund_charge(charge, **body.validated_data, by=request.user)
        return self._answer(entry, status.HTTP_201_CREATED)


# ----------------------------------------------------------------------------- contracts
class ContractSerializer(StrictModelSerializer):
    taxpayer_number = serializers.CharField(source="taxpayer.number", read_only=True)
    taxpayer_name = serializers.CharField(source="taxpayer.name", read_only=True)
    renewal = serializers.SerializerMethodField()
    pdf = serializers.SerializerMethodField()

    class Meta:
        model = ServiceContract
        fields = [
            "id",
            "number",
            "service_unit",
            "taxpayer",
            "taxpayer_number",
            "taxpayer_name",
            "starts_on",
            "ends_on",
            "annual_fee",
            "state",
            "signed_on",
            "refused_on",
            "refusal_note",
            "renewal_of",
            "renewal",
            "pdf",
        ]
        read_only_fields = fields

    def get_renewal(self, contract) -> int | None:
        try:
            return contract.renewal.pk
        except ServiceContract.DoesNotExist:
            return None

    def get_pdf(self, contract) -> str:
        return reverse("billing:contract_pdf", args=[contract.pk])


class ContractCreateSerializer(StrictSerializer):
    taxpayer = ScopedRelatedField(Taxpayer)
    starts_on = serializers.DateField()
    ends_on = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="Default: one year."
    )
    annual_fee = serializers.DecimalField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Default: the approved maintenance fee in force on starts_on.",
        **MONEY,
    )


class SignSerializer(StrictSerializer):
    signed_on = serializers.DateField()


class RefusalSerializer(StrictSerializer):
    refused_on = serializers.DateField()
    note = serializers.CharField(max_length=200)


class RenewSerializer(StrictSerializer):
    years = serializers.IntegerField(min_value=1, max_value=actions.MAX_CONTRACT_YEARS, default=1)


CONTRACT_ACTIONS = ("sign", "refuse", "renew")


class ContractViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ScopedGenericViewSet
):
    """Service contracts (技术服务合同) in the caller's scope, latest first (INS-07)."""

    queryset = ServiceContract.objects.select_related("taxpayer", "renewal")
    serializer_class = ContractSerializer
    filterset_class = ContractFilterSet

    @property
    def cursor_ordering(self):
        # "Ending in the next N days" lists the soonest first, as the page does.
        if self.request.query_params.get("ending_within"):
            return ("ends_on", "id")
        return ("-starts_on", "-id")

    def write_action(self):
        return CHANGE if self.action in CONTRACT_ACTIONS else super().write_action()

    def _answer(self, contract, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=contract.pk)).data, code)

    @extend_schema(request=ContractCreateSerializer, responses={201: ContractSerializer})
    def create(self, request, *args, **kwargs):
        body = ContractCreateSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        contract = actions.create_contract(**body.validated_data, by=request.user)
        return self._answer(contract, status.HTTP_201_CREATED)

    @extend_schema(request=SignSerializer, responses=ContractSerializer)
    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None):
        contract = self.get_object()
        body = SignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._answer(actions.sign_contract(contract, **body.validated_data, by=request.user))

    @extend_schema(request=RefusalSerializer, responses=ContractSerializer)
    @action(detail=True, methods=["post"])
    def refuse(self, request, pk=None):
        contract = self.get_object()
        body = RefusalSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._answer(
            actions.record_refusal(contract, **body.validated_data, by=request.user)
        )

    @extend_schema(request=RenewSerializer, responses={201: ContractSerializer})
    @action(detail=True, methods=["post"])
    def renew(self, request, pk=None):
        contract = self.get_object()
        body = RenewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        renewal = actions.renew_contract(contract, **body.validated_data, by=request.user)
        return self._answer(renewal, status.HTTP_201_CREATED)
