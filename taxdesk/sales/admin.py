from django.contrib import admin

from taxdesk.core.admin_base import ReadOnlyAdmin

from .models import Sale, SaleLine


class SaleLineInline(admin.TabularInline):
    model = SaleLine
    extra = 0
    can_delete = False
    readonly_fields = ["device", "list_price", "price", "price_note"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Sale)
class SaleAdmin(ReadOnlyAdmin):
    """Sales change only through their action (sell_devices)."""

    list_display = ["number", "sold_on", "taxpayer", "service_unit", "sold_by"]
    list_filter = ["service_unit"]
    search_fields = ["number", "taxpayer__number"]
    list_select_related = ["taxpayer", "service_unit", "sold_by"]
    inlines = [SaleLineInline]
