from django.apps import AppConfig, apps
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "taxdesk.core"
    verbose_name = _("Tenancy, users and audit")

    def ready(self):
        from . import audit, signals  # noqa: F401  (signal receivers)

        audit.connect_delete_receivers(apps.get_models())
