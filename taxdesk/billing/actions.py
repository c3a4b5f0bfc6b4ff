"""Every operation on fee schedules, charges, invoices and service contracts.

Each action owns its transaction and checks its rule; the audited models record who did what.
Pages, the API, imports and commands call these; none of them saves a billing record itself.
Nothing here deletes a charge: a correction or a refund is a new entry.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from taxdesk.core import audit
from taxdesk.core.models import ServiceUnit
from taxdesk.core.numbering import next_number
from taxdesk.core.scoping import CHANGE, can, may_add
from taxdesk.devices.choices import DeviceType

from . import pricing
from .choices import (
    CONTRACT_TRANSITIONS,
    PAYMENT_TRANSITIONS,
    SINGLE_ITEM_KINDS,
    ChargeKind,
    ContractState,
    FeeKind,
    PaymentState,
)
from .invoices import invoice_label, validate_invoice
from .models import Charge, FeeItem, FeeSchedule, ProrationRate, ServiceContract
from .queries import group_totals

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999999.99")
MAX_CONTRACT_YEARS = 5


# ------------------------------------------------------------------------------ helpers
def _today() -> date:
    return timezone.localdate()


def _error(field: str | None, message: str, code: str) -> ValidationError:
    """An error on one field, with its code where the API and the forms find it."""
    error = ValidationError(message, code=code)
    return error if field is None else ValidationError({field: error})


def _forbidden() -> ValidationError:
    return ValidationError(_("You may not do this for this service unit."), code="forbidden")


def _check_add(by, model, service_unit) -> None:
    """``by`` may add a ``model`` row of ``service_unit`` (skipped for system work, by=None)."""
    if by is not None and not may_add(by, model, service_unit):
        raise _forbidden()


def _check_change(by, obj) -> None:
    if by is not None and not can(by, CHANGE, obj):
        raise _forbidden()


def _money(value, field: str, *, label: str = "") -> Decimal:
    """A non-negative amount in yuan with at most two decimal places."""
    prefix = f"{label}: " if label else ""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        raise _error(field, prefix + _("Enter an amount in yuan."), "amount_invalid") from None
    if not amount.is_finite():
        raise _error(field, prefix + _("Enter an amount in yuan."), "amount_invalid")
    if amount < 0:
        raise _error(field, prefix + _("An amount cannot be negative."), "amount_negative")
    if amount != amount.quantize(CENT):
        raise _error(
            field, prefix + _("An amount has at most two decimal places (fen)."), "amount_places"
        )
    if amount > MAX_AMOUNT:
        raise _error(field, prefix + _("The amount is too large."), "amount_too_large")
    return amount.quantize(CENT)


def _not_future(day: date, field: str) -> None:
    if day > _today():
        raise _error(field, _("The date %(day)s is in the future.") % {"day": day}, "future")


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def one_year_from(starts_on: date, years: int = 1) -> date:
    """The last day of a period of ``years`` years starting on ``starts_on``."""
    return add_years(starts_on, years) - timedelta(days=1)


def _period_text(valid_from: date, valid_to: date | None) -> str:
    return f"{valid_from} – {valid_to}" if valid_to else f"{valid_from} – " + _("open-ended")


def _lock_unit(service_unit) -> None:
    """Serialise writers of one unit's schedules and numbers.

    PostgreSQL: the unit row is locked until the transaction ends. SQLite: every transaction
    is IMMEDIATE (settings), so writers are serialised already and ``FOR UPDATE`` is ignored.
    """
    list(ServiceUnit.objects.select_for_update().filter(pk=service_unit.pk).values_list("pk"))


# ------------------------------------------------------------------------- fee schedules
def _default_item_name(kind: str, device_type: str) -> str:
    if kind == FeeKind.DEVICE:
        return str(DeviceType(device_type).label)
    return str(FeeKind(kind).label)


def _clean_items(items) -> list[dict]:
    """Validated items: one price per device type, one maintenance, one on-site fee; repair
    items by name; amounts ≥ 0 with two places. Every bad row is reported."""
    if not items:
        raise _error("items", _("A fee schedule needs at least one priced item."), "items_required")
    errors: list[ValidationError] = []
    cleaned: list[dict] = []
    single: dict[tuple[str, str], int] = {}
    names: dict[str, int] = {}
    for row, raw in enumerate(items, start=1):
        label = _("Item %(row)s") % {"row": row}
        kind = str(raw.get("kind") or "")
        device_type = str(raw.get("device_type") or "")
        name = str(raw.get("name") or "").strip()
        if kind not in FeeKind.values:
            errors.append(ValidationError(label + ": " + _("unknown kind of fee."), "kind"))
            continue
        if kind == FeeKind.DEVICE and device_type not in DeviceType.values:
            errors.append(
                ValidationError(
                    label + ": " + _("a device price names its device type."),
                    "device_type_required",
                )
            )
            continue
        if kind != FeeKind.DEVICE and device_type:
            errors.append(
                ValidationError(
                    label + ": " + _("only a device price names a device type."),
                    "device_type_unexpected",
                )
            )
            continue
        if kind == FeeKind.REPAIR and not name:
            errors.append(
                ValidationError(label + ": " + _("a repair item needs a name."), "name_required")
            )
            continue
        name = name or _default_item_name(kind, device_type)
        if len(name) > 100:
            errors.append(
                ValidationError(label + ": " + _("the name is too long."), "name_too_long")
            )
            continue
        try:
            amount = _money(raw.get("amount"), "amount", label=label)
        except ValidationError as exc:
            errors.extend(exc.error_dict["amount"])
            continue
        if kind in SINGLE_ITEM_KINDS:
            key = (kind, device_type)
            if key in single:
                errors.append(
                    ValidationError(
                        label
                        + ": "
                        + _("item %(other)s already prices %(what)s; a schedule has one price.")
                        % {"other": single[key], "what": _default_item_name(kind, device_type)},
                        "duplicate_item",
                    )
                )
                continue
            single[key] = row
        if name in names:
            errors.append(
                ValidationError(
                    label
                    + ": "
                    + _("the name “%(name)s” is already used by item %(other)s.")
                    % {"name": name, "other": names[name]},
                    "duplicate_name",
                )
            )
            continue
        names[name] = row
        cleaned.append({"kind": kind, "device_type": device_type, "name": name, "amount": amount})
    if errors:
        raise ValidationError({"items": errors})
    return cleaned


def _clean_schedule_fields(
    *, name, valid_from, valid_to, supervision_approval, tax_approval, approved_on
) -> dict:
    errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = ValidationError(_("Name the fee schedule."), code="required")
    supervision_approval = (supervision_approval or "").strip()
    tax_approval = (tax_approval or "").strip()
    # MNT-13: the standard is approved by the supervision unit and the tax authority.
    if not supervision_approval:
        errors["supervision_approval"] = ValidationError(
            _("MNT-13: enter the supervision body's approval document number."),
            code="approval_required",
        )
    if not tax_approval:
        errors["tax_approval"] = ValidationError(
            _("MNT-13: enter the tax authority's approval document number."),
            code="approval_required",
        )
    if valid_to is not None and valid_to < valid_from:
        errors["valid_to"] = ValidationError(
            _("The schedule cannot end before it starts."), code="period"
        )
    if approved_on is None:
        errors["approved_on"] = ValidationError(_("Enter the approval date."), code="required")
    elif approved_on > valid_from:
        errors["approved_on"] = ValidationError(
            _("A schedule cannot be in force before it is approved (approved on %(day)s).")
            % {"day": approved_on},
            code="approved_after_start",
        )
    elif approved_on > _today():
        errors["approved_on"] = ValidationError(
            _("The approval date %(day)s is in the future.") % {"day": approved_on},
            code="future",
        )
    if errors:
        raise ValidationError(errors)
    return {
        "name": name,
        "valid_from": valid_from,
        "valid_to": valid_to,
        "supervision_approval": supervision_approval,
        "tax_approval": tax_approval,
        "approved_on": approved_on,
    }


def _check_no_overlap(service_unit, valid_from, valid_to, exclude_pk=None) -> None:
    """A unit's schedules never overlap; an open-ended one reaches every later day."""
    overlapping = FeeSchedule.objects.filter(service_unit=service_unit).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=valid_from)
    )
    if valid_to is not None:
        overlapping = overlapping.filter(valid_from__lte=valid_to)
    if exclude_pk is not None:
        overlapping = overlapping.exclude(pk=exclude_pk)
    other = overlapping.order_by("valid_from").first()
    if other is None:
        return
    message = _(
        "The period %(period)s overlaps the fee schedule “%(other)s” (%(other_period)s); "
        "a unit's schedules may not overlap."
    ) % {
        "period": _period_text(valid_from, valid_to),
        "other": other.name,
        "other_period": _period_text(other.valid_from, other.valid_to),
    }
    if other.valid_to is None and other.valid_from < valid_from:
        message += " " + _("Close “%(other)s” on %(day)s first.") % {
            "other": other.name,
            "day": valid_from - timedelta(days=1),
        }
    raise _error("valid_from", message, "schedule_overlap")


def schedule_in_use(schedule: FeeSchedule) -> bool:
    """Whether a charge already used the schedule's prices (a sale charges every device it
    sells, at the schedule's item, so a sale's use is a charge too)."""
    return Charge.objects.filter(item__schedule=schedule).exists()


def create_fee_schedule(
    *,
    service_unit,
    name: str,
    valid_from: date,
    valid_to: date | None,
    supervision_approval: str,
    tax_approval: str,
    approved_on: date,
    items: list[dict],
    by,
) -> FeeSchedule:
    """Enter an approved fee standard (收费标准) with its items and validity period (MNT-13)."""
    _check_add(by, FeeSchedule, service_unit)
    fields = _clean_schedule_fields(
        name=name,
        valid_from=valid_from,
        valid_to=valid_to,
        supervision_approval=supervision_approval,
        tax_approval=tax_approval,
        approved_on=approved_on,
    )
    cleaned = _clean_items(items)
    with transaction.atomic(), audit.acting(by):
        _lock_unit(service_unit)
        _check_no_overlap(service_unit, valid_from, valid_to)
        schedule = FeeSchedule(service_unit=service_unit, **fields)
        schedule.save()
        for item in cleaned:
            FeeItem(schedule=schedule, **item).save()
    return schedule


SCHEDULE_FIELDS = (
    "name",
    "valid_from",
    "valid_to",
    "supervision_approval",
    "tax_approval",
    "approved_on",
)


def update_fee_schedule(schedule: FeeSchedule, *, by, items: list[dict] | None = None, **changes):
    """Change a schedule's details, period or items.

    Items (the amounts) change only while nothing was charged or sold at them: an approved
    change of prices is a new schedule. A period still covers every charge made under it.
    """
    unknown = set(changes) - set(SCHEDULE_FIELDS)
    if unknown:
        raise ValueError(f"not a schedule field: {', '.join(sorted(unknown))}")
    _check_change(by, schedule)
    values = {name: changes.get(name, getattr(schedule, name)) for name in SCHEDULE_FIELDS}
    fields = _clean_schedule_fields(**values)
    cleaned = _clean_items(items) if items is not None else None
    with transaction.atomic(), audit.acting(by):
        _lock_unit(schedule.service_unit)
        schedule = FeeSchedule.objects.get(pk=schedule.pk)
        if cleaned is not None and schedule_in_use(schedule):
            raise _error(
                "items",
                _(
                    "Charges or sales already used the prices of “%(name)s”; its amounts "
                    "cannot change. Close it and enter the new approved schedule."
                )
                % {"name": schedule.name},
                "schedule_in_use",
            )
        _check_no_overlap(
            schedule.service_unit, fields["valid_from"], fields["valid_to"], schedule.pk
        )
        _check_charges_inside(schedule, fields["valid_from"], fields["valid_to"])
        for name, value in fields.items():
            setattr(schedule, name, value)
        schedule.save()
        if cleaned is not None:
            for item in schedule.items.all():
                item.delete()  # unused (checked above); the audit trail keeps it
            for item in cleaned:
                FeeItem(schedule=schedule, **item).save()
    return schedule


def _check_charges_inside(schedule, valid_from: date, valid_to: date | None) -> None:
    outside = Charge.objects.filter(item__schedule=schedule).filter(
        Q(service_date__lt=valid_from)
        | (Q(service_date__gt=valid_to) if valid_to is not None else Q(pk__in=[]))
    )
    first = outside.order_by("service_date").first()
    if first is not None:
        raise _error(
            "valid_to",
            _(
                "The charge “%(charge)s” of %(day)s was priced by this schedule; its period "
                "must still include that day."
            )
            % {"charge": first.description, "day": first.service_date},
            "charges_outside",
        )


def close_fee_schedule(schedule: FeeSchedule, valid_to: date, *, by) -> FeeSchedule:
    """End an open-ended schedule on ``valid_to`` so that a new one can start after it."""
    if schedule.valid_to is not None:
        raise _error(
            "valid_to",
            _("The schedule “%(name)s” already ends on %(day)s.")
            % {"name": schedule.name, "day": schedule.valid_to},
            "not_open",
        )
    return update_fee_schedule(schedule, by=by, valid_to=valid_to)


def set_proration(*, service_unit, rates: dict[int, Decimal], by) -> list[ProrationRate]:
    """Set the unit's table of first-year maintenance shares by starting month.

    Months not in ``rates`` are charged in full (their rows are removed).
    """
    _check_add(by, ProrationRate, service_unit)
    errors = []
    cleaned: dict[int, Decimal] = {}
    for month, percent in rates.items():
        try:
            month = int(month)
        except (TypeError, ValueError):
            month = 0
        if not 1 <= month <= 12:
            errors.append(ValidationError(_("A month is 1 to 12."), code="month"))
            continue
        label = _("Month %(month)s") % {"month": month}
        try:
            value = _money(percent, "rates", label=label)
        except ValidationError as exc:
            errors.extend(exc.error_dict["rates"])
            continue
        if value > 100:
            errors.append(
                ValidationError(label + ": " + _("at most 100 percent."), code="percent_range")
            )
            continue
        cleaned[month] = value
    if errors:
        raise ValidationError({"rates": errors})
    with transaction.atomic(), audit.acting(by):
        existing = {r.month: r for r in ProrationRate.objects.filter(service_unit=service_unit)}
        for month, rate in existing.items():
            if month not in cleaned:
                rate.delete()
        for month, percent in sorted(cleaned.items()):
            rate = existing.get(month) or ProrationRate(service_unit=service_unit, month=month)
            if rate.pk is None or rate.percent != percent:
                rate.percent = percent
                rate.save()
    return list(ProrationRate.objects.filter(service_unit=service_unit).order_by("month"))


# ------------------------------------------------------------------------------ charges
def _schedule_on(service_unit, day: date) -> FeeSchedule:
    try:
        return pricing.require_schedule(service_unit, day)
    except ValidationError as exc:
        raise _error("service_date", exc.messages[0], "no_schedule") from None


def _priced(call, field: str):
    try:
        return call()
    except ValidationError as exc:
        raise _error(field, exc.messages[0], exc.code or "no_price") from None


def contract_covering(taxpayer, day: date) -> ServiceContract | None:
    """The taxpayer's signed contract covering ``day``, else a recorded refusal covering it."""
    covering = ServiceContract.objects.filter(
        taxpayer=taxpayer, starts_on__lte=day, ends_on__gte=day
    )
    return (
        covering.filter(state=ContractState.SIGNED).order_by("-starts_on").first()
        or covering.filter(state=ContractState.REFUSED).order_by("-refused_on").first()
    )


def contract_year(contract: ServiceContract, day: date) -> tuple[int, date, date]:
    """Which year of the contract ``day`` falls in (0 = the first), and that year's days."""
    index = 0
    while add_years(contract.starts_on, index + 1) <= day:
        index += 1
    return index, add_years(contract.starts_on, index), add_years(contract.starts_on, index + 1)


def _maintenance_price(taxpayer, service_date, schedule, contract):
    # INS-07: a maintenance fee only under a signed contract, or after a recorded refusal.
    if contract is None:
        contract = contract_covering(taxpayer, service_date)
    if (
        contract is None
        or contract.state not in (ContractState.SIGNED, ContractState.REFUSED)
        or not contract.starts_on <= service_date <= contract.ends_on
    ):
        raise _error(
            "contract",
            _(
                "INS-07: the technical maintenance fee is charged only under a signed "
                "《发票税控系统技术服务合同》 covering %(day)s, or after the user's refusal to "
                "sign it is recorded."
            )
            % {"day": service_date},
            "contract_required",
        )
    index, year_start, year_end = contract_year(contract, service_date)
    earlier = Charge.objects.filter(
        contract=contract,
        kind=ChargeKind.CHARGE,
        fee_kind=FeeKind.MAINTENANCE,
        service_date__gte=year_start,
        service_date__lt=year_end,
    ).first()
    if earlier is not None:
        raise _error(
            "service_date",
            _("The maintenance fee of %(start)s – %(end)s was already charged (%(day)s).")
            % {
                "start": year_start,
                "end": year_end - timedelta(days=1),
                "day": earlier.service_date,
            },
            "already_charged",
        )
    first_year = (
        contract.renewal_of_id is None
        and index == 0
        and not Charge.objects.filter(
            taxpayer=taxpayer, kind=ChargeKind.CHARGE, fee_kind=FeeKind.MAINTENANCE
        ).exists()
    )
    agreed = contract.annual_fee if contract.state == ContractState.SIGNED else None
    price = _priced(
        lambda: pricing.maintenance_price(
            schedule,
            taxpayer.service_unit,
            starts_on=contract.starts_on,
            first_year=first_year,
            annual=agreed,
        ),
        "fee_kind",
    )
    return price, contract


def _device_price(taxpayer, schedule, device):
    if device is None:
        raise _error("device", _("A device price is charged for a device."), "device_required")
    if Charge.objects.filter(
        device=device, kind=ChargeKind.CHARGE, fee_kind=FeeKind.DEVICE
    ).exists():
        raise _error(
            "device",
            _("The price of %(device)s was already charged.") % {"device": device},
            "already_charged",
        )
    return _priced(lambda: pricing.device_charge_price(schedule, taxpayer, device), "device")


def _repair_price(schedule, item):
    if item is None:
        raise _error("item", _("Choose the repair item."), "item_required")
    if item.kind != FeeKind.REPAIR or item.schedule.service_unit_id != schedule.service_unit_id:
        raise _error("item", _("Choose a repair item of this unit."), "item_invalid")
    # The same item of the schedule in force on the service date (MNT-13).
    current = schedule.items.filter(kind=FeeKind.REPAIR, name=item.name).first()
    if current is None:
        raise _error(
            "item",
            _("The fee schedule “%(schedule)s” has no repair item “%(name)s”.")
            % {"schedule": schedule.name, "name": item.name},
            "no_price",
        )
    return pricing.Price(current, current.amount, current.amount)


def charge_sold_devices(
    *, taxpayer, devices, service_date: date, by, sale
) -> list[tuple[pricing.Price, Charge]]:
    """Charge the devices of one sale (INS-05), each with the price it was sold at.

    The prices come from the schedule in force on the sale date and are decided together
    (``pricing.set_prices``: a second set at half price). Pricing errors are the schedule's
    own ("no_schedule", "no_price"): the sale reports them as they are.
    """
    service_unit = taxpayer.service_unit
    _check_add(by, Charge, service_unit)
    with transaction.atomic(), audit.acting(by):
        schedule = pricing.require_schedule(service_unit, service_date)
        prices = pricing.set_prices(schedule, taxpayer, devices)
        charges = [
            Charge.objects.create(
                service_unit=service_unit,
                taxpayer=taxpayer,
                kind=ChargeKind.CHARGE,
                fee_kind=FeeKind.DEVICE,
                item=price.item,
                description=f"{device.get_device_type_display()} {device.serial}"
                + (f"（{price.note}）" if price.note else ""),
                amount=price.amount,
                service_date=service_date,
                device=device,
                sale=sale,
            )
            for device, price in zip(devices, prices, strict=True)
        ]
    return list(zip(prices, charges, strict=True))


def create_charge(
    *,
    taxpayer,
    fee_kind: str,
    service_date: date,
    by,
    device=None,
    contract=None,
    sale=None,
    item=None,
    description: str = "",
) -> Charge:
    """Charge a fee at the approved price in force on ``service_date`` (MNT-13, REP-04).

    The amount always comes from the schedule (pricing.py), never from the user. A
    maintenance fee needs a signed contract covering the day or a recorded refusal (INS-07).
    Whether work is free under warranty is decided before, by pricing.decide_charge.
    """
    service_unit = taxpayer.service_unit
    _check_add(by, Charge, service_unit)
    if fee_kind not in FeeKind.values:
        raise _error("fee_kind", _("Choose the kind of fee."), "invalid_choice")
    for name, obj in (("device", device), ("contract", contract), ("sale", sale)):
        if obj is not None and obj.taxpayer_id != taxpayer.pk:
            raise _error(
                name,
                _("This %(what)s belongs to another taxpayer.") % {"what": obj._meta.verbose_name},
                "other_taxpayer",
            )
    description = (description or "").strip()
    if len(description) > 200:
        raise _error("description", _("The description is too long."), "too_long")
    with transaction.atomic(), audit.acting(by):
        # One clerk at a time charges a taxpayer: no fee is charged twice by two at once.
        from taxdesk.customers.models import Taxpayer

        list(Taxpayer.objects.select_for_update().filter(pk=taxpayer.pk).values_list("pk"))
        schedule = _schedule_on(service_unit, service_date)
        if fee_kind == FeeKind.MAINTENANCE:
            price, contract = _maintenance_price(taxpayer, service_date, schedule, contract)
        elif fee_kind == FeeKind.DEVICE:
            price = _device_price(taxpayer, schedule, device)
        elif fee_kind == FeeKind.ONSITE:
            onsite = _priced(lambda: pricing.fee_item(schedule, FeeKind.ONSITE), "fee_kind")
            price = pricing.Price(onsite, onsite.amount, onsite.amount)
        else:
            price = _repair_price(schedule, item)
        if not description:
            description = price.item.name
            if device is not None:
                description += f" {device.serial}"
            if price.note:
                description += f"（{price.note}）"
        charge = Charge(
            service_unit=service_unit,
            taxpayer=taxpayer,
            kind=ChargeKind.CHARGE,
            fee_kind=fee_kind,
            item=price.item,
            description=description[:200],
            amount=price.amount,
            service_date=service_date,
            device=device,
            sale=sale,
            contract=contract,
            payment_state=PaymentState.UNPAID,
        )
        charge.save()
    return charge


def _root(charge: Charge, what: str) -> Charge:
    """The original charge of an entry; refunds are not paid, corrected or refunded."""
    if charge.kind == ChargeKind.REFUND:
        raise _error(
            None,
            _("A refund cannot be %(what)s; use its original charge.") % {"what": what},
            "refund_entry",
        )
    if charge.kind == ChargeKind.CORRECTION:
        return Charge.objects.get(pk=charge.corrects_id)
    return charge


def record_payment(charge: Charge, *, paid_on: date, by) -> Charge:
    """The taxpayer paid the charge: the original and its unpaid corrections are settled."""
    root = _root(charge, _("paid"))
    _check_change(by, root)
    if paid_on is None:
        raise _error("paid_on", _("Enter the payment date."), "required")
    _not_future(paid_on, "paid_on")
    payable = [s for s, moves in PAYMENT_TRANSITIONS.items() if PaymentState.PAID in moves]
    with transaction.atomic(), audit.acting(by):
        entries = Charge.objects.filter(
            Q(pk=root.pk) | Q(corrects=root, kind=ChargeKind.CORRECTION),
            payment_state__in=payable,
        )
        ids = list(entries.values_list("pk", flat=True))
        due = entries.aggregate(total=Sum("amount"))["total"]
        if not ids or due is None or due <= 0:
            raise _error(
                None,
                _("Nothing of this charge is left to pay."),
                "nothing_to_pay",
            )
        claimed = Charge.objects.filter(pk__in=ids, payment_state__in=payable).update(
            payment_state=PaymentState.PAID, paid_on=paid_on
        )
        if claimed != len(ids):
            raise _error(None, _("Someone recorded this payment already."), "already_paid")
    root.refresh_from_db()
    return root


def record_invoice(
    charge: Charge, *, invoice_code: str = "", invoice_number: str, invoice_date: date, by
) -> Charge:
    """Record the formal invoice (正式发票) issued for a charge or a correction (MNT-13).

    Recording again replaces the number (a typing error); the audit trail keeps the old one.
    """
    if charge.kind == ChargeKind.REFUND:
        raise _error(None, _("A refund has no invoice of its own."), "refund_entry")
    _check_change(by, charge)
    code, number = validate_invoice(invoice_code, invoice_number)
    if invoice_date is None:
        raise _error("invoice_date", _("Enter the invoice date."), "required")
    _not_future(invoice_date, "invoice_date")
    used = (
        Charge.objects.filter(
            service_unit_id=charge.service_unit_id, invoice_code=code, invoice_number=number
        )
        .exclude(pk=charge.pk)
        .first()
    )
    invoice_used = _error(
        "invoice_number",
        _("The invoice %(invoice)s is already recorded for another charge%(which)s.")
        % {
            "invoice": invoice_label(code, number),
            "which": f" ({used.description}, {used.service_date})" if used else "",
        },
        "invoice_used",
    )
    if used is not None:
        raise invoice_used
    try:
        with transaction.atomic(), audit.acting(by):
            updated = Charge.objects.filter(pk=charge.pk).update(
                invoice_code=code, invoice_number=number, invoice_date=invoice_date
            )
            if not updated:
                raise _error(None, _("The charge no longer exists."), "missing")
    except IntegrityError:
        raise invoice_used from None
    charge.refresh_from_db()
    return charge


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise _error("reason", _("Say why."), "reason_required")
    if len(reason) > 180:
        raise _error("reason", _("The reason is too long."), "too_long")
    return reason


def correct_charge(charge: Charge, *, new_amount, reason: str, by) -> Charge:
    """Correct what a charge should have been: a new CORRECTION entry with the difference.

    The original is never changed; the net of the original and its corrections is the
    corrected amount.
    """
    root = _root(charge, _("corrected"))
    _check_change(by, root)
    new_amount = _money(new_amount, "new_amount")
    reason = _reason(reason)
    with transaction.atomic(), audit.acting(by):
        list(Charge.objects.select_for_update().filter(pk=root.pk).values_list("pk"))
        net = group_totals(root)["net"]
        difference = new_amount - net
        if difference == 0:
            raise _error(
                "new_amount",
                _("The charge already comes to %(amount)s yuan.") % {"amount": net},
                "no_change",
            )
        entry = Charge(
            service_unit_id=root.service_unit_id,
            taxpayer_id=root.taxpayer_id,
            kind=ChargeKind.CORRECTION,
            fee_kind=root.fee_kind,
            item_id=root.item_id,
            description=_("Correction: %(reason)s") % {"reason": reason},
            amount=difference,
            service_date=root.service_date,
            device_id=root.device_id,
            sale_id=root.sale_id,
            contract_id=root.contract_id,
            corrects=root,
            payment_state=PaymentState.UNPAID,
        )
        entry.save()
    return entry


def refund_charge(charge: Charge, *, amount, reason: str, on: date, by) -> Charge:
    """Give money back: a new REFUND entry with a negative amount, paid out on ``on``.

    Never more than what was paid for the charge (with its corrections), net of earlier
    refunds.
    """
    root = _root(charge, _("refunded"))
    _check_change(by, root)
    amount = _money(amount, "amount")
    if amount == 0:
        raise _error("amount", _("A refund is more than zero."), "amount_positive")
    reason = _reason(reason)
    _not_future(on, "on")
    with transaction.atomic(), audit.acting(by):
        list(Charge.objects.select_for_update().filter(pk=root.pk).values_list("pk"))
        totals = group_totals(root)
        if amount > totals["refundable"]:
            raise _error(
                "amount",
                _(
                    "At most %(max)s yuan can be refunded: %(paid)s paid, %(refunded)s "
                    "refunded already."
                )
                % {
                    "max": totals["refundable"],
                    "paid": totals["paid"],
                    "refunded": totals["refunded"],
                },
                "refund_too_large",
            )
        entry = Charge(
            service_unit_id=root.service_unit_id,
            taxpayer_id=root.taxpayer_id,
            kind=ChargeKind.REFUND,
            fee_kind=root.fee_kind,
            item_id=root.item_id,
            description=_("Refund: %(reason)s") % {"reason": reason},
            amount=-amount,
            service_date=root.service_date,
            device_id=root.device_id,
            sale_id=root.sale_id,
            contract_id=root.contract_id,
            corrects=root,
            payment_state=PaymentState.PAID,
            paid_on=on,
        )
        entry.save()
    return entry


# ----------------------------------------------------------------------------- contracts
def _next_contract_number(service_unit, starts_on: date) -> str:
    """HT-<unit code>-<year>-<00001>."""
    prefix = f"HT-{service_unit.code}-{starts_on.year}-"
    return next_number(service_unit, prefix, width=5, issued=ServiceContract.objects.all())


def _standard_fee(service_unit, day: date, field: str) -> Decimal:
    try:
        schedule = pricing.require_schedule(service_unit, day)
        return pricing.fee_item(schedule, FeeKind.MAINTENANCE).amount
    except ValidationError as exc:
        raise _error(field, exc.messages[0], exc.code or "no_schedule") from None


def _check_contract_overlap(taxpayer, starts_on, ends_on, exclude_pk=None) -> None:
    other = (
        ServiceContract.objects.filter(
            taxpayer=taxpayer,
            state__in=(ContractState.DRAFT, ContractState.SIGNED),
            starts_on__lte=ends_on,
            ends_on__gte=starts_on,
        )
        .exclude(pk=exclude_pk)
        .order_by("starts_on")
        .first()
    )
    if other is not None:
        raise _error(
            "starts_on",
            _("The contract %(number)s (%(start)s – %(end)s) already covers part of this period.")
            % {"number": other.number, "start": other.starts_on, "end": other.ends_on},
            "contract_overlap",
        )


def _create_contract(*, taxpayer, starts_on, ends_on, annual_fee, renewal_of, by):
    service_unit = taxpayer.service_unit
    if ends_on <= starts_on:
        raise _error("ends_on", _("The contract ends after it starts."), "period")
    if ends_on > add_years(starts_on, MAX_CONTRACT_YEARS):
        raise _error(
            "ends_on",
            _("A contract runs at most %(n)s years.") % {"n": MAX_CONTRACT_YEARS},
            "period",
        )
    standard = _standard_fee(service_unit, starts_on, "starts_on")
    if annual_fee is None:
        annual_fee = standard
    else:
        annual_fee = _money(annual_fee, "annual_fee")
        # MNT-13: never more than the approved standard.
        if annual_fee > standard:
            raise _error(
                "annual_fee",
                _(
                    "The approved maintenance fee in force on %(day)s is %(standard)s yuan; "
                    "a contract cannot ask more."
                )
                % {"day": starts_on, "standard": standard},
                "above_standard",
            )
    try:
        with transaction.atomic(), audit.acting(by):
            _lock_unit(service_unit)
            _check_contract_overlap(taxpayer, starts_on, ends_on)
            contract = ServiceContract(
                service_unit=service_unit,
                taxpayer=taxpayer,
                number=_next_contract_number(service_unit, starts_on),
                starts_on=starts_on,
                ends_on=ends_on,
                annual_fee=annual_fee,
                state=ContractState.DRAFT,
                renewal_of=renewal_of,
            )
            contract.save()
    except IntegrityError:
        raise _error(None, _("The contract was renewed already."), "already_renewed") from None
    return contract


def create_contract(
    *, taxpayer, starts_on: date, ends_on: date | None = None, annual_fee=None, by
) -> ServiceContract:
    """A 《发票税控系统技术服务合同》 awaiting signature, numbered HT-<unit>-<year>-<n>.

    ``ends_on`` defaults to one year; ``annual_fee`` to the approved maintenance fee in force
    on ``starts_on`` (and never above it).
    """
    _check_add(by, ServiceContract, taxpayer.service_unit)
    return _create_contract(
        taxpayer=taxpayer,
        starts_on=starts_on,
        ends_on=ends_on or one_year_from(starts_on),
        annual_fee=annual_fee,
        renewal_of=None,
        by=by,
    )


def _move(contract: ServiceContract, to: str, by, **values) -> ServiceContract:
    """Claim the declared move from the current state with a conditional UPDATE."""
    _check_change(by, contract)
    allowed = [s for s, moves in CONTRACT_TRANSITIONS.items() if to in moves]
    if contract.state not in allowed:
        raise _error(
            None,
            _("The contract %(number)s is %(state)s; it can no longer be signed or refused.")
            % {"number": contract.number, "state": contract.get_state_display()},
            "not_draft",
        )
    with transaction.atomic(), audit.acting(by):
        claimed = ServiceContract.objects.filter(pk=contract.pk, state__in=allowed).update(
            state=to, **values
        )
        if not claimed:
            raise _error(None, _("Someone changed this contract in the meantime."), "not_draft")
    contract.refresh_from_db()
    return contract


def sign_contract(contract: ServiceContract, *, signed_on: date, by) -> ServiceContract:
    """The user signed the contract (INS-07): maintenance fees may be charged under it."""
    if signed_on is None:
        raise _error("signed_on", _("Enter the date of signature."), "required")
    _not_future(signed_on, "signed_on")
    if signed_on > contract.ends_on:
        raise _error(
            "signed_on",
            _("The contract ended on %(day)s; make a new one.") % {"day": contract.ends_on},
            "signed_after_end",
        )
    return _move(contract, ContractState.SIGNED, by, signed_on=signed_on)


def record_refusal(contract: ServiceContract, *, refused_on: date, note: str, by):
    """The user refuses to sign (INS-07: "unless the user refuses to sign"); recorded with why."""
    note = (note or "").strip()
    if not note:
        raise _error("note", _("Note what the user said when refusing to sign."), "note_required")
    if len(note) > 200:
        raise _error("note", _("The note is too long."), "too_long")
    if refused_on is None:
        raise _error("refused_on", _("Enter the date of the refusal."), "required")
    _not_future(refused_on, "refused_on")
    return _move(contract, ContractState.REFUSED, by, refused_on=refused_on, refusal_note=note)


def renew_contract(contract: ServiceContract, *, by, years: int = 1) -> ServiceContract:
    """A new draft starting the day after ``contract`` ends, at the fee in force then."""
    _check_change(by, contract)
    if contract.state != ContractState.SIGNED:
        raise _error(
            None,
            _("Only a signed contract is renewed; %(number)s is %(state)s.")
            % {"number": contract.number, "state": contract.get_state_display()},
            "not_signed",
        )
    if not 1 <= int(years) <= MAX_CONTRACT_YEARS:
        raise _error(
            "years",
            _("A contract runs 1 to %(n)s years.") % {"n": MAX_CONTRACT_YEARS},
            "period",
        )
    renewal = ServiceContract.objects.filter(renewal_of=contract).first()
    if renewal is not None:
        raise _error(
            None,
            _("The contract %(number)s was already renewed by %(renewal)s.")
            % {"number": contract.number, "renewal": renewal.number},
            "already_renewed",
        )
    starts_on = contract.ends_on + timedelta(days=1)
    return _create_contract(
        taxpayer=contract.taxpayer,
        starts_on=starts_on,
        ends_on=one_year_from(starts_on, int(years)),
        annual_fee=None,
        renewal_of=contract,
        by=by,
    )
