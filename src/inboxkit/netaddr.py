"""Client addresses as limits count them.

A leaf module: the SMTP gate, the rate limiter and the anonymous plan's mailboxes-per-address
count all key a client the same way.
"""

from __future__ import annotations

import ipaddress
from typing import Any

__all__ = ["peer_key"]

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
