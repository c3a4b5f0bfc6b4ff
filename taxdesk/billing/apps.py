from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "taxdesk.billing"
    verbose_name = _("Fees, charges and contracts")

    def ready(self):
        from taxdesk.core.navigation import NavItem, register, staff_and_officers

        register(
            NavItem(
                "billing", _("Fees and contracts"), "billing:charge_list", staff_and_officers, 400
            )
        )
        from . import extensions

        extensions.register()
