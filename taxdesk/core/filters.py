"""Integer filters shared by every filterset (pages and API): ids and numbers are read
strictly.

A value is digits only (no sign, no decimal point, no exponent: "1.5" and "1e20" are not
numbers here) within the filter's range, else the filter's form has an error ("invalid"): the
API answers a 400 naming the parameter, a page shows the error; never a 500 from a value the
database cannot hold, never "1.5" read as 1.
"""

from __future__ import annotations

from datetime import UTC

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field

# The largest value of a 64-bit signed integer: the widest id column of either database.
MAX_ID = 2**63 - 1


class StrictIntegerField(forms.CharField):
    """A whole number written in digits, from ``min_value`` to ``max_value``."""

    def __init__(self, *, min_value: int = 0, max_value: int = MAX_ID, **kwargs):
        self.min_value, self.max_value = min_value, max_value
        kwargs.pop("max_length", None)
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        digits = value.isascii() and value.isdigit()
        # A digit string longer than the largest bound is out of range without reading it.
        if not digits or len(value.lstrip("0")) > len(str(self.max_value)):
            raise self._invalid()
        number = int(value)
        if not self.min_value <= number <= self.max_value:
            raise self._invalid()
        return number

    def _invalid(self) -> ValidationError:
        return ValidationError(
            _("Enter a whole number from %(min)s to %(max)s."),
            code="invalid",
            params={"min": self.min_value, "max": self.max_value},
        )


@extend_schema_field({"type": "integer", "format": "int64", "minimum": 0, "maximum": MAX_ID})
class IntegerFilter(django_filters.Filter):
    """A whole number (a count of days, a year…): ``min_value``/``max_value`` bound it."""

    field_class = StrictIntegerField


@extend_schema_field({"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.Filter):
    """A record's id: 1 to 2^63-1. Used where a choice list would be too long (a unit's
    taxpayers); the rows filtered are already scoped, so an id out of reach finds nothing."""

    field_class = StrictIntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class IdChoiceField(django_filters.fields.ModelChoiceField):
    """A choice of records by id: anything but an id in digits (“+1”, “1.0”, full-width
    digits, a number past 2^63-1) is not a valid choice, as an id that does not exist."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value)
        if not (text.isascii() and text.isdigit() and 1 <= int(text[:20]) <= MAX_ID):
            raise ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice", params={"value": text}
            )
        return super().to_python(text)


class IdChoiceFilter(django_filters.ModelChoiceFilter):
    """A record among those the caller sees (``queryset`` a callable of the request)."""

    field_class = IdChoiceField


class UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 time read in UTC: an offset the database cannot hold (PostgreSQL refuses
    one past ±15:59, e.g. "+16:30") or a time that leaves the calendar once moved to UTC is
    "invalid", never a 500."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except (OverflowError, ValueError):
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField
