"""Reads of the messages that the service apps use on their own pages."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType

from .models import Message


def messages_for(record, user):
    """The messages about ``record`` (a dispatch order, a training class …) that ``user``
    may see, newest first: for the record's page."""
    return (
        Message.objects.restrict(user)
        .filter(related_type=ContentType.objects.get_for_model(type(record)), related_id=record.pk)
        .order_by("-created_at", "-id")
    )
