"""The one place that decides which rows a user may view or change.

Every model that users reach declares a :class:`Scope`: the lookup paths from the model to the
service unit, the supervision body, the tax office and the taxpayer, and the roles that may
write. :func:`restrict` turns a user and an action into a filter. Page views and API viewsets
call it through ``Model.objects.restrict(user, action)``; nothing else filters by tenant.

- a user of a service unit reaches the rows of that unit only;
- a supervision officer reaches every unit under their supervision body;
- a tax officer reads (never writes) what concerns their tax office;
- a taxpayer user reaches only their own enterprise's rows;
- a superuser (the platform administrator) reaches everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import models
from django.db.models import Q

from .choices import UNIT_ROLES, Role

VIEW = "view"
ADD = "add"
CHANGE = "change"
DELETE = "delete"
ACTIONS = (VIEW, ADD, CHANGE, DELETE)

Path = str | Sequence[str] | None


@dataclass(frozen=True)
class Scope:
    """How a model's rows relate to the tenants, and who may write them."""

    unit: Path = None
    body: Path = None
    tax_office: Path = None
    taxpayer: Path = None
    # Rows every signed-in user may read (the national calendar, for instance).
    public: bool = False
    # Roles that may add, change and delete rows within their reach.
    editors: frozenset[str] = field(default_factory=frozenset)


def _paths(path: Path) -> tuple[str, ...]:
    if path is None:
        return ()
    if isinstance(path, str):
        return (path,)
    return tuple(path)


def reach(user) -> tuple[str, int | None]:
    """The kind of tenant a user belongs to and its id."""
    role = getattr(user, "role", "")
    if role in UNIT_ROLES:
        return "unit", user.service_unit_id
    if role == Role.SUPERVISION_OFFICER:
        return "body", user.supervision_body_id
    if role == Role.TAX_OFFICER:
        return "tax_office", user.tax_office_id
    if role == Role.TAXPAYER:
        return "taxpayer", user.taxpayer_id
    return "", None


def scope_filter(scope: Scope, user, action: str = VIEW) -> Q | None:
    """The filter for ``user`` doing ``action``; ``None`` means nothing at all.

    An empty ``Q()`` means every row.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Q()
    if action != VIEW and user.role not in scope.editors:
        return None
    if scope.public:
        # Public rows (the national calendar) belong to no tenant: everyone reads them and
        # the editor roles (checked above) change all of them.
        return Q()
    kind, tenant_id = reach(user)
    if not kind or tenant_id is None:
        return None
    paths = _paths(getattr(scope, kind))
    if not paths:
        return None
    condition = Q()
    for path in paths:
        condition |= Q(**{path: tenant_id})
    return condition


class RestrictedQuerySet(models.QuerySet):
    """A queryset that can narrow itself to what a user may do (NetBox's ``restrict``)."""

    def restrict(self, user, action: str = VIEW):
        condition = scope_filter(self.model.scope, user, action)
        if condition is None:
            return self.none()
        if not condition:
            return self
        # Several paths through joins can repeat a row; distinct() keeps one.
        filtered = self.filter(condition)
        return filtered.distinct() if len(condition.children) > 1 else filtered


def may_add(user, model, service_unit=None) -> bool:
    """Whether ``user`` may add ``model`` rows in ``service_unit`` (a unit or its id).

    The one answer everywhere: an editor role of the model working in that very unit (a
    superuser in any). Without a unit: whether the user may add such rows in a unit of
    their own (the page's "add" button, before the unit is known).
    """
    if user is None or scope_filter(model.scope, user, ADD) is None:
        return False
    if user.is_superuser:
        return True
    kind, tenant_id = reach(user)
    if kind != "unit" or tenant_id is None:
        return False
    return service_unit is None or tenant_id == getattr(service_unit, "pk", service_unit)


def can(user, action: str, obj: models.Model) -> bool:
    """Whether ``user`` may do ``action`` on this one object."""
    return type(obj).objects.restrict(user, action).filter(pk=obj.pk).exists()
