"""MCP over streamable HTTP at exactly `/mcp` on the API server.

The endpoint is an ASGI app registered as a route (not a mounted sub-application: a mount at
`/mcp` answers a bare `POST /mcp` with a 307 to `/mcp/`, which many MCP clients do not follow).
Requests pass, in order:

1. a Host and an Origin check (`services/origins.py`; the MCP transport spec asks servers to
   refuse cross-site browser requests and to guard against DNS rebinding; the WebSocket and
   SSE routes apply the same Origin rule). They stand in for the SDK's own DNS-rebinding
   protection, which knows only fixed host lists and answers outside our error envelope;
2. the SDK's bearer authentication with our token verifier, which resolves API keys and mailbox
   tokens through `AuthService.authenticate`: a request without a valid token gets a 401 with a
   `WWW-Authenticate: Bearer` challenge before any MCP processing;
3. the SDK's session manager in stateless mode. Each POST is answered on its own (an SSE stream
   per request, which is what carries progress notifications during a wait), no session lives
   in one process's memory, and so any API process behind a load balancer can answer any
   request. The manager's task group runs inside the app's lifespan (`McpEndpoint.run`).

Tools then call the service layer as the request's Principal: the same scopes and tenant
isolation as the REST API.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import (
    AuthenticatedUser,
    BearerAuthBackend,
    RequireAuthMiddleware,
)
from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver import Context
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import ConfigDict, Field
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.types import Receive, Scope, Send

from inboxkit.api.errors import error_response
from inboxkit.errors import QuotaExceeded, Unauthorized
from inboxkit.mcp.backends import ServiceBackend
from inboxkit.mcp.tools import build_server
from inboxkit.runtime import Runtime
from inboxkit.services.auth import AuthService, Principal, digest
from inboxkit.services.origins import host_allowed, same_origin, scope_header

__all__ = ["McpEndpoint", "PrincipalToken", "TokenVerifier", "MCP_PATH"]

MCP_PATH = "/mcp"


class PrincipalToken(AccessToken):
    """The SDK's access-token record, carrying the Principal the token stands for."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    principal: Principal = Field(exclude=True)


class TokenVerifier:
    """The SDK's token-verifier hook, answered by our own API keys and mailbox tokens."""

    def __init__(self, auth: AuthService):
        self.auth = auth

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            principal = await self.auth.authenticate(token)
        except Unauthorized:
            return None
        if principal.kind == "anonymous":
            return None
        return PrincipalToken(
            # Only a digest: the record is kept per request and the secret has no use here.
            token=digest(token),
            client_id=principal.key_id or principal.mailbox_id or "admin",
            subject=principal.account_id or principal.mailbox_id,
            scopes=sorted(principal.scopes),
            principal=dataclasses.replace(principal, via="mcp"),
        )


def principal_of(ctx: Context) -> Principal:
    """The Principal behind a tool call made over HTTP (authenticated before it got here)."""
    request = ctx.request_context.request
    user = getattr(request, "scope", {}).get("user") if request is not None else None
    if isinstance(user, AuthenticatedUser) and isinstance(user.access_token, PrincipalToken):
        return user.access_token.principal
    raise RuntimeError("MCP tool call without an authenticated HTTP request")


class McpEndpoint:
    """The `/mcp` ASGI endpoint of one API process."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.server = build_server(lambda ctx: ServiceBackend(runtime, principal_of(ctx)))
        # streamable_http_app() builds the session manager; its Starlette app is not used
        # (we route the manager ourselves, behind our own checks).
        self.server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            stateless_http=True,
            json_response=False,
            max_request_body_size=runtime.settings.max_request_bytes,
            # Host and Origin are checked before the SDK sees the request (`_refusal`), against
            # the configured public URL and allowed origins, with our error envelope.
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        self.sessions: StreamableHTTPSessionManager = self.server.session_manager
        self._app: Any = AuthenticationMiddleware(
            AuthContextMiddleware(
                RequireAuthMiddleware(StreamableHTTPASGIApp(self.sessions), required_scopes=[])
            ),
            backend=BearerAuthBackend(TokenVerifier(runtime.auth)),
        )

    @asynccontextmanager
    async def run(self) -> AsyncIterator[None]:
        """Run the session manager; enter inside the app's lifespan, after the runtime started."""
        async with self.sessions.run():
            yield

    def _refusal(self, scope: Scope) -> str | None:
        """Why this request is refused before any MCP processing, or None."""
        settings = self.runtime.settings
        if not host_allowed(scope_header(scope, b"host"), settings):
            return (
                "This server does not answer /mcp under that host name; use its public URL "
                "(its operator sets INBOXKIT_PUBLIC_URL or INBOXKIT_ALLOWED_ORIGINS)."
            )
        if not same_origin(scope, settings):
            return "Cross-site requests to /mcp are refused."
        return None

    async def _plan_refusal(self, scope: Scope) -> QuotaExceeded | None:
        """A `quota_exceeded` for a caller whose plan has no MCP access, or None. (A missing
        or bad token is left to the SDK's auth middleware, which answers 401.)"""
        header = scope_header(scope, b"authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            principal = await self.runtime.auth.authenticate(token)
            principal.require_access("mcp")
        except QuotaExceeded as exc:
            return exc
        except Unauthorized:
            return None
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self._refusal(scope) if scope["type"] == "http" else None
        if refusal is not None:
            await error_response(403, "forbidden", refusal)(scope, receive, send)
            return
        if scope["type"] == "http":
            over = await self._plan_refusal(scope)
            if over is not None:
                response = error_response(
                    over.status, over.code, over.message, over.headers, over.details
                )
                await response(scope, receive, send)
                return
        await self._app(scope, receive, send)
