"""Run each SDK test with both clients: `sdk.run(fn, …)` calls a sync method in a worker thread
(the server runs in this test's event loop, which must not block) and awaits an async one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from inboxkit.client import AsyncInboxKit, InboxKit
from tests.helpers import RunningServer


@dataclass
class Sdk:
    kind: str  # "sync" | "async"
    base_url: str
    opened: list[Any]

    def client(self, api_key: str | None = None, *, url: str | None = None, **options: Any) -> Any:
        """A client of this kind for the test server (anonymous unless `api_key`)."""
        cls = InboxKit if self.kind == "sync" else AsyncInboxKit
        client = cls(url or self.base_url, api_key or "", **options)
        self.opened.append(client)
        return client

    def http_client(self, on_response: Callable[[httpx.Response], None]) -> Any:
        """An httpx client of this kind that reports every response to `on_response`."""
        http: Any
        if self.kind == "sync":
            http = httpx.Client(timeout=30, event_hooks={"response": [on_response]})
        else:

            async def hook(response: httpx.Response) -> None:
                on_response(response)

            http = httpx.AsyncClient(timeout=30, event_hooks={"response": [hook]})
        self.opened.append(http)  # a client does not close an http_client it was given
        return http

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.kind == "sync":
            return await asyncio.to_thread(fn, *args, **kwargs)
        return await fn(*args, **kwargs)


@pytest.fixture(params=["sync", "async"])
async def sdk(request: pytest.FixtureRequest, server: RunningServer) -> AsyncIterator[Sdk]:
    helper = Sdk(request.param, server.base_url, [])
    yield helper
    for client in helper.opened:
        if isinstance(client, InboxKit | httpx.Client):
            client.close()
        else:
            await client.aclose()
