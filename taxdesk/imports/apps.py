from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    name = "taxdesk.imports"
    verbose_name = _("Imports")

    def ready(self):
        from taxdesk.core.choices import Role
        from taxdesk.core.navigation import NavItem, register

        def importers(user) -> bool:
            roles = (Role.UNIT_ADMIN, Role.SALES_CLERK, Role.DISPATCHER)
            return user.is_superuser or user.role in roles

        register(NavItem("imports", _("Import"), "imports:job_list", importers, 500))
