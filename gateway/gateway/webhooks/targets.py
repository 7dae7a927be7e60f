"""Where a webhook may be delivered: only to public addresses, so a subscription cannot make the gateway
POST into its own network (databases, NATS, the cloud's metadata service) — server-side request forgery.

The same check runs when a subscription is made and again before every delivery (a name may be made to
resolve elsewhere later). `KEZHUAN_WEBHOOK_ALLOW_PRIVATE` lists the CIDRs that are allowed anyway.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from urllib.parse import urlsplit

from servicekit.errors import InvalidInput
from servicekit.i18n import N_

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

SCHEMES = {"http": 80, "https": 443}
LOCAL_NAMES = ("localhost", "localdomain", "local", "internal", "home.arpa")
"""Names (and their subdomains) that mean this machine or a private network, whatever DNS says."""
CARRIER_GRADE_NAT = ipaddress.ip_network("100.64.0.0/10")


class TargetRefused(InvalidInput):
    """A webhook URL that does not lead to a public address (422)."""


def parse_networks(text: str) -> tuple[Network, ...]:
    """The comma-separated CIDRs of `KEZHUAN_WEBHOOK_ALLOW_PRIVATE` (empty: none)."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


def numeric_host(host: str) -> Address | None:
    """The address a host spelled as a number means, as resolvers (inet_aton) read it: `2130706433`,
    `0x7f.1` and `0177.0.0.1` are all 127.0.0.1; an IPv6 literal may come in brackets."""
    bare = host.strip("[]")
    try:
        return _unmapped(ipaddress.ip_address(bare))
    except ValueError:
        pass
    parts = bare.rstrip(".").split(".")
    if not 1 <= len(parts) <= 4:
        return None
    try:
        numbers = [_c_integer(part) for part in parts]
    except ValueError:
        return None
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(parts)):
        return None
    value = last
    for index, number in enumerate(leading):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _c_integer(part: str) -> int:
    lowered = part.lower()
    if lowered.startswith("0x"):
        return int(lowered[2:] or "0", 16)
    if len(lowered) > 1 and lowered.startswith("0"):
        return int(lowered[1:], 8)
    if not lowered.isdigit():
        raise ValueError(part)
    return int(lowered)


def _unmapped(address: Address) -> Address:
    """IPv4 behind an IPv4-mapped (`::ffff:a.b.c.d`) or IPv4-compatible (`::a.b.c.d`) IPv6 address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if int(address) >> 32 == 0 and int(address) > 1:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def non_public_kind(address: Address) -> str | None:
    """Why an address is not public (`loopback`, `private`, …), or None for a public address."""
    address = _unmapped(address)
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("carrier-grade NAT", isinstance(address, ipaddress.IPv4Address) and address in CARRIER_GRADE_NAT),
        ("reserved", address.is_reserved),
        ("private", address.is_private or not address.is_global),
    )
    return next((kind for kind, hit in checks if hit), None)


def _allowed(address: Address, allow: Iterable[Network]) -> bool:
    return any(address.version == network.version and address in network for network in allow)


def split_target(url: str) -> tuple[str, int]:
    """The host and port a webhook URL leads to; only http and https."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES or not parts.hostname:
        raise TargetRefused(N_("the webhook URL must be an http or https URL with a host"))
    try:
        port = parts.port or SCHEMES[parts.scheme.lower()]
    except ValueError as exc:
        raise TargetRefused(N_("the webhook URL must be an http or https URL with a host")) from exc
    return parts.hostname.lower(), port


def refuse_addresses(host: str, addresses: Sequence[str], allow: Iterable[Network]) -> None:
    """Refuse unless every address a host resolves to is public or allow-listed (pure)."""
    allow = tuple(allow)
    if not addresses:
        raise TargetRefused(N_("the webhook URL's host {host} could not be resolved"), host=host)
    for text in addresses:
        address = _unmapped(ipaddress.ip_address(text.split("%", 1)[0]))
        kind = non_public_kind(address)
        if kind is not None and not _allowed(address, allow):
            raise TargetRefused(
                N_("the webhook URL must lead to a public address, but {host} is (or resolves to) {address}, a {kind} address"),
                host=host, address=str(address), kind=kind,
            )


async def system_resolve(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for a host (getaddrinfo, in a thread); [] when it fails."""
    try:
        infos = await asyncio.to_thread(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [str(info[4][0]) for info in infos]


async def check_target(url: str, allow: Iterable[Network], resolve: Resolver = system_resolve) -> list[str]:
    """Refuse (TargetRefused) a URL that is not http(s) or whose host is, or resolves to, a non-public
    address outside `allow`; returns the addresses it resolved to."""
    host, port = split_target(url)
    allow = tuple(allow)
    literal = numeric_host(host)
    if literal is not None:
        refuse_addresses(host, [str(literal)], allow)
        return [str(literal)]
    name = host.rstrip(".")
    if any(name == local or name.endswith("." + local) for local in LOCAL_NAMES) or "." not in name:
        raise TargetRefused(N_("the webhook URL's host {host} names this machine or a local network"), host=host)
    addresses = await resolve(host, port)
    refuse_addresses(host, addresses, allow)
    return addresses
