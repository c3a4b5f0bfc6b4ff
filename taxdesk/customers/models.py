"""Taxpayers (纳税人): the enterprises a service unit serves, their contacts and changes."""

from django.db import models
from django.db.models.functions import Right
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from taxdesk.core.audit import AuditedModel
from taxdesk.core.choices import Role
from taxdesk.core.scoping import Scope

from .choices import ChangeKind, ContactRole, TaxpayerStatus, TaxpayerType

# The fields a new user's record needs before it counts as entered (INS-06).
REQUIRED_FOR_ENTRY = (
    "number",
    "name",
    "address",
    "district",
    "tax_office",
    "taxpayer_type",
    "approved_on",
)

TAXPAYER_EDITORS = frozenset({Role.UNIT_ADMIN, Role.SALES_CLERK, Role.DISPATCHER})


class Taxpayer(AuditedModel):
    """An enterprise that holds tax-control devices and is served by one service unit."""

    number = models.CharField(_("taxpayer identification number"), max_length=20)
    name = models.CharField(_("name"), max_length=200)
    address = models.CharField(_("address"), max_length=200, blank=True)
    district = models.CharField(_("district"), max_length=50, blank=True)
    service_unit = models.ForeignKey(
        "core.ServiceUnit",
        on_delete=models.PROTECT,
        related_name="taxpayers",
        verbose_name=_("service unit"),
    )
    # Kept with the unit's body: a number is unique within a supervision body.
    supervision_body = models.ForeignKey(
        "core.SupervisionBody",
        on_delete=models.PROTECT,
        related_name="taxpayers",
        verbose_name=_("supervision body"),
        editable=False,
    )
    tax_office = models.ForeignKey(
        "core.TaxOffice",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="taxpayers",
        verbose_name=_("tax office"),
    )
    taxpayer_type = models.CharField(
        _("taxpayer type"), max_length=10, choices=TaxpayerType.choices, blank=True
    )
    approved_on = models.DateField(
        _("approved on"),
        null=True,
        blank=True,
        help_text=_("The tax authority's approval of the new user."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=TaxpayerStatus.choices, default=TaxpayerStatus.NORMAL
    )
    office_hours = models.CharField(_("office hours"), max_length=100, blank=True)
    invoice_types = models.JSONField(_("invoice types"), default=list, blank=True)
    entered_at = models.DateTimeField(
        _("record complete"),
        null=True,
        blank=True,
        help_text=_("When every field a new user's record needs was entered (INS-06)."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    scope = Scope(
        unit="service_unit",
        body="service_unit__supervision_body",
        tax_office="tax_office",
        taxpayer="id",
        editors=TAXPAYER_EDITORS,
    )

    class Meta:
        verbose_name = _("taxpayer")
        verbose_name_plural = _("taxpayers")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["supervision_body", "number"], name="taxpayer_body_number"
            )
        ]
        indexes = [
            models.Index(fields=["number"], name="taxpayer_number_idx"),
            models.Index(fields=["service_unit", "name"], name="taxpayer_unit_name_idx"),
            models.Index(fields=["service_unit", "status"], name="taxpayer_unit_status_idx"),
        ]

    def __str__(self):
        return f"{self.name} ({self.number})"

    def get_absolute_url(self):
        return reverse("customers:taxpayer_detail", args=[self.pk])

    def save(self, *args, **kwargs):
        if self.service_unit_id and not self.supervision_body_id:
            self.supervision_body_id = self.service_unit.supervision_body_id
        super().save(*args, **kwargs)

    def missing_for_entry(self) -> list[str]:
        """The verbose names of the fields INS-06 still waits for."""
        missing = []
        for name in REQUIRED_FOR_ENTRY:
            field = self._meta.get_field(name)
            if getattr(self, field.attname) in (None, ""):
                missing.append(str(field.verbose_name))
        if not self.has_mobile_contact():
            missing.append(str(_("a contact with a mobile number")))
        return missing

    def has_mobile_contact(self) -> bool:
        """Uses prefetched contacts when a list fetched them (no query per row)."""
        prefetched = getattr(self, "_prefetched_objects_cache", {})
        if "contacts" in prefetched:
            return any(contact.mobile for contact in prefetched["contacts"])
        return self.contacts.filter(mobile__gt="").exists()


class Contact(AuditedModel):
    """A person to call at a taxpayer."""

    taxpayer = models.ForeignKey(
        Taxpayer, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("taxpayer")
    )
    name = models.CharField(_("full name"), max_length=50)
    role = models.CharField(
        _("role"), max_length=10, choices=ContactRole.choices, default=ContactRole.CLERK
    )
    mobile = models.CharField(_("mobile"), max_length=11, blank=True, db_index=True)
    landline = models.CharField(_("landline"), max_length=30, blank=True)
    # The last four digits, kept by the database itself (bulk inserts included), so that
    # "尾号 1234" finds a contact through an index (queries.search).
    mobile_tail = models.GeneratedField(
        expression=Right("mobile", 4),
        output_field=models.CharField(max_length=4),
        db_persist=True,
        verbose_name=_("mobile's last digits"),
    )
    landline_tail = models.GeneratedField(
        expression=Right("landline", 4),
        output_field=models.CharField(max_length=4),
        db_persist=True,
        verbose_name=_("landline's last digits"),
    )

    audit_exclude = ("mobile_tail", "landline_tail")

    scope = Scope(
        unit="taxpayer__service_unit",
        body="taxpayer__service_unit__supervision_body",
        tax_office="taxpayer__tax_office",
        taxpayer="taxpayer",
        editors=TAXPAYER_EDITORS,
    )

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["taxpayer", "id"]
        # Partial: contacts without that number stay out, so that the planner's statistics
        # see real tails and not one huge "empty" value (queries.phone_taxpayer_ids).
        indexes = [
            models.Index(
                fields=["mobile_tail"],
                condition=models.Q(mobile_tail__gt=""),
                name="contact_mobile_tail_idx",
            ),
            models.Index(
                fields=["landline_tail"],
                condition=models.Q(landline_tail__gt=""),
                name="contact_landline_tail_idx",
            ),
        ]

    def __str__(self):
        return self.name

    def audit_tenants(self):
        return self.taxpayer.audit_tenants()


class TaxpayerChange(AuditedModel):
    """A dated change of status, taxpayer type or tax office, kept as the taxpayer's history."""

    taxpayer = models.ForeignKey(
        Taxpayer, on_delete=models.CASCADE, related_name="changes", verbose_name=_("taxpayer")
    )
    kind = models.CharField(_("what changed"), max_length=12, choices=ChangeKind.choices)
    before = models.CharField(_("before"), max_length=100, blank=True)
    after = models.CharField(_("after"), max_length=100)
    effective_on = models.DateField(_("effective on"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    by = models.ForeignKey(
        "core.User", null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("by")
    )

    scope = Scope(
        unit="taxpayer__service_unit",
        body="taxpayer__service_unit__supervision_body",
        tax_office="taxpayer__tax_office",
        taxpayer="taxpayer",
    )

    class Meta:
        verbose_name = _("taxpayer change")
        verbose_name_plural = _("taxpayer changes")
        ordering = ["taxpayer", "-effective_on", "-id"]

    def __str__(self):
        return f"{self.taxpayer} {self.kind}: {self.before} → {self.after}"

    def _label(self, value: str) -> str:
        # Status and type are kept as their codes, a tax office by its name at the time.
        choices = {ChangeKind.STATUS: TaxpayerStatus, ChangeKind.TYPE: TaxpayerType}.get(self.kind)
        if choices is not None and value in choices.values:
            return str(choices(value).label)
        return value

    @property
    def before_display(self) -> str:
        return self._label(self.before)

    @property
    def after_display(self) -> str:
        return self._label(self.after)

    def audit_tenants(self):
        return self.taxpayer.audit_tenants()
