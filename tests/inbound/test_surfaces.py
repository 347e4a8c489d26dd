"""Raw ingest from the SDK (sync and async) and from `inboxkit ingest`."""

from __future__ import annotations

import asyncio

from inboxkit.client import AsyncInboxKit, InboxKit
from tests.cli.test_client_commands import run

RAW = b"From: sdk@example.org\r\nSubject: via the SDK\r\n\r\nYour code is 314159.\r\n"


async def test_the_sdk_ingests_and_reports_each_recipient(server):
    key = await server.create_key("mta", scopes=["ingest"])
    inbox = await server.create_inbox()

    def sync_call():
        with InboxKit(server.base_url, key) as client:
            return client.ingest_raw(RAW, [inbox["address"], "nope@example.com"])

    result = await asyncio.to_thread(sync_call)
    assert [d.address for d in result.delivered] == [inbox["address"]]
    assert result.refused[0].reason == "foreign_domain"
    assert result.refused[0].smtp == "550 5.7.1"

    async with AsyncInboxKit(server.base_url, key) as client:
        again = await client.ingest_raw(RAW, [inbox["address"]], mail_from="x@example.org")
    raw = await server.http.get(
        f"/mailboxes/{inbox['id']}/messages/{again.delivered[0].message_id}/raw",
        headers=server.auth(inbox["token"]),
    )
    assert raw.content == RAW


async def test_the_cli_ingests_a_file_from_stdin_and_exits_1_on_a_refusal(server):
    key = await server.create_key("mta", scopes=["ingest"])
    inbox = await server.create_inbox()
    done = await run(
        server, "ingest", "--to", inbox["address"], "-", stdin=RAW, INBOXKIT_API_KEY=key
    )
    assert done.code == 0, done.stderr
    assert done.stdout.startswith(f"delivered  {inbox['address']}  ")
    refused = await run(
        server, "ingest", "--to", "ghost@inboxkit.localhost", "-", stdin=RAW, INBOXKIT_API_KEY=key
    )
    assert refused.code == 1
    assert "550 5.1.1 unknown_mailbox" in refused.stdout
