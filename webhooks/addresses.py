"""Where webhooks may be sent: public internet addresses only, unless an operator allows an
internal host with WEBHOOK_ALLOWED_INTERNAL_HOSTS. The one address policy, used by the model
field (so the service, the form and the admin), the form, and every delivery.

Without it, whoever registers an endpoint makes the server POST to itself, to the office
network or to the cloud metadata service (169.254.169.254), and reads the outcome in the
delivery log. So:

- at registration (``validate_webhook_url``) a host that names an internal address without
  DNS is refused with a field error saying why: an IP address in any spelling the connection
  would accept (``2130706433``, ``0x7f.1``, ``[::ffff:127.0.0.1]``), or ``localhost``. Names
  are not looked up there: DNS can change after registration, and a form should not wait on it;
- at delivery (``resolve_for_delivery``) the host is resolved once, every address it resolves
  to is checked, and the caller connects to those checked addresses only, so a name that now
  points inside is refused and a second lookup cannot switch the target (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Why an address is not public: the short reason (delivery log) → the sentence (form error).
REASONS: dict[str, str] = {
    "loopback": "This address points back at the Rapport server itself (loopback)",
    "unspecified": "This address (0.0.0.0 or ::) does not name a single host",
    "link-local": (
        "This address is link-local, where cloud metadata services and local devices answer"
    ),
    "multicast": "This is a multicast address",
    "reserved": "This address is reserved, not in public use",
    "private network": "This address is on a private network",
}
PUBLIC_ONLY = "webhooks may only be sent to public addresses."

# RFC 6761: these names are the machine itself, whatever DNS says.
LOOPBACK_NAMES = ("localhost",)
# What inet_aton, and so the resolver behind the connection, reads as an IPv4 address:
# 2130706433, 0x7f.1, 0177.0.0.1, 127.1 all mean 127.0.0.1.
NUMERIC_HOST = re.compile(r"[0-9a-fx.]+", re.IGNORECASE)
HOST_NAME = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*\.?", re.I)
# NAT64's well-known prefix carries an IPv4 address in its last 32 bits (RFC 6052).
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class AddressRefused(Exception):
    """The target is not a public address and not allowed by the operator."""

    def __init__(self, reason: str, address: IPAddress | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.address = address  # for the server log only; never shown to admins

    @property
    def message(self) -> str:
        """The form's field error."""
        return f"{REASONS[self.reason]}; {PUBLIC_ONLY}"

    @property
    def outcome(self) -> str:
        """The delivery log's words."""
        return f"refused: address not allowed ({self.reason})"


class HostUnresolvable(Exception):
    """DNS gave no address for the host (or failed)."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for, where it does (::ffff:127.0.0.1 is 127.0.0.1)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_refusal(address: IPAddress) -> str | None:
    """Why webhooks may not go to ``address`` (a key of REASONS), or None if it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return address_refusal(embedded)
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_reserved:
        return "reserved"
    # Private ranges, shared address space (100.64/10), documentation and benchmark ranges.
    if address.is_private or not address.is_global:
        return "private network"
    return None


def literal_address(host: str) -> IPAddress | None:
    """The address ``host`` names without DNS, in any spelling the connection would accept;
    None for a host name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if NUMERIC_HOST.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _normal_name(host: str) -> str:
    return host.lower().rstrip(".")


@dataclass(frozen=True)
class AllowList:
    """The operator's WEBHOOK_ALLOWED_INTERNAL_HOSTS: host names, and IP networks."""

    names: frozenset[str]
    networks: tuple[IPNetwork, ...]

    def allows_name(self, host: str) -> bool:
        return _normal_name(host) in self.names

    def allows_address(self, address: IPAddress) -> bool:
        candidates: list[IPAddress] = [address]
        if isinstance(address, ipaddress.IPv6Address):
            embedded = _embedded_ipv4(address)
            if embedded is not None:
                candidates.append(embedded)  # ::ffff:127.0.0.1 is allowed with 127.0.0.1
        return any(a in network for a in candidates for network in self.networks)


def allowed_internal() -> AllowList:
    """Parse WEBHOOK_ALLOWED_INTERNAL_HOSTS; a malformed entry is a configuration error."""
    names: set[str] = set()
    networks: list[IPNetwork] = []
    for entry in getattr(settings, "WEBHOOK_ALLOWED_INTERNAL_HOSTS", None) or []:
        entry = str(entry).strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            continue
        except ValueError:
            pass
        if "/" in entry or ":" in entry or not HOST_NAME.fullmatch(entry):
            raise ImproperlyConfigured(
                f"WEBHOOK_ALLOWED_INTERNAL_HOSTS is malformed: {entry!r} is neither a host "
                "name nor an IP address or network (10.0.0.0/8)."
            )
        names.add(_normal_name(entry))
    return AllowList(frozenset(names), tuple(networks))


def host_refusal(host: str) -> AddressRefused | None:
    """Registration's check of the URL's host, without DNS: a refusal, or None."""
    allow = allowed_internal()
    if allow.allows_name(host):
        return None
    address = literal_address(host)
    if address is None:
        name = _normal_name(host)
        if any(name == n or name.endswith(f".{n}") for n in LOOPBACK_NAMES):
            return AddressRefused("loopback")
        return None  # judged by what it resolves to, at each delivery
    if allow.allows_address(address):
        return None
    reason = address_refusal(address)
    return AddressRefused(reason, address) if reason else None


def validate_webhook_url(value: str) -> None:
    """Field validator: refuse a URL whose host is an internal address, saying why."""
    try:
        host = urlsplit(value).hostname
    except ValueError:
        return  # malformed: URLValidator says so
    if not host:
        return
    refused = host_refusal(host)
    if refused is not None:
        raise ValidationError(refused.message, code="address_not_allowed")


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to for a TCP connection, in the resolver's order."""
    found: list[IPAddress] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = ipaddress.ip_address(sockaddr[0])
        if address not in found:
            found.append(address)
    return found


def resolve_for_delivery(host: str, port: int) -> list[IPAddress]:
    """Resolve ``host`` once and check every address; connect to these and nothing else.

    Raises AddressRefused if any address is internal (unless allowed), HostUnresolvable if
    there is none. One internal address among public ones refuses the lot: the connection
    might otherwise land on it.
    """
    allow = allowed_internal()
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError, ValueError) as error:
        raise HostUnresolvable(str(error)) from error
    if not addresses:
        raise HostUnresolvable("no address")
    if allow.allows_name(host):
        return addresses
    for address in addresses:
        if allow.allows_address(address):
            continue
        reason = address_refusal(address)
        if reason:
            raise AddressRefused(reason, address)
    return addresses
