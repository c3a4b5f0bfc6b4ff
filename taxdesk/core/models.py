"""Tenancy (supervision body, service unit, tax office), users and roles, and the audit trail."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from taxdesk.worktime.hours import DEFAULT_HOURS, WorkingHours

from .audit import AuditedModel, AuditedQuerySet
from .choices import UNIT_ROLES, AuditAction, AuditSource, Role
from .scoping import RestrictedQuerySet, Scope


class SupervisionBody(AuditedModel):
    """A service supervision unit (服务监督单位): authorises and oversees service units."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    code = models.CharField(_("code"), max_length=20, unique=True)
    region = models.CharField(_("region"), max_length=100, blank=True)

    scope = Scope(
        unit="service_units",
        body="id",
        tax_office="tax_offices",
        taxpayer="service_units__taxpayers",
    )

    class Meta:
        verbose_name = _("supervision body")
        verbose_name_plural = _("supervision bodies")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def audit_tenants(self):
        return None, self.pk


class TaxOffice(AuditedModel):
    """A tax office (主管税务机关): approves taxpayers and fee standards, reads statistics."""

    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("code"), max_length=20, unique=True)
    city = models.CharField(_("city"), max_length=50)
    supervision_body = models.ForeignKey(
        SupervisionBody,
        on_delete=models.PROTECT,
        related_name="tax_offices",
        verbose_name=_("supervision body"),
    )

    scope = Scope(
        unit="service_units",
        body="supervision_body",
        tax_office="id",
        taxpayer="taxpayers",
    )

    class Meta:
        verbose_name = _("tax office")
        verbose_name_plural = _("tax offices")
        ordering = ["city", "name"]

    def __str__(self):
        return self.name


def validate_working_hours(value: str) -> None:
    try:
        WorkingHours.parse(value)
    except ValueError as exc:
        raise ValidationError(
            _("Working hours must look like 09:00-12:00,13:00-18:00 (%(problem)s)."),
            code="invalid_hours",
            params={"problem": exc},
        ) from None


class ServiceUnit(AuditedModel):
    """An authorised service unit (服务单位). Every business record belongs to one."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    code = models.CharField(_("code"), max_length=20, unique=True)
    city = models.CharField(_("city"), max_length=50)
    address = models.CharField(_("address"), max_length=200, blank=True)
    hotline = models.CharField(_("service hotline"), max_length=30, blank=True)
    supervision_body = models.ForeignKey(
        SupervisionBody,
        on_delete=models.PROTECT,
        related_name="service_units",
        verbose_name=_("supervision body"),
    )
    tax_offices = models.ManyToManyField(
        TaxOffice,
        blank=True,
        related_name="service_units",
        verbose_name=_("tax offices served"),
    )
    working_hours = models.CharField(
        _("working hours"),
        max_length=100,
        default=str(DEFAULT_HOURS),
        validators=[validate_working_hours],
        help_text=_("Opening intervals of a working day, e.g. 09:00-12:00,13:00-18:00."),
    )
    entry_deadline_workdays = models.PositiveSmallIntegerField(
        _("working days to enter a service form"),
        default=1,
        help_text=_("How soon a visit or revisit form must be entered (MNT-15, REV-06)."),
    )
    session_idle_minutes = models.PositiveSmallIntegerField(
        _("sign out after minutes without activity"),
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(1440)],
        help_text=_("A signed-in page left alone this long signs its user out (5 to 1440)."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    scope = Scope(
        unit="id",
        body="supervision_body",
        tax_office="tax_offices",
        taxpayer="taxpayers",
        editors=frozenset({Role.UNIT_ADMIN}),
    )

    class Meta:
        verbose_name = _("service unit")
        verbose_name_plural = _("service units")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("core:unit_detail", args=[self.pk])

    def audit_tenants(self):
        return self.pk, self.supervision_body_id

    @property
    def hours(self) -> WorkingHours:
        return WorkingHours.parse(self.working_hours)


class TaxDeskUserManager(UserManager.from_queryset(AuditedQuerySet)):
    pass


class User(AbstractUser, AuditedModel):
    """A person who signs in. The role decides the tenant they belong to and see."""

    full_name = models.CharField(_("full name"), max_length=100, blank=True)
    mobile = models.CharField(_("mobile"), max_length=20, blank=True)
    role = models.CharField(_("role"), max_length=30, choices=Role.choices, blank=True)
    service_unit = models.ForeignKey(
        ServiceUnit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
        verbose_name=_("service unit"),
    )
    supervision_body = models.ForeignKey(
        SupervisionBody,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="officers",
        verbose_name=_("supervision body"),
    )
    tax_office = models.ForeignKey(
        TaxOffice,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="officers",
        verbose_name=_("tax office"),
    )
    taxpayer = models.ForeignKey(
        "customers.Taxpayer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
        verbose_name=_("taxpayer"),
    )

    # Raised to end every session of the user at once (their session hashes change).
    session_epoch = models.PositiveIntegerField(_("session generation"), default=0)

    audit_exclude = ("last_login",)
    audit_redact = ("password",)

    objects = TaxDeskUserManager()

    scope = Scope(
        unit="service_unit",
        body=("supervision_body", "service_unit__supervision_body"),
        tax_office="tax_office",
        taxpayer="taxpayer",
        editors=frozenset({Role.UNIT_ADMIN}),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]

    def __str__(self):
        return self.full_name or self.username

    def clean(self):
        super().clean()
        problems = {}
        if self.role in UNIT_ROLES and self.service_unit_id is None:
            problems["service_unit"] = _("A service unit role needs a service unit.")
        if self.role == Role.SUPERVISION_OFFICER and self.supervision_body_id is None:
            problems["supervision_body"] = _("A supervision officer needs a supervision body.")
        if self.role == Role.TAX_OFFICER and self.tax_office_id is None:
            problems["tax_office"] = _("A tax officer needs a tax office.")
        if self.role == Role.TAXPAYER and self.taxpayer_id is None:
            problems["taxpayer"] = _("A taxpayer user needs a taxpayer.")
        if not self.role and not self.is_superuser:
            problems["role"] = _("Choose a role.")
        if problems:
            raise ValidationError(problems)

    def audit_tenants(self):
        if self.service_unit_id:
            return super().audit_tenants()
        if self.taxpayer_id:
            return self.taxpayer.audit_tenants()
        if self.tax_office_id:
            return None, self.tax_office.supervision_body_id
        return None, self.supervision_body_id

    def _get_session_auth_hash(self, secret=None):
        """Django's hash of the password that every session keeps; with the session
        generation in it once one was ended, so raising it ends them all. (Generation 0 gives
        Django's own hash: sessions made before the field existed stay valid.)"""
        if not self.session_epoch:
            return super()._get_session_auth_hash(secret=secret)
        return salted_hmac(
            "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash",
            f"{self.password}:{self.session_epoch}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    @property
    def unit_role(self) -> bool:
        return self.role in UNIT_ROLES

    @property
    def can_search_audit(self) -> bool:
        return self.is_superuser or self.role in (Role.UNIT_ADMIN, Role.SUPERVISION_OFFICER)

    @property
    def can_edit_calendar(self) -> bool:
        return self.is_superuser or self.role == Role.SUPERVISION_OFFICER


class AuditEntryQuerySet(RestrictedQuerySet):
    """Entries are appended, never changed or removed."""

    def update(self, **kwargs):
        raise PermissionError("audit entries cannot be changed")

    def delete(self):
        raise PermissionError("audit entries cannot be deleted")

    update.alters_data = True
    delete.alters_data = True


class AuditEntry(models.Model):
    """One line of the audit trail: who did what to which record, when and from where."""

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    action = models.CharField(_("action"), max_length=20, choices=AuditAction.choices)
    actor = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("user"),
    )
    actor_repr = models.CharField(_("user name"), max_length=150, blank=True)
    content_type = models.ForeignKey(
        "contenttypes.ContentType", null=True, blank=True, on_delete=models.PROTECT
    )
    object_id = models.CharField(_("record id"), max_length=64, blank=True)
    object_repr = models.CharField(_("record"), max_length=200, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    source = models.CharField(
        _("source"), max_length=10, choices=AuditSource.choices, default=AuditSource.COMMAND
    )
    # Plain ids rather than foreign keys: an entry outlives whatever it names.
    unit_id = models.BigIntegerField(_("service unit"), null=True, blank=True, db_index=True)
    body_id = models.BigIntegerField(_("supervision body"), null=True, blank=True, db_index=True)

    objects = AuditEntryQuerySet.as_manager()

    scope = Scope(unit="unit_id", body="body_id")

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["content_type", "object_id", "at"], name="audit_object_idx"),
            models.Index(fields=["action", "object_repr", "at"], name="audit_action_idx"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_repr} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("audit entries cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit entries cannot be deleted")


class NumberSequence(models.Model):
    """The last number a service unit issued in one series (e.g. its sales of a day), so the
    next one is a single locked row instead of a search among the numbers already issued.
    Bookkeeping behind audited records (the sale, the contract), not audited itself."""

    service_unit = models.ForeignKey(
        ServiceUnit, on_delete=models.CASCADE, related_name="+", verbose_name=_("service unit")
    )
    prefix = models.CharField(_("prefix"), max_length=40)
    last = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("number sequence")
        verbose_name_plural = _("number sequences")
        constraints = [
            models.UniqueConstraint(
                fields=["service_unit", "prefix"], name="number_sequence_unique"
            )
        ]

    def __str__(self):
        return f"{self.prefix}{self.last}"


class SignInCounter(models.Model):
    """Sign-in attempts counted for one user name from one address (``kind`` "name") or for
    one address whatever the names (``kind`` "address", ``username`` empty): see
    ``core/auth.py``. Bookkeeping behind the audit trail, which records every attempt itself
    (logins and failed logins); not audited."""

    NAME = "name"
    ADDRESS = "address"

    kind = models.CharField(
        _("kind"), max_length=10, choices=[(NAME, _("user name")), (ADDRESS, _("address"))]
    )
    username = models.CharField(_("user name"), max_length=150, blank=True)
    address = models.CharField(_("address"), max_length=45, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_at = models.DateTimeField(_("last counted attempt"), db_index=True)

    class Meta:
        verbose_name = _("sign-in counter")
        verbose_name_plural = _("sign-in counters")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "username", "address"], name="sign_in_counter_unique"
            )
        ]

    def __str__(self):
        return f"{self.username or '*'}@{self.address or '?'}: {self.attempts}"
