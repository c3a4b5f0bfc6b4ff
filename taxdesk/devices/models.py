"""The device register: stock, devices and their lifecycle, warranty policies."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from taxdesk.core.audit import AuditedModel
from taxdesk.core.choices import Role
from taxdesk.core.scoping import Scope

from .choices import MOVES_BY_OTHER_ACTIONS, SERIAL_FORMATS, TRANSITIONS, DeviceStatus, DeviceType

DEVICE_EDITORS = frozenset({Role.UNIT_ADMIN, Role.SALES_CLERK, Role.REPAIR_TECHNICIAN})


def validate_serial(device_type: str, serial: str) -> None:
    """A serial number in its type's format, with a message that says the format."""
    pattern, described = SERIAL_FORMATS[device_type]
    if not isinstance(serial, str) or not pattern.fullmatch(serial):
        raise ValidationError(
            _("A %(type)s serial number is %(format)s; “%(serial)s” is not."),
            code="bad_serial",
            params={"type": DeviceType(device_type).label, "format": described, "serial": serial},
        )


class WarrantyPolicy(AuditedModel):
    """How long a unit's devices of one type are repaired free for quality defects."""

    service_unit = models.ForeignKey(
        "core.ServiceUnit",
        on_delete=models.CASCADE,
        related_name="warranty_policies",
        verbose_name=_("service unit"),
    )
    device_type = models.CharField(_("device type"), max_length=20, choices=DeviceType.choices)
    years = models.PositiveSmallIntegerField(
        _("years"), default=3, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )

    scope = Scope(
        unit="service_unit",
        body="service_unit__supervision_body",
        tax_office="service_unit__tax_offices",
        editors=frozenset({Role.UNIT_ADMIN}),
    )

    class Meta:
        verbose_name = _("warranty policy")
        verbose_name_plural = _("warranty policies")
        constraints = [
            models.UniqueConstraint(
                fields=["service_unit", "device_type"], name="warranty_unit_type"
            )
        ]

    def __str__(self):
        return f"{self.get_device_type_display()} {self.years}"


class StockBatch(AuditedModel):
    """Devices received into a unit's stock on one delivery note (出库单)."""

    service_unit = models.ForeignKey(
        "core.ServiceUnit",
        on_delete=models.PROTECT,
        related_name="stock_batches",
        verbose_name=_("service unit"),
    )
    device_type = models.CharField(_("device type"), max_length=20, choices=DeviceType.choices)
    delivery_note = models.CharField(_("delivery note no."), max_length=40)
    supplier = models.CharField(_("supplier"), max_length=100, blank=True)
    received_on = models.DateField(_("received on"))

    scope = Scope(
        unit="service_unit",
        body="service_unit__supervision_body",
        tax_office="service_unit__tax_offices",
        editors=DEVICE_EDITORS,
    )

    class Meta:
        verbose_name = _("stock batch")
        verbose_name_plural = _("stock batches")
        ordering = ["-received_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["service_unit", "delivery_note", "device_type"], name="batch_delivery_note"
            )
        ]

    def __str__(self):
        return f"{self.delivery_note} ({self.get_device_type_display()})"


class Device(AuditedModel):
    """A tax-control device (税控专用设备): where it is in its lifecycle and whose it is."""

    service_unit = models.ForeignKey(
        "core.ServiceUnit",
        on_delete=models.PROTECT,
        related_name="devices",
        verbose_name=_("service unit"),
    )
    device_type = models.CharField(_("device type"), max_length=20, choices=DeviceType.choices)
    serial = models.CharField(_("serial number"), max_length=20, unique=True)
    batch = models.ForeignKey(
        StockBatch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="devices",
        verbose_name=_("stock batch"),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=DeviceStatus.choices, default=DeviceStatus.IN_STOCK
    )
    status_changed_on = models.DateField(_("status changed on"))
    taxpayer = models.ForeignKey(
        "customers.Taxpayer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="devices",
        verbose_name=_("taxpayer"),
    )
    # The sale that sold it: by label, the sales app sits above this one.
    sale = models.ForeignKey(
        "sales.Sale",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="devices",
        verbose_name=_("sale"),
    )
    sold_on = models.DateField(_("sold on"), null=True, blank=True)
    warranty_until = models.DateField(_("warranty until"), null=True, blank=True)
    paired_with = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pair",
        verbose_name=_("paired main disk"),
    )

    scope = Scope(
        unit="service_unit",
        body="service_unit__supervision_body",
        tax_office="taxpayer__tax_office",
        taxpayer="taxpayer",
        editors=DEVICE_EDITORS,
    )

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        ordering = ["serial"]
        indexes = [
            models.Index(
                fields=["service_unit", "status", "device_type"], name="device_unit_status_idx"
            ),
            models.Index(fields=["taxpayer", "status"], name="device_taxpayer_idx"),
        ]

    def __str__(self):
        return f"{self.get_device_type_display()} {self.serial}"

    def get_absolute_url(self):
        return reverse("devices:device_detail", args=[self.pk])

    @property
    def partner(self) -> Device | None:
        """The other device of its pair (the reporting disk holds the link), or None."""
        if self.paired_with_id is not None:
            return self.paired_with
        try:
            return self.pair
        except Device.DoesNotExist:
            return None

    def under_warranty(self, on) -> bool:
        """Whether quality defects found on ``on`` are repaired free (MNT-13, REP-04)."""
        return self.warranty_until is not None and on <= self.warranty_until

    @property
    def next_statuses(self) -> list[str]:
        """The declared moves from the current state, in the lifecycle's order."""
        onward = TRANSITIONS.get(self.status, frozenset())
        return [s for s in DeviceStatus.values if s in onward]

    @property
    def manual_moves(self) -> list[str]:
        """The moves the move form and the API offer (a sale is its own action)."""
        return [s for s in self.next_statuses if s not in MOVES_BY_OTHER_ACTIONS]

    def audit_tenants(self):
        # A batch of thousands is received at once: with the unit at hand, no query per row.
        unit = self._state.fields_cache.get("service_unit")
        if unit is not None and unit.pk == self.service_unit_id:
            return unit.pk, unit.supervision_body_id
        return super().audit_tenants()

    def clean(self):
        super().clean()
        if self.device_type and self.serial:
            try:
                validate_serial(self.device_type, self.serial)
            except ValidationError as exc:
                raise ValidationError({"serial": exc}) from None


class DeviceEvent(AuditedModel):
    """A dated move of a device through its lifecycle, kept as its history."""

    device = models.ForeignKey(
        Device, on_delete=models.CASCADE, related_name="events", verbose_name=_("device")
    )
    from_status = models.CharField(
        _("from"), max_length=20, choices=DeviceStatus.choices, blank=True
    )
    to_status = models.CharField(_("to"), max_length=20, choices=DeviceStatus.choices)
    on = models.DateField(_("date"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    by = models.ForeignKey(
        "core.User", null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("by")
    )

    scope = Scope(
        unit="device__service_unit",
        body="device__service_unit__supervision_body",
        tax_office="device__taxpayer__tax_office",
        taxpayer="device__taxpayer",
    )

    class Meta:
        verbose_name = _("device event")
        verbose_name_plural = _("device events")
        ordering = ["device", "on", "id"]

    def __str__(self):
        return f"{self.device} {self.from_status}→{self.to_status}"

    def audit_tenants(self):
        return self.device.audit_tenants()
