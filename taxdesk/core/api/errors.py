"""One error shape for the whole API.

    {"error": {"code": "validation_error", "message": "…", "fields": {"field": ["…"]}}}

``code`` is machine-readable and stable; ``message`` is for people, in the caller's language.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

# Django logs the 500 response on "django.request" (without the traceback); this has it.
logger = logging.getLogger("taxdesk.api")


def _first_code(detail, default: str) -> str:
    if isinstance(detail, dict):
        for value in detail.values():
            return _first_code(value, default)
    if isinstance(detail, list) and detail:
        return _first_code(detail[0], default)
    return getattr(detail, "code", None) or default


def _as_drf(exc):
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail = {
                field: [
                    exceptions.ErrorDetail(str(m), e.code or "invalid")
                    for e in errors
                    for m in e.messages
                ]
                for field, errors in exc.error_dict.items()
            }
        else:
            detail = [exceptions.ErrorDetail(str(m), exc.code or "invalid") for m in exc.messages]
        return exceptions.ValidationError(detail)
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    return exc


def _flat(detail, prefix: str = "") -> dict[str, list[str]]:
    """Field errors by name; a nested serializer's under its path ("contacts.0.name")."""
    fields: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for name, value in detail.items():
            for key, messages in _flat(value, f"{prefix}{name}.").items():
                fields.setdefault(key, []).extend(messages)
        return fields
    key = prefix.rstrip(".")
    items = detail if isinstance(detail, list) else [detail]
    if any(isinstance(item, dict | list) for item in items):
        for index, item in enumerate(items):
            if item:  # an item of a list that is right has no errors: {} or []
                for sub, messages in _flat(item, f"{prefix}{index}.").items():
                    fields.setdefault(sub, []).extend(messages)
        return fields
    return {key: [str(m) for m in items]}


def _server_error(exc, context):
    """An exception no rule expects: logged with its traceback, answered in the one shape
    (in production too, where Django would answer its HTML 500 page)."""
    request = context.get("request")
    set_rollback()
    logger.error(
        "Unexpected error in the API: %s",
        getattr(request, "path", "?"),
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    body = {
        "error": {
            "code": "server_error",
            "message": _("Something went wrong on the server; the error was recorded."),
            "fields": {},
        }
    }
    return Response(body, status=status.HTTP_500_INTERNAL_SERVER_ERROR)


def exception_handler(exc, context):
    exc = _as_drf(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return _server_error(exc, context)
    detail = exc.detail if isinstance(exc, exceptions.APIException) else response.data
    fields = {}
    if isinstance(exc, exceptions.ValidationError):
        code = _first_code(detail, "invalid")
        if isinstance(detail, dict):
            fields = _flat({k: v for k, v in detail.items() if k != "non_field_errors"})
            general = detail.get("non_field_errors", [])
            message = " ".join(str(m) for m in general) or _("Some fields are not valid.")
        else:
            message = " ".join(str(m) for m in detail)
    else:
        code = getattr(exc, "default_code", "error")
        code = (
            _first_code(detail, code)
            if not isinstance(detail, str)
            else (getattr(detail, "code", None) or code)
        )
        message = str(detail)
    body = {"error": {"code": code, "message": message, "fields": fields}}
    return Response(
        body,
        status=response.status_code or status.HTTP_400_BAD_REQUEST,
        headers={k: v for k, v in response.items()},
    )
