"""Taxpayer states, types, invoice kinds, contact roles and the allowed status moves."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TaxpayerStatus(models.TextChoices):
    NORMAL = "normal", _("Normal")  # 正常
    CANCELLED = "cancelled", _("Deregistered")  # 注销
    ABNORMAL = "abnormal", _("Abnormal")  # 非正常户


STATUS_MOVES = {
    TaxpayerStatus.NORMAL: frozenset({TaxpayerStatus.CANCELLED, TaxpayerStatus.ABNORMAL}),
    TaxpayerStatus.CANCELLED: frozenset({TaxpayerStatus.NORMAL}),
    TaxpayerStatus.ABNORMAL: frozenset({TaxpayerStatus.NORMAL, TaxpayerStatus.CANCELLED}),
}


class TaxpayerType(models.TextChoices):
    GENERAL = "general", _("General VAT taxpayer")  # 一般纳税人
    SMALL = "small", _("Small-scale taxpayer")  # 小规模纳税人


class InvoiceType(models.TextChoices):
    SPECIAL = "special", _("VAT special invoice")  # 增值税专用发票
    ORDINARY = "ordinary", _("VAT ordinary invoice")  # 增值税普通发票
    ELECTRONIC = "electronic", _("Electronic invoice")  # 电子发票
    DIGITAL = "digital", _("Fully digital invoice")  # 数电票


class ContactRole(models.TextChoices):
    LEGAL = "legal", _("Legal representative")
    FINANCE = "finance", _("Finance officer")
    CLERK = "clerk", _("Tax clerk")  # 办税员
    OTHER = "other", _("Other")


class ChangeKind(models.TextChoices):
    STATUS = "status", _("Status")
    TYPE = "type", _("Taxpayer type")
    TAX_OFFICE = "tax_office", _("Tax office")
