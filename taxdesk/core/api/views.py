"""API endpoints of the core: the current user and the service units."""

from django.contrib.auth.signals import user_logged_in
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import api_view
from rest_framework.response import Response

from taxdesk.core.actions import UNIT_SETTINGS, update_service_unit
from taxdesk.core.auth import Lockout, lockout_of
from taxdesk.core.choices import Role
from taxdesk.core.filtersets import ServiceUnitFilterSet
from taxdesk.core.forms import lockout_error
from taxdesk.core.models import ServiceUnit, User
from taxdesk.core.navigation import menu_for

from .serializers import StrictAuthTokenSerializer, StrictModelSerializer
from .throttling import SignInRateThrottle
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
            "session_idle_minutes",
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


class SignInLocked(exceptions.APIException):
    """A token request refused by the sign-in limits: 429 with Retry-After."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "login_locked"

    def __init__(self, lockout: Lockout):
        error = lockout_error(lockout)
        code = "address_locked" if lockout.kind == "address" else "login_locked"
        super().__init__(detail=error.messages[0], code=code)
        self.wait = lockout.seconds  # DRF sends it as Retry-After


class TokenRequestSerializer(StrictAuthTokenSerializer):
    """A user name and password only; a refusal while the name or address is locked says so."""

    def validate(self, attrs):
        try:
            return super().validate(attrs)
        except serializers.ValidationError:
            lockout = lockout_of(self.context["request"])
            if lockout is not None:
                raise SignInLocked(lockout) from None
            raise


class TokenView(ObtainAuthToken):
    """Exchange a user name and password for an API token; recorded as a login.

    Throttled per client address (``DEFAULT_THROTTLE_RATES["sign-in"]``) before any password
    is checked, and behind the same sign-in limits as the login page.
    """

    serializer_class = TokenRequestSerializer
    throttle_classes = [SignInRateThrottle]

    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        token, _created = Token.objects.get_or_create(user=user)
        user_logged_in.send(sender=type(user), request=request, user=user)
        return Response({"token": token.key})
