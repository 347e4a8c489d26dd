"""WS /ws/inbox/{address}: pushes each message as it lands, refuses strangers, pings when quiet,
and ends with a final event when the mailbox goes away."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK, InvalidStatus

from tests.helpers import RunningServer
from tests.realtime.support import eventually, messages, subscribed, task_count

CODE_MAIL = (
    "Welcome!\n\nYour verification code is 493 817.\n\n"
    "Or confirm your address: https://app.example.com/verify?token=abc123\n"
)


def ws_url(server: RunningServer, box: dict[str, Any], **query: str) -> str:
    url = f"ws://127.0.0.1:{server.http_port}/ws/inbox/{quote(box['address'])}"
    return f"{url}?{urlencode(query)}" if query else url


def open_socket(
    server: RunningServer, box: dict[str, Any], *, token: str | None = None, **kwargs: Any
) -> Any:
    headers = {"Authorization": f"Bearer {token or box['token']}"}
    return connect(ws_url(server, box), additional_headers=headers, **kwargs)


async def next_event(ws: ClientConnection, *, pings: bool = False) -> dict[str, Any]:
    """The next event (pings skipped unless `pings`), failing after 10 s of silence."""
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if pings or event["event"] != "ping":
            return event


async def test_websocket_pushes_received_mail_with_its_codes_and_links(server: RunningServer):
    box = await server.create_inbox()
    async with open_socket(server, box) as ws:
        await server.send(box["address"], subject="Confirm your account", body=CODE_MAIL)
        event = await next_event(ws)
    assert event["event"] == "message.received"
    assert event["mailbox"] == box["address"]
    message = event["message"]
    assert message["subject"] == "Confirm your account"
    assert message["mailbox_id"] == box["id"]
    assert message["codes"][0] == "493817"
    assert message["links"][0]["url"] == "https://app.example.com/verify?token=abc123"
    assert message["links"][0]["kind"] == "verify"


async def test_websocket_push_comes_from_the_delivery_event_not_from_polling(
    server_without_catchup: RunningServer,
):
    server = server_without_catchup
    box = await server.create_inbox()
    async with open_socket(server, box) as ws:
        await subscribed(server)
        await server.send(box["address"], subject="announced")
        event = await next_event(ws)  # fails after 10 s; the catch-up would take 600 s
    assert event["event"] == "message.received"
    assert event["message"]["subject"] == "announced"


async def test_websocket_does_not_push_mail_that_was_there_before_it_opened(
    server: RunningServer,
):
    box = await server.create_inbox()
    await server.send(box["address"], subject="before")
    async with open_socket(server, box) as ws:
        await server.send(box["address"], subject="after")
        event = await next_event(ws)
    assert event["message"]["subject"] == "after"


async def test_websocket_pushes_every_message_in_arrival_order(server: RunningServer):
    box = await server.create_inbox()
    async with open_socket(server, box) as ws:
        for n in range(5):
            await server.send(box["address"], subject=f"burst {n}")
        subjects = [(await next_event(ws))["message"]["subject"] for _ in range(5)]
    assert subjects == [f"burst {n}" for n in range(5)]


async def test_websocket_after_replays_the_messages_that_followed(server: RunningServer):
    box = await server.create_inbox()
    for subject in ("one", "two", "three"):
        await server.send(box["address"], subject=subject)
    first = (await messages(server, box))[0]
    url = ws_url(server, box, token=box["token"], after=first["id"])
    async with connect(url) as ws:
        subjects = [(await next_event(ws))["message"]["subject"] for _ in range(2)]
    assert subjects == ["two", "three"]


async def test_websocket_accepts_the_token_as_a_query_parameter(server: RunningServer):
    box = await server.create_inbox()
    async with connect(ws_url(server, box, token=box["token"])) as ws:
        await server.send(box["address"], subject="via query token")
        assert (await next_event(ws))["message"]["subject"] == "via query token"


@pytest.mark.parametrize("token", [None, "ikm_not-a-real-token"], ids=["missing", "wrong"])
async def test_websocket_without_a_valid_token_is_refused(server: RunningServer, token: str | None):
    box = await server.create_inbox()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with pytest.raises(InvalidStatus) as refused:
        async with connect(ws_url(server, box), additional_headers=headers):
            pass
    assert refused.value.response.status_code == 403
    assert server.runtime.bus.subscriber_count() == 0


async def test_websocket_for_another_tenants_mailbox_is_refused(server: RunningServer):
    mine, theirs = await server.create_inbox(), await server.create_inbox()
    with pytest.raises(InvalidStatus):
        async with connect(ws_url(server, theirs), additional_headers=server.auth(mine["token"])):
            pass


async def test_websocket_from_a_foreign_origin_is_refused(server: RunningServer):
    box = await server.create_inbox()
    with pytest.raises(InvalidStatus) as refused:
        async with open_socket(server, box, origin="https://evil.example"):
            pass
    assert refused.value.response.status_code == 403


async def test_websocket_from_its_own_origin_is_accepted(server: RunningServer):
    box = await server.create_inbox()
    async with open_socket(server, box, origin=f"http://127.0.0.1:{server.http_port}") as ws:
        await server.send(box["address"], subject="same site")
        assert (await next_event(ws))["message"]["subject"] == "same site"


async def test_websocket_sends_a_ping_when_quiet(server: RunningServer):
    box = await server.create_inbox()
    async with open_socket(server, box) as ws:
        assert await next_event(ws, pings=True) == {"event": "ping"}


async def test_deleting_the_mailbox_ends_the_websocket_with_a_final_event(server: RunningServer):
    box = await server.create_inbox()
    async with open_socket(server, box) as ws:
        await subscribed(server)
        response = await server.http.delete(
            f"/mailboxes/{box['id']}", headers=server.auth(box["token"])
        )
        assert response.status_code == 204
        assert await next_event(ws) == {"event": "mailbox.deleted", "mailbox": box["address"]}
        with pytest.raises(ConnectionClosedOK):
            await asyncio.wait_for(ws.recv(), 10)
    assert ws.close_code == 1000


async def test_an_expiring_mailbox_ends_the_websocket_with_a_final_event(server: RunningServer):
    box = await server.create_inbox()
    async with open_socket(server, box) as ws:
        await subscribed(server)
        await _expire_now(server, box["id"])
        assert await server.runtime.mailboxes.sweep_expired() == 1
        assert await next_event(ws) == {"event": "mailbox.expired", "mailbox": box["address"]}
        with pytest.raises(ConnectionClosedOK):
            await asyncio.wait_for(ws.recv(), 10)


async def test_websocket_ends_even_if_the_expiry_event_is_missed(server: RunningServer):
    """The database catch-up notices an expired mailbox no event announced."""
    box = await server.create_inbox()
    async with open_socket(server, box) as ws:
        await subscribed(server)
        await _expire_now(server, box["id"])
        assert await next_event(ws) == {"event": "mailbox.expired", "mailbox": box["address"]}


async def test_closed_websockets_release_their_subscriptions(server: RunningServer):
    box = await server.create_inbox()
    await server.send(box["address"], subject="warm-up")
    baseline = task_count()
    count = server.settings.max_streams_per_token  # as many as one token may hold
    sockets = [await open_socket(server, box) for _ in range(count)]
    await subscribed(server, count)
    for n, ws in enumerate(sockets):
        if n % 2:
            await ws.close()
        else:
            ws.transport.abort()  # the client vanishes without a closing handshake
    await eventually(lambda: server.runtime.bus.subscriber_count() == 0, what="no subscribers")
    await eventually(lambda: task_count() <= baseline, timeout=30, what="tasks to end")


async def test_server_shutdown_closes_websockets_with_service_restart(server: RunningServer):
    box = await server.create_inbox()
    async with open_socket(server, box) as ws:
        await subscribed(server)
        server.runtime.waits.stop_waiting()
        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(ws.recv(), 10)
    assert ws.close_code == 1012


async def _expire_now(server: RunningServer, mailbox_id: str) -> None:
    from datetime import timedelta

    from inboxkit.store.tables import mailboxes, utcnow

    async with server.runtime.db.write() as conn:
        await conn.execute(
            mailboxes.update()
            .where(mailboxes.c.id == mailbox_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


async def test_pushed_summary_matches_the_rest_summary(server: RunningServer):
    box = await server.create_inbox()
    async with open_socket(server, box) as ws:
        await server.send(box["address"], subject="same everywhere", body=CODE_MAIL)
        pushed = (await next_event(ws))["message"]
    (listed,) = await messages(server, box)
    assert {k: v for k, v in pushed.items() if k != "is_read"} == {
        k: listed[k] for k in pushed if k != "is_read"
    }


async def test_a_message_announced_after_a_newer_one_is_still_pushed(server: RunningServer):
    """Two deliveries commit in one order and announce in the other (as two SMTP processes
    can): the stream sends both."""
    box = await server.create_inbox()
    bus = server.runtime.bus
    publish = bus.publish
    held: list[dict[str, Any]] = []

    async def hold_older(event: dict[str, Any]) -> None:
        if event.get("message", {}).get("subject") == "older":
            held.append(event)
        else:
            await publish(event)

    async with open_socket(server, box) as ws:
        await subscribed(server)
        bus.publish = hold_older  # type: ignore[method-assign]
        try:
            await server.send(box["address"], subject="older")
            await server.send(box["address"], subject="newer")
        finally:
            bus.publish = publish  # type: ignore[method-assign]
        assert (await next_event(ws))["message"]["subject"] == "newer"
        await publish(held[0])
        assert (await next_event(ws))["message"]["subject"] == "older"
