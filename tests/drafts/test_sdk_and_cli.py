"""Drafts through the SDK (sync and async) and the `inboxkit drafts` commands."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from inboxkit.cli import cli as inboxkit_cli
from inboxkit.client import AsyncInboxKit, InboxKit, PendingDraft, SentMessage
from tests.drafts.support import account
from tests.helpers import RunningServer
from tests.outbound.relay import RelaySink


async def test_the_async_sdk_keeps_sends_and_tells_a_pending_draft_apart(
    mail: RunningServer, relay: RelaySink
):
    acc = await account(mail)
    agent = AsyncInboxKit(mail.base_url, api_key=acc.inbox["token"])
    owner = AsyncInboxKit(mail.base_url, api_key=acc.key)
    async with agent, owner:
        draft = await agent.create_draft(acc.inbox["id"], to="bob@example.com", text="hi")
        assert draft.status == "draft"
        changed = await agent.update_draft(acc.inbox["id"], draft.id, subject="Hello")
        assert changed.subject == "Hello"
        page = await agent.drafts(acc.inbox["id"])
        assert [d.id for d in page.items] == [draft.id]
        assert (await agent.draft(acc.inbox["id"], draft.id)).subject == "Hello"
        sent = await agent.send_draft(acc.inbox["id"], draft.id)
        assert sent.status == "sent" and sent.sent_message_id
        await relay.wait_for(1)

        await acc.review(True)
        held = await agent.send(acc.inbox["id"], to="carol@example.com", text="review me")
        assert isinstance(held, PendingDraft) and held.sent is False
        assert held.draft.status == "pending_review"
        approved = await owner.approve_draft(acc.inbox["id"], held.draft.id)
        assert approved.status == "sent"
        await relay.wait_for(2)
        scheduled = await agent.create_draft(
            acc.inbox["id"],
            to="dave@example.com",
            text="x",
            send_at=datetime.now(UTC) + timedelta(hours=1),
        )
        await owner.delete_draft(acc.inbox["id"], scheduled.id)


async def test_the_sync_sdk_send_returns_the_sent_message_without_review(
    mail: RunningServer, relay: RelaySink
):
    acc = await account(mail)

    def run() -> object:
        with InboxKit(mail.base_url, api_key=acc.inbox["token"]) as client:
            return client.send(acc.inbox["id"], to="bob@example.com", text="direct")

    sent = await asyncio.to_thread(run)
    assert isinstance(sent, SentMessage)


async def test_the_drafts_commands_create_list_send_approve_and_delete(
    mail: RunningServer, relay: RelaySink
):
    acc = await account(mail)
    runner = CliRunner()

    def cli(token: str, *args: str) -> tuple[int, str]:
        result = runner.invoke(
            inboxkit_cli,
            ["drafts", *args, "--url", mail.base_url, "--token", token],
            catch_exceptions=False,
        )
        return result.exit_code, result.stdout

    box = acc.inbox["address"]
    code, out = await asyncio.to_thread(
        cli, acc.inbox["token"], "create", box, "--to", "bob@example.com", "--text", "hi", "--json"
    )
    assert code == 0, out
    draft_id = json.loads(out)["id"]
    code, out = await asyncio.to_thread(cli, acc.inbox["token"], "list", box)
    assert draft_id in out and "draft" in out
    code, out = await asyncio.to_thread(cli, acc.inbox["token"], "send", box, draft_id, "--json")
    assert code == 0 and json.loads(out)["status"] == "sent"
    await relay.wait_for(1)

    await acc.review(True)
    code, out = await asyncio.to_thread(
        cli, acc.inbox["token"], "create", box, "--to", "c@example.com", "--text", "x", "--json"
    )
    second = json.loads(out)["id"]
    code, out = await asyncio.to_thread(cli, acc.inbox["token"], "send", box, second, "--json")
    assert json.loads(out)["status"] == "pending_review"
    code, out = await asyncio.to_thread(cli, acc.inbox["token"], "approve", box, second)
    assert code != 0
    code, out = await asyncio.to_thread(cli, acc.key, "approve", box, second, "--json")
    assert code == 0 and json.loads(out)["status"] == "sent"
    code, out = await asyncio.to_thread(cli, acc.key, "create", box, "--text", "bin me", "--json")
    third = json.loads(out)["id"]
    code, _ = await asyncio.to_thread(cli, acc.key, "delete", box, third)
    assert code == 0
