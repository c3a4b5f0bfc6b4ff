"""Importing taxpayers (纳税人) and their first contact, by number within the unit.

The rules are the customers app's: the number is checked by ``validate_taxpayer_number``; a
number is unique within the supervision body (another unit's taxpayer is an error row); the
tax office must be one the unit serves; the approval date may not be in the future; invoice
types as declared; the contact through ``clean_contact``; the model's own field rules
(``clean_fields``). New and changed rows are written in bulk (audited per row), as
``register_taxpayer`` and ``update_taxpayer`` would write them; a change of an existing
taxpayer's type or tax office goes through the dated actions (``change_type``,
``change_tax_office``), and a record that becomes complete goes through ``refresh_entry``
(INS-06).
"""

from __future__ import annotations

import datetime
import re

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from taxdesk.core.models import TaxOffice
from taxdesk.customers import actions as customers
from taxdesk.customers.choices import ContactRole, InvoiceType, TaxpayerStatus, TaxpayerType
from taxdesk.customers.identifiers import normalize_number, validate_taxpayer_number
from taxdesk.customers.models import REQUIRED_FOR_ENTRY, Contact, Taxpayer

from .choices import JobKind
from .columns import (
    CONTACT_ROLE_WORDS,
    INVOICE_TYPE_WORDS,
    TAXPAYER_TYPE_NAMES,
    TAXPAYER_TYPE_WORDS,
)
from .rows import Importer, Row, take_choice, take_date, take_text, word_lookup
from .sheets import cell_text

PLAIN_FIELDS = ("name", "address", "district", "approved_on", "office_hours", "invoice_types")
TEXT_FIELDS = ("name", "address", "district", "office_hours")
CONTACT_COLUMNS = {
    "name": "contact_name",
    "role": "contact_role",
    "mobile": "contact_mobile",
    "landline": "contact_landline",
}
_LIST_SEPARATORS = re.compile(r"[、,，;；/／\s]+")


def _max_length(name: str) -> int:
    return Taxpayer._meta.get_field(name).max_length


class TaxpayerImporter(Importer):
    kind = JobKind.TAXPAYERS
    key_column = "number"

    def prepare(self) -> None:
        unit = self.unit
        offices = TaxOffice.objects.filter(
            Q(supervision_body_id=unit.supervision_body_id) | Q(service_units=unit)
        ).distinct()
        self.served = set(unit.tax_offices.values_list("pk", flat=True))
        self.offices_by_pk: dict[int, TaxOffice] = {}
        self.offices_by_code: dict[str, TaxOffice] = {}
        self.offices_by_name: dict[str, list[TaxOffice]] = {}
        for office in offices:
            self.offices_by_pk[office.pk] = office
            self.offices_by_code[office.code.upper()] = office
            self.offices_by_name.setdefault(office.name, []).append(office)
        self.type_table = word_lookup(TAXPAYER_TYPE_WORDS, TaxpayerType)
        self.role_table = word_lookup(CONTACT_ROLE_WORDS, ContactRole)
        self.invoice_table = word_lookup(INVOICE_TYPE_WORDS, InvoiceType)

    # ------------------------------------------------------------------------- one row
    def parse(self, number: int, values: dict) -> Row:
        row = Row(number, values)
        raw_number = cell_text(values.get("number"))
        if not raw_number:
            row.fail("number", _("This column is required."), "required")
        else:
            try:
                validate_taxpayer_number(raw_number)
            except ValidationError as exc:
                row.fail_with("number", exc)
            else:
                row.data["number"] = normalize_number(raw_number)
        take_text(row, "name", _max_length("name"), required=True)
        for name in ("address", "district", "office_hours"):
            take_text(row, name, _max_length(name))
        self._tax_office(row)
        take_choice(row, "taxpayer_type", self.type_table, TAXPAYER_TYPE_NAMES.values())
        take_date(
            row,
            "approved_on",
            today=self.today,
            future_message=_("The approval date cannot be in the future."),
        )
        self._invoice_types(row)
        self._contact(row)
        if row.ok:
            self._model_rules(row)
        return row

    def _tax_office(self, row: Row) -> None:
        value = cell_text(row.raw.get("tax_office"))
        if not value:
            return
        office = self.offices_by_code.get(value.upper())
        if office is None:
            named = self.offices_by_name.get(value, [])
            served = [o for o in named if o.pk in self.served]
            if len(served) == 1:
                office = served[0]
            elif len(named) == 1:
                office = named[0]
            elif len(named) > 1:
                row.fail(
                    "tax_office",
                    _("Several tax offices have this name; write the tax office's code."),
                    "ambiguous_tax_office",
                )
                return
        if office is None:
            row.fail(
                "tax_office",
                _("No tax office has this name or code."),
                "unknown_tax_office",
            )
        elif office.pk not in self.served:
            # The customers app's rule and message (_check_tax_office).
            row.fail(
                "tax_office",
                _("This is not a tax office the service unit serves."),
                "foreign_tax_office",
            )
        else:
            row.data["tax_office"] = office

    def _invoice_types(self, row: Row) -> None:
        value = cell_text(row.raw.get("invoice_types"))
        if not value:
            return
        found, unknown = set(), []
        for word in _LIST_SEPARATORS.split(value):
            if not word:
                continue
            kind = self.invoice_table.get(word.lower())
            if kind is None:
                unknown.append(word)
            else:
                found.add(kind)
        if unknown:
            row.fail(
                "invoice_types",
                _("“%(value)s” is not one of: %(choices)s.")
                % {
                    "value": "、".join(unknown),
                    "choices": "增值税专用发票、增值税普通发票、电子发票、数电票",
                },
                "bad_invoice_type",
            )
            return
        # Kept once each, in the declared order (as the customers app keeps them).
        row.data["invoice_types"] = [v for v in InvoiceType.values if v in found]

    def _contact(self, row: Row) -> None:
        given = {name: cell_text(row.raw.get(column)) for name, column in CONTACT_COLUMNS.items()}
        if not any(given.values()):
            return
        role = ContactRole.CLERK
        if given["role"]:
            role = take_choice(row, "contact_role", self.role_table, CONTACT_ROLE_WORDS)
            if not role:
                return
        # Which of the contact's cells the row fills: an empty one leaves a known contact's
        # value as it is.
        row.data["contact_given"] = {name for name, value in given.items() if value}
        try:
            row.data["contact"] = customers.clean_contact(
                name=given["name"],
                role=role,
                mobile=given["mobile"],
                landline=given["landline"],
            )
        except ValidationError as exc:
            for name, errors in exc.error_dict.items():
                for error in errors:
                    row.fail_with(CONTACT_COLUMNS.get(name, "contact_name"), error)
            return
        contact = Contact(taxpayer_id=0, **row.data["contact"])
        try:
            contact.clean_fields(exclude=["taxpayer"])
        except ValidationError as exc:
            for name, errors in exc.error_dict.items():
                for error in errors:
                    row.fail_with(CONTACT_COLUMNS.get(name, "contact_name"), error)

    def _model_rules(self, row: Row) -> None:
        """The model's own field rules, as ``full_clean`` applies them (the keys are checked
        against the lookups above, so no query per row)."""
        data = row.data
        taxpayer = Taxpayer(
            number=data["number"],
            name=data["name"],
            service_unit_id=self.unit.pk,
            supervision_body_id=self.unit.supervision_body_id,
            **{
                k: data[k]
                for k in ("address", "district", "office_hours", "taxpayer_type")
                if k in data
            },
        )
        try:
            taxpayer.clean_fields(exclude=["service_unit", "supervision_body", "tax_office"])
        except ValidationError as exc:
            for name, errors in exc.error_dict.items():
                for error in errors:
                    row.fail_with(name, error)

    def dump(self, data: dict) -> dict:
        plain = dict(data)
        if "tax_office" in plain:
            plain["tax_office"] = plain["tax_office"].pk
        if "approved_on" in plain:
            plain["approved_on"] = plain["approved_on"].isoformat()
        if "contact_given" in plain:
            plain["contact_given"] = sorted(plain["contact_given"])
        return plain

    def load(self, data: dict) -> dict:
        if "tax_office" in data:
            data["tax_office"] = self.offices_by_pk.get(data["tax_office"])
        if "approved_on" in data:
            data["approved_on"] = datetime.date.fromisoformat(data["approved_on"])
        if "contact_given" in data:
            data["contact_given"] = set(data["contact_given"])
        return data

    # ------------------------------------------------------------------------- a chunk
    def check(self, rows: list[Row]) -> None:
        """One taxpayer per number within the supervision body: a number of this unit is
        updated; a number of another unit of the body is an error row. The tax office is
        still one the unit serves."""
        for row in rows:
            if row.ok and "tax_office" in row.data:
                office = row.data["tax_office"]
                if office is None or office.pk not in self.served:
                    row.fail(
                        "tax_office",
                        _("This is not a tax office the service unit serves."),
                        "foreign_tax_office",
                    )
        candidates = [r for r in rows if r.ok]
        if not candidates:
            return
        existing = {
            t.number: t
            for t in Taxpayer.objects.filter(
                supervision_body_id=self.unit.supervision_body_id,
                number__in=[r.data["number"] for r in candidates],
            ).select_related("tax_office")
        }
        updating = []
        for row in candidates:
            taxpayer = existing.get(row.data["number"])
            if taxpayer is None:
                continue
            if taxpayer.service_unit_id != self.unit.pk:
                row.fail(
                    "number",
                    _(
                        "This number is already registered with another service unit of this "
                        "supervision area."
                    ),
                    "duplicate",
                )
                continue
            taxpayer.service_unit = self.unit
            row.existing = taxpayer
            updating.append(taxpayer.pk)
        self.contacts: dict[int, list[Contact]] = {}
        if updating:
            for contact in Contact.objects.filter(taxpayer_id__in=updating).order_by("id"):
                self.contacts.setdefault(contact.taxpayer_id, []).append(contact)

    def write(self, rows: list[Row]) -> tuple[int, int, int]:
        creates = [r for r in rows if r.existing is None]
        updates = [r for r in rows if r.existing is not None]
        created = self._create(creates)
        updated = self._update(updates)
        return created, updated, len(updates) - updated

    def _complete(self, taxpayer: Taxpayer, has_mobile: bool) -> bool:
        """INS-06: every field a new user's record needs, and a contact with a mobile."""
        for name in REQUIRED_FOR_ENTRY:
            attname = Taxpayer._meta.get_field(name).attname
            if getattr(taxpayer, attname) in (None, ""):
                return False
        return has_mobile

    def _create(self, rows: list[Row]) -> int:
        if not rows:
            return 0
        now = timezone.now()
        taxpayers = []
        for row in rows:
            data = row.data
            taxpayer = Taxpayer(
                number=data["number"],
                name=data["name"],
                address=data.get("address", ""),
                district=data.get("district", ""),
                service_unit=self.unit,
                supervision_body_id=self.unit.supervision_body_id,
                tax_office=data.get("tax_office"),
                taxpayer_type=data.get("taxpayer_type", ""),
                approved_on=data.get("approved_on"),
                status=TaxpayerStatus.NORMAL,
                office_hours=data.get("office_hours", ""),
                invoice_types=data.get("invoice_types", []),
            )
            contact = data.get("contact")
            # What refresh_entry would find right after the registration: no clock runs yet
            # for a taxpayer nobody has sold to.
            if self._complete(taxpayer, bool(contact and contact["mobile"])):
                taxpayer.entered_at = now
            taxpayers.append(taxpayer)
        Taxpayer.objects.bulk_create(taxpayers)
        contacts = [
            Contact(taxpayer=taxpayer, **row.data["contact"])
            for taxpayer, row in zip(taxpayers, rows, strict=True)
            if row.data.get("contact")
        ]
        if contacts:
            Contact.objects.bulk_create(contacts)
        return len(taxpayers)

    def _update(self, rows: list[Row]) -> int:
        if not rows:
            return 0
        changed_taxpayers, fields = [], set()
        new_contacts, changed_contacts, contact_fields = [], [], set()
        dated, touched = [], []
        for row in rows:
            taxpayer, data = row.existing, row.data
            changed = False
            for name in PLAIN_FIELDS:
                if name in data and getattr(taxpayer, name) != data[name]:
                    setattr(taxpayer, name, data[name])
                    fields.add(name)
                    changed = True
            for name, current in (
                ("taxpayer_type", taxpayer.taxpayer_type),
                ("tax_office", taxpayer.tax_office),
            ):
                if name not in data or data[name] == current:
                    continue
                if current in (None, ""):
                    # Still empty: filled in as update_taxpayer does (the first entry).
                    setattr(taxpayer, name, data[name])
                    fields.add(name)
                else:
                    # Once set, a change is dated and kept in the history.
                    dated.append((taxpayer, name, data[name]))
                changed = True
            if changed and taxpayer not in changed_taxpayers:
                changed_taxpayers.append(taxpayer)
            contact = data.get("contact")
            if contact:
                outcome = self._merge_contact(taxpayer, contact, data["contact_given"])
                if outcome is not None:
                    changed = True
                    kind, obj, names = outcome
                    if kind == "new":
                        new_contacts.append(obj)
                    else:
                        changed_contacts.append(obj)
                        contact_fields.update(names)
            if changed:
                touched.append(taxpayer)
        if fields:
            Taxpayer.objects.bulk_update(changed_taxpayers, sorted(fields))
        if new_contacts:
            Contact.objects.bulk_create(new_contacts)
        if changed_contacts:
            Contact.objects.bulk_update(changed_contacts, sorted(contact_fields))
        note = _("Imported from %(file)s (import #%(job)s)") % {
            "file": self.job.original_name[:80],
            "job": self.job.pk,
        }
        for taxpayer, name, value in dated:
            action = (
                customers.change_type if name == "taxpayer_type" else customers.change_tax_office
            )
            action(taxpayer, value, effective_on=self.today, note=note[:200], by=self.by)
        for taxpayer in touched:
            if taxpayer.entered_at is None:
                customers.refresh_entry(taxpayer, by=self.by)
        return len(touched)

    def _merge_contact(self, taxpayer: Taxpayer, contact: dict, given: set[str]):
        """The row's contact is the taxpayer's contact with the same mobile (or, without a
        mobile, the same landline): changed if it differs, else added."""
        known = self.contacts.setdefault(taxpayer.pk, [])
        match = None
        if contact["mobile"]:
            match = next((c for c in known if c.mobile == contact["mobile"]), None)
        elif contact["landline"]:
            match = next((c for c in known if c.landline == contact["landline"]), None)
        if match is None:
            new = Contact(taxpayer=taxpayer, **contact)
            known.append(new)
            return "new", new, ()
        names = []
        for name in ("name", "role", "mobile", "landline"):
            if name in given and getattr(match, name) != contact[name]:
                setattr(match, name, contact[name])
                names.append(name)
        if not names:
            return None
        match.taxpayer = taxpayer
        return "changed", match, names
