"""Client addresses as limits count them.

A leaf module: the SMTP gate, the rate limiter and the anonymous plan's mailboxes-per-address
count all key a client the same way, and the HTTP surfaces find the client behind trusted
reverse proxies the same way.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["peer_key", "client_address"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# One IPv6 host is normally given a whole /64, so counting single IPv6 addresses would let it
# open as many sessions as it has addresses.
_IPV6_PREFIX = 64


def peer_key(peername: Any) -> str:
    """The identity a connection is counted under: its IPv4 address or its IPv6 /64."""
    host = peername[0] if isinstance(peername, tuple) and peername else peername
    try:
        address = ipaddress.ip_address(str(host).split("%", 1)[0])
    except ValueError:
        return str(host)
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, _IPV6_PREFIX), strict=False))
    return str(address)


def _address(text: str) -> IPAddress | None:
    """An address as peers and X-Forwarded-For hops write it: `1.2.3.4`, `1.2.3.4:5678`,
    `2001:db8::1`, `[2001:db8::1]:443`; IPv4-mapped IPv6 as IPv4. None when it is not one."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_address(
    peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[IPNetwork]
) -> str | None:
    """The client's address: the socket `peer`, unless the peer is a trusted proxy; then the
    right-most `X-Forwarded-For` hop that is not trusted (each proxy appends the address it
    was connected from, so hops to the left of the last untrusted one are the client's own
    word). All hops trusted: the left-most. A hop that is not an address ends the walk at
    the last trusted one, so a garbled header cannot name an arbitrary client."""
    if peer is None or not trusted:
        return peer
    current = _address(peer)
    if current is None or not any(current in net for net in trusted):
        return peer
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break
        current = address
        if not any(address in net for net in trusted):
            break
    return str(current)
