from django.contrib import admin

from taxdesk.core.admin_base import ReadOnlyAdmin

from .models import CalendarDay, CalendarYear


@admin.register(CalendarYear)
class CalendarYearAdmin(ReadOnlyAdmin):
    """Years are entered on the calendar page, which also moves the open clocks."""

    list_display = ["year", "notice", "updated_at"]


@admin.register(CalendarDay)
class CalendarDayAdmin(ReadOnlyAdmin):
    list_display = ["date", "is_workday", "reason"]
