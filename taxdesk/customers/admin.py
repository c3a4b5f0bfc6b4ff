from django.contrib import admin

from .models import Taxpayer


@admin.register(Taxpayer)
class TaxpayerAdmin(admin.ModelAdmin):
    list_display = ["number", "name", "service_unit", "tax_office"]
    list_filter = ["service_unit"]
    search_fields = ["number", "name"]
