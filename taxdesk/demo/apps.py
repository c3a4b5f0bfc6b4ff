from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demo data (`manage.py load_demo`): built through every app's actions. It sits
    above everything, so it may import every app; nothing imports it."""

    name = "taxdesk.demo"
    verbose_name = _("Demo")
