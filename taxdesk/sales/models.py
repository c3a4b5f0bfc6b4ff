"""The sale of devices to a taxpayer (发售) and its lines (INS-05).

The tables keep the names they had when the sale lived in the devices app.
"""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from taxdesk.core.audit import AuditedModel
from taxdesk.core.choices import Role
from taxdesk.core.scoping import Scope
from taxdesk.devices.models import Device


class Sale(AuditedModel):
    """One sale of devices to a taxpayer (发售), with its application form's contents (INS-05)."""

    service_unit = models.ForeignKey(
        "core.ServiceUnit",
        on_delete=models.PROTECT,
        related_name="sales",
        verbose_name=_("service unit"),
    )
    taxpayer = models.ForeignKey(
        "customers.Taxpayer",
        on_delete=models.PROTECT,
        related_name="sales",
        verbose_name=_("taxpayer"),
    )
    number = models.CharField(_("sale no."), max_length=40, unique=True)
    sold_on = models.DateTimeField(_("sold at"))
    sold_by = models.ForeignKey(
        "core.User",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("sold by"),
    )
    # The 《发票税控系统用户使用申请表》 as filled at the sale (a snapshot for printing).
    application = models.JSONField(_("application form"), default=dict, blank=True)

    scope = Scope(
        unit="service_unit",
        body="service_unit__supervision_body",
        tax_office="taxpayer__tax_office",
        taxpayer="taxpayer",
        editors=frozenset({Role.UNIT_ADMIN, Role.SALES_CLERK}),
    )

    class Meta:
        verbose_name = _("sale")
        verbose_name_plural = _("sales")
        db_table = "devices_sale"
        ordering = ["-sold_on", "-id"]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("sales:sale_detail", args=[self.pk])


class SaleLine(AuditedModel):
    """A device on a sale, at the schedule's price or half of it for a second set."""

    sale = models.ForeignKey(
        Sale, on_delete=models.CASCADE, related_name="lines", verbose_name=_("sale")
    )
    device = models.OneToOneField(
        Device, on_delete=models.PROTECT, related_name="sale_line", verbose_name=_("device")
    )
    list_price = models.DecimalField(_("list price"), max_digits=12, decimal_places=2)
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2)
    price_note = models.CharField(_("price note"), max_length=100, blank=True)

    scope = Scope(
        unit="sale__service_unit",
        body="sale__service_unit__supervision_body",
        tax_office="sale__taxpayer__tax_office",
        taxpayer="sale__taxpayer",
    )

    class Meta:
        verbose_name = _("sale line")
        verbose_name_plural = _("sale lines")
        db_table = "devices_saleline"
        ordering = ["sale", "id"]

    def __str__(self):
        return f"{self.sale} {self.device}"

    def audit_tenants(self):
        return self.sale.audit_tenants()
