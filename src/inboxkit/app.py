"""Starting a server: `build_app` (the HTTP app, whose lifespan runs the runtime) and `serve`.

`serve` is the one start-up every entry point uses: `inboxkit serve`, `inboxkit mcp
--embedded`, the embedded test server (`inboxkit.testing`) and the test suite's servers. It
builds the runtime for a role (see `runtime.py`) and, when the role serves HTTP, the uvicorn
server with our connection guards (`http_config`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI
from starlette.routing import Route

from inboxkit import __version__
from inboxkit.api.accounts import router as accounts_router
from inboxkit.api.connections import guarded_http_protocol
from inboxkit.api.domains import router as domains_router
from inboxkit.api.drafts import router as drafts_router
from inboxkit.api.errors import install_error_handlers
from inboxkit.api.esp import mailgun, postmark, resend, sendgrid, ses, too_large_answer
from inboxkit.api.faults import router as faults_router
from inboxkit.api.inbound import router as inbound_router
from inboxkit.api.keys import router as keys_router
from inboxkit.api.limits import BodySizeLimit
from inboxkit.api.lists import router as lists_router
from inboxkit.api.mailboxes import router as mailboxes_router
from inboxkit.api.messages import router as messages_router
from inboxkit.api.openapi import document_settings
from inboxkit.api.ops import router as ops_router
from inboxkit.api.outbound import router as outbound_router
from inboxkit.api.ratelimit import RateLimitHeaders
from inboxkit.api.schemas import ErrorResponse
from inboxkit.api.search import router as search_router
from inboxkit.api.stream import router as stream_router
from inboxkit.api.stream import ws_router
from inboxkit.api.threads import router as threads_router
from inboxkit.api.webhooks import router as webhooks_router
from inboxkit.config import Settings
from inboxkit.mcp.http import MCP_PATH, McpEndpoint
from inboxkit.runtime import Role, Runtime
from inboxkit.web import install as install_web

__all__ = ["build_app", "http_config", "serve", "running", "Serving", "HttpServer"]

log = logging.getLogger(__name__)

_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        400: "Bad request",
        401: "Missing or invalid token",
        403: "Token lacks a scope, or a plan's ceiling (`quota_exceeded`)",
        404: "Not found (or not yours)",
        413: "Request body too large",
        422: "Validation error",
        429: "Over a rate limit of the caller's plan (see Retry-After and RateLimit-*), or a "
        "period's quota reached (`Retry-After` says when to retry)",
    }.items()
}


class HttpServer(uvicorn.Server):
    """uvicorn's server, but long-polls and event streams end as soon as shutdown begins.

    uvicorn lets every open response finish before it runs the app's shutdown, and a wait or an
    event stream would hold it for up to a minute (a stream, forever). Waits answer "timed out"
    and streams end (clients reconnect), then uvicorn closes the idle connections.
    """

    def __init__(self, config: uvicorn.Config, runtime: Runtime, on_started: Callable[[], None]):
        super().__init__(config)
        self.runtime = runtime
        self.on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:  # the runtime is up and the sockets listen
            self.on_started()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.runtime.waits.stop_waiting()
        await super().shutdown(sockets)

    @property
    def port(self) -> int:
        port: int = self.servers[0].sockets[0].getsockname()[1]
        return port


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
        # X-Forwarded-For is read by us, from INBOXKIT_TRUSTED_PROXIES only (api/deps.py):
        # uvicorn's own handling would believe it from 127.0.0.1 by default.
        "proxy_headers": False,
        # Events are small JSON; compression would cost each connection ~35 KiB of zlib
        # state (browsers always offer it) for little gain.
        "ws_per_message_deflate": False,
    }
    return uvicorn.Config(app, **(options | overrides))


def build_app(settings: Settings, role: Role | str = Role.ALL) -> FastAPI:
    """The HTTP app of a process in `role`; its lifespan starts and closes the runtime."""
    runtime = Runtime(settings, role)
    mcp_endpoint = McpEndpoint(runtime)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            async with mcp_endpoint.run():
                yield
        finally:
            await runtime.close()

    app = FastAPI(
        title="inboxkit",
        version=__version__,
        description="Real, programmable email inboxes for AI agents, test suites and automation.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    document_settings(app, settings)
    app.add_middleware(RateLimitHeaders)
    app.add_middleware(
        BodySizeLimit, max_bytes=settings.max_request_bytes, answer_for=too_large_answer
    )
    for router in (
        mailboxes_router,
        messages_router,
        threads_router,
        search_router,
        outbound_router,
        drafts_router,
        stream_router,
        webhooks_router,
        faults_router,
        lists_router,
        domains_router,
        keys_router,
        accounts_router,
        inbound_router,
    ):
        app.include_router(router, prefix="/api/v1", responses=_ERROR_RESPONSES)
    app.include_router(ws_router)
    # Emulated provider send APIs (capture, DESIGN §11): documented under /esp/<provider>, and
    # served again at the providers' own paths for SDKs whose base URL cannot carry a path.
    providers = (
        ("postmark", postmark),
        ("sendgrid", sendgrid),
        ("resend", resend),
        ("mailgun", mailgun),
        ("ses", ses),
    )
    for name, provider in providers:
        app.include_router(provider.router, prefix=f"/esp/{name}")
        app.include_router(provider.router, include_in_schema=False)
    app.include_router(ops_router)
    install_web(app)
    # A route, not a mount: a mount would redirect `POST /mcp` to `/mcp/`.
    # An ASGI app as a Route endpoint (Starlette serves it as is, every method).
    app.router.routes.append(Route(MCP_PATH, mcp_endpoint, include_in_schema=False))
    return app


class Serving:
    """A started process, as `running` yields it and `serve` hands it to `on_ready`."""

    def __init__(
        self,
        runtime: Runtime,
        http: HttpServer | None,
        finished: asyncio.Future[None],
        stop: Callable[[], None],
    ):
        self.runtime = runtime
        self.http_port = http.port if http is not None else None
        self._finished = finished
        self._stop = stop

    @property
    def smtp_port(self) -> int | None:
        return self.runtime.smtp_port

    def stop(self) -> None:
        """Begin shutting down (from the server's event loop)."""
        self._stop()

    async def wait(self) -> None:
        """Until the process stops: `stop()`, or a signal uvicorn caught."""
        await asyncio.wait([self._finished])


@asynccontextmanager
async def running(
    settings: Settings,
    role: Role | str = Role.ALL,
    sockets: list[socket.socket] | None = None,
    *,
    http: bool | None = None,
) -> AsyncIterator[Serving]:
    """Start a process in `role` and yield it once it is ready; stop it on exit.

    With HTTP (by default for the roles `all` and `api`) the uvicorn server runs in a task, on
    `sockets` if given (bound beforehand, so the port is known and early connections wait in
    the backlog), else on the settings' host and port. `http=False` runs the role's SMTP
    listener and workers alone (`inboxkit mcp --embedded` talks over stdio instead);
    `http=True` serves HTTP in any role (the test suite talks to every process over HTTP).
    """
    role = Role(role)
    if role.serves_http if http is None else http:
        app = build_app(settings, role)
        runtime: Runtime = app.state.runtime
        started = asyncio.Event()
        server = HttpServer(http_config(app, settings), runtime, on_started=started.set)
        task = asyncio.create_task(server.serve(sockets=sockets), name="inboxkit-http")
        ready = asyncio.create_task(started.wait())
        await asyncio.wait([task, ready], return_when=asyncio.FIRST_COMPLETED)
        if not started.is_set():
            ready.cancel()
            task.result()  # start-up failed: raise what it raised
            raise RuntimeError("the server stopped during start-up")

        def stop() -> None:
            server.should_exit = True

        try:
            yield Serving(runtime, server, task, stop)
        finally:
            stop()
            await asyncio.wait_for(task, 30)
        return
    runtime = Runtime(settings, role)
    await runtime.start()
    stopped: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def stop_runtime() -> None:
        if not stopped.done():
            stopped.set_result(None)

    try:
        yield Serving(runtime, None, stopped, stop_runtime)
    finally:
        stop_runtime()
        await runtime.close()


async def serve(
    settings: Settings,
    role: Role | str = Role.ALL,
    sockets: list[socket.socket] | None = None,
    on_ready: Callable[[Serving], None] | None = None,
    *,
    under_parent: bool = False,
) -> None:
    """Run a process in `role` until SIGINT or SIGTERM (or `Serving.stop()`); `on_ready` is
    called once it is up, with the running process (its runtime and bound ports).

    With `smtp_processes` above one, a process that receives mail starts that many minus one
    `smtp`-role processes on its SMTP port (`SmtpProcesses`) and stops them when it stops.
    `under_parent` marks such a process: it stops when its standard input closes."""
    async with running(settings, role, sockets) as serving:
        with _stop_on_signals(serving):
            async with SmtpProcesses(settings, Role(role), serving, under_parent):
                if on_ready is not None:
                    on_ready(serving)
                await serving.wait()


class SmtpProcesses:
    """The extra SMTP ingest processes of INBOXKIT_SMTP_PROCESSES, started once this process
    listens (so they bind the port it bound, with SO_REUSEPORT) and stopped with it.

    Each is `inboxkit serve --smtp-process`, given this process's settings on its standard
    input (so options given on the command line reach it too) and answering `ready` on its
    standard output once it listens. It stops when its standard input closes: when this
    process stops it, and when this process ends in any other way (killed), which closes the
    pipe too, so no ingest process outlives the one that started it."""

    START_TIMEOUT = 120.0

    def __init__(self, settings: Settings, role: Role, serving: Serving, under_parent: bool):
        self.settings = settings
        self.count = settings.smtp_processes - 1 if role.receives_mail and not under_parent else 0
        self.serving = serving
        self.under_parent = under_parent
        self.children: list[asyncio.subprocess.Process] = []

    async def __aenter__(self) -> SmtpProcesses:
        if self.under_parent:
            _stop_when_stdin_closes(self.serving)
            return self
        if self.count:
            port = self.serving.smtp_port
            # The parent migrated the database; every process listens where the parent does.
            update = {"smtp_port": port, "auto_migrate": False}
            given = self.settings.model_copy(update=update).model_dump_json()
            try:
                for _ in range(self.count):
                    self.children.append(await self._start(given))
            except BaseException:
                await self._stop()
                raise
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._stop()

    async def _start(self, given: str) -> asyncio.subprocess.Process:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from inboxkit.cli import main; main()",
            "serve",
            "--smtp-process",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=os.environ.copy(),
        )
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(given.encode() + b"\n")
        await child.stdin.drain()
        try:
            answer = await asyncio.wait_for(child.stdout.readline(), self.START_TIMEOUT)
        except TimeoutError:
            answer = b""
        if answer.strip() != b"ready":
            child.kill()
            await child.wait()
            raise RuntimeError(
                f"an SMTP process did not start (exit {child.returncode}); see its log above"
            )
        return child

    async def _stop(self) -> None:
        children, self.children = self.children, []
        for child in children:
            if child.stdin is not None:
                child.stdin.close()
        for child in children:
            try:
                await asyncio.wait_for(child.wait(), 30)
            except TimeoutError:
                log.warning("an SMTP process did not stop within 30 s; killing it")
                child.kill()
                await child.wait()


def _stop_when_stdin_closes(serving: Serving) -> None:
    """Stop `serving` once standard input reaches its end (the parent closed it or ended)."""
    loop = asyncio.get_running_loop()
    fd = sys.stdin.fileno()

    def readable() -> None:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(fd)
            serving.stop()

    os.set_blocking(fd, False)
    loop.add_reader(fd, readable)


@contextmanager
def _stop_on_signals(serving: Serving) -> Iterator[None]:
    """Stop on SIGINT/SIGTERM. uvicorn already does so for an HTTP server; a process without
    one listens itself (signals reach the main thread only)."""
    if serving.http_port is not None or threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, serving.stop)
    try:
        yield
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
