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
