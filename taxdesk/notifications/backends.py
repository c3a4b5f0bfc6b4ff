"""Where a message goes: one backend per channel, chosen by settings from the environment.

- ``stored`` (the embedded default, both channels): the message is kept in the database and
  marked sent; nothing leaves the machine.
- ``http`` (SMS, ``TAXDESK_SMS_URL``): a POST of ``{"to", "text", "signature",
  "idempotency_key"}`` as JSON with ``TAXDESK_SMS_KEY`` in the ``X-Api-Key`` header (and the
  idempotency key in ``Idempotency-Key`` too). 2xx is sent; 408, 409, 425, 429, 5xx, a
  timeout or a refused connection are tried again; any other answer is final.
- ``django`` (e-mail, ``EMAIL_BACKEND`` / ``EMAIL_HOST``): Django's e-mail backends.

A backend answers an :class:`Outcome`; it raises nothing a provider can cause.
"""

from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.utils import make_msgid
from http.client import HTTPException

from django.conf import settings

from .choices import Channel

EXCERPT = 500
RETRYABLE_STATUS = frozenset({408, 409, 425, 429})
_ID_KEYS = ("message_id", "messageId", "msgid", "id", "biz_id", "BizId", "sid")


@dataclass(frozen=True)
class Outcome:
    ok: bool
    retryable: bool = False
    status_code: int | None = None
    response: str = ""
    provider_message_id: str = ""
    error: str = ""


def excerpt(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return text[:EXCERPT]


class StoredBackend:
    """Keeps the message (it is in the database already) and calls it sent."""

    name = "stored"

    def send(self, message) -> Outcome:
        return Outcome(ok=True, provider_message_id=f"stored-{message.uid}")


class HttpSmsBackend:
    """An HTTP SMS provider (see the module docstring for the request and its answers)."""

    name = "http"

    def __init__(self, url: str, key: str, signature: str, timeout: float):
        self.url = url
        self.key = key
        self.signature = signature
        self.timeout = timeout

    @classmethod
    def from_settings(cls) -> HttpSmsBackend:
        return cls(
            url=settings.TAXDESK_SMS_URL,
            key=settings.TAXDESK_SMS_KEY,
            signature=settings.TAXDESK_SMS_SIGNATURE,
            timeout=settings.TAXDESK_SMS_TIMEOUT,
        )

    def payload(self, message) -> dict:
        return {
            "to": message.to,
            "text": message.body,
            "signature": message.signature or self.signature,
            "idempotency_key": str(message.uid),
        }

    def send(self, message) -> Outcome:
        data = json.dumps(self.payload(message), ensure_ascii=False).encode()
        request = urllib.request.Request(
            self.url,
            data=data,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Accept": "application/json",
                "X-Api-Key": self.key,
                "Idempotency-Key": str(message.uid),
                "User-Agent": "TaxDesk",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                status, raw = answer.status, answer.read(64 * 1024)
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read(64 * 1024) if exc.fp is not None else b""
            exc.close()
        except TimeoutError as exc:
            return Outcome(ok=False, retryable=True, error=f"timeout: {exc}"[:EXCERPT])
        except urllib.error.URLError as exc:
            reason = exc.reason
            kind = "timeout" if isinstance(reason, TimeoutError) else "network"
            return Outcome(ok=False, retryable=True, error=f"{kind}: {reason}"[:EXCERPT])
        except (OSError, HTTPException) as exc:
            return Outcome(ok=False, retryable=True, error=f"network: {exc!r}"[:EXCERPT])
        text = excerpt(raw)
        if 200 <= status < 300:
            return Outcome(
                ok=True, status_code=status, response=text, provider_message_id=_provider_id(raw)
            )
        retryable = status >= 500 or status in RETRYABLE_STATUS
        return Outcome(
            ok=False,
            retryable=retryable,
            status_code=status,
            response=text,
            error=f"HTTP {status}",
        )


def _provider_id(raw: bytes) -> str:
    try:
        answer = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return ""
    if isinstance(answer, dict):
        for holder in (answer, answer.get("data")):
            if isinstance(holder, dict):
                for key in _ID_KEYS:
                    value = holder.get(key)
                    if value not in (None, ""):
                        return str(value)[:200]
    return ""


class DjangoEmailBackend:
    """E-mail through Django's ``EMAIL_BACKEND`` (SMTP in a deployment, locmem in tests)."""

    name = "django"

    def send(self, message) -> Outcome:
        from django.core.mail import EmailMessage

        message_id = make_msgid(idstring=str(message.uid)[:8], domain=_mail_domain())
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to],
            headers={"Message-ID": message_id, "X-TaxDesk-Message": str(message.uid)},
        )
        try:
            email.send(fail_silently=False)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
            return Outcome(ok=False, retryable=False, error=f"refused: {exc}"[:EXCERPT])
        except (smtplib.SMTPException, OSError) as exc:
            return Outcome(ok=False, retryable=True, error=f"{type(exc).__name__}: {exc}"[:EXCERPT])
        return Outcome(ok=True, provider_message_id=message_id)


def _mail_domain() -> str:
    sender = settings.DEFAULT_FROM_EMAIL
    return sender.rpartition("@")[2].strip(">") or "localhost"


def backend_for(channel: str):
    """The backend the settings choose for ``channel``."""
    if channel == Channel.SMS:
        choice = settings.NOTIFICATIONS_SMS_BACKEND
        if choice == "http":
            return HttpSmsBackend.from_settings()
    else:
        choice = settings.NOTIFICATIONS_EMAIL_BACKEND
        if choice == "django":
            return DjangoEmailBackend()
    if choice == "stored":
        return StoredBackend()
    raise ValueError(f"unknown message backend {choice!r} for {channel}")
