from django.contrib import admin

from taxdesk.core.admin_base import ReadOnlyAdmin

from .models import ImportJob


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    """Jobs are made and run through their actions (the import pages and the API)."""

    list_display = [
        "id",
        "service_unit",
        "kind",
        "original_name",
        "state",
        "total_rows",
        "error_count",
        "created_at",
    ]
    list_filter = ["kind", "state", "service_unit"]
    exclude = ["errors"]
