"""Fee schedules (收费标准), charges and invoices, service contracts (技术服务合同)."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from taxdesk.core.audit import AuditedModel
from taxdesk.core.choices import Role
from taxdesk.core.scoping import Scope
from taxdesk.devices.choices import DeviceType

from .choices import ChargeKind, ContractState, FeeKind, PaymentState

MONEY = {"max_digits": 12, "decimal_places": 2}

# A unit's fee standards are public to whoever the unit serves: its staff, its supervision
# body, the tax offices it serves and its taxpayers' users (MNT-13: "shown to the user").
UNIT_SCOPE = Scope(
    unit="service_unit",
    body="service_unit__supervision_body",
    tax_office="service_unit__tax_offices",
    taxpayer="service_unit__taxpayers",
    editors=frozenset({Role.UNIT_ADMIN}),
)


class FeeSchedule(AuditedModel):
    """An approved fee standard of one unit, in force from ``valid_from`` to ``valid_to``.

    Approved by the supervision body and the tax authority (document number and date). A
    charge uses the schedule in force on its service date; a unit's schedules never overlap.
    """

    service_unit = models.ForeignKey(
        "core.ServiceUnit",
        on_delete=models.PROTECT,
        related_name="fee_schedules",
        verbose_name=_("service unit"),
    )
    name = models.CharField(_("name"), max_length=100)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(
        _("valid to"),
        null=True,
        blank=True,
        help_text=_("Empty: until a later schedule replaces it."),
    )
    supervision_approval = models.CharField(_("supervision body's approval no."), max_length=100)
    tax_approval = models.CharField(_("tax authority's approval no."), max_length=100)
    approved_on = models.DateField(_("approved on"))

    scope = UNIT_SCOPE

    class Meta:
        verbose_name = _("fee schedule")
        verbose_name_plural = _("fee schedules")
        ordering = ["service_unit", "-valid_from"]
        indexes = [models.Index(fields=["service_unit", "valid_from"], name="fee_unit_from_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="fee_schedule_period",
            )
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("billing:schedule_detail", args=[self.pk])


class FeeItem(AuditedModel):
    """One priced item of a schedule: a device, the annual fee, on-site service, a repair."""

    schedule = models.ForeignKey(
        FeeSchedule, on_delete=models.PROTECT, related_name="items", verbose_name=_("fee schedule")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=FeeKind.choices)
    device_type = models.CharField(
        _("device type"), max_length=20, choices=DeviceType.choices, blank=True
    )
    name = models.CharField(_("name"), max_length=100)
    amount = models.DecimalField(
        _("amount (yuan)"), validators=[MinValueValidator(Decimal(0))], **MONEY
    )

    scope = Scope(
        unit="schedule__service_unit",
        body="schedule__service_unit__supervision_body",
        tax_office="schedule__service_unit__tax_offices",
        taxpayer="schedule__service_unit__taxpayers",
        editors=frozenset({Role.UNIT_ADMIN}),
    )

    class Meta:
        verbose_name = _("fee item")
        verbose_name_plural = _("fee items")
        ordering = ["schedule", "kind", "device_type", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "kind", "device_type"],
                condition=Q(kind__in=["device", "maintenance", "onsite"]),
                name="fee_item_one_per_kind",
            ),
            models.UniqueConstraint(fields=["schedule", "name"], name="fee_item_name"),
        ]

    def __str__(self):
        return f"{self.name} {self.amount}"

    def audit_tenants(self):
        return self.schedule.audit_tenants()


class ProrationRate(AuditedModel):
    """Share of the first year's maintenance fee charged when service starts in ``month``."""

    service_unit = models.ForeignKey(
        "core.ServiceUnit",
        on_delete=models.CASCADE,
        related_name="proration_rates",
        verbose_name=_("service unit"),
    )
    month = models.PositiveSmallIntegerField(
        _("starting month"), validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    percent = models.DecimalField(
        _("percent of the annual fee"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )

    scope = UNIT_SCOPE

    class Meta:
        verbose_name = _("proration rate")
        verbose_name_plural = _("proration rates")
        ordering = ["service_unit", "month"]
        constraints = [
            models.UniqueConstraint(fields=["service_unit", "month"], name="proration_month")
        ]

    def __str__(self):
        return f"{self.month}: {self.percent}%"


class ServiceContract(AuditedModel):
    """A 《发票税控系统技术服务合同》, or the user's recorded refusal to sign it (INS-07)."""

    service_unit = models.ForeignKey(
        "core.ServiceUnit",
        on_delete=models.PROTECT,
        related_name="contracts",
        verbose_name=_("service unit"),
    )
    taxpayer = models.ForeignKey(
        "customers.Taxpayer",
        on_delete=models.PROTECT,
        related_name="contracts",
        verbose_name=_("taxpayer"),
    )
    number = models.CharField(_("contract no."), max_length=40, unique=True)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    annual_fee = models.DecimalField(_("annual fee (yuan)"), **MONEY)
    state = models.CharField(
        _("state"), max_length=10, choices=ContractState.choices, default=ContractState.DRAFT
    )
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    refused_on = models.DateField(_("refused on"), null=True, blank=True)
    refusal_note = models.CharField(_("refusal"), max_length=200, blank=True)
    renewal_of = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="renewal",
        verbose_name=_("renews"),
    )

    scope = Scope(
        unit="service_unit",
        body="service_unit__supervision_body",
        tax_office="taxpayer__tax_office",
        taxpayer="taxpayer",
        editors=frozenset({Role.UNIT_ADMIN, Role.SALES_CLERK}),
    )

    class Meta:
        verbose_name = _("service contract")
        verbose_name_plural = _("service contracts")
        ordering = ["-starts_on", "-id"]
        indexes = [
            models.Index(fields=["service_unit", "state", "ends_on"], name="contract_ending_idx")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gt=models.F("starts_on")), name="contract_period"
            ),
        ]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("billing:contract_detail", args=[self.pk])


class Charge(AuditedModel):
    """A fee charged to a taxpayer, with its payment and its formal invoice (正式发票).

    Nothing is deleted: a correction or a refund is a new entry pointing at the original.
    """

    service_unit = models.ForeignKey(
        "core.ServiceUnit",
        on_delete=models.PROTECT,
        related_name="charges",
        verbose_name=_("service unit"),
    )
    taxpayer = models.ForeignKey(
        "customers.Taxpayer",
        on_delete=models.PROTECT,
        related_name="charges",
        verbose_name=_("taxpayer"),
    )
    kind = models.CharField(
        _("kind"), max_length=12, choices=ChargeKind.choices, default=ChargeKind.CHARGE
    )
    fee_kind = models.CharField(_("fee"), max_length=20, choices=FeeKind.choices)
    item = models.ForeignKey(
        FeeItem,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="charges",
        verbose_name=_("fee item"),
    )
    description = models.CharField(_("description"), max_length=200)
    amount = models.DecimalField(_("amount (yuan)"), **MONEY)
    service_date = models.DateField(_("service date"))
    device = models.ForeignKey(
        "devices.Device",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="charges",
        verbose_name=_("device"),
    )
    sale = models.ForeignKey(
        "sales.Sale",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="charges",
        verbose_name=_("sale"),
    )
    contract = models.ForeignKey(
        ServiceContract,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="charges",
        verbose_name=_("contract"),
    )
    corrects = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrections",
        verbose_name=_("corrects"),
    )
    payment_state = models.CharField(
        _("payment"), max_length=10, choices=PaymentState.choices, default=PaymentState.UNPAID
    )
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    invoice_code = models.CharField(_("invoice code"), max_length=12, blank=True)
    invoice_number = models.CharField(_("invoice number"), max_length=20, blank=True)
    invoice_date = models.DateField(_("invoice date"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    scope = Scope(
        unit="service_unit",
        body="service_unit__supervision_body",
        tax_office="taxpayer__tax_office",
        taxpayer="taxpayer",
        editors=frozenset({Role.UNIT_ADMIN, Role.SALES_CLERK}),
    )

    class Meta:
        verbose_name = _("charge")
        verbose_name_plural = _("charges")
        ordering = ["-service_date", "-id"]
        indexes = [
            models.Index(
                fields=["service_unit", "payment_state", "service_date"],
                name="charge_unit_state_idx",
            ),
            models.Index(fields=["taxpayer", "service_date"], name="charge_taxpayer_idx"),
        ]
        constraints = [
            # A formal invoice (code + number, or a 数电票 number alone) is recorded once per
            # unit; the database holds the line when two clerks record the same one at once.
            models.UniqueConstraint(
                fields=["service_unit", "invoice_code", "invoice_number"],
                condition=~Q(invoice_number=""),
                name="charge_invoice_once",
            ),
        ]

    def __str__(self):
        return f"{self.description} {self.amount}"

    def get_absolute_url(self):
        return reverse("billing:charge_detail", args=[self.pk])
