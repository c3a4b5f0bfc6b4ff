"""Read-only admin: billing records change only through their actions, and none is deleted."""

from django.contrib import admin

from taxdesk.core.admin_base import ReadOnlyAdmin

from .models import Charge, FeeItem, FeeSchedule, ProrationRate, ServiceContract


class FeeItemInline(admin.TabularInline):
    model = FeeItem
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "device_type", "name", "amount"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(FeeSchedule)
class FeeScheduleAdmin(ReadOnlyAdmin):
    list_display = ["name", "service_unit", "valid_from", "valid_to", "approved_on"]
    list_filter = ["service_unit"]
    inlines = [FeeItemInline]


@admin.register(ProrationRate)
class ProrationRateAdmin(ReadOnlyAdmin):
    list_display = ["service_unit", "month", "percent"]
    list_filter = ["service_unit"]


@admin.register(ServiceContract)
class ServiceContractAdmin(ReadOnlyAdmin):
    list_display = ["number", "taxpayer", "starts_on", "ends_on", "annual_fee", "state"]
    list_filter = ["state", "service_unit"]
    search_fields = ["number", "taxpayer__number", "taxpayer__name"]
    raw_id_fields = ["taxpayer", "renewal_of"]


@admin.register(Charge)
class ChargeAdmin(ReadOnlyAdmin):
    list_display = [
        "service_date",
        "taxpayer",
        "description",
        "kind",
        "amount",
        "payment_state",
        "invoice_number",
    ]
    list_filter = ["kind", "fee_kind", "payment_state", "service_unit"]
    search_fields = ["taxpayer__number", "invoice_number"]
    raw_id_fields = ["taxpayer", "device", "sale", "contract", "corrects", "item"]
