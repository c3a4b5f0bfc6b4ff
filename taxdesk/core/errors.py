"""Errors that actions raise."""

from django.core.exceptions import ValidationError


def field_error(field: str, message: str, code: str, params=None) -> ValidationError:
    """A field's error that keeps its code (Django drops a code given next to a dict)."""
    return ValidationError({field: ValidationError(message, code=code, params=params)})
