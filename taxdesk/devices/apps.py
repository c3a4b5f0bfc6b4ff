from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DevicesConfig(AppConfig):
    name = "taxdesk.devices"
    verbose_name = _("Devices")

    def ready(self):
        from taxdesk.core.navigation import NavItem, register, staff_and_officers

        register(NavItem("devices", _("Devices"), "devices:device_list", staff_and_officers, 200))
        from . import extensions

        extensions.register()
