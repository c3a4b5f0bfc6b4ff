from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClocksConfig(AppConfig):
    name = "taxdesk.clocks"
    verbose_name = _("Clocks")

    def ready(self):
        from taxdesk.core.navigation import NavItem, everyone, register

        register(NavItem("clocks", _("Clocks"), "clocks:list", everyone, 600))
        from taxdesk.core.signals import working_hours_changed
        from taxdesk.workdays.signals import calendar_changed

        from . import receivers

        calendar_changed.connect(receivers.calendar_changed, dispatch_uid="clocks-calendar")
        working_hours_changed.connect(receivers.working_hours_changed, dispatch_uid="clocks-hours")
