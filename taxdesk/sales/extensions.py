"""What the sales add to the taxpayer register (``customers.extensions``): the sales panel
of the taxpayer page and its "sell devices" button."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from taxdesk.customers import extensions

from .actions import may_sell_to
from .models import Sale


def sales_panel(user, taxpayer, limit: int) -> dict:
    return extensions.newest_rows(
        Sale.objects.restrict(user)
        .filter(taxpayer=taxpayer)
        .select_related("sold_by")
        .order_by("-sold_on", "-id"),
        limit,
    )


def sell_url(user, taxpayer) -> str | None:
    if not may_sell_to(user, taxpayer):
        return None
    return reverse("sales:sale_add", args=[taxpayer.pk])


def register() -> None:
    extensions.register_panel(
        extensions.TaxpayerPanel("sales", 300, "sales/partials/taxpayer_sales.html", sales_panel)
    )
    extensions.register_action(extensions.TaxpayerAction("sell", 100, _("Sell devices"), sell_url))
