"""The one rule for "the client's address", and for which forwarded headers to believe.

``TRUSTED_PROXIES`` (addresses or networks, e.g. ``10.0.0.5, 10.1.0.0/16``) is the single
setting. A request whose socket address (REMOTE_ADDR) is not one of them came straight
from the client: every ``X-Forwarded-*`` / ``Forwarded`` header it carries was written by
that client, so ``TrustedProxyMiddleware`` removes them before anything reads them. That
is what makes ``SECURE_PROXY_SSL_HEADER`` safe (a client can't claim HTTPS) and keeps
Django from ever seeing a forged ``X-Forwarded-Host``.

Behind trusted proxies, ``client_address`` walks ``X-Forwarded-For`` from the right (the
entries the proxies appended) past every trusted hop: the first address that is not a
proxy is the client. Entries further left were written by the client and are never
believed. Lockouts, API throttles, survey rate limits, sessions and the security log all
call ``client_address``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Headers a proxy sets about the client; believed only from a trusted proxy.
FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_SSL",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
)


def parse_networks(values: list[str] | tuple[str, ...]) -> tuple[IpNetwork, ...]:
    """``["10.0.0.5", "10.1.0.0/16", "::1"]`` as networks; ValueError names a bad entry."""
    networks = []
    for value in values:
        text = value.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text))
        except ValueError:
            raise ValueError(f"{text!r} is not an IP address or network") from None
    return tuple(networks)


@lru_cache(maxsize=8)
def _trusted_networks(values: tuple[str, ...]) -> tuple[IpNetwork, ...]:
    return parse_networks(values)


def _parse_ip(value: str | None) -> IpAddress | None:
    if not value:
        return None
    text = value.strip()
    # "[2001:db8::1]" and "[2001:db8::1]:443" as some proxies write them; "1.2.3.4:5678".
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # An IPv4 client seen through an IPv6 socket is the IPv4 client.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def is_trusted_proxy(address: IpAddress | None) -> bool:
    if address is None:
        return False
    networks = _trusted_networks(tuple(settings.TRUSTED_PROXIES))
    return any(address in network for network in networks)


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address as text, or None when the socket address is unusable."""
    remote = _parse_ip(request.META.get("REMOTE_ADDR"))
    if not is_trusted_proxy(remote):
        return str(remote) if remote else None
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    nearest = remote
    for hop in reversed(hops):
        address = _parse_ip(hop)
        if address is None:
            # Garbage where a proxy should have written an address: the nearest hop we can
            # vouch for is the best answer (never anything further left).
            break
        if not is_trusted_proxy(address):
            return str(address)
        nearest = address
    return str(nearest)


class TrustedProxyMiddleware:
    """First in MIDDLEWARE: forwarded headers from anyone but a trusted proxy are dropped."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_trusted_proxy(_parse_ip(request.META.get("REMOTE_ADDR"))):
            for header in FORWARDED_HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)
