"""Puts the request (user, id, IP, web or API) into the audit context; signs out idle
sessions; pages in Chinese by default."""

import re
import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect, resolve_url
from django.utils import timezone
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

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


# The time of the session's last request (seconds since the epoch), written at most once a
# minute so that a busy page does not save its session on every request.
LAST_ACTIVITY = "taxdesk_last_activity"
_WRITE_EVERY = 60
# No unit may sign out sooner (ServiceUnit.session_idle_minutes has this minimum): below it no
# query is needed to know the session is still alive.
_SHORTEST_IDLE = 5 * 60


def idle_minutes_for(user) -> int:
    """How long a session of ``user`` may stay idle: their service unit's setting (a taxpayer
    user's is their taxpayer's unit), else the site's ``SESSION_IDLE_MINUTES``."""
    from .models import ServiceUnit

    unit_id, _body_id = user.audit_tenants()
    minutes = None
    if unit_id is not None:
        minutes = (
            ServiceUnit.objects.filter(pk=unit_id)
            .values_list("session_idle_minutes", flat=True)
            .first()
        )
    return minutes or settings.SESSION_IDLE_MINUTES


class IdleSessionMiddleware:
    """Signs out a signed-in session left without a request for longer than its user's idle
    limit: a page goes to the login page, which says why; an htmx request is sent there as a
    whole page; an API call goes on unauthenticated (the API answers in its error shape).
    API tokens are not sessions and are not affected."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = timezone.now().timestamp()
            last = request.session.get(LAST_ACTIVITY)
            if last is not None and now - last >= _SHORTEST_IDLE:
                minutes = idle_minutes_for(user)
                if now - last > minutes * 60:
                    return self._sign_out(request, minutes)
            if last is None or now - last >= _WRITE_EVERY:
                request.session[LAST_ACTIVITY] = now
        return self.get_response(request)

    def _sign_out(self, request, minutes: int):
        request.signout_reason = "idle"  # the audit entry of the logout says so
        logout(request)
        if request.path.startswith("/api/"):
            return self.get_response(request)
        messages.info(
            request,
            _(
                "You were signed out after %(minutes)s minutes without activity. "
                "Please sign in again."
            )
            % {"minutes": minutes},
        )
        login_url = resolve_url(settings.LOGIN_URL)
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(login_url)
        next_path = request.get_full_path() if request.method == "GET" else "/"
        return redirect(f"{login_url}?{urlencode({'next': next_path})}")
