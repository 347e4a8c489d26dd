"""Which browser origins and Host names this server answers: the cross-site and DNS-rebinding
checks of the WebSocket, SSE and `/mcp` routes.

Only browsers send `Origin`, and refusing foreign ones is what stops a page a user visits from
driving their inboxes with credentials the browser holds (cross-site WebSocket hijacking and
the like). An origin is compared whole — scheme, host and port — with the origins the operator
configured: `INBOXKIT_PUBLIC_URL`'s and `INBOXKIT_ALLOWED_ORIGINS`. The request's own `Host`
header proves nothing (under DNS rebinding, `evil.example` resolves to this server and the
browser sends `Host: evil.example` with `Origin: http://evil.example`), so it is never what an
origin is compared with. With nothing configured (a local `make serve`), only pages served by
this very server on loopback are same-site: `http://127.0.0.1:<port>`, `http://localhost:<port>`
and `http://[::1]:<port>`, `<port>` being the one the connection arrived on.

The Host check does what the MCP SDK's DNS-rebinding protection does: a request whose `Host`
names a host other than the configured ones is refused. IP literals and loopback names are
always accepted: rebinding needs a DNS name the attacker controls, and a client that connects
by address cannot be a rebinding victim.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from inboxkit.config import Settings

__all__ = ["Origin", "host_allowed", "origin_allowed", "same_origin", "scope_header"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
# The ASGI scope's scheme for WebSockets names the socket; its page's origin is http(s).
_PAGE_SCHEME = {"http": "http", "https": "https", "ws": "http", "wss": "https"}


@dataclass(frozen=True, slots=True)
class Origin:
    """A web origin (scheme, host, port), compared whole as browsers define it."""

    scheme: str
    host: str  # lower case, IPv6 without brackets
    port: int

    @classmethod
    def parse(cls, value: str) -> Origin | None:
        """The origin of a URL or `Origin` header value; None for `null` or anything odd."""
        try:
            parts = urlsplit(value.strip())
            port = parts.port
        except ValueError:
            return None
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not parts.hostname:
            return None
        return cls(scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme])


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True  # browsers resolve these to loopback themselves (RFC 6761)
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _configured(settings: Settings) -> set[Origin]:
    values = [settings.public_url, *settings.allowed_origins]
    return {origin for value in values if value and (origin := Origin.parse(value))}


def origin_allowed(
    origin: str | None, settings: Settings, *, scheme: str, server_port: int | None
) -> bool:
    """Whether a request carrying this `Origin` header comes from a page of this site.

    `scheme` and `server_port` are the connection's own (the ASGI scope's `scheme` and
    `server` port), used only when no origin is configured."""
    if origin is None or origin == "":
        return True  # not a browser, or a same-origin GET from an old one
    parsed = Origin.parse(origin)
    if parsed is None:
        return False
    configured = _configured(settings)
    if configured:
        return parsed in configured
    return (
        server_port is not None
        and parsed.scheme == _PAGE_SCHEME.get(scheme, scheme)
        and parsed.port == server_port
        and _is_loopback(parsed.host)
    )


def host_allowed(host: str | None, settings: Settings) -> bool:
    """Whether this `Host` header names this server (see the module docstring)."""
    if not host:
        return True  # HTTP/1.0 without Host: no browser sends that
    parsed = Origin.parse(f"http://{host}")
    if parsed is None:
        return False
    try:
        ipaddress.ip_address(parsed.host)
        return True
    except ValueError:
        pass
    if _is_loopback(parsed.host):
        return True
    return parsed.host in {origin.host for origin in _configured(settings)}


def scope_header(scope: Mapping[str, Any], name: bytes) -> str | None:
    """One request header of an ASGI scope (HTTP or WebSocket), decoded; None if absent."""
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def same_origin(scope: Mapping[str, Any], settings: Settings) -> bool:
    """`origin_allowed` for an ASGI connection (HTTP or WebSocket)."""
    origin = scope_header(scope, b"origin")
    server = scope.get("server") or (None, None)
    return origin_allowed(
        origin, settings, scheme=scope.get("scheme", "http"), server_port=server[1]
    )
