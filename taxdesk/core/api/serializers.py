"""Serializer bases of the API: a request body names only fields the endpoint writes.

A key the serializer does not write (a typo, a field that is only read, a field of another
endpoint) is refused with a 400 naming it (code ``unknown_field``) instead of being dropped
silently: a client that sends ``{"yaers": 5}`` learns it, rather than getting a 201 with the
default. Nested serializers built on these bases check their own keys, and the error names
the nested key by its path (``contacts.0.typo_field``).
"""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext as _
from rest_framework import exceptions, serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer


class StrictFieldsMixin:
    """Refuse every key of the data that is not one of this serializer's writable fields."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = {field.field_name for field in self._writable_fields}
            unknown = sorted(str(key) for key in data if key not in writable)
            if unknown:
                known = {name for name, field in self.fields.items() if field.read_only}
                raise exceptions.ValidationError(
                    {
                        name: [
                            exceptions.ErrorDetail(
                                _("This field is read-only: it cannot be written here.")
                                if name in known
                                else _("Unknown field: this endpoint does not take it."),
                                code="unknown_field",
                            )
                        ]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)


class StrictSerializer(StrictFieldsMixin, serializers.Serializer):
    pass


class StrictModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    pass


class NoBodySerializer(StrictSerializer):
    """The body of an action that takes none: empty, or refused key by key."""


class StrictAuthTokenSerializer(StrictFieldsMixin, AuthTokenSerializer):
    pass
