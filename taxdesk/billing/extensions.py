"""What fees and contracts add to the taxpayer register (``customers.extensions``): the
contracts and charges panels of the taxpayer page and the "contract ends within" filter."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from taxdesk.core.filters import IntegerFilter
from taxdesk.customers import extensions

from .choices import ContractState
from .models import Charge, ServiceContract


def contracts_panel(user, taxpayer, limit: int) -> dict:
    return extensions.newest_rows(
        ServiceContract.objects.restrict(user)
        .filter(taxpayer=taxpayer)
        .order_by("-starts_on", "-id"),
        limit,
    )


def charges_panel(user, taxpayer, limit: int) -> dict:
    return extensions.newest_rows(
        Charge.objects.restrict(user).filter(taxpayer=taxpayer).order_by("-service_date", "-id"),
        limit,
    )


def contract_expiring(queryset, name, value):
    # Few contracts end in a given window: the taxpayers are picked from those contracts.
    if value is None:
        return queryset
    today = timezone.localdate()
    ending = ServiceContract.objects.filter(
        state=ContractState.SIGNED, ends_on__gte=today, ends_on__lte=today + timedelta(days=value)
    )
    return queryset.filter(pk__in=ending.values("taxpayer_id"))


def register() -> None:
    extensions.register_panel(
        extensions.TaxpayerPanel(
            "contracts", 400, "billing/partials/taxpayer_contracts.html", contracts_panel
        )
    )
    extensions.register_panel(
        extensions.TaxpayerPanel(
            "charges", 500, "billing/partials/taxpayer_charges.html", charges_panel
        )
    )
    extensions.register_filter(
        "contract_expiring",
        IntegerFilter(
            method=contract_expiring,
            label=_("Contract ends within (days)"),
            min_value=0,
            max_value=3660,
        ),
        before="entered",
    )
