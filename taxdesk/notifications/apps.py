from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save
from django.utils.translation import gettext_lazy as _


def _unit_created(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        from .actions import ensure_templates

        ensure_templates([instance])


def _migrated(sender, apps=None, **kwargs):
    from .actions import ensure_templates

    if apps is not None:
        try:
            apps.get_model("notifications", "MessageTemplate")
        except LookupError:
            return  # migrated back to before the messages: nothing to fill
    # Kinds added by a new release (or an app's register_kind) reach every existing unit.
    ensure_templates()


class NotificationsConfig(AppConfig):
    name = "taxdesk.notifications"
    verbose_name = _("Messages")

    def ready(self):
        from taxdesk.core.choices import Role
        from taxdesk.core.models import ServiceUnit
        from taxdesk.core.navigation import NavItem, register

        post_save.connect(_unit_created, sender=ServiceUnit, dispatch_uid="notifications-unit")
        post_migrate.connect(_migrated, sender=self, dispatch_uid="notifications-migrated")

        def message_readers(user) -> bool:
            readers = (Role.UNIT_ADMIN, Role.DISPATCHER, Role.SUPERVISION_OFFICER)
            return user.is_superuser or user.role in readers

        register(
            NavItem("messages", _("Messages"), "notifications:message_list", message_readers, 650)
        )
