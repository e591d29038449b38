"""DRF throttles keyed by the one client-address rule (``core.proxies.client_address``).

DRF's own ``get_ident`` trusts ``X-Forwarded-For`` by its separate NUM_PROXIES setting;
here a rotating forged header changes nothing, and behind the trusted proxies the real
client is counted."""

from __future__ import annotations

from rest_framework import throttling
from rest_framework.request import Request

from core.proxies import client_address


class ClientAddressMixin:
    def get_ident(self, request: Request) -> str:
        return client_address(request) or "unknown"


class AnonRateThrottle(ClientAddressMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(ClientAddressMixin, throttling.UserRateThrottle):
    pass
