"""Dependencies the routes declare once as Annotated aliases."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from inboxkit.runtime import Runtime
from inboxkit.services.auth import Principal

__all__ = [
    "CLIENT_HEADER",
    "RuntimeDep",
    "PrincipalDep",
    "CursorQuery",
    "get_runtime",
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
    return dataclasses.replace(principal, client_ip=client_ip(request), via=surface)


def client_ip(request: Request) -> str | None:
    """The caller's address: the socket peer."""
    return request.client.host if request.client else None


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
CursorQuery = Annotated[
    str | None,
    Query(
        pattern=ID_PATTERN,
        description="`meta.next_cursor` of the previous page, passed back unchanged.",
    ),
]
