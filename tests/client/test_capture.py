"""The capture mailbox through the SDK, with the sync and the async client alike."""

from __future__ import annotations

import asyncio

import pytest

from inboxkit.client import AsyncInbox, Forbidden, Inbox, NotFound, WaitTimeout
from tests.capturing import capture_key, capture_mail
from tests.client.conftest import Sdk
from tests.helpers import RunningServer


async def test_capture_returns_the_capture_mailbox_as_an_inbox(
    sdk: Sdk, server: RunningServer
) -> None:
    client = sdk.client(await capture_key(server))
    inbox = await sdk.run(client.capture)
    assert isinstance(inbox, Inbox if sdk.kind == "sync" else AsyncInbox)
    assert inbox.mailbox.mode == "capture"
    assert inbox.expires_at is None
    again = await sdk.run(client.capture)
    assert again.id == inbox.id  # one per account, made on first use


async def test_wait_for_code_to_one_address_skips_mail_to_others(
    sdk: Sdk, server: RunningServer
) -> None:
    key = await capture_key(server)
    await capture_mail(server, key, "bob@example.com", "Your code", "Bob, your code is 731904")
    await capture_mail(server, key, "alice@example.com", "Your code", "Alice: code 285017")
    capture = await sdk.run(sdk.client(key).capture)
    assert await sdk.run(capture.wait_for_code, to="alice@example.com", timeout=10) == "285017"
    message = await sdk.run(capture.wait_for_message, to="bob@example.com", timeout=10)
    assert message.envelope.rcpt_to == ["bob@example.com"]
    assert message.codes == ["731904"]


async def test_messages_to_filters_on_the_envelope_recipient_a_bcc_leaves_out_of_the_headers(
    sdk: Sdk, server: RunningServer
) -> None:
    key = await capture_key(server)
    # One message, To: carol, and blind-copied to dave (envelope only).
    await capture_mail(
        server, key, ["carol@example.com", "dave@example.org"], "Team invite", "Join us"
    )
    await capture_mail(server, key, "erin@example.com", "Receipt", "Thanks")
    capture = await sdk.run(sdk.client(key).capture)
    to_dave = await sdk.run(capture.messages, to="dave@example.org")
    assert [m.subject for m in to_dave] == ["Team invite"]
    assert to_dave[0].to == ["carol@example.com"]
    assert [m.subject for m in await sdk.run(capture.messages, to="ERIN@")] == ["Receipt"]
    assert len(await sdk.run(capture.messages)) == 2


async def test_a_wait_for_an_address_nothing_was_sent_to_times_out_naming_it(
    sdk: Sdk, server: RunningServer
) -> None:
    key = await capture_key(server)
    await capture_mail(server, key, "alice@example.com", "Your code", "code 285017")
    capture = await sdk.run(sdk.client(key).capture)
    with pytest.raises(WaitTimeout) as caught:
        await sdk.run(capture.wait_for_code, to="zoe@example.com", timeout=0.5)
    assert "zoe@example.com" in str(caught.value)


async def test_another_accounts_capture_mailbox_holds_none_of_the_firsts_mail(
    sdk: Sdk, server: RunningServer
) -> None:
    first_key, second_key = await capture_key(server, "one"), await capture_key(server, "two")
    await capture_mail(server, first_key, "alice@example.com", "Your code", "code 285017")
    first = await sdk.run(sdk.client(first_key).capture)
    second_client = sdk.client(second_key)
    second = await sdk.run(second_client.capture)
    assert second.id != first.id
    assert await sdk.run(second.messages) == []
    with pytest.raises(NotFound):
        await sdk.run(second_client.get_inbox, first.address)
    with pytest.raises(NotFound):
        await sdk.run(second_client.list_messages, first.id, to="alice@example.com")


async def test_a_mailbox_token_has_no_capture_mailbox(sdk: Sdk, server: RunningServer) -> None:
    created = await server.create_inbox()
    with pytest.raises(Forbidden) as caught:
        await sdk.run(sdk.client(created["token"]).capture)
    assert "API key" in str(caught.value)


async def test_a_key_without_read_scopes_cannot_find_the_capture_mailbox(
    sdk: Sdk, server: RunningServer
) -> None:
    key = await server.create_key("sender only", scopes=["send"])
    with pytest.raises(Forbidden):
        await sdk.run(sdk.client(key).capture)


async def test_the_to_filter_on_message_lists_is_bounded(server: RunningServer) -> None:
    key = await capture_key(server)
    box = (await server.http.get("/capture", headers=server.auth(key))).json()["data"]
    response = await server.http.get(
        f"/mailboxes/{box['id']}/messages", params={"to": "a" * 321}, headers=server.auth(key)
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_a_pending_wait_for_one_address_is_not_answered_by_mail_to_another(
    sdk: Sdk, server: RunningServer
) -> None:
    key = await capture_key(server)
    capture = await sdk.run(sdk.client(key).capture)
    waiting = asyncio.ensure_future(
        sdk.run(capture.wait_for_code, to="alice@example.com", timeout=20)
    )
    await capture_mail(server, key, "bob@example.com", "Your code", "Bob, your code is 731904")
    await capture_mail(server, key, "alice@example.com", "Your code", "Alice, your code is 285017")
    assert await waiting == "285017"
