"""GET /mailboxes/{mailbox}/events (Server-Sent Events): pushes mail as it lands, resumes with
Last-Event-ID from the database, refuses strangers, pings, ends when the mailbox goes away."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from httpx_sse import ServerSentEvent, aconnect_sse

from tests.helpers import RunningServer
from tests.realtime.support import eventually, subscribed, task_count


@contextlib.asynccontextmanager
async def events(
    server: RunningServer,
    box: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
    **params: str,
) -> AsyncIterator[AsyncIterator[ServerSentEvent]]:
    headers = headers if headers is not None else server.auth(box["token"])
    async with aconnect_sse(
        server.http, "GET", f"/mailboxes/{box['id']}/events", headers=headers, params=params
    ) as source:
        assert source.response.status_code == 200, await source.response.aread()
        yield source.aiter_sse()


async def next_event(
    stream: AsyncIterator[ServerSentEvent], *, pings: bool = False
) -> ServerSentEvent:
    while True:
        event = await asyncio.wait_for(anext(stream), 10)
        if pings or event.event != "ping":
            return event


async def test_sse_pushes_received_mail_with_the_message_id_as_event_id(server: RunningServer):
    box = await server.create_inbox()
    async with events(server, box) as stream:
        await server.send(box["address"], subject="over SSE", body="Your code is 739 201.")
        event = await next_event(stream)
    data = event.json()
    assert event.event == "message.received"
    assert data["event"] == "message.received" and data["mailbox"] == box["address"]
    assert data["message"]["subject"] == "over SSE"
    assert data["message"]["codes"] == ["739201"]
    assert event.id == data["message"]["id"]


async def test_sse_push_comes_from_the_delivery_event_not_from_polling(
    server_without_catchup: RunningServer,
):
    server = server_without_catchup
    box = await server.create_inbox()
    async with events(server, box) as stream:
        await subscribed(server)
        await server.send(box["address"], subject="announced")
        event = await next_event(stream)  # fails after 10 s; the catch-up would take 600 s
    assert event.event == "message.received"
    assert event.json()["message"]["subject"] == "announced"


async def test_sse_resumes_after_last_event_id_with_what_was_missed(server: RunningServer):
    box = await server.create_inbox()
    async with events(server, box) as stream:
        for subject in ("one", "two"):
            await server.send(box["address"], subject=subject)
        seen = [await next_event(stream) for _ in range(2)]
    assert [e.json()["message"]["subject"] for e in seen] == ["one", "two"]
    for subject in ("three", "four"):  # while the client is away
        await server.send(box["address"], subject=subject)
    resume = {**server.auth(box["token"]), "Last-Event-ID": seen[-1].id}
    async with events(server, box, headers=resume) as stream:
        replayed = [await next_event(stream) for _ in range(2)]
        await server.send(box["address"], subject="five")
        live = await next_event(stream)
    assert [e.json()["message"]["subject"] for e in replayed] == ["three", "four"]
    assert live.json()["message"]["subject"] == "five"


async def test_sse_accepts_the_token_as_a_query_parameter(server: RunningServer):
    box = await server.create_inbox()
    async with events(server, box, headers={}, token=box["token"]) as stream:
        await server.send(box["address"], subject="query token")
        assert (await next_event(stream)).json()["message"]["subject"] == "query token"


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer ikm_wrong"}], ids=["missing", "wrong"]
)
async def test_sse_without_a_valid_token_is_401(server: RunningServer, headers: dict[str, str]):
    box = await server.create_inbox()
    response = await server.http.get(f"/mailboxes/{box['id']}/events", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


async def test_sse_for_another_tenants_mailbox_is_404(server: RunningServer):
    mine, theirs = await server.create_inbox(), await server.create_inbox()
    response = await server.http.get(
        f"/mailboxes/{theirs['id']}/events", headers=server.auth(mine["token"])
    )
    assert response.status_code == 404


async def test_sse_from_a_foreign_origin_is_403(server: RunningServer):
    box = await server.create_inbox()
    headers = {**server.auth(box["token"]), "Origin": "https://evil.example"}
    response = await server.http.get(f"/mailboxes/{box['id']}/events", headers=headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


async def test_sse_sends_a_ping_when_quiet(server: RunningServer):
    box = await server.create_inbox()
    async with events(server, box) as stream:
        ping = await next_event(stream, pings=True)
    assert ping.event == "ping" and json.loads(ping.data) == {"event": "ping"}


async def test_deleting_the_mailbox_ends_the_sse_stream_with_a_final_event(server: RunningServer):
    box = await server.create_inbox()
    async with events(server, box) as stream:
        await subscribed(server)
        response = await server.http.delete(
            f"/mailboxes/{box['id']}", headers=server.auth(box["token"])
        )
        assert response.status_code == 204
        final = await next_event(stream)
        assert final.event == "mailbox.deleted"
        assert final.json() == {"event": "mailbox.deleted", "mailbox": box["address"]}
        with pytest.raises(StopAsyncIteration):
            await next_event(stream)


async def test_closed_sse_streams_release_their_subscriptions(server: RunningServer):
    box = await server.create_inbox()
    await server.send(box["address"], subject="warm-up")
    baseline = task_count()
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(
        base_url=server.http.base_url, limits=limits, timeout=30
    ) as client:

        async def listen() -> None:
            async with aconnect_sse(
                client, "GET", f"/mailboxes/{box['id']}/events", headers=server.auth(box["token"])
            ) as source:
                async for _ in source.aiter_sse():
                    pass

        count = server.settings.max_streams_per_token  # as many as one token may hold
        listeners = [asyncio.create_task(listen()) for _ in range(count)]
        await subscribed(server, count)
        for listener in listeners:
            listener.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
        await eventually(lambda: server.runtime.bus.subscriber_count() == 0, what="no subscribers")
        await eventually(lambda: task_count() <= baseline, timeout=30, what="tasks to end")


async def test_server_shutdown_ends_sse_streams_without_a_final_event(server: RunningServer):
    box = await server.create_inbox()
    async with events(server, box) as stream:
        await subscribed(server)
        server.runtime.waits.stop_waiting()
        with pytest.raises(StopAsyncIteration):
            await next_event(stream)
