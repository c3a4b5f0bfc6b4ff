"""Serializer fields shared by every app's API."""

from __future__ import annotations

from django.apps import apps
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from taxdesk.core import privacy
from taxdesk.core.scoping import VIEW


@extend_schema_field(OpenApiTypes.INT)
class ScopedRelatedField(serializers.PrimaryKeyRelatedField):
    """A record of another model, looked up only among the rows the caller may see.

    An id outside the caller's scope is answered exactly as an id that does not exist
    ("does_not_exist"), so an answer never tells whether another unit's record exists.
    ``model`` is a model class or its label ("sales.Sale"): a lower app names a higher
    app's model by label, without importing it.
    """

    def __init__(self, model, action=VIEW, **kwargs):
        self._model = model
        self.scope_action = action
        super().__init__(**kwargs)

    @property
    def model(self):
        if isinstance(self._model, str):
            self._model = apps.get_model(self._model)
        return self._model

    def get_queryset(self):
        request = self.context.get("request")
        if request is None:
            return self.model.objects.none()
        return self.model.objects.restrict(request.user, self.scope_action)


def _caller(field):
    request = field.context.get("request")
    return getattr(request, "user", None)


class PhoneField(serializers.CharField):
    """A phone number: written as typed, read in full only by the roles that need it
    (``core.privacy``); everyone else reads 138****5678. Without a request (no caller), it
    is masked."""

    def to_representation(self, value):
        return privacy.phone_for(_caller(self), super().to_representation(value))


@extend_schema_field(OpenApiTypes.OBJECT)
class PersonalJSONField(serializers.JSONField):
    """Stored data holding phone numbers (an audit entry's changes, a sale's application
    form): the numbers masked for the roles without need (``core.privacy``)."""

    def to_representation(self, value):
        return privacy.personal_for(_caller(self), super().to_representation(value))
