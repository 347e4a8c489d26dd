"""Allow and block lists through the SDK, with both clients against a real server: entries made,
listed, read and removed, the refusals as the SDK's own exceptions, and the `spam` verdict a
blocked sender's message then carries."""

from __future__ import annotations

import pytest

from inboxkit.client import (
    Conflict,
    Forbidden,
    ListEntry,
    NotFound,
    QuotaExceeded,
    SpamVerdict,
    ValidationError,
)
from inboxkit.services import lists as list_service
from tests.client.conftest import Sdk
from tests.helpers import RunningServer


async def test_entries_are_added_listed_read_and_removed(server: RunningServer, sdk: Sdk):
    key = await server.create_key("shop")
    inbox = await server.create_inbox(key)
    client = sdk.client(key)

    blocked = await sdk.run(client.block, "Bulk.Example", subdomains=True)
    assert isinstance(blocked, ListEntry)
    assert (blocked.type, blocked.entry, blocked.kind, blocked.subdomains) == (
        "block",
        "bulk.example",
        "domain",
        True,
    )
    assert blocked.mailbox_id is None and blocked.created_at is not None
    allowed = await sdk.run(client.allow, "Friend@Example.com", mailbox=inbox["address"])
    assert (allowed.type, allowed.entry, allowed.kind) == ("allow", "friend@example.com", "address")
    assert allowed.mailbox_id == inbox["id"]
    generic = await sdk.run(client.add_list_entry, "block", "ads.example")

    listed = await sdk.run(client.list_entries)
    assert [e.id for e in listed] == [generic.id, allowed.id, blocked.id]
    only_blocks = await sdk.run(client.list_entries, type="block")
    assert [e.id for e in only_blocks] == [generic.id, blocked.id]
    own = await sdk.run(client.list_entries, mailbox=inbox["address"])
    assert [e.id for e in own] == [allowed.id]
    assert await sdk.run(client.get_list_entry, blocked.id) == blocked

    await sdk.run(client.delete_list_entry, blocked.id)
    with pytest.raises(NotFound, match="No such list entry"):
        await sdk.run(client.get_list_entry, blocked.id)
    with pytest.raises(NotFound):
        await sdk.run(client.delete_list_entry, blocked.id)
    assert [e.id for e in await sdk.run(client.list_entries)] == [generic.id, allowed.id]


async def test_a_duplicate_is_conflict_and_a_malformed_entry_a_validation_error(
    server: RunningServer, sdk: Sdk
):
    client = sdk.client(await server.create_key("shop"))
    first = await sdk.run(client.block, "spam.example")
    with pytest.raises(Conflict) as duplicate:
        await sdk.run(client.block, "SPAM.example")
    assert duplicate.value.status == 409 and first.id in duplicate.value.message
    for entry in ("not an address", "localhost"):
        with pytest.raises(ValidationError) as malformed:
            await sdk.run(client.block, entry)
        assert "entry" in malformed.value.message
    with pytest.raises(ValidationError, match="type"):
        await sdk.run(client.add_list_entry, "deny", "a@example.com")
    assert [e.id for e in await sdk.run(client.list_entries)] == [first.id]


async def test_past_the_accounts_ceiling_is_quota_exceeded(
    server: RunningServer, sdk: Sdk, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(list_service, "MAX_ENTRIES", 1)
    client = sdk.client(await server.create_key("shop"))
    await sdk.run(client.block, "one.example")
    with pytest.raises(QuotaExceeded) as refused:
        await sdk.run(client.block, "two.example")
    assert (refused.value.limit, refused.value.allowed, refused.value.used) == (
        "max_list_entries",
        1,
        1,
    )


async def test_another_accounts_entries_and_mailboxes_are_not_found(
    server: RunningServer, sdk: Sdk
):
    key = await server.create_key("shop")
    inbox = await server.create_inbox(key)
    entry = await sdk.run(sdk.client(key).block, "a@example.com")
    other = sdk.client(await server.create_key("other"))

    assert await sdk.run(other.list_entries) == []
    with pytest.raises(NotFound):
        await sdk.run(other.get_list_entry, entry.id)
    with pytest.raises(NotFound):
        await sdk.run(other.delete_list_entry, entry.id)
    with pytest.raises(NotFound, match="mailbox"):
        await sdk.run(other.allow, "b@example.com", mailbox=inbox["id"])
    # Still there for its owner.
    assert (await sdk.run(sdk.client(key).get_list_entry, entry.id)).entry == "a@example.com"


async def test_a_mailbox_token_is_refused_with_a_reason(server: RunningServer, sdk: Sdk):
    inbox = await server.create_inbox(await server.create_key("shop"))
    with pytest.raises(Forbidden, match="API key"):
        await sdk.run(sdk.client(inbox["token"]).list_entries)


async def test_a_blocked_senders_message_carries_the_verdict(server: RunningServer, sdk: Sdk):
    key = await server.create_key("shop")
    inbox = await server.create_inbox(key)
    client = sdk.client(key)
    await sdk.run(client.block, "pushy@example.com")
    await server.send(inbox["address"], mail_from="pushy@example.com", subject="buy now")
    await server.send(inbox["address"], mail_from="friend@example.com", subject="lunch?")

    page = await sdk.run(client.list_messages, inbox["address"])
    verdicts = {m.subject: m.spam for m in page}
    assert all(isinstance(v, SpamVerdict) for v in verdicts.values())
    blocked, clean = verdicts["buy now"], verdicts["lunch?"]
    assert blocked is not None and clean is not None
    assert (blocked.verdict, blocked.reason) == ("blocked", "block list")
    assert clean.verdict == "clean"
    # The full message carries it too, and the JSON round trip keeps the API's shape.
    message = await sdk.run(client.get_message, inbox["address"], page.items[-1].id)
    assert message.spam is not None and message.spam.verdict == "blocked"
    assert message.to_json()["spam"]["verdict"] == "blocked"
