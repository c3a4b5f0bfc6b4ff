"""What the apps above the register add to it, registered in their ``AppConfig.ready()``.

The register knows nothing of devices, sales, fees or service orders; each of those apps
contributes here instead (NetBox's template extensions are the model):

- a **panel** of the taxpayer page: a template and the context it needs, in a set order;
- an **action** of the taxpayer page: a button to a page of that app, shown when allowed;
- a **filter** of the taxpayer list (page and API share the filterset);
- a **finder**: another key that finds a taxpayer in the search box (a device serial).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q

# A panel's context for one taxpayer as one user sees it; None leaves the panel out.
PanelContext = Callable[[object, object, int], "dict | None"]


@dataclass(frozen=True)
class TaxpayerPanel:
    key: str  # unique; also the section's data-testid
    order: int  # panels show in ascending order
    template: str
    context: PanelContext


@dataclass(frozen=True)
class TaxpayerAction:
    key: str
    order: int
    label: str
    # The action's URL for this user and taxpayer, or None when the user may not do it.
    url: Callable[[object, object], str | None]


# A finder gets the search box's text and answers the ids of the taxpayers it finds, a
# condition on the taxpayer when the ids would be too many, or None when the text is not
# a key of its kind.
Finder = Callable[[str], "list[int] | Q | None"]

_panels: dict[str, TaxpayerPanel] = {}
_actions: dict[str, TaxpayerAction] = {}
_finders: dict[str, Finder] = {}


def newest_rows(queryset, limit: int) -> dict:
    """A panel's usual context: the first ``limit`` rows of ``queryset`` and whether more."""
    rows = list(queryset[: limit + 1])
    return {"rows": rows[:limit], "more": len(rows) > limit}


def register_panel(panel: TaxpayerPanel) -> None:
    _panels[panel.key] = panel


def register_action(action: TaxpayerAction) -> None:
    _actions[action.key] = action


def register_finder(key: str, finder: Finder) -> None:
    _finders[key] = finder


def panels() -> list[TaxpayerPanel]:
    return sorted(_panels.values(), key=lambda p: (p.order, p.key))


def actions() -> list[TaxpayerAction]:
    return sorted(_actions.values(), key=lambda a: (a.order, a.key))


def finders() -> list[Finder]:
    return [_finders[key] for key in sorted(_finders)]


def register_filter(name: str, filter_, *, before: str | None = None) -> None:
    """Add a filter to the taxpayer list's filterset (the page's form and the API's query
    parameters), before the filter named ``before`` or at the end."""
    from .filtersets import TaxpayerFilterSet

    filters = dict(TaxpayerFilterSet.base_filters)
    filters.pop(name, None)
    ordered = {}
    for key, value in filters.items():
        if key == before:
            ordered[name] = filter_
        ordered[key] = value
    ordered.setdefault(name, filter_)
    TaxpayerFilterSet.base_filters = ordered
