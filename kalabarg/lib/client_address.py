"""The address of the client behind the reverse proxy, for per-IP limits.

Behind the proxy every request's ``REMOTE_ADDR`` is the proxy's, so a limit keyed by it would
put the whole country in one bucket. ``X-Forwarded-For`` names the real client, but anyone can
send that header: it is believed only when the direct peer is one of ``TRUSTED_PROXIES``, and
then only up to the first address (from the right) that is not itself a trusted proxy — each
proxy appends the peer it saw, so the entries left of that one are whatever the client wrote.
"""

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry)


def parse_trusted_proxies(entries: Iterable[str]) -> tuple[Network, ...]:
    """The networks of ``entries`` (addresses or CIDR ranges); ``ValueError`` names a bad one."""
    cleaned = tuple(entry.strip() for entry in entries if entry.strip())
    for entry in cleaned:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError as exc:
            raise ValueError(f"not an IP address or network: {entry!r}") from exc
    return _networks(cleaned)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.7:5123"
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None, nets: tuple[Network, ...]
) -> bool:
    return address is not None and any(address in net for net in nets)


def client_address(*, meta: Mapping[str, object]) -> str:
    """The client's address for a request's ``META``: the right-most ``X-Forwarded-For`` entry
    that is not a trusted proxy when the direct peer is one, else ``REMOTE_ADDR``."""
    peer = str(meta.get("REMOTE_ADDR") or "").strip()
    nets = parse_trusted_proxies(getattr(settings, "TRUSTED_PROXIES", ()))
    if not _trusted(_address(peer), nets):
        return peer or "unknown"
    forwarded = str(meta.get("HTTP_X_FORWARDED_FOR") or "")
    for entry in reversed([part for part in forwarded.split(",") if part.strip()]):
        address = _address(entry)
        if address is None:
            # Garbage in the chain: nothing left of it can be believed; the last good hop is the
            # peer that handed it over, which is a trusted proxy — count the request there.
            return peer
        if not _trusted(address, nets):
            return str(address)
    return peer or "unknown"
