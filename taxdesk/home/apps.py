from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HomeConfig(AppConfig):
    """The top of the house: pages that gather the figures of the apps below."""

    name = "taxdesk.home"
    verbose_name = _("Home")
