from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "taxdesk.billing"
    verbose_name = _("Fees, charges and contracts")

    def ready(self):
        from . import extensions

        extensions.register()
