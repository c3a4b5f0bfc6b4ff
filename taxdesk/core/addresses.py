"""The client's address of a request, the same for sign-in limits, throttles and the audit trail.

``REMOTE_ADDR`` is the peer that opened the connection. Only when that peer is one of the
proxies named in ``settings.TRUSTED_PROXIES`` (``TAXDESK_TRUSTED_PROXIES``) is
``X-Forwarded-For`` read: from the right, each hop a trusted proxy added, up to the first
address that is not a trusted proxy, which is the client. Anything a client writes into the
header itself stands to the left of that and is never reached. Without trusted proxies the
header is ignored, so a client cannot choose its own address.
"""

from __future__ import annotations

import functools
import ipaddress

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def _networks(configured: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in configured)


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _trusted(address, networks: tuple[Network, ...]) -> bool:
    return address is not None and any(address in network for network in networks)


def client_address(request) -> str:
    """The client's address as text ("" when the request names none)."""
    remote = request.META.get("REMOTE_ADDR") or ""
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    current = _parse(remote)
    if current is None:
        return remote
    if not _trusted(current, networks):
        return str(current)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for hop in reversed([part for part in forwarded.split(",") if part.strip()]):
        address = _parse(hop)
        if address is None:
            break  # a malformed hop: the last proxy's address is all that is known
        current = address
        if not _trusted(address, networks):
            break
    return str(current)
