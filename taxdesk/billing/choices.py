"""Kinds of fee items and charges, payment states, contract states."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class FeeKind(models.TextChoices):
    DEVICE = "device", _("Device price")
    MAINTENANCE = "maintenance", _("Annual technical maintenance fee")  # 技术维护费
    ONSITE = "onsite", _("Out-of-warranty on-site service")
    REPAIR = "repair", _("Repair item")


class ChargeKind(models.TextChoices):
    CHARGE = "charge", _("Charge")
    CORRECTION = "correction", _("Correction")
    REFUND = "refund", _("Refund")


class PaymentState(models.TextChoices):
    UNPAID = "unpaid", _("Unpaid")
    PAID = "paid", _("Paid")
    WAIVED = "waived", _("Free (warranty)")


class ContractState(models.TextChoices):
    DRAFT = "draft", _("Awaiting signature")
    SIGNED = "signed", _("Signed")
    REFUSED = "refused", _("Refused by the user")


# The declared moves (django-oscar's pipeline in spirit); actions refuse any other.
PAYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    PaymentState.UNPAID: frozenset({PaymentState.PAID, PaymentState.WAIVED}),
    PaymentState.PAID: frozenset(),
    PaymentState.WAIVED: frozenset(),
}

CONTRACT_TRANSITIONS: dict[str, frozenset[str]] = {
    ContractState.DRAFT: frozenset({ContractState.SIGNED, ContractState.REFUSED}),
    ContractState.SIGNED: frozenset(),
    ContractState.REFUSED: frozenset(),
}

# Fee kinds with at most one item per schedule (and device type); repair items go by name.
SINGLE_ITEM_KINDS = frozenset({FeeKind.DEVICE, FeeKind.MAINTENANCE, FeeKind.ONSITE})

# The entries that add to what a taxpayer owes; a refund gives money back.
DEBIT_KINDS = frozenset({ChargeKind.CHARGE, ChargeKind.CORRECTION})
