"""Throttles of the API, counted in the default cache (Redis when ``REDIS_URL`` is set, so
every process shares the counts; see ``CACHES`` in the settings)."""

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from taxdesk.core.addresses import client_address


class SignInRateThrottle(SimpleRateThrottle):
    """Requests for an API token, per client address, whoever is signed in
    (``DEFAULT_THROTTLE_RATES["sign-in"]``)."""

    scope = "sign-in"

    def get_rate(self):
        # Read when used, not when the class was defined: the settings may change (tests).
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_address(request) or "-"}
