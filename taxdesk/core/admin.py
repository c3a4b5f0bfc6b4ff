"""The Django admin, for platform administrators (superusers): tenancy set-up and users."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from .admin_base import ReadOnlyAdmin
from .forms import AdminLoginForm
from .models import AuditEntry, ServiceUnit, SignInCounter, SupervisionBody, TaxOffice, User

# The admin signs in through the same limits and says the same words when they refuse.
admin.site.login_form = AdminLoginForm


@admin.register(SupervisionBody)
class SupervisionBodyAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "region"]
    search_fields = ["name", "code"]


@admin.register(TaxOffice)
class TaxOfficeAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "city", "supervision_body"]
    list_filter = ["supervision_body"]
    search_fields = ["name", "code"]


@admin.register(ServiceUnit)
class ServiceUnitAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "city", "supervision_body", "is_active"]
    list_filter = ["supervision_body", "is_active"]
    search_fields = ["name", "code"]
    filter_horizontal = ["tax_offices"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "full_name", "role", "service_unit", "is_active"]
    list_filter = ["role", "service_unit", "is_active", "is_superuser"]
    search_fields = ["username", "full_name", "mobile"]
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (
            _("Role in TaxDesk"),
            {
                "fields": (
                    "full_name",
                    "mobile",
                    "role",
                    "service_unit",
                    "supervision_body",
                    "tax_office",
                    "taxpayer",
                )
            },
        ),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        (
            _("Role in TaxDesk"),
            {"fields": ("role", "service_unit", "supervision_body", "tax_office", "taxpayer")},
        ),
    )
    autocomplete_fields = ["taxpayer"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_repr", "action", "content_type", "object_repr", "ip"]
    list_filter = ["action", "source"]
    search_fields = ["actor_repr", "object_repr", "request_id"]


@admin.register(SignInCounter)
class SignInCounterAdmin(ReadOnlyAdmin):
    """The sign-in counters, to see who is locked out and from where (locks end by themselves)."""

    list_display = ["kind", "username", "address", "attempts", "last_at"]
    list_filter = ["kind"]
    search_fields = ["username", "address"]
