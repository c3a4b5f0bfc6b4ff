"""The menu, by role: each item names who sees it.

Core's own items are here; every other app registers its items from its
``AppConfig.ready()`` (``register``), so core names no app above it. Items show in ``order``.
"""

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
    order: int = 0


def everyone(user) -> bool:
    return True


def staff_and_officers(user) -> bool:
    return user.is_superuser or user.role != Role.TAXPAYER


_items: dict[str, NavItem] = {}


def register(item: NavItem) -> None:
    _items[item.key] = item


def menu() -> list[NavItem]:
    return sorted(_items.values(), key=lambda item: (item.order, item.key))


for _item in (
    NavItem("home", _("Home"), "home:home", everyone, 0),
    NavItem("units", _("Service units"), "core:unit_list", everyone, 700),
    NavItem("audit", _("Audit trail"), "core:audit", lambda user: user.can_search_audit, 900),
    NavItem("api", _("API"), "api-docs", staff_and_officers, 1000),
    NavItem("admin", _("Administration"), "admin:index", lambda user: user.is_superuser, 1100),
):
    register(_item)


def menu_for(user) -> list[dict]:
    if not user.is_authenticated:
        return []
    return [
        {"key": item.key, "label": item.label, "url": reverse(item.url_name)}
        for item in menu()
        if item.shows_to(user)
    ]
