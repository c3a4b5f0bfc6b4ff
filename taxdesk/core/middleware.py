"""Puts the request (user, id, IP, web or API) into the audit context."""

import re
import uuid

from . import audit
from .addresses import client_address
from .choices import AuditSource

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        source = AuditSource.API if request.path.startswith("/api/") else AuditSource.WEB
        request.audit_request_id = request_id
        with audit.context(
            user=RequestUser(request),
            request_id=request_id,
            ip=client_address(request) or None,
            source=source,
        ):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class RequestUser:
    """Stands for ``request.user`` in the audit context until an entry needs it."""

    def __init__(self, request):
        self._request = request

    def resolve(self):
        user = getattr(self._request, "user", None)
        return user if user is not None and user.is_authenticated else None


class ChineseByDefaultMiddleware:
    """Pages speak Chinese unless the user chose English with the switcher (a cookie).

    A browser's Accept-Language is not asked on pages: service staff often run browsers set
    to English. API clients still choose their language with Accept-Language.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/"):
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
