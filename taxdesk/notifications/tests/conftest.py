"""Fixtures of the message tests: the cast's messages, and a real local SMS provider."""

from __future__ import annotations

import pytest

from taxdesk.testing.sms import SmsProvider


@pytest.fixture
def sms_provider(settings):
    """A local HTTP SMS provider, and the settings that send through it (a short timeout)."""
    provider = SmsProvider().start()
    settings.NOTIFICATIONS_SMS_BACKEND = "http"
    settings.TAXDESK_SMS_URL = provider.url
    settings.TAXDESK_SMS_KEY = "test-key-123"
    settings.TAXDESK_SMS_SIGNATURE = "【测试税控】"
    settings.TAXDESK_SMS_TIMEOUT = 0.5
    try:
        yield provider
    finally:
        provider.stop()
