"""Scheduled sending: durable across restarts, never early, and never once cancelled."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from inboxkit.config import Settings
from tests.drafts.support import account, draft_settings
from tests.helpers import start_server
from tests.outbound.relay import RelaySink


async def test_a_scheduled_draft_is_sent_after_its_time_across_a_restart_and_not_before(
    settings: Settings, relay: RelaySink
):
    configured = draft_settings(settings, relay)
    async with start_server(configured) as first:
        acc = await account(first)
        send_at = datetime.now(UTC) + timedelta(seconds=4)
        created = await acc.create(
            to="bob@example.com", subject="Later", text="on time", send_at=send_at.isoformat()
        )
        assert created.status_code == 201, created.text
        assert created.json()["data"]["status"] == "scheduled"
        draft_id = created.json()["data"]["id"]
    # The first server is gone before the time; a new one on the same database sends it.
    assert relay.received == []
    async with start_server(configured) as second:
        assert relay.received == []
        (relayed,) = await relay.wait_for(1, timeout=30)
        arrived = datetime.now(UTC)
        assert arrived >= send_at
        assert relayed.message["Subject"] == "Later"
        kept = await second.http.get(f"{acc.path}/drafts/{draft_id}", headers=acc.as_key())
        draft = kept.json()["data"]
        for _ in range(50):
            if draft["status"] == "sent":
                break
            await asyncio.sleep(0.1)
            kept = await second.http.get(f"{acc.path}/drafts/{draft_id}", headers=acc.as_key())
            draft = kept.json()["data"]
        assert draft["status"] == "sent" and draft["sent_message_id"]


async def test_a_deleted_scheduled_draft_is_never_sent(settings: Settings, relay: RelaySink):
    async with start_server(draft_settings(settings, relay)) as server:
        acc = await account(server)
        at = datetime.now(UTC) + timedelta(seconds=2)
        cancelled = await acc.create(to="bob@example.com", text="cancel me", send_at=at.isoformat())
        kept = await acc.create(
            to="carol@example.com", text="keep me", send_at=(at + timedelta(seconds=1)).isoformat()
        )
        deleted = await server.http.delete(
            f"{acc.path}/drafts/{cancelled.json()['data']['id']}", headers=acc.as_inbox()
        )
        assert deleted.status_code == 204
        # The later draft going out shows the worker ran past the cancelled one's time.
        (relayed,) = await relay.wait_for(1, timeout=30)
        assert relayed.rcpt_tos == ["carol@example.com"]
        # The worker handles due drafts in one claim: the cancelled one was due first.
        await asyncio.sleep(0.5)
        assert [r.rcpt_tos for r in relay.received] == [["carol@example.com"]]
        del kept


async def test_unscheduling_with_send_at_null_keeps_the_draft_unsent(
    settings: Settings, relay: RelaySink
):
    async with start_server(draft_settings(settings, relay)) as server:
        acc = await account(server)
        at = datetime.now(UTC) + timedelta(seconds=1)
        draft = (
            await acc.create(to="bob@example.com", text="not yet", send_at=at.isoformat())
        ).json()["data"]
        patched = await server.http.patch(
            f"{acc.path}/drafts/{draft['id']}", json={"send_at": None}, headers=acc.as_key()
        )
        assert patched.json()["data"]["status"] == "draft"
        marker = await acc.create(
            to="carol@example.com", text="marker", send_at=(at + timedelta(seconds=1)).isoformat()
        )
        assert marker.status_code == 201
        await relay.wait_for(1, timeout=30)
        await asyncio.sleep(0.5)
        assert [r.rcpt_tos for r in relay.received] == [["carol@example.com"]]
