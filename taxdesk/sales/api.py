"""API of the sales: list and read sales; POST sells devices to a taxpayer."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from taxdesk.core.api.fields import PersonalJSONField, ScopedRelatedField
from taxdesk.core.api.serializers import StrictModelSerializer, StrictSerializer
from taxdesk.core.api.viewsets import ScopedGenericViewSet
from taxdesk.customers.models import Taxpayer

from .actions import sell_devices
from .filtersets import SaleFilterSet
from .models import Sale, SaleLine


class SaleLineSerializer(StrictModelSerializer):
    serial = serializers.CharField(source="device.serial")
    device_type = serializers.CharField(source="device.device_type")

    class Meta:
        model = SaleLine
        fields = ["serial", "device_type", "list_price", "price", "price_note"]


class SaleSerializer(StrictModelSerializer):
    lines = SaleLineSerializer(many=True, read_only=True)
    # The application form's snapshot: its contacts' phones masked for the roles without
    # need (core.privacy).
    application = PersonalJSONField(read_only=True)

    class Meta:
        model = Sale
        fields = [
            "id",
            "number",
            "service_unit",
            "taxpayer",
            "sold_on",
            "sold_by",
            "lines",
            "application",
        ]
        read_only_fields = fields


class SaleRequestSerializer(StrictSerializer):
    # A taxpayer out of reach is answered as an id that does not exist: 400, "does_not_exist".
    taxpayer = ScopedRelatedField(Taxpayer)
    serials = serializers.ListField(
        child=serializers.CharField(max_length=100),
        allow_empty=False,
        help_text="Serial numbers as typed: full-width digits, spaces and dashes are read away.",
    )
    sold_at = serializers.DateTimeField()
    remarks = serializers.CharField(max_length=200, required=False, allow_blank=True)


class SaleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedGenericViewSet):
    """Sales in the caller's scope; POST records a sale (INS-05, INS-06)."""

    queryset = Sale.objects.prefetch_related("lines__device")
    serializer_class = SaleSerializer
    filterset_class = SaleFilterSet
    cursor_ordering = ("-sold_on", "-id")

    @extend_schema(request=SaleRequestSerializer, responses={201: SaleSerializer})
    def create(self, request):
        body = SaleRequestSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = body.validated_data
        sale = sell_devices(
            taxpayer=data["taxpayer"],
            serials=data["serials"],
            sold_at=data["sold_at"],
            by=request.user,
            application={"remarks": data.get("remarks", "")},
        )
        return Response(self.get_serializer(sale).data, status=status.HTTP_201_CREATED)
