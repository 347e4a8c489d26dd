"""Long-poll GET /mailboxes/{mailbox}/wait: returns mail the instant it lands, walks the inbox
in arrival order, filters, and lets go of everything when its client hangs up."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from inboxkit.config import Settings
from inboxkit.pipeline import Envelope
from tests.helpers import RunningServer, start_server
from tests.realtime.support import eventually, messages, plus, subscribed, task_count, wait


async def test_wait_with_nothing_arriving_times_out_with_200_and_null_message(
    server: RunningServer,
):
    box = await server.create_inbox()
    response = await wait(server, box, timeout=0.2)
    assert response.status_code == 200
    assert response.json() == {"data": {"message": None, "timed_out": True}}


async def test_mail_arriving_during_a_wait_is_returned_before_the_timeout(server: RunningServer):
    box = await server.create_inbox()
    waiter = asyncio.create_task(wait(server, box, timeout=30))
    await subscribed(server)
    await server.send(box["address"], subject="arrives mid-wait")
    data = (await asyncio.wait_for(waiter, 30)).json()["data"]
    assert data["timed_out"] is False
    assert data["message"]["subject"] == "arrives mid-wait"
    assert data["message"]["is_read"] is True


async def test_a_waiter_is_woken_by_the_delivery_event_not_by_polling(
    server_without_catchup: RunningServer,
):
    server = server_without_catchup
    box = await server.create_inbox()
    waiter = asyncio.create_task(wait(server, box, timeout=60))
    await subscribed(server)
    await server.send(box["address"], subject="announced")
    # The wait ends at its 60 s timeout at the latest (with a last look at the database), so
    # an answer within half of that can only come from the wake-up.
    data = (await asyncio.wait_for(waiter, 30)).json()["data"]
    assert data["timed_out"] is False
    assert data["message"]["subject"] == "announced"


async def test_mail_that_arrived_before_the_wait_is_returned_at_once(server: RunningServer):
    box = await server.create_inbox()
    await server.send(box["address"], subject="already here")
    data = (await wait(server, box, timeout=30)).json()["data"]
    assert data["timed_out"] is False
    assert data["message"]["subject"] == "already here"


async def test_successive_waits_walk_the_inbox_in_arrival_order(server: RunningServer):
    box = await server.create_inbox()
    for n in range(3):
        await server.send(box["address"], subject=f"message {n}")
    subjects = [(await wait(server, box)).json()["data"]["message"]["subject"] for _ in range(3)]
    assert subjects == ["message 0", "message 1", "message 2"]
    assert (await wait(server, box, timeout=0.2)).json()["data"]["timed_out"] is True


async def test_successive_waits_return_successive_messages_as_they_land(server: RunningServer):
    box = await server.create_inbox()
    for n in range(2):
        waiter = asyncio.create_task(wait(server, box))
        await subscribed(server)
        await server.send(box["address"], subject=f"live {n}")
        data = (await asyncio.wait_for(waiter, 30)).json()["data"]
        assert data["message"]["subject"] == f"live {n}"
        await eventually(lambda: server.runtime.bus.subscriber_count() == 0)


async def test_wait_with_mark_read_false_leaves_the_message_unread(server: RunningServer):
    box = await server.create_inbox()
    await server.send(box["address"], subject="peek")
    peeked = (await wait(server, box, mark_read="false")).json()["data"]["message"]
    assert peeked["is_read"] is False
    assert [m["is_read"] for m in await messages(server, box)] == [False]
    taken = (await wait(server, box)).json()["data"]["message"]
    assert taken["id"] == peeked["id"] and taken["is_read"] is True
    assert [m["is_read"] for m in await messages(server, box)] == [True]


async def test_concurrent_waiters_on_one_mailbox_all_receive_the_new_message(
    server: RunningServer,
):
    box = await server.create_inbox()
    waiters = [asyncio.create_task(wait(server, box)) for _ in range(5)]
    await subscribed(server, 5)
    await server.send(box["address"], subject="for everyone")
    results = await asyncio.wait_for(asyncio.gather(*waiters), 30)
    assert [r.json()["data"]["message"]["subject"] for r in results] == ["for everyone"] * 5


@pytest.mark.parametrize(
    ("params", "other", "match"),
    [
        (
            {"from_contains": "alice"},
            {"mail_from": "bob@example.com"},
            {"mail_from": "Alice.Smith@Example.com"},
        ),
        (
            {"subject_contains": "verify"},
            {"subject": "Weekly newsletter"},
            {"subject": "Please VERIFY your account"},
        ),
        ({"has_code": "true"}, {"body": "No numbers here."}, {"body": "Your code is 482913."}),
    ],
    ids=["from_contains", "subject_contains", "has_code"],
)
async def test_wait_filter_skips_mail_that_does_not_match(
    server: RunningServer, params: dict[str, str], other: dict[str, str], match: dict[str, str]
):
    box = await server.create_inbox()
    waiter = asyncio.create_task(wait(server, box, **params))
    await subscribed(server)
    await server.send(box["address"], **{"subject": "other", **other})
    await server.send(box["address"], **{"subject": "match", **match})
    data = (await asyncio.wait_for(waiter, 30)).json()["data"]
    assert data["message"]["subject"] == match.get("subject", "match")
    # The mail that did not match was not consumed: an unfiltered wait returns it first.
    first = (await wait(server, box)).json()["data"]["message"]
    assert first["subject"] == other.get("subject", "other")


async def test_wait_to_contains_matches_the_recipient_address(server: RunningServer):
    box = await server.create_inbox()
    waiter = asyncio.create_task(wait(server, box, to_contains="+signup"))
    await subscribed(server)
    await server.send(plus(box["address"], "newsletter"), subject="newsletter")
    await server.send(plus(box["address"], "signup"), subject="signup")
    data = (await asyncio.wait_for(waiter, 30)).json()["data"]
    assert data["message"]["subject"] == "signup"


async def test_wait_since_ignores_unread_mail_received_before_it(server: RunningServer):
    box = await server.create_inbox()
    await server.send(box["address"], subject="old")
    since = datetime.now(UTC)
    waiter = asyncio.create_task(wait(server, box, since=since.isoformat()))
    await subscribed(server)
    await server.send(box["address"], subject="new")
    data = (await asyncio.wait_for(waiter, 30)).json()["data"]
    assert data["message"]["subject"] == "new"


async def test_wait_after_returns_the_message_following_that_id(server: RunningServer):
    box = await server.create_inbox()
    for subject in ("first", "second"):
        await server.send(box["address"], subject=subject)
    first, second = await messages(server, box)
    data = (await wait(server, box, after=first["id"])).json()["data"]
    assert data["message"]["id"] == second["id"]
    waiter = asyncio.create_task(wait(server, box, after=second["id"]))
    await subscribed(server)
    await server.send(box["address"], subject="third")
    data = (await asyncio.wait_for(waiter, 30)).json()["data"]
    assert data["message"]["subject"] == "third"


async def test_wait_does_not_return_the_mailboxes_own_outbound_copies(server: RunningServer):
    box = await server.create_inbox()
    await server.runtime.pipeline.deliver(
        Envelope(box["address"], [box["address"]]),
        b"From: " + box["address"].encode() + b"\r\nSubject: sent by me\r\n\r\nhi\r\n",
        direction="outbound",
    )
    assert [m["direction"] for m in await messages(server, box)] == ["outbound"]
    data = (await wait(server, box, timeout=0.2)).json()["data"]
    assert data == {"message": None, "timed_out": True}


async def test_wait_timeout_above_60_seconds_is_a_validation_error(server: RunningServer):
    box = await server.create_inbox()
    response = await wait(server, box, timeout=61)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_wait_without_token_is_401(server: RunningServer):
    box = await server.create_inbox()
    response = await server.http.get(f"/mailboxes/{box['id']}/wait", params={"timeout": 0})
    assert response.status_code == 401


async def test_wait_on_another_tenants_mailbox_is_404(server: RunningServer):
    mine, theirs = await server.create_inbox(), await server.create_inbox()
    response = await server.http.get(
        f"/mailboxes/{theirs['id']}/wait", params={"timeout": 0}, headers=server.auth(mine["token"])
    )
    assert response.status_code == 404


async def test_wait_on_a_mailbox_deleted_meanwhile_is_404(server: RunningServer):
    box = await server.create_inbox()
    waiter = asyncio.create_task(wait(server, box))
    await subscribed(server)
    deleted = await server.http.delete(f"/mailboxes/{box['id']}", headers=server.auth(box["token"]))
    assert deleted.status_code == 204
    response = await asyncio.wait_for(waiter, 30)
    assert response.status_code == 404


async def test_a_missed_bus_event_is_caught_up_from_the_database(server: RunningServer):
    """Mail committed without any bus event (as when Redis was down) still ends the wait."""
    box = await server.create_inbox()
    waiter = asyncio.create_task(wait(server, box))
    await subscribed(server)
    bus = server.runtime.bus
    publish, bus.publish = bus.publish, _drop  # type: ignore[method-assign]
    try:
        await server.send(box["address"], subject="unannounced")
    finally:
        bus.publish = publish  # type: ignore[method-assign]
    data = (await asyncio.wait_for(waiter, 30)).json()["data"]
    assert data["message"]["subject"] == "unannounced"


async def _drop(event: dict) -> None:
    return None


async def test_abandoned_waits_release_their_subscriptions_and_tasks(settings: Settings):
    count = 500
    # One token may hold only a few waits by default; this test is about what 500 leave behind.
    async with start_server(settings.model_copy(update={"max_streams_per_token": count})) as server:
        await _abandon_waits(server, count)


async def _abandon_waits(server: RunningServer, count: int) -> None:
    box = await server.create_inbox()
    await wait(server, box, timeout=0)  # warm up: the first request starts lazy machinery
    baseline = task_count()
    limits = httpx.Limits(max_connections=count + 10, max_keepalive_connections=count + 10)
    async with httpx.AsyncClient(
        base_url=server.http.base_url, limits=limits, timeout=90
    ) as client:
        requests = [
            asyncio.create_task(
                client.get(
                    f"/mailboxes/{box['id']}/wait",
                    params={"timeout": 60},
                    headers=server.auth(box["token"]),
                )
            )
            for _ in range(count)
        ]
        await eventually(lambda: server.runtime.bus.subscriber_count() == count, timeout=60)
        for request in requests:
            request.cancel()
        await asyncio.gather(*requests, return_exceptions=True)
        await eventually(lambda: server.runtime.bus.subscriber_count() == 0, timeout=30)
        await eventually(lambda: task_count() <= baseline, timeout=30, what="tasks to end")
    # The server still answers waits normally afterwards.
    await server.send(box["address"], subject="after the storm")
    data = (await wait(server, box)).json()["data"]
    assert data["message"]["subject"] == "after the storm"


async def test_wait_to_contains_ignores_a_body_that_mentions_the_address(server: RunningServer):
    box = await server.create_inbox()
    await server.send(
        box["address"], subject="mentions", body="forward this to ops@partner.example"
    )
    response = await wait(server, box, to_contains="ops@partner.example", timeout=0)
    assert response.json()["data"] == {"message": None, "timed_out": True}
