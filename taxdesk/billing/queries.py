"""Reads of billing records used by more than one page (and by the taxpayer page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from .choices import DEBIT_KINDS, ChargeKind, ContractState, PaymentState
from .models import Charge

ZERO = Decimal("0.00")


def contracts_ending(queryset, days: int, today: date | None = None):
    """Signed contracts ending within the next ``days`` days (today included), soonest first.

    On one unit this is a range scan of the (service_unit, state, ends_on) index
    ``contract_ending_idx``.
    """
    today = today or timezone.localdate()
    return queryset.filter(
        state=ContractState.SIGNED,
        ends_on__gte=today,
        ends_on__lte=today + timedelta(days=max(int(days), 0)),
    ).order_by("ends_on", "id")


@dataclass(frozen=True)
class Balance:
    """What a taxpayer was charged (net of corrections), paid, and got back."""

    charged: Decimal
    paid: Decimal
    refunded: Decimal

    @property
    def due(self) -> Decimal:
        """Still owed (negative: the unit owes the taxpayer a refund)."""
        return self.charged - self.paid + self.refunded


def _cents(value) -> Decimal:
    """Sums come back as SQLite computed them ("100"); money has two places ("100.00")."""
    return (value or ZERO).quantize(ZERO) + ZERO


def _money_sum(condition: Q):
    field = DecimalField(max_digits=14, decimal_places=2)
    return Coalesce(Sum("amount", filter=condition), Value(ZERO), output_field=field)


def taxpayer_balance(taxpayer, queryset=None) -> Balance:
    """Charged − paid − refunds of one taxpayer, in one query.

    Refund entries carry negative amounts, so ``refunded`` is their sum with the sign turned.
    """
    queryset = Charge.objects.all() if queryset is None else queryset
    debit = Q(kind__in=DEBIT_KINDS)
    row = queryset.filter(taxpayer=taxpayer).aggregate(
        charged=_money_sum(debit),
        paid=_money_sum(debit & Q(payment_state=PaymentState.PAID)),
        refunds=_money_sum(Q(kind=ChargeKind.REFUND)),
    )
    return Balance(
        charged=_cents(row["charged"]),
        paid=_cents(row["paid"]),
        refunded=ZERO - _cents(row["refunds"]),
    )


def group_totals(root: Charge) -> dict[str, Decimal]:
    """Net amount, paid, refunded, still to pay and refundable of a charge with its entries."""
    zero = Decimal("0.00")
    debit = Q(kind__in=DEBIT_KINDS)
    row = Charge.objects.filter(Q(pk=root.pk) | Q(corrects=root)).aggregate(
        net=Sum("amount", filter=debit),
        paid=Sum("amount", filter=debit & Q(payment_state=PaymentState.PAID)),
        unpaid=Sum("amount", filter=debit & Q(payment_state=PaymentState.UNPAID)),
        refunds=Sum("amount", filter=Q(kind=ChargeKind.REFUND)),
    )
    net, paid = _cents(row["net"]), _cents(row["paid"])
    refunded = ZERO - _cents(row["refunds"])
    return {
        "net": net,
        "paid": paid,
        "refunded": refunded,
        "outstanding": _cents(row["unpaid"]),
        "refundable": max(paid - refunded, zero),
    }
