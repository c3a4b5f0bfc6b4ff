"""The menu, by role: each item names who sees it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .choices import Role


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str | Promise
    url_name: str
    shows_to: Callable[[object], bool]


def _everyone(user) -> bool:
    return True


def _staff_and_officers(user) -> bool:
    return user.is_superuser or user.role != Role.TAXPAYER


def _importers(user) -> bool:
    return user.is_superuser or user.role in (Role.UNIT_ADMIN, Role.SALES_CLERK, Role.DISPATCHER)


def _message_readers(user) -> bool:
    return user.is_superuser or user.role in (
        Role.UNIT_ADMIN,
        Role.DISPATCHER,
        Role.SUPERVISION_OFFICER,
    )


MENU = (
    NavItem("home", _("Home"), "home:home", _everyone),
    NavItem("taxpayers", _("Taxpayers"), "customers:taxpayer_list", _staff_and_officers),
    NavItem("devices", _("Devices"), "devices:device_list", _staff_and_officers),
    NavItem("sales", _("Sales"), "sales:sale_list", _staff_and_officers),
    NavItem("billing", _("Fees and contracts"), "billing:charge_list", _staff_and_officers),
    NavItem("imports", _("Import"), "imports:job_list", _importers),
    NavItem("clocks", _("Clocks"), "clocks:list", _everyone),
    NavItem("messages", _("Messages"), "notifications:message_list", _message_readers),
    NavItem("units", _("Service units"), "core:unit_list", _everyone),
    NavItem("calendar", _("Working-day calendar"), "workdays:index", _staff_and_officers),
    NavItem("audit", _("Audit trail"), "core:audit", lambda user: user.can_search_audit),
    NavItem("api", _("API"), "api-docs", _staff_and_officers),
    NavItem("admin", _("Administration"), "admin:index", lambda user: user.is_superuser),
)


def menu_for(user) -> list[dict]:
    if not user.is_authenticated:
        return []
    return [
        {"key": item.key, "label": item.label, "url": reverse(item.url_name)}
        for item in MENU
        if item.shows_to(user)
    ]
