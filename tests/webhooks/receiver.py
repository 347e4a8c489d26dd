"""A real HTTP endpoint for webhook tests: a bare ASGI app served by uvicorn on a free port
in the test's event loop. It records every request and answers as the test scripts it to."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn

__all__ = ["Hit", "Receiver", "serve_receiver"]


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    at: float = field(default_factory=time.perf_counter)

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


class Receiver:
    """`respond(hit_number, path)` picks each answer's status (default 200)."""

    def __init__(self, respond: Callable[[int, str], int] | None = None):
        self.respond = respond or (lambda number, path: 200)
        self.hits: list[Hit] = []
        self.hold: asyncio.Event | None = None  # when set up, answers wait for it
        self._changed = asyncio.Condition()
        self.port = 0

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        status = self.respond(len(self.hits) + 1, scope["path"])
        async with self._changed:
            self.hits.append(Hit(scope["path"], headers, body, status))
            self._changed.notify_all()
        if self.hold is not None:
            await self.hold.wait()
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def wait_for(
        self, predicate: Callable[[list[Hit]], bool], timeout: float = 20.0
    ) -> list[Hit]:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self.hits)), timeout)
        return list(self.hits)

    async def wait_for_count(self, count: int, timeout: float = 20.0) -> list[Hit]:
        return await self.wait_for(lambda hits: len(hits) >= count, timeout)


@contextlib.asynccontextmanager
async def serve_receiver(receiver: Receiver, **tls: Any) -> AsyncIterator[Receiver]:
    """Serve `receiver`; `ssl_certfile=…, ssl_keyfile=…` make it an HTTPS endpoint."""
    config = uvicorn.Config(
        receiver,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="off",
        access_log=False,
        **tls,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    receiver.port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        if receiver.hold is not None:
            receiver.hold.set()
        server.should_exit = True
        await asyncio.wait_for(task, 30)
