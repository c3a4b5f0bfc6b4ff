from django.contrib import admin

from taxdesk.core.admin_base import ReadOnlyAdmin

from .models import Contact, Taxpayer, TaxpayerChange


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    can_delete = False
    fields = readonly_fields = ["name", "role", "mobile", "landline"]

    def has_add_permission(self, request, obj=None):
        return False


class TaxpayerChangeInline(admin.TabularInline):
    model = TaxpayerChange
    extra = 0
    can_delete = False
    fields = readonly_fields = ["effective_on", "kind", "before", "after", "note", "by"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Taxpayer)
class TaxpayerAdmin(ReadOnlyAdmin):
    """Taxpayers change only through the actions (pages, API, imports)."""

    list_display = ["number", "name", "service_unit", "tax_office", "status", "entered_at"]
    list_filter = ["status", "taxpayer_type", "service_unit"]
    search_fields = ["number", "name"]
    list_select_related = ["service_unit", "tax_office"]
    inlines = [ContactInline, TaxpayerChangeInline]


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ["name", "taxpayer", "role", "mobile", "landline"]
    list_filter = ["role"]
    search_fields = ["name", "mobile", "taxpayer__number"]
    list_select_related = ["taxpayer"]


@admin.register(TaxpayerChange)
class TaxpayerChangeAdmin(ReadOnlyAdmin):
    list_display = ["taxpayer", "kind", "before", "after", "effective_on", "by"]
    list_filter = ["kind"]
    search_fields = ["taxpayer__number", "taxpayer__name"]
    list_select_related = ["taxpayer", "by"]
