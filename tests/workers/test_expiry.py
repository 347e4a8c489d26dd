"""Mailbox expiry: an expired mailbox is gone at once (RCPT refused, API 404) and the sweeper
purges its contents exactly once, however many sweeps run at the same time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import aiosmtplib
import pytest
import sqlalchemy as sa

from inboxkit.bus import Subscription
from inboxkit.config import Settings
from inboxkit.pipeline import Envelope
from inboxkit.runtime import Runtime
from inboxkit.services.auth import ANONYMOUS
from inboxkit.store.tables import contents, mailboxes, messages, utcnow
from tests.helpers import RunningServer, make_message


async def _expire(runtime: Runtime, *mailbox_ids: str) -> None:
    """Move the mailboxes' expiry into the past, as if their time had run out."""
    async with runtime.db.write() as conn:
        moved = await conn.execute(
            mailboxes.update()
            .where(mailboxes.c.id.in_(mailbox_ids))
            .values(expires_at=utcnow() - timedelta(seconds=1))
            .returning(mailboxes.c.address)
        )
        addresses = list(moved.scalars())
    # The service remembers each live mailbox's expiry time; changing it behind the service's
    # back must tell it, as MailboxService.update() does.
    runtime.mailboxes.forget(addresses)


async def _counts(runtime: Runtime, mailbox_id: str) -> tuple[int, int]:
    """(messages, contents) still stored for one mailbox."""
    async with runtime.db.read() as conn:
        content_ids = (
            (
                await conn.execute(
                    sa.select(messages.c.content_id).where(messages.c.mailbox_id == mailbox_id)
                )
            )
            .scalars()
            .all()
        )
        stored = await conn.scalar(
            sa.select(sa.func.count()).select_from(contents).where(contents.c.id.in_(content_ids))
        )
    return len(content_ids), int(stored or 0)


async def test_expired_mailbox_is_refused_at_rcpt_and_404_in_the_api_at_once(
    server: RunningServer,
):
    inbox = await server.create_inbox(ttl_minutes=1)
    await server.send(inbox["address"], subject="before expiry")
    headers = server.auth(inbox["token"])
    (message,) = (
        await server.http.get(f"/mailboxes/{inbox['id']}/messages", headers=headers)
    ).json()["data"]

    await _expire(server.runtime, inbox["id"])

    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await server.send(inbox["address"])
    (error,) = refused.value.recipients
    assert error.code == 550 and error.message.startswith("5.1.1")
    for path in (
        f"/mailboxes/{inbox['id']}",
        f"/mailboxes/{inbox['address']}",
        f"/mailboxes/{inbox['id']}/messages",
        f"/mailboxes/{inbox['id']}/messages/{message['id']}",
        f"/mailboxes/{inbox['id']}/messages/{message['id']}/raw",
    ):
        response = await server.http.get(path, headers=headers)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    listing = await server.http.get("/mailboxes", headers=headers)
    assert listing.json()["data"] == []


async def test_sweep_purges_expired_mailboxes_and_leaves_live_ones(server: RunningServer):
    runtime = server.runtime
    expired = await server.create_inbox(ttl_minutes=1)
    live = await server.create_inbox(ttl_minutes=1)
    agent = await server.create_inbox(await server.create_key(), mode="agent", handle="keeper")
    await server.send([expired["address"], live["address"]], subject="shared")
    await server.send(expired["address"], subject="expired only")
    await server.send(agent["address"], subject="agent mail")
    await _expire(runtime, expired["id"])
    assert await _counts(runtime, expired["id"]) == (2, 2)

    with runtime.bus.subscribe(expired["id"]) as events:
        assert await runtime.mailboxes.sweep_expired() == 1
        event = await events.next(10)
    assert event is not None and event["event"] == "mailbox.expired"
    assert event["mailbox"] == expired["address"]

    assert await _counts(runtime, expired["id"]) == (0, 0)
    assert await _counts(runtime, live["id"]) == (1, 1)  # the shared content stays
    assert await _counts(runtime, agent["id"]) == (1, 1)
    async with runtime.db.read() as conn:
        row = (
            await conn.execute(sa.select(mailboxes).where(mailboxes.c.id == expired["id"]))
        ).one()
    # The row stays (so the address is never handed out again) but is dead for good.
    assert row.deleted_at is not None and row.token_digest is None
    assert await runtime.mailboxes.sweep_expired() == 0
    stale = await server.http.get(
        f"/mailboxes/{expired['id']}", headers=server.auth(expired["token"])
    )
    assert stale.status_code == 401


async def test_extending_the_ttl_before_expiry_keeps_the_mailbox(server: RunningServer):
    inbox = await server.create_inbox(ttl_minutes=1)
    response = await server.http.patch(
        f"/mailboxes/{inbox['id']}", json={"ttl_minutes": 50}, headers=server.auth(inbox["token"])
    )
    assert response.status_code == 200
    assert await server.runtime.mailboxes.sweep_expired() == 0
    await server.send(inbox["address"], subject="still here")


async def _expired_mailboxes(runtime: Runtime, count: int) -> list[dict]:
    created = [await runtime.mailboxes.create(ANONYMOUS, ttl_minutes=1) for _ in range(count)]
    for box in created:
        raw = make_message(box["address"], "doomed", "bye").as_bytes()
        await runtime.pipeline.deliver(Envelope("s@example.com", [box["address"]]), raw)
    await _expire(runtime, *[box["id"] for box in created])
    return created


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """The service's runtime alone: no listeners and no background sweeper to race with."""
    instance = Runtime(settings)
    await instance.start(migrate=False)
    try:
        yield instance
    finally:
        await instance.close()


async def test_two_concurrent_sweeps_purge_each_mailbox_exactly_once(runtime: Runtime):
    doomed = await _expired_mailboxes(runtime, 30)
    with contextlib.ExitStack() as stack:
        # One subscription per mailbox: only these mailboxes' events, whoever else shares the bus.
        events = {
            box["id"]: stack.enter_context(runtime.bus.subscribe(box["id"])) for box in doomed
        }
        first, second = await asyncio.gather(
            runtime.mailboxes.sweep_expired(batch=7), runtime.mailboxes.sweep_expired(batch=7)
        )
        assert first + second == 30
        for mailbox_id, subscription in events.items():
            assert await _expired_events(subscription, wait=10) == 1, mailbox_id
        # Nothing more is queued for any of them: no mailbox was announced twice.
        for mailbox_id, subscription in events.items():
            assert await _expired_events(subscription, wait=0) == 0, mailbox_id
    for box in doomed:
        assert await _counts(runtime, box["id"]) == (0, 0)


async def _expired_events(subscription: Subscription, *, wait: float) -> int:
    """How many `mailbox.expired` events arrive, waiting up to `wait` seconds for the first."""
    seen = 0
    while (event := await subscription.next(wait if not seen else 0)) is not None:
        seen += event.get("event") == "mailbox.expired"
    return seen


async def test_sweeps_in_two_separate_runtimes_purge_each_mailbox_exactly_once(
    runtime: Runtime, settings: Settings
):
    doomed = await _expired_mailboxes(runtime, 40)
    other = Runtime(settings)
    await other.start(migrate=False)
    try:
        counts = await asyncio.gather(
            runtime.mailboxes.sweep_expired(batch=5),
            other.mailboxes.sweep_expired(batch=5),
            runtime.mailboxes.sweep_expired(batch=5),
            other.mailboxes.sweep_expired(batch=5),
        )
    finally:
        await other.close()
    assert sum(counts) == 40
    for box in doomed:
        assert await _counts(runtime, box["id"]) == (0, 0)
    async with runtime.db.read() as conn:
        dead = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(mailboxes)
            .where(mailboxes.c.deleted_at.is_not(None))
        )
        left = await conn.scalar(sa.select(sa.func.count()).select_from(contents))
    assert dead == 40 and left == 0
