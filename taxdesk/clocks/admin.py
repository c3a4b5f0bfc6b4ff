from django.contrib import admin

from taxdesk.core.admin_base import ReadOnlyAdmin

from .models import Deadline, DeadlinePause


class DeadlinePauseInline(admin.TabularInline):
    model = DeadlinePause
    extra = 0
    can_delete = False
    readonly_fields = ["reason", "evidence", "started_at", "ended_at", "paused_by"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Deadline)
class DeadlineAdmin(ReadOnlyAdmin):
    """Clocks start and stop through the actions of the records they time."""

    list_display = ["rule", "service_unit", "started_at", "due_at", "status", "provisional"]
    list_filter = ["rule", "status", "provisional", "service_unit"]
    inlines = [DeadlinePauseInline]
