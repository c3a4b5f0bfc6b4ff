from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_name_index(sender, using, **kwargs):
    from django.db import connections

    from .search_index import ensure_name_index

    ensure_name_index(connections[using])


class CustomersConfig(AppConfig):
    name = "taxdesk.customers"
    verbose_name = _("Taxpayers")

    def ready(self):
        from taxdesk.core.navigation import NavItem, register, staff_and_officers

        register(
            NavItem("taxpayers", _("Taxpayers"), "customers:taxpayer_list", staff_and_officers, 100)
        )
        # A migration that rebuilds the taxpayer table on SQLite drops the name index's
        # triggers; they come back after every migrate (see search_index).
        post_migrate.connect(_ensure_name_index, sender=self, dispatch_uid="customers-name-index")
