"""The delivery queue under load and across restarts: bursts are delivered exactly once by
several workers, and nothing queued is lost when a worker stops or dies."""

from __future__ import annotations

import asyncio
from collections import Counter

import sqlalchemy as sa

from inboxkit.store.queue import claim
from inboxkit.store.tables import webhook_deliveries
from tests.helpers import RunningServer, make_message, start_server
from tests.webhooks.receiver import Receiver, serve_receiver
from tests.webhooks.support import hook_settings, register


async def _burst(server: RunningServer, address: str, count: int, senders: int = 8) -> None:
    """`count` messages over SMTP from `senders` concurrent clients."""
    numbers = iter(range(count))

    async def sender() -> None:
        for number in numbers:
            await server.send(address, make_message(address, f"burst {number}", "x"))

    await asyncio.gather(*(sender() for _ in range(senders)))


async def _statuses(server: RunningServer) -> Counter[str]:
    async with server.runtime.db.read() as conn:
        rows = await conn.execute(
            sa.select(webhook_deliveries.c.status, sa.func.count()).group_by(
                webhook_deliveries.c.status
            )
        )
        return Counter({status: count for status, count in rows})


class _Slow(Receiver):
    """Answers after a short think, so one worker cannot drain a burst on its own."""

    async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] == "http":
            await asyncio.sleep(0.02)
        await super().__call__(scope, receive, send)


async def test_a_burst_of_200_is_delivered_exactly_once_across_two_workers(settings):
    configured = hook_settings(settings, webhook_concurrency=4, webhook_poll_interval=0.2)
    receiver = _Slow()
    async with (
        serve_receiver(receiver),
        start_server(configured, role="smtp") as front,
        start_server(configured, role="worker") as first,
        start_server(configured, role="worker") as second,
    ):
        key = await front.create_key("tenant")
        inbox = await front.create_inbox(token=key)
        await register(front, key, receiver.url())
        await _burst(front, inbox["address"], 200)
        hits = await receiver.wait_for_count(200, timeout=60)
        counts = Counter(hit.webhook_id for hit in hits)
        assert len(counts) == 200
        assert set(counts.values()) == {1}
        subjects = {hit.body.split(b'"subject":"')[1].split(b'"')[0] for hit in hits}
        assert subjects == {f"burst {n}".encode() for n in range(200)}
        assert first.runtime.webhooks.attempts_made > 0
        assert second.runtime.webhooks.attempts_made > 0
        assert first.runtime.webhooks.attempts_made + second.runtime.webhooks.attempts_made == 200


async def test_stopping_the_worker_mid_queue_loses_nothing(settings):
    configured = hook_settings(settings, webhook_concurrency=4)
    receiver = Receiver()
    receiver.hold = asyncio.Event()  # the first attempts hang until the worker is gone
    async with serve_receiver(receiver), start_server(configured, role="smtp") as front:
        key = await front.create_key("tenant")
        inbox = await front.create_inbox(token=key)
        await register(front, key, receiver.url())
        for number in range(20):
            await front.send(inbox["address"], make_message(inbox["address"], f"m{number}", "x"))
        async with start_server(configured, role="worker"):
            await receiver.wait_for_count(4)  # four attempts in flight, sixteen still queued
        assert (await _statuses(front))["pending"] == 20
        receiver.hold.set()
        async with start_server(configured, role="worker"):
            hits = await receiver.wait_for(lambda hits: len({h.webhook_id for h in hits}) == 20)
        assert await _statuses(front) == Counter({"delivered": 20})
    # The interrupted attempts were made again with the same webhook-id: receivers dedupe.
    assert len(hits) == 24


async def test_deliveries_claimed_by_a_worker_that_died_are_sent_after_the_lease(settings):
    configured = hook_settings(settings, webhook_lease_seconds=1.0)
    receiver = Receiver()
    async with serve_receiver(receiver), start_server(configured, role="smtp") as front:
        key = await front.create_key("tenant")
        inbox = await front.create_inbox(token=key)
        await register(front, key, receiver.url())
        await front.send(inbox["address"])
        dead = await claim(front.runtime.db, webhook_deliveries, "pending", 10, lease_seconds=1.0)
        assert len(dead.rows) == 1
        async with start_server(configured, role="worker"):
            (hit,) = await receiver.wait_for_count(1)
        assert hit.webhook_id == dead.rows[0].id
