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
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from inboxkit.errors import ValidationFailed

__all__ = [
    "Destination",
    "Resolver",
    "UnsafeDestination",
    "address_problem",
    "parse_url",
    "system_resolver",
    "vet",
]

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


async def vet(
    url: str, *, allow_private: bool, resolver: Resolver = system_resolver
) -> Destination:
    """Resolve `url`'s host once and check every address; the Destination to connect to.

    With `allow_private` (local development and tests) private addresses are accepted, but
    the request still goes to the resolved address.
    """
    parsed = parse_url(url)
    try:
        answers = await resolver(parsed.host, parsed.port)
    except (OSError, TimeoutError, UnicodeError) as exc:
        raise UnsafeDestination(
            f"The host {parsed.host!r} could not be resolved ({exc})."
        ) from None
    addresses: list[IPAddress] = []
    for answer in answers:
        try:
            addresses.append(ipaddress.ip_address(answer.split("%", 1)[0]))
        except ValueError:
            continue
    if not addresses:
        raise UnsafeDestination(f"The host {parsed.host!r} did not resolve to any address.")
    if not allow_private:
        for ip in addresses:
            problem = address_problem(ip)
            if problem:
                raise UnsafeDestination(
                    f"Refusing {parsed.host!r}: it resolves to a {problem}. Webhooks must "
                    "reach a public address (INBOXKIT_WEBHOOK_ALLOW_PRIVATE=true lifts this "
                    "for local development)."
                )
    return Destination(parsed.scheme, parsed.host, parsed.port, parsed.target, str(addresses[0]))
