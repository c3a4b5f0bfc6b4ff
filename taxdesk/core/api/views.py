"""API endpoints of the core: the current user and the service units."""

from django.contrib.auth.signals import user_logged_in
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import api_view
from rest_framework.response import Response

from taxdesk.core.actions import UNIT_SETTINGS, update_service_unit
from taxdesk.core.choices import Role
from taxdesk.core.filtersets import ServiceUnitFilterSet
from taxdesk.core.models import ServiceUnit, User
from taxdesk.core.navigation import menu_for

from .serializers import StrictAuthTokenSerializer, StrictModelSerializer
from .viewsets import ScopedGenericViewSet


class MeSerializer(StrictModelSerializer):
    # A superuser has no role: "" (the schema says so, as the answer does).
    role = serializers.ChoiceField(choices=Role.choices, allow_blank=True, read_only=True)
    role_display = serializers.CharField(source="get_role_display", read_only=True)
    menu = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "full_name",
            "role",
            "role_display",
            "is_superuser",
            "service_unit",
            "supervision_body",
            "tax_office",
            "taxpayer",
            "menu",
        ]
        read_only_fields = fields  # an answer only: nothing is written through it

    def get_menu(self, user) -> list[str]:
        return [item["key"] for item in menu_for(user)]


@extend_schema(responses=MeSerializer, summary="The signed-in user, their role and tenant")
@api_view(["GET"])
def me(request):
    return Response(MeSerializer(request.user).data)


class ServiceUnitSerializer(StrictModelSerializer):
    supervision_body_name = serializers.CharField(source="supervision_body.name", read_only=True)

    class Meta:
        model = ServiceUnit
        fields = [
            "id",
            "name",
            "code",
            "city",
            "address",
            "hotline",
            "supervision_body",
            "supervision_body_name",
            "tax_offices",
            "working_hours",
            "entry_deadline_workdays",
            "is_active",
        ]
        read_only_fields = [
            "id",
            "name",
            "code",
            "city",
            "supervision_body",
            "tax_offices",
            "is_active",
        ]


class ServiceUnitViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, ScopedGenericViewSet
):
    """Service units in the caller's scope; a unit administrator changes their unit's settings."""

    queryset = ServiceUnit.objects.select_related("supervision_body").prefetch_related(
        "tax_offices"
    )
    serializer_class = ServiceUnitSerializer
    filterset_class = ServiceUnitFilterSet
    cursor_ordering = ("name", "id")
    http_method_names = ["get", "patch", "head", "options"]

    def perform_update(self, serializer):
        changes = {k: v for k, v in serializer.validated_data.items() if k in UNIT_SETTINGS}
        update_service_unit(serializer.instance, by=self.request.user, **changes)


class TokenView(ObtainAuthToken):
    """Exchange a user name and password for an API token; recorded as a login."""

    serializer_class = StrictAuthTokenSerializer

    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        token, _created = Token.objects.get_or_create(user=user)
        user_logged_in.send(sender=type(user), request=request, user=user)
        return Response({"token": token.key})
