"""A message's thread_id travels with it: in webhook payloads and in stream events."""

from __future__ import annotations

import asyncio
import json

from standardwebhooks import Webhook

from inboxkit.config import Settings
from tests.helpers import start_server
from tests.threads.support import Mailbox, mail
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import hook_settings, register


async def test_webhook_payloads_carry_the_thread_id_of_the_message(
    settings: Settings, receiver: Receiver
):
    async with start_server(hook_settings(settings)) as server:
        key = await server.create_key("tenant")
        box = await server.create_inbox(token=key)
        hook = await register(server, key, receiver.url())
        await server.send(box["address"], mail(box["address"], "Order", message_id="<o@x>"))
        await server.send(box["address"], mail(box["address"], "Re: Order", in_reply_to="<o@x>"))
        hits = await receiver.wait_for_count(2)
        threads = {
            Webhook(hook["secret"]).verify(hit.body, hit.headers)["data"]["message"]["thread_id"]
            for hit in hits
        }
        (thread_id,) = threads
        listed = await server.http.get(
            f"/mailboxes/{box['id']}/threads", headers=server.auth(box["token"])
        )
        assert [t["id"] for t in listed.json()["data"]] == [thread_id]


async def test_the_event_stream_carries_the_thread_id(settings: Settings):
    async with start_server(settings) as server:
        box = Mailbox(server, await server.create_inbox())
        async with (
            asyncio.timeout(30),
            server.http.stream("GET", f"/mailboxes/{box.id}/events", headers=box.headers) as stream,
        ):
            assert stream.status_code == 200  # subscribed before the answer starts
            await server.send(box.address, mail(box.address, "Streamed"))
            async for line in stream.aiter_lines():
                if line.startswith("data:") and "message.received" in line:
                    event = json.loads(line.removeprefix("data:"))
                    break
        (thread,) = await box.threads()
        assert event["message"]["thread_id"] == thread["id"]
