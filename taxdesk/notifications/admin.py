from django.contrib import admin

from taxdesk.core.admin_base import ReadOnlyAdmin

from .models import Message, MessageAttempt, MessageTemplate


class MessageAttemptInline(admin.TabularInline):
    model = MessageAttempt
    extra = 0
    can_delete = False
    readonly_fields = [
        "number",
        "started_at",
        "finished_at",
        "backend",
        "outcome",
        "status_code",
        "response",
        "error",
    ]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    """Messages change only through their actions (send_message, deliver, retry_message)."""

    list_display = ["created_at", "channel", "to", "status", "attempts", "service_unit"]
    list_filter = ["channel", "status", "service_unit"]
    search_fields = ["to", "recipient_name", "idempotency_key"]
    list_select_related = ["service_unit"]
    inlines = [MessageAttemptInline]


@admin.register(MessageTemplate)
class MessageTemplateAdmin(ReadOnlyAdmin):
    """Templates change through their pages (update_template, reset_template)."""

    list_display = ["key", "service_unit", "updated_at", "updated_by"]
    list_filter = ["key", "service_unit"]
    list_select_related = ["service_unit", "updated_by"]
