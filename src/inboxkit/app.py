"""build_app(settings): the HTTP app plus, by role, the SMTP listener and workers, one lifespan.

Roles let one deployment split work across processes: `api` serves HTTP/WebSocket/MCP, `smtp`
receives mail, `worker` runs background jobs. `all` (the default) does everything in one.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI

from inboxkit import __version__
from inboxkit.api.connections import guarded_http_protocol
from inboxkit.api.errors import install_error_handlers
from inboxkit.api.keys import router as keys_router
from inboxkit.api.limits import BodySizeLimit
from inboxkit.api.mailboxes import router as mailboxes_router
from inboxkit.api.messages import router as messages_router
from inboxkit.api.openapi import document_settings
from inboxkit.api.ops import router as ops_router
from inboxkit.api.outbound import router as outbound_router
from inboxkit.api.schemas import ErrorResponse
from inboxkit.api.stream import router as stream_router
from inboxkit.api.stream import ws_router
from inboxkit.api.webhooks import router as webhooks_router
from inboxkit.config import Settings
from inboxkit.mcp.http import MCP_PATH, McpEndpoint
from inboxkit.runtime import Runtime
from inboxkit.smtp.handler import InboxHandler
from inboxkit.smtp.server import start_smtp_server
from inboxkit.workers import start_workers

__all__ = ["build_app", "http_config", "Services", "HttpServer", "ROLES"]

log = logging.getLogger(__name__)
ROLES = ("all", "api", "smtp", "worker")

_ERROR_RESPONSES = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        400: "Bad request",
        401: "Missing or invalid token",
        403: "Token lacks a scope",
        404: "Not found (or not yours)",
        413: "Request body too large",
        422: "Validation error",
    }.items()
}


class Services:
    """The runtime plus the listeners and workers a role runs; started and stopped together."""

    def __init__(self, settings: Settings, role: str = "all"):
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        self.settings = settings
        self.role = role
        self.runtime = Runtime(settings)
        self.smtp_server: asyncio.Server | None = None
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self.runtime.start()
        if self.role in ("all", "smtp"):
            handler = InboxHandler(
                self.settings,
                self.runtime.mailboxes,
                self.runtime.pipeline,
                self.runtime.metrics,
            )
            self.smtp_server = await start_smtp_server(self.settings, handler)
        if self.role in ("all", "worker"):
            self.tasks = start_workers(self.runtime)

    @property
    def smtp_port(self) -> int | None:
        if self.smtp_server is None or not self.smtp_server.sockets:
            return None
        return self.smtp_server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.smtp_server is not None:
            self.smtp_server.close()
            try:
                await asyncio.wait_for(self.smtp_server.wait_closed(), 5)
            except TimeoutError:
                pass
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.runtime.close()


class HttpServer(uvicorn.Server):
    """uvicorn's server, but long-polls and event streams end as soon as shutdown begins.

    uvicorn lets every open response finish before it runs the app's shutdown, and a wait or an
    event stream would hold it for up to a minute (a stream, forever). Waits answer "timed out"
    and streams end (clients reconnect), then uvicorn closes the idle connections.
    """

    def __init__(self, config: uvicorn.Config, services: Services):
        super().__init__(config)
        self.services = services

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.services.runtime.waits.stop_waiting()
        await super().shutdown(sockets)


def http_config(app: FastAPI, settings: Settings, **overrides: Any) -> uvicorn.Config:
    """The uvicorn configuration every HTTP server of ours runs with (`inboxkit serve`, the
    test servers): the request-head deadline and connection cap of `api/connections.py`.
    `overrides` are passed to `uvicorn.Config` (host, port, ws, ...)."""
    options: dict[str, Any] = {
        "host": settings.http_host,
        "port": settings.http_port,
        "log_level": "warning",
        "lifespan": "on",
        "http": guarded_http_protocol(settings.http_header_timeout, settings.http_max_connections),
        # Events are small JSON; compression would cost each connection ~35 KiB of zlib
        # state (browsers always offer it) for little gain.
        "ws_per_message_deflate": False,
    }
    return uvicorn.Config(app, **(options | overrides))


def build_app(settings: Settings, role: str = "all") -> FastAPI:
    services = Services(settings, role)
    mcp_endpoint = McpEndpoint(services.runtime)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await services.start()
        try:
            async with mcp_endpoint.run():
                yield
        finally:
            await services.stop()

    app = FastAPI(
        title="inboxkit",
        version=__version__,
        description="Real, programmable email inboxes for AI agents, test suites and automation.",
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.runtime = services.runtime
    install_error_handlers(app)
    document_settings(app, settings)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    for router in (
        mailboxes_router,
        messages_router,
        outbound_router,
        stream_router,
        webhooks_router,
        keys_router,
    ):
        app.include_router(router, prefix="/api/v1", responses=_ERROR_RESPONSES)
    app.include_router(ws_router)
    app.include_router(ops_router)
    # A route, not a mount: a mount would redirect `POST /mcp` to `/mcp/`.
    app.add_route(MCP_PATH, mcp_endpoint, include_in_schema=False)
    return app
