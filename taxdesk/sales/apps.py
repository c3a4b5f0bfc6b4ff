from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "taxdesk.sales"
    verbose_name = _("Sales")

    def ready(self):
        from taxdesk.core.navigation import NavItem, register, staff_and_officers

        register(NavItem("sales", _("Sales"), "sales:sale_list", staff_and_officers, 300))
        from taxdesk.billing.pricing import register_sold_price_reader

        from . import extensions
        from .queries import sold_price

        register_sold_price_reader(sold_price)
        extensions.register()
