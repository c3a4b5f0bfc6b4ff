from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "taxdesk.sales"
    verbose_name = _("Sales")

    def ready(self):
        from taxdesk.billing.pricing import register_sold_price_reader

        from . import extensions
        from .queries import sold_price

        register_sold_price_reader(sold_price)
        extensions.register()
