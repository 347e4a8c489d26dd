"""Sending, replying, webhooks and API keys through the SDK, against a real server."""

from __future__ import annotations

import socket

import pytest

from inboxkit.client import Forbidden, NotFound
from inboxkit.config import Settings
from tests.client.conftest import Sdk
from tests.helpers import RunningServer

ADMIN_KEY = "ik_admin-key-for-the-sdk-tests-0123456789"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allow_private": True, "admin_key": ADMIN_KEY})


async def test_send_and_reply_between_two_inboxes(sdk: Sdk, server: RunningServer) -> None:
    client = sdk.client(await server.create_key())  # only an account's inboxes may send
    alice = await sdk.run(client.create_inbox)
    bob = await sdk.run(client.create_inbox)

    sent = await sdk.run(
        alice.send,
        bob.address,
        "Quarterly report",
        "Numbers attached.",
        attachments=[("report.csv", b"q,revenue\n1,100\n", "text/csv")],
    )
    assert sent.direction == "outbound" and sent.delivery_status in ("queued", "sent")
    assert sent.message_id

    received = await sdk.run(bob.wait_for_message, subject="Quarterly", timeout=15)
    assert received.from_ == alice.address and "Numbers attached." in (received.text or "")
    assert await sdk.run(received.attachment_bytes, "report.csv") == b"q,revenue\n1,100\n"

    await sdk.run(received.reply, "Thanks, looks good.")
    answer = await sdk.run(alice.wait_for_message, subject="Re: Quarterly report", timeout=15)
    assert answer.in_reply_to == sent.message_id
    assert "Thanks, looks good." in (answer.text or "")


async def test_send_is_idempotent_with_the_same_key(sdk: Sdk, server: RunningServer) -> None:
    client = sdk.client(await server.create_key())
    alice = await sdk.run(client.create_inbox)
    bob = await sdk.run(client.create_inbox)
    first = await sdk.run(alice.send, bob.address, "Once", "only once", idempotency_key="k-1")
    again = await sdk.run(alice.send, bob.address, "Once", "only once", idempotency_key="k-1")
    assert again.id == first.id
    outbound = await sdk.run(alice.messages, direction="outbound")
    assert [m.id for m in outbound] == [first.id]


async def test_anonymous_inbox_cannot_send(sdk: Sdk) -> None:
    inbox = await sdk.run(sdk.client().create_inbox)
    with pytest.raises(Forbidden) as refused:
        await sdk.run(inbox.send, "bob@example.com", "Hi", "Hello.")
    assert refused.value.code == "forbidden" and "API key" in str(refused.value)
    assert await sdk.run(inbox.messages, direction="outbound") == []


async def test_webhooks_create_list_test_and_delete(sdk: Sdk, server: RunningServer) -> None:
    client = sdk.client(await server.create_key())
    inbox = await sdk.run(client.create_inbox)
    with socket.socket() as unused:  # a port nobody listens on: the test delivery fails
        unused.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{unused.getsockname()[1]}/hook"

    created = await sdk.run(
        client.create_webhook, url, mailbox=inbox.address, events=["message.received"]
    )
    assert created.secret.startswith("whsec_") and created.mailbox_id == inbox.id
    assert [w.id for w in await sdk.run(client.list_webhooks)] == [created.id]
    assert (await sdk.run(client.get_webhook, created.id)).events == ["message.received"]

    delivery = await sdk.run(client.test_webhook, created.id)
    assert delivery.event == "webhook.test" and delivery.attempts >= 1
    deliveries = await sdk.run(client.list_webhook_deliveries, created.id)
    assert delivery.id in [d.id for d in deliveries]

    await sdk.run(client.delete_webhook, created.id)
    with pytest.raises(NotFound):
        await sdk.run(client.get_webhook, created.id)


async def test_api_keys_are_managed_with_the_admin_key(sdk: Sdk) -> None:
    admin = sdk.client(ADMIN_KEY)
    created = await sdk.run(admin.create_key, "ci", scopes=["mailboxes:read"])
    assert created.token.startswith("ik_") and created.scopes == ["mailboxes:read"]
    assert created.id in [k.id for k in await sdk.run(admin.list_keys)]

    limited = sdk.client(created.token)
    with pytest.raises(Forbidden, match="mailboxes:write"):
        await sdk.run(limited.create_inbox)
    await sdk.run(admin.revoke_key, created.id)
    [key] = [k for k in await sdk.run(admin.list_keys) if k.id == created.id]
    assert key.revoked_at is not None
