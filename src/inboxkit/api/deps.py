"""Dependencies the routes declare once as Annotated aliases."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from inboxkit.netaddr import client_address
from inboxkit.runtime import Runtime
from inboxkit.services.auth import Principal
from inboxkit.services.throttle import request_bucket

__all__ = [
    "CLIENT_HEADER",
    "RuntimeDep",
    "PrincipalDep",
    "CursorQuery",
    "get_runtime",
    "admitted",
    "client_ip",
    "ID_PATTERN",
]

# Sent by the MCP server's REST backend on every call (mcp/backends.py).
CLIENT_HEADER = "X-InboxKit-Client"

# The alphabet of `ids.new_id` (Crockford base32), 26 characters.
ID_PATTERN = "^[0-9A-HJKMNP-TV-Z]{26}$"

_bearer = HTTPBearer(auto_error=False, description="An API key (ik_…) or a mailbox token (ikm_…).")


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    runtime: Runtime = request.app.state.runtime
    principal = await runtime.auth.authenticate(credentials.credentials if credentials else None)
    # The MCP server's REST backend (stdio) names itself, so its calls count as MCP use.
    surface = "mcp" if request.headers.get(CLIENT_HEADER, "").lower() == "mcp" else "api"
    principal.require_access(surface)
    return await admitted(request, dataclasses.replace(principal, via=surface))


async def admitted(request: Request, principal: Principal) -> Principal:
    """The principal with its client address, once its request is counted against its plan's
    rate limit (RateLimited, 429, when it is over). The verdict is kept for the
    `RateLimit-*` response headers (`api/ratelimit.py`)."""
    runtime: Runtime = request.app.state.runtime
    principal = dataclasses.replace(principal, client_ip=client_ip(request))
    route = getattr(request.scope.get("route"), "path", None) or request.url.path
    verdict = await runtime.throttle.admit(principal, request_bucket(request.method, route))
    if verdict is not None:
        request.state.rate_limit = verdict
    return principal


def client_ip(connection: HTTPConnection) -> str | None:
    """The caller's address: the socket peer, or behind a trusted proxy (INBOXKIT_TRUSTED_PROXIES)
    the address it forwarded (`netaddr.client_address`)."""
    runtime: Runtime = connection.app.state.runtime
    peer = connection.client.host if connection.client else None
    return client_address(
        peer,
        connection.headers.getlist("x-forwarded-for"),
        runtime.settings.trusted_proxies,
    )


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
CursorQuery = Annotated[
    str | None,
    Query(
        pattern=ID_PATTERN,
        description="`meta.next_cursor` of the previous page, passed back unchanged.",
    ),
]
