"""Document numbers (sale XS…, contract HT…): a prefix naming the unit and the period, then a
sequence that restarts with each prefix.

The next number comes from one locked ``NumberSequence`` row per unit and prefix. The first
time a prefix is used, its sequence starts after the highest number already issued with it
(numbers issued before the sequences existed, or written by an import), found once by a
prefix search; afterwards no search among the issued numbers is needed (on SQLite such a
search reads the whole table: ``LIKE`` cannot use the unique index).
"""

from __future__ import annotations

from django.db import IntegrityError, models, transaction

from .models import NumberSequence


def next_number(service_unit, prefix: str, *, width: int, issued: models.QuerySet) -> str:
    """The next number ``<prefix><sequence, zero-padded to width>`` of the unit.

    ``issued`` is the queryset of the records whose ``number`` carries such numbers; it is
    read only when the prefix is new. Call inside the transaction that saves the record.
    """
    with transaction.atomic():
        sequence = (
            NumberSequence.objects.select_for_update()
            .filter(service_unit=service_unit, prefix=prefix)
            .first()
        )
        if sequence is None:
            sequence = _start(service_unit, prefix, issued)
        sequence.last += 1
        sequence.save(update_fields=["last"])
    return f"{prefix}{sequence.last:0{width}d}"


def _start(service_unit, prefix: str, issued: models.QuerySet) -> NumberSequence:
    highest = 0
    for number in issued.filter(number__startswith=prefix).values_list("number", flat=True):
        tail = number[len(prefix) :]
        if tail.isdigit():
            highest = max(highest, int(tail))
    try:
        with transaction.atomic():
            return NumberSequence.objects.create(
                service_unit=service_unit, prefix=prefix, last=highest
            )
    except IntegrityError:
        # Another transaction started the same sequence first: use (and lock) its row.
        return NumberSequence.objects.select_for_update().get(
            service_unit=service_unit, prefix=prefix
        )
