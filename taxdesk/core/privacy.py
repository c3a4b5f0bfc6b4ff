"""Personal data: who sees phone numbers in full, how everyone else sees them, and whose reads
of a taxpayer's record are kept in the audit trail (docs/decisions/0008).

- The unit's own staff call the users (administrator, desk, technicians, sales, repair,
  trainer) and a taxpayer's own users see their own contacts: they see numbers in full.
  ``restrict`` already keeps each of them to their unit's or their own enterprise's rows.
- Supervision and tax officers oversee; they need to know that a contact has a number, not
  the number: they see ``138****5678``. So does a user without a role.
- The platform administrator (superuser) sees numbers in full: the Django admin shows them
  the raw rows anyway.

The masking happens on the server, before anything is rendered or serialised: a page (the
``phone`` and ``personal`` template filters), the API (``core.api.fields.PhoneField`` and
``PersonalJSONField``), an export to Excel (:class:`Personal` columns), a PDF (the caller
passes masked data). The stored values, the audit trail's included, stay whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .audit import record_view
from .choices import UNIT_ROLES, Role

# The roles that see phone numbers in full (besides the superuser).
PERSONAL_DATA_ROLES = frozenset(UNIT_ROLES | {Role.TAXPAYER})

# The roles whose reads of a taxpayer's full record are recorded in the audit trail.
RECORDED_READERS = frozenset({Role.SUPERVISION_OFFICER, Role.TAX_OFFICER})

# Keys of stored structures (an audit entry's changes, a sale's application form) whose
# values are phone numbers: a contact's mobile and landline, a user's mobile.
PHONE_KEYS = frozenset({"mobile", "landline", "phone"})

MASK = "****"
_NOT_DIGIT = re.compile(r"\D")


def needs_personal_data(user) -> bool:
    """Whether ``user`` sees phone numbers in full (within the rows ``restrict`` gives them)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    return getattr(user, "role", "") in PERSONAL_DATA_ROLES


def reads_are_recorded(user) -> bool:
    """Whether ``user`` opening a taxpayer's full record leaves a "view" entry in the trail."""
    if user is None or not getattr(user, "is_authenticated", False) or user.is_superuser:
        return False
    return getattr(user, "role", "") in RECORDED_READERS


def mask_phone(number) -> str:
    """A phone number with its middle hidden: ``13812345678`` → ``138****5678``.

    Only digits are kept (``0571-87654321`` → ``057****4321``; a leading +86 or 0086 is
    dropped). At least four digits always stay hidden, so a short number shows less: eight
    to ten digits show their last four, six or seven their last two, fewer nothing. The
    stars are always four, whatever the length hidden. An empty value stays empty.
    """
    if number is None:
        return ""
    text = str(number).strip()
    if not text:
        return ""
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    digits = _NOT_DIGIT.sub("", text)
    size = len(digits)
    if size >= 11:
        return f"{digits[:3]}{MASK}{digits[-4:]}"
    if size >= 8:
        return f"{MASK}{digits[-4:]}"
    if size >= 6:
        return f"{MASK}{digits[-2:]}"
    return MASK


def mask_personal(value, *, phone: bool = False):
    """``value`` (plain data: dicts, lists, strings…) with every phone number masked.

    A phone number is a value held under one of ``PHONE_KEYS`` at any depth, directly or in
    a list: ``{"mobile": ["13812345678", "13912345678"]}`` (an audit entry's before → after)
    or ``{"contacts": [{"name": "张三", "mobile": "13812345678"}]}`` (an application form).
    """
    if isinstance(value, dict):
        return {
            key: mask_personal(item, phone=phone or key in PHONE_KEYS)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_personal(item, phone=phone) for item in value]
    if phone and isinstance(value, str | int) and not isinstance(value, bool):
        return mask_phone(value) if value != "" else value
    return value


def phone_for(user, number) -> str:
    """The number as ``user`` may see it."""
    if needs_personal_data(user):
        return "" if number is None else str(number)
    return mask_phone(number)


def personal_for(user, value):
    """Plain data as ``user`` may see it (phone numbers masked for roles without need)."""
    return value if needs_personal_data(user) else mask_personal(value)


@dataclass(frozen=True)
class Personal:
    """An export column holding personal data (``core.generic.ObjectListView``)::

        export_columns = ["name", Personal("mobile"), Personal("changes", mask_personal)]

    ``column`` is any column spec of ``export_columns``; for a user without need its value
    goes through ``mask`` (by default :func:`mask_phone`) before it is written.
    """

    column: object
    mask: Callable = mask_phone


def record_read(user, instance, *, object_repr: str | None = None) -> bool:
    """Keep ``user``'s read of ``instance`` (a taxpayer's full record) in the audit trail if
    their reads are recorded; whether it was recorded."""
    if not reads_are_recorded(user):
        return False
    record_view(instance, user=user, object_repr=object_repr)
    return True
