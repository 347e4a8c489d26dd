"""Mail hidden as spam (DESIGN §9) in the real-time surfaces: a blocked sender's mail to an
agent inbox is never returned by `wait`, never pushed or replayed over WebSocket or SSE, and
never counted as missed by the catch-up; the clean mail that follows it always is."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import pytest
from httpx_sse import aconnect_sse
from websockets.asyncio.client import connect

from inboxkit.config import Settings
from tests.helpers import RunningServer, start_server
from tests.hidden_mail import ALLOWED, BLOCKED, Tenant, listed, quiet, subjects, tenant
from tests.realtime.support import subscribed


@pytest.fixture
async def spam_server(settings: Settings) -> AsyncIterator[RunningServer]:
    async with start_server(quiet(settings)) as running:
        yield running


@pytest.fixture
async def ada(spam_server: RunningServer) -> Tenant:
    return await tenant(spam_server, "ada-live")


async def wait(server: RunningServer, ada: Tenant, **params: Any) -> dict[str, Any]:
    params.setdefault("timeout", 30)
    response = await server.http.get(
        f"/mailboxes/{ada.agent['id']}/wait", params=params, headers=ada.auth()
    )
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


async def test_a_wait_never_returns_hidden_mail_that_was_already_there(
    spam_server: RunningServer, ada: Tenant
):
    server = spam_server
    await server.send(ada.agent["address"], mail_from=BLOCKED, subject="junk before")
    assert await wait(server, ada, timeout=0.5) == {"message": None, "timed_out": True}
    # Not even a wait that looks back from a point in time.
    assert (await wait(server, ada, timeout=0, since="2000-01-01T00:00:00Z"))["timed_out"]
    await server.send(ada.agent["address"], mail_from=ALLOWED, subject="clean after")
    found = await wait(server, ada)
    assert found["message"]["subject"] == "clean after"
    # The hidden message was left alone: unread, in the spam folder.
    (junk,) = await listed(server, ada.key, ada.agent, spam="true")
    assert junk["subject"] == "junk before" and junk["is_read"] is False


@pytest.mark.parametrize("mark_read", ["true", "false"])
async def test_a_waiting_wait_skips_hidden_mail_and_returns_the_clean_mail_after_it(
    spam_server: RunningServer, ada: Tenant, mark_read: str
):
    server = spam_server
    # Woken by the clean message's announcement, a marking wait claims in one statement; a
    # non-marking one looks again. Neither may take the hidden message stored before it.
    waiter = asyncio.create_task(wait(server, ada, mark_read=mark_read))
    await subscribed(server)
    await server.send(ada.agent["address"], mail_from=BLOCKED, subject="junk during")
    await server.send(ada.agent["address"], mail_from=ALLOWED, subject="clean during")
    found = await asyncio.wait_for(waiter, 30)
    assert found["timed_out"] is False
    assert found["message"]["subject"] == "clean during"
    assert subjects(await listed(server, ada.key, ada.agent, spam="true")) == ["junk during"]


async def test_a_wait_on_a_test_inbox_returns_the_blocked_senders_mail(
    spam_server: RunningServer, ada: Tenant
):
    server = spam_server
    await server.send(ada.test["address"], mail_from=BLOCKED, subject="tests see all")
    response = await server.http.get(
        f"/mailboxes/{ada.test['id']}/wait", params={"timeout": 30}, headers=ada.auth()
    )
    message = response.json()["data"]["message"]
    assert message["subject"] == "tests see all"
    assert message["spam"]["verdict"] == "blocked"


async def test_the_catch_up_does_not_count_hidden_mail_as_a_missed_event(settings: Settings):
    # Its own passes only (the timed one would be ten minutes away), so this one sees it first.
    slow = quiet(settings).model_copy(update={"wait_poll_interval": 600.0})
    async with start_server(slow) as server:
        ada = await tenant(server, "ada-catchup")
        catchup = server.runtime.catchup
        with server.runtime.bus.subscribe(ada.agent["id"]):
            await catchup.run_once()  # whatever was there before is seen
            await server.send(ada.agent["address"], mail_from=BLOCKED, subject="never announced")
            # No event announced it, and none ever will: not a missed one, nobody is woken.
            assert await catchup.run_once() == 0
        assert subjects(await listed(server, ada.key, ada.agent, spam="true")) == [
            "never announced"
        ]


def ws_url(server: RunningServer, ada: Tenant, **query: str) -> str:
    url = f"ws://127.0.0.1:{server.http_port}/ws/inbox/{quote(ada.agent['address'])}"
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


async def next_ws_event(ws: Any) -> dict[str, Any]:
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if event["event"] != "ping":
            return dict(event)


async def test_websocket_pushes_the_clean_message_and_never_the_hidden_one(
    spam_server: RunningServer, ada: Tenant
):
    server = spam_server
    async with connect(ws_url(server, ada), additional_headers=ada.auth()) as ws:
        await subscribed(server)
        await server.send(ada.agent["address"], mail_from=BLOCKED, subject="junk pushed?")
        await server.send(ada.agent["address"], mail_from=ALLOWED, subject="clean pushed")
        # Stored in that order, so a push of the hidden one would have come first.
        event = await next_ws_event(ws)
    assert event["event"] == "message.received"
    assert event["message"]["subject"] == "clean pushed"


async def test_websocket_replay_after_an_id_skips_hidden_mail(
    spam_server: RunningServer, ada: Tenant
):
    server = spam_server
    await server.send(ada.agent["address"], mail_from=ALLOWED, subject="seen before")
    (seen,) = await listed(server, ada.key, ada.agent)
    await server.send(ada.agent["address"], mail_from=BLOCKED, subject="junk missed")
    await server.send(ada.agent["address"], mail_from=ALLOWED, subject="clean missed")
    url = ws_url(server, ada, after=seen["id"])
    async with connect(url, additional_headers=ada.auth()) as ws:
        event = await next_ws_event(ws)
    assert event["message"]["subject"] == "clean missed"


async def test_sse_pushes_and_replays_the_clean_message_and_never_the_hidden_one(
    spam_server: RunningServer, ada: Tenant
):
    server = spam_server
    path = f"/mailboxes/{ada.agent['id']}/events"
    async with aconnect_sse(server.http, "GET", path, headers=ada.auth()) as source:
        assert source.response.status_code == 200
        stream = source.aiter_sse()
        await subscribed(server)
        await server.send(ada.agent["address"], mail_from=BLOCKED, subject="junk live")
        await server.send(ada.agent["address"], mail_from=ALLOWED, subject="clean live")
        live = await next_sse_event(stream)
    assert live.event == "message.received"
    assert live.json()["message"]["subject"] == "clean live"

    # Reconnecting with Last-Event-ID replays from the database: the hidden one stays out.
    await server.send(ada.agent["address"], mail_from=BLOCKED, subject="junk while away")
    await server.send(ada.agent["address"], mail_from=ALLOWED, subject="clean while away")
    headers = {**ada.auth(), "Last-Event-ID": live.id}
    async with aconnect_sse(server.http, "GET", path, headers=headers) as source:
        replayed = await next_sse_event(source.aiter_sse())
    assert replayed.json()["message"]["subject"] == "clean while away"


async def next_sse_event(stream: Any) -> Any:
    while True:
        event = await asyncio.wait_for(anext(stream), 10)
        if event.event != "ping":
            return event
