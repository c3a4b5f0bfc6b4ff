"""API of the calendar: entered years and single-day corrections, plus a day look-up."""

from datetime import date

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import api_view
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from taxdesk.core.api.serializers import StrictModelSerializer, StrictSerializer
from taxdesk.core.api.viewsets import ScopedGenericViewSet
from taxdesk.worktime.calendar import FIRST_YEAR, LAST_YEAR

from .actions import add_day_override, enter_year, remove_day_override
from .models import CalendarDay, CalendarYear
from .store import current_calendar


class CalendarYearSerializer(StrictModelSerializer):
    holidays = serializers.ListField(child=serializers.DateField())
    workdays = serializers.ListField(child=serializers.DateField(), required=False)

    class Meta:
        model = CalendarYear
        fields = ["year", "holidays", "workdays", "notice", "updated_at"]
        read_only_fields = ["updated_at"]
        extra_kwargs = {"year": {"validators": []}}


class CalendarYearViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ScopedGenericViewSet,
):
    """Years entered by the supervision body; entering one replaces the official data."""

    queryset = CalendarYear.objects.all()
    serializer_class = CalendarYearSerializer
    lookup_field = "year"
    cursor_ordering = ("year",)
    http_method_names = ["get", "post", "put", "head", "options"]

    def _enter(self, data, status_code):
        row = enter_year(
            year=data["year"],
            holidays=data["holidays"],
            workdays=data.get("workdays", []),
            notice=data.get("notice", ""),
            by=self.request.user,
        )
        return Response(CalendarYearSerializer(row).data, status=status_code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if CalendarYear.objects.filter(year=serializer.validated_data["year"]).exists():
            raise ValidationError(
                {"year": ["This year is already entered; use PUT to correct it."]}, code="duplicate"
            )
        return self._enter(serializer.validated_data, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        row = self.get_object()
        serializer = self.get_serializer(row, data=request.data)
        serializer.is_valid(raise_exception=True)
        data = {**serializer.validated_data, "year": row.year}
        return self._enter(data, status.HTTP_200_OK)


class CalendarDaySerializer(StrictModelSerializer):
    class Meta:
        model = CalendarDay
        fields = ["id", "date", "is_workday", "reason"]


class CalendarDayViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    ScopedGenericViewSet,
):
    """Single-day corrections on top of the years."""

    queryset = CalendarDay.objects.all()
    serializer_class = CalendarDaySerializer
    cursor_ordering = ("date", "id")

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = add_day_override(
            day=data["date"],
            is_workday=data["is_workday"],
            reason=data["reason"],
            by=self.request.user,
        )

    def perform_destroy(self, instance):
        remove_day_override(instance, by=self.request.user)


class DayInfoSerializer(StrictSerializer):
    date = serializers.DateField()
    is_workday = serializers.BooleanField()
    provisional = serializers.BooleanField()


@extend_schema(
    parameters=[OpenApiParameter("date", date, required=True)],
    responses=DayInfoSerializer,
    summary="Whether a day is a working day in the calendar in force",
)
@api_view(["GET"])
def day_info(request):
    field = serializers.DateField()
    raw = request.query_params.get("date")
    if not raw:
        raise ValidationError({"date": ["This parameter is required."]}, code="required")
    try:
        day = field.run_validation(raw)
    except ValidationError as exc:
        # Name the parameter, as every other field error does.
        raise ValidationError({"date": exc.detail}) from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValidationError(
            {"date": [f"The calendar covers {FIRST_YEAR} to {LAST_YEAR}."]}, code="out_of_range"
        )
    cal = current_calendar()
    return Response(
        {"date": day, "is_workday": cal.is_workday(day), "provisional": cal.is_provisional(day)}
    )
