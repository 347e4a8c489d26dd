"""One token holds at most INBOXKIT_MAX_STREAMS_PER_TOKEN open waits, WebSockets and SSE streams
at once: past that it is refused 429 (a WebSocket at the handshake), and every way a stream ends
gives its slot back."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from httpx_sse import aconnect_sse
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from inboxkit.config import Settings
from inboxkit.services.slots import slot_holder
from tests.conftest import PG_URL, REDIS_URL
from tests.helpers import RunningServer, start_server
from tests.realtime.support import eventually


class Streams:
    """Opens streams of every kind for one token against one server, and cleans up."""

    def __init__(self, server: RunningServer, token: str):
        self.server = server
        self.token = token
        self.tasks: list[asyncio.Task[Any]] = []
        self.sockets: list[ClientConnection] = []
        self.client = httpx.AsyncClient(
            base_url=server.http.base_url,
            headers=server.auth(token),
            timeout=90,
            limits=httpx.Limits(max_connections=200),
        )

    async def holder(self) -> str:
        return slot_holder(await self.server.runtime.auth.authenticate(self.token))

    async def held(self) -> int:
        return self.server.runtime.waits.slots.held(await self.holder())

    async def until_held(self, count: int) -> None:
        holder = await self.holder()
        slots = self.server.runtime.waits.slots
        await eventually(lambda: slots.held(holder) == count, what=f"{count} slots held")

    def wait(self, box: dict[str, Any], timeout: float = 60) -> asyncio.Task[httpx.Response]:
        task = asyncio.create_task(
            self.client.get(f"/mailboxes/{box['id']}/wait", params={"timeout": timeout})
        )
        self.tasks.append(task)
        return task

    def sse(self, box: dict[str, Any]) -> asyncio.Task[list[str]]:
        async def listen() -> list[str]:
            names = []
            async with aconnect_sse(self.client, "GET", f"/mailboxes/{box['id']}/events") as src:
                assert src.response.status_code == 200
                async for event in src.aiter_sse():
                    names.append(event.event)
            return names

        task = asyncio.create_task(listen())
        self.tasks.append(task)
        return task

    def _ws_url(self, box: dict[str, Any]) -> str:
        return f"ws://127.0.0.1:{self.server.http_port}/ws/inbox/{quote(box['address'])}"

    async def websocket(self, box: dict[str, Any]) -> ClientConnection:
        ws = await connect(
            self._ws_url(box), additional_headers={"Authorization": f"Bearer {self.token}"}
        )
        self.sockets.append(ws)
        return ws

    async def assert_refused(self, box: dict[str, Any]) -> None:
        """The next wait, SSE stream and WebSocket are each refused 429 rate_limited."""
        for response in (
            await self.client.get(f"/mailboxes/{box['id']}/wait", params={"timeout": 30}),
            await self.client.get(f"/mailboxes/{box['id']}/events"),
        ):
            assert response.status_code == 429, response.text
            assert response.headers["Retry-After"].isdigit()
            error = response.json()["error"]
            assert error["code"] == "rate_limited" and "open waits" in error["message"]
        with pytest.raises(InvalidStatus) as refused:
            await connect(
                self._ws_url(box), additional_headers={"Authorization": f"Bearer {self.token}"}
            )
        assert refused.value.response.status_code == 429
        assert refused.value.response.headers["Retry-After"].isdigit()
        assert json.loads(refused.value.response.body)["error"]["code"] == "rate_limited"

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for ws in self.sockets:
            await ws.close()
        await self.client.aclose()


@contextlib.asynccontextmanager
async def streams(server: RunningServer, token: str) -> AsyncIterator[Streams]:
    opened = Streams(server, token)
    try:
        yield opened
    finally:
        await opened.close()


async def test_a_token_at_its_stream_limit_is_refused_429_for_waits_sse_and_websockets(
    server: RunningServer,
):
    limit = server.settings.max_streams_per_token
    assert limit == 20  # the documented default
    key = await server.create_key()
    box = await server.create_inbox(key)
    async with streams(server, key) as held:
        for _ in range(8):
            await held.websocket(box)
        for _ in range(6):
            held.sse(box)
            held.wait(box)
        await held.until_held(limit)
        await held.assert_refused(box)
        assert await held.held() == limit  # the refusals took nothing
        # Another token is not affected, and an answer that needs no waiting needs no slot.
        other = await server.create_inbox()
        async with streams(server, other["token"]) as elsewhere:
            await elsewhere.websocket(other)
            await elsewhere.until_held(1)
        answered = await held.client.get(f"/mailboxes/{box['id']}/wait", params={"timeout": 0})
        assert answered.status_code == 200 and answered.json()["data"]["timed_out"] is True


async def test_every_way_a_stream_ends_frees_its_slot_and_new_streams_are_admitted(
    server: RunningServer,
):
    limit = server.settings.max_streams_per_token
    key = await server.create_key()
    doomed = await server.create_inbox(key)
    kept = await server.create_inbox(key)
    async with streams(server, key) as held:
        # Ended by deleting their mailbox: waits answer 404, streams get a final event.
        doomed_waits = [held.wait(doomed) for _ in range(2)]
        doomed_sse = held.sse(doomed)
        doomed_sockets = [await held.websocket(doomed) for _ in range(2)]
        # Answered by mail.
        answered = [held.wait(kept) for _ in range(2)]
        # Given up by their clients.
        abandoned_waits = [held.wait(kept) for _ in range(2)]
        abandoned_sse = [held.sse(kept) for _ in range(3)]
        closed_sockets = [await held.websocket(kept) for _ in range(4)]
        aborted_sockets = [await held.websocket(kept) for _ in range(4)]
        await held.until_held(limit)
        await held.assert_refused(kept)

        deleted = await held.client.delete(f"/mailboxes/{doomed['id']}")
        assert deleted.status_code == 204
        for response in await asyncio.gather(*doomed_waits):
            assert response.status_code == 404
        assert (await asyncio.wait_for(doomed_sse, 30))[-1] == "mailbox.deleted"
        for ws in doomed_sockets:
            final = [json.loads(frame) async for frame in ws]
            assert final[-1]["event"] == "mailbox.deleted"

        await server.send(kept["address"], subject="for the waiters")
        for response in await asyncio.gather(*answered):
            assert response.json()["data"]["message"]["subject"] == "for the waiters"

        for task in abandoned_waits + abandoned_sse:
            task.cancel()
        await asyncio.gather(*abandoned_waits, *abandoned_sse, return_exceptions=True)
        for ws in closed_sockets:
            await ws.close()
        for ws in aborted_sockets:
            ws.transport.abort()  # gone without a closing handshake

        await asyncio.wait_for(server.runtime.waits.slots.wait_held(await held.holder(), 0), 30)

        # A wait that times out frees its slot too.
        timing_out = held.wait(kept, timeout=1)
        await held.until_held(1)
        assert (await timing_out).json()["data"]["timed_out"] is True
        await held.until_held(0)

        # All the slots are back: a full set is admitted again, and no more.
        for _ in range(limit):
            await held.websocket(kept)
        await held.until_held(limit)
        await held.assert_refused(kept)


# Without Redis the limit is per process (documented); this runs where Redis is configured.
@pytest.mark.skipif(
    not (PG_URL and REDIS_URL),
    reason="set INBOXKIT_TEST_DATABASE_URL and INBOXKIT_TEST_REDIS_URL to run",
)
@pytest.mark.parametrize("backend", ["postgres"])
async def test_the_stream_limit_is_shared_by_api_processes_through_redis(
    server: RunningServer, settings: Settings
):
    assert settings.redis_url is not None
    limit = server.settings.max_streams_per_token
    key = await server.create_key()
    box = await server.create_inbox(key)
    async with start_server(settings) as second:
        async with streams(server, key) as here, streams(second, key) as there:
            for n in range(limit):
                await (here if n % 2 else there).websocket(box)
            await here.until_held(limit // 2)
            await there.until_held(limit - limit // 2)
            await here.assert_refused(box)
            await there.assert_refused(box)
