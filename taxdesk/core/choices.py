"""Roles and the kinds of audit entries."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    UNIT_ADMIN = "unit_admin", _("Service unit administrator")
    DISPATCHER = "dispatcher", _("Service desk / dispatcher")
    TECHNICIAN = "technician", _("Field technician")
    TRAINER = "trainer", _("Trainer")
    SALES_CLERK = "sales_clerk", _("Sales / issuance clerk")
    REPAIR_TECHNICIAN = "repair_technician", _("Repair technician")
    SUPERVISION_OFFICER = "supervision_officer", _("Supervision officer")
    TAX_OFFICER = "tax_officer", _("Tax officer")
    TAXPAYER = "taxpayer", _("Taxpayer user")


# Roles whose holder works for exactly one service unit.
UNIT_ROLES = frozenset(
    {
        Role.UNIT_ADMIN,
        Role.DISPATCHER,
        Role.TECHNICIAN,
        Role.TRAINER,
        Role.SALES_CLERK,
        Role.REPAIR_TECHNICIAN,
    }
)


class AuditAction(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Changed")
    DELETE = "delete", _("Deleted")
    LOGIN = "login", _("Logged in")
    LOGIN_FAILED = "login_failed", _("Failed login")
    LOGOUT = "logout", _("Logged out")
    # A supervision or tax officer read a taxpayer's full record (docs/decisions/0008).
    VIEW = "view", _("Viewed")


class AuditSource(models.TextChoices):
    WEB = "web", _("Web page")
    API = "api", _("API")
    COMMAND = "command", _("Command")
    TASK = "task", _("Background job")
