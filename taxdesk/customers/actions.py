"""Every operation that changes a taxpayer, its contacts or its dated history.

Each action owns its transaction and checks its rules; a refusal is a ``ValidationError`` with
a code on the field it concerns and leaves the database as it was. Status, taxpayer type and
tax office change only through their dated actions, which keep a ``TaxpayerChange``.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from taxdesk.core import audit
from taxdesk.core.errors import field_error as _field_error
from taxdesk.core.scoping import CHANGE, DELETE, can, may_add

from .choices import (
    STATUS_MOVES,
    ChangeKind,
    ContactRole,
    InvoiceType,
    TaxpayerStatus,
    TaxpayerType,
)
from .identifiers import (
    normalize_landline,
    normalize_mobile,
    normalize_number,
    validate_taxpayer_number,
)
from .models import Contact, Taxpayer, TaxpayerChange

# What update_taxpayer changes. Taxpayer type and tax office may be filled in there while they
# are still empty (the first entry of the record); once set, they change only through their
# dated actions.
EDITABLE_FIELDS = (
    "number",
    "name",
    "address",
    "district",
    "approved_on",
    "office_hours",
    "invoice_types",
)
FIRST_ENTRY_FIELDS = ("taxpayer_type", "tax_office")
REGISTER_FIELDS = EDITABLE_FIELDS + FIRST_ENTRY_FIELDS
CONTACT_FIELDS = ("name", "role", "mobile", "landline")

ENTRY_RULE = "INS-06"


def _forbidden(message: str) -> ValidationError:
    return ValidationError(message, code="forbidden")


def _today() -> datetime.date:
    return timezone.localdate()


def _forget_snapshot(obj) -> None:
    """After a queryset update, the instance's remembered "before" is stale: drop it."""
    obj._audit_before = None
    obj._audit_loaded = None


def _collect(errors: dict, check, *args, **kwargs):
    """Run one check, keeping its field errors with the others'."""
    try:
        return check(*args, **kwargs)
    except ValidationError as exc:
        exc.update_error_dict(errors)
        return None


# --------------------------------------------------------------------------- field rules
def _clean_number(value) -> str:
    try:
        validate_taxpayer_number(value or "")
    except ValidationError as exc:
        raise ValidationError({"number": exc}) from None
    return normalize_number(value)


def _refuse_duplicate(number: str, service_unit, *, exclude_pk=None) -> None:
    """One taxpayer per number within a supervision body.

    Another unit's taxpayer is not named: the caller may not see it.
    """
    clash = (
        Taxpayer.objects.filter(supervision_body_id=service_unit.supervision_body_id, number=number)
        .exclude(pk=exclude_pk)
        .values("service_unit_id", "name")
        .first()
    )
    if clash is None:
        return
    if clash["service_unit_id"] == service_unit.pk:
        raise _field_error(
            "number",
            _("A taxpayer with this number is already registered: %(name)s."),
            "duplicate",
            {"name": clash["name"]},
        )
    raise _duplicate_elsewhere()


def _duplicate_elsewhere() -> ValidationError:
    return _field_error(
        "number",
        _("This number is already registered with another service unit of this supervision area."),
        "duplicate",
    )


def _clean_invoice_types(value) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise _field_error("invoice_types", _("Invoice types must be a list."), "bad_invoice_type")
    values = list(value)
    unknown = [v for v in values if v not in InvoiceType.values]
    if unknown:
        raise _field_error(
            "invoice_types",
            _("Unknown invoice type: %(value)s."),
            "bad_invoice_type",
            {"value": ", ".join(str(v) for v in unknown)},
        )
    # Kept once each, in the declared order.
    return [v for v in InvoiceType.values if v in values]


def _check_tax_office(tax_office, service_unit) -> None:
    if tax_office is None:
        return
    if not service_unit.tax_offices.filter(pk=tax_office.pk).exists():
        raise _field_error(
            "tax_office",
            _("This is not a tax office the service unit serves."),
            "foreign_tax_office",
        )


def _check_approved_on(value) -> None:
    if isinstance(value, datetime.date) and value > _today():
        raise _field_error(
            "approved_on", _("The approval date cannot be in the future."), "future_date"
        )


def _full_clean(taxpayer: Taxpayer, exclude=None) -> None:
    # The number's uniqueness within the body is checked above with a better message.
    taxpayer.full_clean(exclude=exclude, validate_constraints=False)


def _strip(fields: dict) -> None:
    for text in ("name", "address", "district", "office_hours"):
        if isinstance(fields.get(text), str):
            fields[text] = fields[text].strip()


def _clean_contacts(contacts) -> list[dict]:
    """The first contacts given with a registration; errors name the contact by position."""
    cleaned, problems = [], []
    for index, contact in enumerate(contacts or ()):
        try:
            cleaned.append(clean_contact(**contact))
        except ValidationError as exc:
            problems += [
                ValidationError(
                    _("Contact %(n)s: %(problem)s"),
                    code=error.code,
                    params={"n": index + 1, "problem": message},
                )
                for errors in exc.error_dict.values()
                for error in errors
                for message in error.messages
            ]
    if problems:
        raise ValidationError({"contacts": problems})
    mobiles = [c["mobile"] for c in cleaned if c["mobile"]]
    if len(mobiles) != len(set(mobiles)):
        raise _field_error(
            "contacts", _("Two contacts have the same mobile number."), "duplicate_contact"
        )
    return cleaned


def _save_taxpayer(taxpayer: Taxpayer) -> None:
    """Save, turning a duplicate that slipped past the check (a race) into the same refusal."""
    try:
        with transaction.atomic():
            taxpayer.save()
    except IntegrityError:
        raise _duplicate_elsewhere() from None


# --------------------------------------------------------------------------- contacts
def clean_contact(*, name="", role=ContactRole.CLERK, mobile="", landline="") -> dict:
    """A contact's fields, normalised: at least a mobile or a landline, each valid.

    Used by the actions and by the contact forms (so errors show next to the field).
    """
    errors: dict[str, list[ValidationError]] = {}
    cleaned = {"name": (name or "").strip(), "role": role or ContactRole.CLERK}
    if not cleaned["name"]:
        errors.setdefault("name", []).append(
            ValidationError(_("A contact needs a name."), code="required")
        )
    if cleaned["role"] not in ContactRole.values:
        errors.setdefault("role", []).append(
            ValidationError(_("Unknown contact role."), code="invalid_choice")
        )
    cleaned["mobile"] = ""
    if (mobile or "").strip():
        try:
            cleaned["mobile"] = normalize_mobile(mobile)
        except ValidationError as exc:
            errors.setdefault("mobile", []).append(exc)
    cleaned["landline"] = ""
    if (landline or "").strip():
        try:
            cleaned["landline"] = normalize_landline(landline)
        except ValidationError as exc:
            errors.setdefault("landline", []).append(exc)
    if not (mobile or "").strip() and not (landline or "").strip():
        errors.setdefault("mobile", []).append(
            ValidationError(_("Give a mobile or a landline number (or both)."), code="no_phone")
        )
    if errors:
        raise ValidationError(errors)
    return cleaned


def _refuse_same_phone(taxpayer: Taxpayer, cleaned: dict, *, exclude_pk=None) -> None:
    if not cleaned["mobile"]:
        return
    if taxpayer.contacts.filter(mobile=cleaned["mobile"]).exclude(pk=exclude_pk).exists():
        raise _field_error(
            "mobile",
            _("This taxpayer already has a contact with this mobile number."),
            "duplicate_contact",
        )


# --------------------------------------------------------------------------- taxpayers
def register_taxpayer(*, service_unit, by, contacts: Iterable[dict] = (), **fields) -> Taxpayer:
    """Register a taxpayer with ``service_unit`` (and its first contacts), then INS-06."""
    unknown = set(fields) - set(REGISTER_FIELDS)
    if unknown:
        raise ValueError(f"not a taxpayer field: {', '.join(sorted(unknown))}")
    if not may_add(by, Taxpayer, service_unit):
        raise _forbidden(_("You may not register taxpayers with this service unit."))
    errors: dict = {}
    number = _collect(errors, _clean_number, fields.pop("number", "")) or ""
    fields["invoice_types"] = (
        _collect(errors, _clean_invoice_types, fields.get("invoice_types")) or []
    )
    _collect(errors, _check_tax_office, fields.get("tax_office"), service_unit)
    _collect(errors, _check_approved_on, fields.get("approved_on"))
    fields.setdefault("taxpayer_type", "")
    _strip(fields)
    cleaned_contacts = _collect(errors, _clean_contacts, contacts) or []
    taxpayer = Taxpayer(
        number=number,
        service_unit=service_unit,
        supervision_body_id=service_unit.supervision_body_id,
        **fields,
    )
    _collect(errors, _full_clean, taxpayer, exclude=list(errors))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic(), audit.acting(by):
        _refuse_duplicate(number, service_unit)
        _save_taxpayer(taxpayer)
        for contact in cleaned_contacts:
            Contact(taxpayer=taxpayer, **contact).save()
        refresh_entry(taxpayer, by=by)
    return taxpayer


def update_taxpayer(taxpayer: Taxpayer, *, by, **fields) -> Taxpayer:
    """Change a taxpayer's own fields (not its status, type or tax office once set)."""
    unknown = set(fields) - set(REGISTER_FIELDS) - {"status"}
    if unknown:
        raise ValueError(f"not a taxpayer field: {', '.join(sorted(unknown))}")
    if not can(by, CHANGE, taxpayer):
        raise _forbidden(_("You may not change this taxpayer."))
    errors: dict = {}
    for name in ("status", *FIRST_ENTRY_FIELDS):
        if name not in fields:
            continue
        if fields[name] == getattr(taxpayer, name):
            fields.pop(name)  # unchanged: nothing to refuse
        elif name == "status" or getattr(taxpayer, name) not in (None, ""):
            errors[name] = [
                ValidationError(
                    _("This changes only through its own dated action."),
                    code="use_change_action",
                )
            ]
    if "number" in fields and normalize_number(fields["number"]) == taxpayer.number:
        fields.pop("number")  # unchanged: an old number stays acceptable as it is
    if "number" in fields:
        fields["number"] = _collect(errors, _clean_number, fields["number"])
    if "invoice_types" in fields:
        fields["invoice_types"] = _collect(errors, _clean_invoice_types, fields["invoice_types"])
    if "tax_office" in fields:
        _collect(errors, _check_tax_office, fields["tax_office"], taxpayer.service_unit)
    if "approved_on" in fields:
        _collect(errors, _check_approved_on, fields["approved_on"])
    if errors:
        raise ValidationError(errors)
    _strip(fields)
    with transaction.atomic(), audit.acting(by):
        fresh = Taxpayer.objects.select_for_update().get(pk=taxpayer.pk)
        if "number" in fields and fields["number"] != fresh.number:
            _refuse_duplicate(fields["number"], fresh.service_unit, exclude_pk=fresh.pk)
        for name, value in fields.items():
            setattr(fresh, name, value)
        _full_clean(fresh)
        _save_taxpayer(fresh)
        refresh_entry(fresh, by=by)
    _copy_into(taxpayer, fresh)
    return taxpayer


def _copy_into(target: Taxpayer, source: Taxpayer) -> None:
    for field in Taxpayer._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    target._audit_before = getattr(source, "_audit_before", None)


def add_contact(taxpayer: Taxpayer, *, by, **fields) -> Contact:
    unknown = set(fields) - set(CONTACT_FIELDS)
    if unknown:
        raise ValueError(f"not a contact field: {', '.join(sorted(unknown))}")
    if not can(by, CHANGE, taxpayer):
        raise _forbidden(_("You may not change this taxpayer's contacts."))
    cleaned = clean_contact(**fields)
    with transaction.atomic(), audit.acting(by):
        _refuse_same_phone(taxpayer, cleaned)
        contact = Contact(taxpayer=taxpayer, **cleaned)
        contact.full_clean()
        contact.save()
        refresh_entry(taxpayer, by=by)
    return contact


def update_contact(contact: Contact, *, by, **fields) -> Contact:
    unknown = set(fields) - set(CONTACT_FIELDS)
    if unknown:
        raise ValueError(f"not a contact field: {', '.join(sorted(unknown))}")
    if not can(by, CHANGE, contact):
        raise _forbidden(_("You may not change this contact."))
    merged = {name: fields.get(name, getattr(contact, name)) for name in CONTACT_FIELDS}
    cleaned = clean_contact(**merged)
    with transaction.atomic(), audit.acting(by):
        _refuse_same_phone(contact.taxpayer, cleaned, exclude_pk=contact.pk)
        for name, value in cleaned.items():
            setattr(contact, name, value)
        contact.full_clean()
        contact.save()
        refresh_entry(contact.taxpayer, by=by)
    return contact


def remove_contact(contact: Contact, *, by) -> None:
    """Remove a contact. A record already complete (INS-06) stays complete."""
    if not can(by, DELETE, contact):
        raise _forbidden(_("You may not remove this contact."))
    taxpayer = contact.taxpayer
    with transaction.atomic(), audit.acting(by):
        contact.delete()
        refresh_entry(taxpayer, by=by)


# --------------------------------------------------------------------------- dated changes
def _check_effective_on(taxpayer: Taxpayer, kind: str, effective_on) -> None:
    if not isinstance(effective_on, datetime.date) or isinstance(effective_on, datetime.datetime):
        raise _field_error("effective_on", _("Give the date the change takes effect."), "required")
    if effective_on > _today():
        raise _field_error(
            "effective_on", _("A change cannot take effect in the future."), "future_date"
        )
    last = (
        TaxpayerChange.objects.filter(taxpayer=taxpayer, kind=kind)
        .order_by("-effective_on")
        .values_list("effective_on", flat=True)
        .first()
    )
    if last is not None and effective_on < last:
        raise _field_error(
            "effective_on",
            _("The last change of this kind took effect on %(date)s; this one cannot be earlier."),
            "before_last_change",
            {"date": last.isoformat()},
        )


def _record_change(taxpayer: Taxpayer, field: str, after, change: TaxpayerChange, by):
    """Claim the change with a conditional UPDATE, then keep it in the history."""
    before = getattr(taxpayer, field)
    with transaction.atomic(), audit.acting(by):
        claimed = Taxpayer.objects.filter(pk=taxpayer.pk, **{field: before}).update(
            **{field: after}
        )
        if not claimed:
            raise ValidationError(
                _("This taxpayer was changed meanwhile; reload the page and try again."),
                code="stale",
            )
        change.taxpayer = taxpayer
        change.note = (change.note or "").strip()
        change.by = by
        change.full_clean()
        change.save()
        setattr(taxpayer, field, after)
        _forget_snapshot(taxpayer)
        refresh_entry(taxpayer, by=by)
    return change


def _common_checks(taxpayer: Taxpayer, by, kind, effective_on) -> None:
    if not can(by, CHANGE, taxpayer):
        raise _forbidden(_("You may not change this taxpayer."))
    _check_effective_on(taxpayer, kind, effective_on)


def change_status(taxpayer: Taxpayer, to: str, *, effective_on, note: str = "", by):
    """正常 → 注销 / 非正常户 and back, only along ``STATUS_MOVES``."""
    if to not in TaxpayerStatus.values:
        raise _field_error("to", _("Unknown status."), "invalid_choice")
    current = taxpayer.status
    labels = {"from": TaxpayerStatus(current).label, "to": TaxpayerStatus(to).label}
    if to == current:
        raise _field_error("to", _("The taxpayer's status is already %(to)s."), "no_change", labels)
    if to not in STATUS_MOVES.get(current, frozenset()):
        raise _field_error(
            "to",
            _("A taxpayer whose status is %(from)s cannot become %(to)s."),
            "bad_move",
            labels,
        )
    _common_checks(taxpayer, by, ChangeKind.STATUS, effective_on)
    change = TaxpayerChange(
        kind=ChangeKind.STATUS, before=current, after=to, effective_on=effective_on, note=note
    )
    return _record_change(taxpayer, "status", to, change, by)


def change_type(taxpayer: Taxpayer, to: str, *, effective_on, note: str = "", by):
    """一般纳税人 ↔ 小规模纳税人 (or the first type of a record that had none)."""
    if to not in TaxpayerType.values:
        raise _field_error("to", _("Unknown taxpayer type."), "invalid_choice")
    current = taxpayer.taxpayer_type
    if to == current:
        raise _field_error(
            "to",
            _("The taxpayer is already a %(type)s."),
            "no_change",
            {"type": TaxpayerType(to).label},
        )
    _common_checks(taxpayer, by, ChangeKind.TYPE, effective_on)
    change = TaxpayerChange(
        kind=ChangeKind.TYPE, before=current, after=to, effective_on=effective_on, note=note
    )
    return _record_change(taxpayer, "taxpayer_type", to, change, by)


def change_tax_office(taxpayer: Taxpayer, to, *, effective_on, note: str = "", by):
    """Move the taxpayer to another tax office the unit serves."""
    if to is None:
        raise _field_error("to", _("Choose the new tax office."), "required")
    if to.pk == taxpayer.tax_office_id:
        raise _field_error(
            "to",
            _("The taxpayer's tax office is already %(office)s."),
            "no_change",
            {"office": to.name},
        )
    try:
        _check_tax_office(to, taxpayer.service_unit)
    except ValidationError as exc:
        raise ValidationError({"to": exc.error_dict["tax_office"]}) from None
    _common_checks(taxpayer, by, ChangeKind.TAX_OFFICE, effective_on)
    before = taxpayer.tax_office
    change = TaxpayerChange(
        kind=ChangeKind.TAX_OFFICE,
        before=before.name if before is not None else "",
        after=to.name,
        effective_on=effective_on,
        note=note,
    )
    return _record_change(taxpayer, "tax_office", to, change, by)


# --------------------------------------------------------------------------- INS-06
def refresh_entry(taxpayer: Taxpayer, *, by, at: datetime.datetime | None = None) -> Taxpayer:
    """INS-06: the first moment the record has everything it needs, stop the entry clock.

    ``entered_at`` is set once (a later gap in the record does not undo the entry). The
    taxpayer's INS-06 clock, if it runs, stops at that moment: met if in time, breached if
    late.
    """
    if taxpayer.entered_at is not None or taxpayer.missing_for_entry():
        return taxpayer
    at = at or timezone.now()
    from taxdesk.clocks.choices import OPEN_STATUSES
    from taxdesk.clocks.models import Deadline

    with transaction.atomic(), audit.acting(by):
        claimed = Taxpayer.objects.filter(pk=taxpayer.pk, entered_at__isnull=True).update(
            entered_at=at
        )
        if not claimed:
            taxpayer.refresh_from_db(fields=["entered_at"])
            return taxpayer
        taxpayer.entered_at = at
        _forget_snapshot(taxpayer)
        started = (
            Deadline.objects.filter(
                content_type=ContentType.objects.get_for_model(Taxpayer),
                object_id=taxpayer.pk,
                rule=ENTRY_RULE,
                status__in=OPEN_STATUSES,
            )
            .values_list("started_at", flat=True)
            .first()
        )
        if started is not None:
            from taxdesk.clocks.actions import stop_deadline

            stop_deadline(taxpayer, ENTRY_RULE, at=max(at, started), by=by)
    return taxpayer
