"""Reads of taxpayers shared by the pages, the API and the benchmark.

``search(queryset, text)`` finds taxpayers by one box of text. Each key is looked up on its
own index first and only the matching taxpayer ids reach the scoped queryset, so no branch
joins or ORs its way into a scan of the whole register:

====================  =============================================  ==========================
key                   when the text …                                index
====================  =============================================  ==========================
taxpayer number       is 4–20 digits/letters (spaces ignored, any    ``taxpayer_number_idx``,
                      case): the numbers that start with it          a range scan
name                  always: names that contain it (any case)       trigram (search_index);
                                                                     1–2 characters: none
contact's phone       is 4+ digits (spaces, dashes, brackets and a   ``contact_mobile_tail_idx``,
                      leading +86 ignored): phones that END with     ``contact_landline_tail_idx``
                      it ("尾号 5678"); a whole mobile number is     (last four digits), or the
                      an exact match                                 mobile index
device serial         is 4–20 digits/letters: serials that start     the serial's unique index,
                      with it (a finder the devices app registers)   a range scan
====================  =============================================  ==========================

Apps above the register add keys through ``extensions.register_finder`` (the devices app
finds holders by serial); a finder reads the text its own way and answers None when the text
is not one of its keys.

A prefix is a range (``number >= 'ABC' AND number <= 'ABCZZ…'``) rather than ``LIKE 'ABC%'``:
a range uses a B-tree on SQLite and on PostgreSQL whatever the collation, ``LIKE`` does not.

Each lookup fetches at most ``ID_LIMIT`` + 1 ids. A key that matches more than that (a
two-digit prefix of every number) is not worth a list of ids: it is then matched inside the
scoped query instead, where paging in name order stops as soon as a page is full.
"""

from __future__ import annotations

import re

from django.db.models import Q

from . import extensions
from .identifiers import normalize_number
from .search_index import MIN_TRIGRAM, name_ids

ID_LIMIT = 1000
MIN_KEY = 4
MAX_KEY = 20
_KEY = re.compile(r"^[0-9A-Z]+$")
_PHONE_NOISE = re.compile(r"[\s\-()（）.]")


def prefix_range(field: str, prefix: str, max_length: int = MAX_KEY) -> Q:
    """Values of ``field`` that start with ``prefix`` (digits and capital letters only).

    Every such value of at most ``max_length`` characters lies between the prefix and the
    prefix padded with "Z" (the largest of the alphabet), and nothing else does.
    """
    return Q(**{f"{field}__gte": prefix, f"{field}__lte": prefix.ljust(max_length, "Z")})


def phone_digits(text: str) -> str | None:
    """The digits of a phone number as typed, or None if it is not one."""
    raw = _PHONE_NOISE.sub("", text or "")
    if raw.startswith("+86"):
        raw = raw[3:]
    elif raw.startswith("0086"):
        raw = raw[4:]
    if not (raw.isdigit() and raw.isascii() and len(raw) >= MIN_KEY):
        return None
    if len(raw) > 8 and not (len(raw) == 11 and raw.startswith("1")) and raw[0] != "0":
        # Nine digits or more that are neither a mobile nor a landline with its area code:
        # a device serial or a taxpayer number, not a phone (its tail would match by chance).
        return None
    return raw


def ids_or_none(values) -> list[int] | None:
    """At most ID_LIMIT ids, or None when there are more (the caller uses a condition)."""
    ids = list(values[: ID_LIMIT + 1])
    return ids if len(ids) <= ID_LIMIT else None


def phone_taxpayer_ids(digits: str) -> list[int] | Q:
    """Taxpayers with a contact whose mobile or landline ends with ``digits``."""
    from .models import Contact

    if len(digits) == 11 and digits.startswith("1"):
        contacts = Contact.objects.filter(mobile=digits)
        ids = ids_or_none(contacts.order_by().values_list("taxpayer_id", flat=True))
        return sorted(set(ids)) if ids is not None else Q(pk__in=contacts.values("taxpayer_id"))
    tail = digits[-4:]
    rows = []
    for field, number in (("mobile_tail", "mobile"), ("landline_tail", "landline")):
        # Two lookups, each on its own partial index (an OR of the two may scan).
        rows += (
            Contact.objects.filter(**{field: tail, f"{field}__gt": ""})
            .order_by()
            .values_list("taxpayer_id", number)[: ID_LIMIT * 10 + 1]
        )
    if len(rows) > ID_LIMIT * 10:
        # Four digits shared by more contacts than a page could ever show: match inside.
        return Q(
            pk__in=Contact.objects.filter(
                Q(mobile__endswith=digits) | Q(landline__endswith=digits)
            ).values("taxpayer_id")
        )
    matched = {
        taxpayer_id for taxpayer_id, number in rows if re.sub(r"\D", "", number).endswith(digits)
    }
    return sorted(matched)


def number_taxpayer_ids(prefix: str) -> list[int] | Q:
    from .models import Taxpayer

    condition = prefix_range("number", prefix)
    ids = ids_or_none(Taxpayer.objects.filter(condition).order_by().values_list("pk", flat=True))
    return ids if ids is not None else condition


def name_taxpayer_ids(fragment: str) -> list[int] | Q:
    ids = name_ids(fragment, ID_LIMIT + 1)
    if ids is None or len(ids) > ID_LIMIT:
        return Q(name__icontains=fragment)
    if len(fragment) < MIN_TRIGRAM:
        # The pair index finds names holding the pair; the name itself is the judge.
        return Q(pk__in=ids, name__icontains=fragment)
    return ids


def search(queryset, text: str, *, full_phones: bool = True):
    """The taxpayers of ``queryset`` that ``text`` finds by number, name, phone or serial.

    ``full_phones=False`` (a caller who sees numbers masked, core.privacy) looks a phone up
    by its last four digits only, which the masked number shows anyway: asking which longer
    numbers exist would reveal the hidden digits one by one."""
    text = (text or "").strip()
    if not text:
        return queryset
    found: list[list[int] | Q] = [name_taxpayer_ids(text)]
    key = normalize_number(text)
    if MIN_KEY <= len(key) <= MAX_KEY and _KEY.match(key):
        found.append(number_taxpayer_ids(key))
    found.extend(result for finder in extensions.finders() if (result := finder(text)) is not None)
    digits = phone_digits(text)
    if digits is not None and not full_phones:
        digits = digits[-MIN_KEY:]
    if digits is not None:
        found.append(phone_taxpayer_ids(digits))
    ids: set[int] = set()
    condition = Q(pk__in=[])
    for result in found:
        if isinstance(result, Q):
            condition |= result
        else:
            ids.update(result)
    if ids:
        condition |= Q(pk__in=sorted(ids))
    return queryset.filter(condition)
