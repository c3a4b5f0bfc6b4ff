from django.contrib import admin

from taxdesk.core.admin_base import ReadOnlyAdmin

from .models import Device, DeviceEvent, StockBatch, WarrantyPolicy


class DeviceEventInline(admin.TabularInline):
    model = DeviceEvent
    extra = 0
    can_delete = False
    readonly_fields = ["on", "from_status", "to_status", "note", "by"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Device)
class DeviceAdmin(ReadOnlyAdmin):
    """Devices change only through their actions (receive, move, pair, sell)."""

    list_display = [
        "serial",
        "device_type",
        "status",
        "status_changed_on",
        "taxpayer",
        "service_unit",
    ]
    list_filter = ["device_type", "status", "service_unit"]
    search_fields = ["serial"]
    list_select_related = ["taxpayer", "service_unit"]
    inlines = [DeviceEventInline]


@admin.register(StockBatch)
class StockBatchAdmin(ReadOnlyAdmin):
    list_display = ["delivery_note", "device_type", "received_on", "supplier", "service_unit"]
    list_filter = ["device_type", "service_unit"]
    search_fields = ["delivery_note", "supplier"]


@admin.register(DeviceEvent)
class DeviceEventAdmin(ReadOnlyAdmin):
    list_display = ["device", "from_status", "to_status", "on", "by"]
    list_filter = ["to_status"]
    list_select_related = ["device", "by"]


@admin.register(WarrantyPolicy)
class WarrantyPolicyAdmin(ReadOnlyAdmin):
    list_display = ["service_unit", "device_type", "years"]
    list_filter = ["device_type", "service_unit"]
