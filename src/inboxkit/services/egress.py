"""Outbound HTTP to URLs that users chose (webhooks), without becoming an SSRF proxy.

A webhook URL is attacker-controlled input: without care it reaches the cloud metadata
service, the database on localhost or anything else only this server can see. So the host is
resolved once, every address it resolves to must be publicly routable (one bad address is
enough to refuse: an attacker controls which one the client would pick), and the request then
goes to the address that was checked, never to a second lookup that DNS rebinding could
answer differently. The original name still travels in the Host header and in TLS SNI, and
the certificate is verified against it.

Numeric host spellings (`2130706433`, `0177.0.0.1`, `0x7f.1`) need no special parsing: the
resolver turns them into the address they mean and that address is what gets checked.

Only ports 80 and 443 (and those the operator lists) are reachable, so a public host cannot be
used to probe or talk to other services on it. Every refusal after parsing (no answer from DNS,
a private address, a port outside the list) gets the same message: telling the caller what a
name resolved to would make this a look-up service for the server's internal DNS. The reason
is logged for the operator.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from inboxkit.errors import ValidationFailed

__all__ = [
    "DEFAULT_PORTS",
    "Destination",
    "Resolver",
    "UnsafeDestination",
    "address_problem",
    "parse_url",
    "system_resolver",
    "vet",
]

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

RESOLVE_TIMEOUT = 5.0
MAX_URL_CHARS = 2048

# Ranges `is_global` lets through but which are not somewhere to send a request to.
_NAT64 = (
    ipaddress.IPv6Network("64:ff9b::/96"),  # RFC 6052 well-known prefix: last 32 bits are IPv4
    ipaddress.IPv6Network("64:ff9b:1::/48"),  # RFC 8215 local-use translation prefix
)
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")  # RFC 6598 shared address space
# Special-purpose ranges newer than some Python releases' tables, refused whatever they say.
_NOT_GLOBAL = (
    ipaddress.IPv6Network("3fff::/20"),  # RFC 9637 documentation
    ipaddress.IPv6Network("5f00::/16"),  # RFC 9602 SRv6 SIDs
    ipaddress.IPv6Network("2001:db8::/32"),  # RFC 3849 documentation
    ipaddress.IPv6Network("100::/64"),  # RFC 6666 discard-only
    ipaddress.IPv4Network("192.0.0.0/24"),  # RFC 6890 IETF protocol assignments
    ipaddress.IPv4Network("198.18.0.0/15"),  # RFC 2544 benchmarking
)
# ISATAP (RFC 5214): an interface id of 0000:5efe or 0200:5efe (the u/l and group bits may be
# set) followed by an IPv4 address, which an ISATAP host tunnels to directly.
_ISATAP_MASK = 0xFCFF_FFFF
_ISATAP_ID = 0x0000_5EFE

DEFAULT_PORTS = frozenset({80, 443})


class UnsafeDestination(ValidationFailed):
    """The URL cannot be used: malformed, unresolvable, or pointing somewhere private."""


@dataclass(frozen=True, slots=True)
class Destination:
    """A vetted URL: where to connect (`address`) and what to call it (`host`)."""

    scheme: str
    host: str  # as written in the URL (IDNA-encoded), for Host and SNI
    port: int
    target: str  # path and query
    address: str  # the checked IP to connect to

    @property
    def connect_url(self) -> str:
        ip = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{ip}:{self.port}{self.target}"

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def sni_hostname(self) -> str | None:
        """The name to present in TLS SNI and check the certificate against."""
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return self.host
        return None  # an IP literal: the certificate is checked against the address itself


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries and may be translated to on the way."""
    found = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if any(ip in net for net in _NAT64):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF))
    if (int(ip) >> 32) & _ISATAP_MASK == _ISATAP_ID:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF))
    # IPv4-compatible (deprecated ::a.b.c.d) still reaches IPv4 on some stacks.
    if int(ip) >> 32 == 0 and int(ip) > 0xFFFF:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF))
    return found


def address_problem(ip: IPAddress) -> str | None:
    """Why `ip` is not a public destination (a short phrase), or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
        for inner in _embedded_ipv4(ip):
            problem = address_problem(inner)
            if problem:
                return f"{problem} (wrapped in IPv6 {ip})"
        if any(ip in net for net in _NAT64):
            return None  # DNS64 synthesised this for a public IPv4 host, checked just above
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("shared (CGNAT)", isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT),
        ("reserved", ip.is_reserved),
        ("site-local", isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local),
        ("special-purpose", any(ip in net for net in _NOT_GLOBAL if net.version == ip.version)),
        ("not globally routable", not ip.is_global),
    )
    for name, hit in checks:
        if hit:
            return f"{name} address {ip}"
    return None


@dataclass(frozen=True, slots=True)
class _Parsed:
    scheme: str
    host: str
    port: int
    target: str


def parse_url(url: str) -> _Parsed:
    """Split an http(s) URL into what `vet` needs; UnsafeDestination if it is not one."""
    if len(url) > MAX_URL_CHARS:
        raise UnsafeDestination(f"The URL is longer than {MAX_URL_CHARS} characters.")
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in url):
        raise UnsafeDestination("The URL contains spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError as exc:
        raise UnsafeDestination(f"The URL is not valid ({exc}).") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeDestination("Webhook URLs must start with http:// or https://.")
    if not host:
        raise UnsafeDestination("The URL has no host.")
    if port == 0:
        raise UnsafeDestination("Port 0 cannot be connected to; give the port the receiver uses.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeDestination(
            "Credentials in the URL are not supported; verify requests by their signature."
        )
    try:
        ipaddress.ip_address(host)
    except ValueError:
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise UnsafeDestination("The URL's host name is not valid.") from None
    target = parts.path or "/"
    if parts.query:
        target = f"{target}?{parts.query}"
    return _Parsed(parts.scheme, host, port or (443 if parts.scheme == "https" else 80), target)


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host` (numeric forms included)."""
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(
        loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP),
        RESOLVE_TIMEOUT,
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _refused(parsed: _Parsed, allowed_ports: frozenset[int], reason: str) -> UnsafeDestination:
    """The one refusal a caller sees, whatever the reason (which only the log gets)."""
    log.info("webhook destination %s:%s refused: %s", parsed.host, parsed.port, reason)
    ports = sorted(DEFAULT_PORTS | allowed_ports)
    listed = ", ".join(str(port) for port in ports[:-1]) + f" or {ports[-1]}"
    return UnsafeDestination(
        f"Refusing {parsed.host}:{parsed.port}: webhooks can only reach a host name that "
        f"resolves to public addresses, on port {listed}. Check the URL's host and port "
        "(operators: INBOXKIT_WEBHOOK_ALLOWED_PORTS, INBOXKIT_WEBHOOK_ALLOW_PRIVATE)."
    )


async def vet(
    url: str,
    *,
    allow_private: bool,
    allowed_ports: frozenset[int] = frozenset(),
    resolver: Resolver = system_resolver,
) -> Destination:
    """Resolve `url`'s host once and check every address; the Destination to connect to.

    The port must be 80, 443 or in `allowed_ports`. With `allow_private` (local development
    and tests) private addresses and any port are accepted, but the request still goes to the
    resolved address.
    """
    parsed = parse_url(url)
    if not allow_private and parsed.port not in DEFAULT_PORTS | allowed_ports:
        raise _refused(parsed, allowed_ports, "port not allowed")
    try:
        answers = await resolver(parsed.host, parsed.port)
    except (OSError, TimeoutError, UnicodeError) as exc:
        raise _refused(parsed, allowed_ports, f"not resolved ({exc})") from None
    addresses: list[IPAddress] = []
    for answer in answers:
        try:
            addresses.append(ipaddress.ip_address(answer.split("%", 1)[0]))
        except ValueError:
            continue
    if not addresses:
        raise _refused(parsed, allowed_ports, "no address")
    if not allow_private:
        for ip in addresses:
            problem = address_problem(ip)
            if problem:
                raise _refused(parsed, allowed_ports, problem)
    return Destination(parsed.scheme, parsed.host, parsed.port, parsed.target, str(addresses[0]))
