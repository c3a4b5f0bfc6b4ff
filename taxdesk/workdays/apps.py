from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkdaysConfig(AppConfig):
    name = "taxdesk.workdays"
    verbose_name = _("Working-day calendar")

    def ready(self):
        from taxdesk.core.navigation import NavItem, register, staff_and_officers

        register(
            NavItem(
                "calendar", _("Working-day calendar"), "workdays:index", staff_and_officers, 800
            )
        )
