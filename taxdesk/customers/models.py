"""Taxpayers (纳税人): the enterprises a service unit serves.

The foundation holds what tenancy needs (the number, the name, the serving unit and the tax
office) so that a taxpayer user can be tied to their own enterprise; the taxpayer register
issue adds the rest.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from taxdesk.core.audit import AuditedModel
from taxdesk.core.choices import Role
from taxdesk.core.scoping import Scope


class Taxpayer(AuditedModel):
    """An enterprise that holds tax-control devices and is served by one service unit."""

    number = models.CharField(_("taxpayer identification number"), max_length=20, db_index=True)
    name = models.CharField(_("name"), max_length=200)
    service_unit = models.ForeignKey(
        "core.ServiceUnit",
        on_delete=models.PROTECT,
        related_name="taxpayers",
        verbose_name=_("service unit"),
    )
    tax_office = models.ForeignKey(
        "core.TaxOffice",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="taxpayers",
        verbose_name=_("tax office"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    scope = Scope(
        unit="service_unit",
        body="service_unit__supervision_body",
        tax_office="tax_office",
        taxpayer="id",
        editors=frozenset({Role.UNIT_ADMIN, Role.SALES_CLERK}),
    )

    class Meta:
        verbose_name = _("taxpayer")
        verbose_name_plural = _("taxpayers")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["service_unit", "number"], name="taxpayer_unit_number")
        ]

    def __str__(self):
        return f"{self.name} ({self.number})"
