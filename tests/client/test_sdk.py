"""The SDK against a real server, with the sync and the async client alike."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

import httpx
import pytest

from inboxkit.client import (
    AsyncInbox,
    ConnectionFailed,
    Forbidden,
    HandleTaken,
    Inbox,
    InboxKitError,
    Message,
    NotFound,
    Unauthorized,
    ValidationError,
    WaitTimeout,
)
from tests.client.conftest import Sdk
from tests.helpers import RunningServer, make_message, smtp_wire_bytes


def signup_mail(to: str, code: str = "482913", link: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Shop <noreply@shop.example>"
    message["To"] = to
    message["Subject"] = "Confirm your account"
    body = f"Welcome! Your verification code is {code}."
    html = f"<p>Welcome! Your verification code is <b>{code}</b>.</p>"
    if link:
        body += f"\nConfirm: {link}"
        html += f'<p><a href="{link}">Verify your email</a></p>'
    message.set_content(body)
    message.add_alternative(html, subtype="html")
    return message


async def test_anonymous_inbox_uses_its_own_token_and_gets_the_code(
    sdk: Sdk, server: RunningServer
) -> None:
    client = sdk.client()
    inbox = await sdk.run(client.create_inbox)
    assert isinstance(inbox, Inbox if sdk.kind == "sync" else AsyncInbox)
    assert inbox.address.endswith("@inboxkit.localhost")
    assert inbox.token.startswith("ikm_")

    await server.send(inbox.address, signup_mail(inbox.address, "482913"))

    assert await sdk.run(inbox.wait_for_code, timeout=10) == "482913"
    # The anonymous client itself has no credentials: the inbox's calls carry its token.
    with pytest.raises(Unauthorized) as caught:
        await sdk.run(client.list_messages, inbox.address)
    assert caught.value.code == "unauthorized" and caught.value.status == 401
    [summary] = await sdk.run(inbox.messages)
    assert summary.codes == ["482913"] and summary.is_read


async def test_wait_for_message_returns_the_whole_message_with_raw_and_attachments(
    sdk: Sdk, server: RunningServer
) -> None:
    inbox = await sdk.run(sdk.client().create_inbox)
    mail = signup_mail(inbox.address, "771234", "https://shop.example/verify?t=abc")
    mail.add_attachment(
        b"%PDF-1.4 invoice", maintype="application", subtype="pdf", filename="invoice.pdf"
    )
    raw = mail.as_bytes()
    await server.send(inbox.address, raw)

    message = await sdk.run(inbox.wait_for_message, subject="confirm", timeout=10)

    assert isinstance(message, Message)
    assert message.subject == "Confirm your account"
    assert message.from_ == "noreply@shop.example" and message.from_name == "Shop"
    assert "771234" in (message.text or "") and "<b>771234</b>" in (message.html or "")
    assert message.code == "771234"
    assert message.link("verify").url == "https://shop.example/verify?t=abc"
    assert message.header("subject") == "Confirm your account"
    assert await sdk.run(message.raw) == smtp_wire_bytes(raw)
    assert await sdk.run(message.attachment_bytes, "invoice.pdf") == b"%PDF-1.4 invoice"
    [attachment] = message.attachments
    assert attachment.content_type == "application/pdf"
    assert await sdk.run(message.attachment_bytes, attachment) == b"%PDF-1.4 invoice"


async def test_a_message_exposes_its_reply_text_and_markdown(
    sdk: Sdk, server: RunningServer
) -> None:
    inbox = await sdk.run(sdk.client().create_inbox)
    mail = make_message(
        inbox.address,
        "Re: Budget",
        "Approved.\n\nSent from my iPhone\n\n> On 3 Mar 2025, at 14:02, Jonas Weber "
        "<jonas@example.org> wrote:\n>\n> Can you approve the budget?\n",
        "anna@example.com",
    )
    await server.send(inbox.address, mail)

    message = await sdk.run(inbox.wait_for_message, subject="budget", timeout=10)

    assert message.reply_text == "Approved."
    assert message.markdown is not None and "Can you approve the budget?" in message.markdown


async def test_wait_for_link_passes_over_mail_without_that_kind_of_link(
    sdk: Sdk, server: RunningServer
) -> None:
    inbox = await sdk.run(sdk.client().create_inbox)
    await server.send(inbox.address, subject="Newsletter", body="No links here, just news.")
    await server.send(
        inbox.address, signup_mail(inbox.address, link="https://shop.example/verify?t=xyz")
    )

    url = await sdk.run(inbox.wait_for_link, "verify", timeout=10)

    assert url == "https://shop.example/verify?t=xyz"


async def test_wait_timeout_lists_what_did_arrive(sdk: Sdk, server: RunningServer) -> None:
    inbox = await sdk.run(sdk.client().create_inbox)
    await server.send(
        inbox.address, subject="Your receipt", body="Thanks", mail_from="billing@shop.example"
    )

    with pytest.raises(WaitTimeout) as caught:
        await sdk.run(inbox.wait_for_message, subject="Welcome", timeout=0.5)

    error = caught.value
    assert isinstance(error, TimeoutError) and isinstance(error, InboxKitError)
    text = str(error)
    assert "subject containing 'Welcome'" in text and inbox.address in text
    assert "'Your receipt'" in text and "billing@shop.example" in text
    assert [m.subject for m in error.recent] == ["Your receipt"]


async def test_wait_timeout_on_an_empty_inbox_says_nothing_arrived(sdk: Sdk) -> None:
    inbox = await sdk.run(sdk.client().create_inbox)
    with pytest.raises(WaitTimeout, match="no mail reached it at all"):
        await sdk.run(inbox.wait_for_code, timeout=0.2)


async def test_a_wait_longer_than_one_poll_carries_on_until_mail_arrives(
    sdk: Sdk, server: RunningServer
) -> None:
    """The server ends each long-poll at its cap (60 s); the SDK keeps polling up to the
    caller's timeout. A small per-poll cap stands in for the server's here."""
    loop = asyncio.get_running_loop()
    polls = 0
    third_poll_ended = asyncio.Event()

    def on_response(response: httpx.Response) -> None:
        nonlocal polls
        if response.request.url.path.endswith("/wait"):
            polls += 1
            if polls == 3:
                loop.call_soon_threadsafe(third_poll_ended.set)

    client = sdk.client(max_poll=0.2, http_client=sdk.http_client(on_response))
    inbox = await sdk.run(client.create_inbox)
    waiting = asyncio.ensure_future(sdk.run(inbox.wait_for_message, timeout=30))
    await asyncio.wait_for(third_poll_ended.wait(), 20)
    assert not waiting.done()

    await server.send(inbox.address, subject="Late but welcome")

    message = await asyncio.wait_for(waiting, 20)
    assert message.subject == "Late but welcome"
    assert polls >= 4


async def test_a_wait_longer_than_one_poll_times_out_at_the_callers_timeout(sdk: Sdk) -> None:
    polls = 0

    def on_response(response: httpx.Response) -> None:
        nonlocal polls
        polls += response.request.url.path.endswith("/wait")

    client = sdk.client(max_poll=0.1, http_client=sdk.http_client(on_response))
    inbox = await sdk.run(client.create_inbox)
    with pytest.raises(WaitTimeout):
        await sdk.run(inbox.wait_for_message, timeout=0.5)
    assert polls >= 2


async def test_successive_waits_walk_the_inbox_in_arrival_order(
    sdk: Sdk, server: RunningServer
) -> None:
    inbox = await sdk.run(sdk.client().create_inbox)
    for subject in ("first", "second", "third"):
        await server.send(inbox.address, subject=subject)
    subjects = [(await sdk.run(inbox.wait_for_message, timeout=5)).subject for _ in range(3)]
    assert subjects == ["first", "second", "third"]
    assert await sdk.run(inbox.wait, timeout=0) is None


async def test_context_manager_deletes_the_inbox_on_exit(sdk: Sdk, server: RunningServer) -> None:
    key = await server.create_key()
    client = sdk.client(key)
    if sdk.kind == "sync":

        def use() -> str:
            with client.create_inbox() as inbox:
                return inbox.address

        address = await asyncio.to_thread(use)
    else:
        async with client.create_inbox() as inbox:
            address = inbox.address
    with pytest.raises(NotFound):
        await sdk.run(client.get_mailbox, address)


async def test_leaving_the_context_after_the_inbox_was_deleted_is_fine(sdk: Sdk) -> None:
    inbox = await sdk.run(sdk.client().create_inbox)
    await sdk.run(inbox.delete)
    if sdk.kind == "sync":
        await asyncio.to_thread(inbox.__exit__, None, None, None)
    else:
        await inbox.__aexit__(None, None, None)


async def test_mailbox_crud_with_an_api_key(sdk: Sdk, server: RunningServer) -> None:
    client = sdk.client(await server.create_key())
    first = await sdk.run(client.create_mailbox, name="first")
    agent = await sdk.run(client.create_mailbox, mode="agent", handle="support-bot")
    assert agent.address == "support-bot@inboxkit.localhost" and agent.expires_at is None

    page = await sdk.run(client.list_mailboxes, limit=1)
    assert [m.id for m in page] == [agent.id] and page.next_cursor
    page = await sdk.run(client.list_mailboxes, limit=1, cursor=page.next_cursor)
    assert [m.id for m in page] == [first.id] and page.next_cursor is None

    taken = await sdk.run(client.check_handle, "support-bot")
    assert taken.available is False and taken.reason == "taken"
    with pytest.raises(HandleTaken) as caught:
        await sdk.run(client.create_mailbox, mode="agent", handle="support-bot")
    assert caught.value.code == "handle_taken" and caught.value.status == 409

    renamed = await sdk.run(client.update_mailbox, first.address, name="renamed", ttl_minutes=5)
    assert renamed.name == "renamed" and renamed.expires_at is not None
    await sdk.run(client.delete_mailbox, first.id)
    with pytest.raises(NotFound):
        await sdk.run(client.get_mailbox, first.id)


async def test_messages_list_filter_mark_and_delete(sdk: Sdk, server: RunningServer) -> None:
    client = sdk.client(await server.create_key())
    inbox = await sdk.run(client.create_inbox)
    await server.send(inbox.address, subject="alpha", mail_from="a@one.example")
    await server.send(inbox.address, subject="beta", mail_from="b@two.example")
    await server.send(inbox.address, subject="gamma", mail_from="c@two.example")

    page = await sdk.run(client.list_messages, inbox.address, limit=2)
    assert [m.subject for m in page] == ["gamma", "beta"] and page.next_cursor
    everything = await sdk.run(inbox.messages)
    assert [m.subject for m in everything] == ["gamma", "beta", "alpha"]
    from_two = await sdk.run(inbox.messages, sender="two.example")
    assert [m.subject for m in from_two] == ["gamma", "beta"]

    alpha = everything[-1]
    read = await sdk.run(alpha.mark_read)
    assert read.is_read
    assert [m.subject for m in await sdk.run(inbox.messages, unread=True)] == ["gamma", "beta"]
    await sdk.run(alpha.delete)
    with pytest.raises(NotFound):
        await sdk.run(client.get_message, inbox.address, alpha.id)
    mailbox = await sdk.run(inbox.refresh)
    assert mailbox.message_count == 2 and mailbox.unread_count == 2


async def test_server_errors_map_to_the_exception_tree(sdk: Sdk, server: RunningServer) -> None:
    anonymous = sdk.client()
    inbox = await sdk.run(anonymous.create_inbox)

    with pytest.raises(NotFound) as caught:
        await sdk.run(anonymous.with_token(inbox.token).get_mailbox, "nobody@inboxkit.localhost")
    assert caught.value.code == "not_found" and "No such mailbox" in caught.value.message

    with pytest.raises(Unauthorized):
        await sdk.run(sdk.client("ik_not-a-real-key").list_mailboxes)

    with pytest.raises(Forbidden) as forbidden:
        await sdk.run(anonymous.with_token(inbox.token).create_mailbox)
    assert forbidden.value.code == "forbidden"

    with pytest.raises(ValidationError) as invalid:
        await sdk.run(anonymous.create_mailbox, ttl_minutes=0)
    assert invalid.value.status == 422 and "ttl_minutes" in invalid.value.message


async def test_an_unreachable_server_raises_connection_failed(sdk: Sdk) -> None:
    import socket

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    dead = sdk.client(url=f"http://127.0.0.1:{port}")
    with pytest.raises(ConnectionFailed, match="Could not reach inboxkit"):
        await sdk.run(dead.create_inbox)


async def test_inbox_created_with_an_api_key_keeps_using_the_key(
    sdk: Sdk, server: RunningServer
) -> None:
    key = await server.create_key()
    client = sdk.client(key)
    inbox = await sdk.run(client.create_inbox)
    assert inbox.token.startswith("ikm_")
    assert inbox._client.api_key == key
    await server.send(inbox.address, make_message(inbox.address, "hi", "code 552211"))
    assert await sdk.run(inbox.wait_for_code, timeout=10) == "552211"


def test_configuration_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from inboxkit.client import InboxKit

    monkeypatch.delenv("INBOXKIT_URL", raising=False)
    monkeypatch.delenv("INBOXKIT_API_KEY", raising=False)
    with InboxKit() as client:
        assert client.url == "http://127.0.0.1:8025" and client.api_key is None
    monkeypatch.setenv("INBOXKIT_URL", "http://mail.internal:9000/api/v1/")
    monkeypatch.setenv("INBOXKIT_API_KEY", "ik_from_env")
    with InboxKit() as client:
        assert client.api_url == "http://mail.internal:9000/api/v1"
        assert client.api_key == "ik_from_env"
    with InboxKit("http://other:1", api_key="ik_arg") as client:
        assert client.url == "http://other:1" and client.api_key == "ik_arg"


async def test_stream_yields_messages_as_they_arrive_until_the_inbox_is_deleted(
    sdk: Sdk, server: RunningServer
) -> None:
    inbox = await sdk.run(sdk.client().create_inbox)
    await server.send(inbox.address, subject="before")
    [before] = await sdk.run(inbox.messages)

    async def consume() -> list[str]:
        subjects = []
        if sdk.kind == "sync":

            def follow() -> list[str]:
                for message in inbox.stream(after=before.id):
                    subjects.append(message.subject)
                    if len(subjects) == 2:
                        inbox.delete()
                return subjects

            return await asyncio.to_thread(follow)
        async for message in inbox.stream(after=before.id):
            subjects.append(message.subject)
            if len(subjects) == 2:
                await inbox.delete()
        return subjects

    following = asyncio.ensure_future(consume())
    await server.send(inbox.address, subject="one")
    await server.send(inbox.address, subject="two")
    assert await asyncio.wait_for(following, 30) == ["one", "two"]


async def test_wait_timeout_points_out_mail_an_earlier_wait_already_read(
    sdk: Sdk, server: RunningServer
) -> None:
    inbox = await sdk.run(sdk.client().create_inbox)
    await server.send(
        inbox.address, signup_mail(inbox.address, "482913", "https://shop.example/verify?t=1")
    )
    assert await sdk.run(inbox.wait_for_code, timeout=10) == "482913"

    with pytest.raises(WaitTimeout) as caught:
        await sdk.run(inbox.wait_for_link, "verify", timeout=0.2)

    text = str(caught.value)
    assert "No message with a 'verify' link arrived" in text
    assert "links: verify  (read)" in text and "pass since= or after=" in text


async def test_get_inbox_reopens_an_anonymous_inbox_with_its_token(
    sdk: Sdk, server: RunningServer
) -> None:
    created = await sdk.run(sdk.client().create_inbox)
    await server.send(created.address, make_message(created.address, "hi", "code 662200"))

    reopened = await sdk.run(sdk.client().get_inbox, created.address, token=created.token)

    assert reopened.id == created.id and reopened.token == created.token
    assert await sdk.run(reopened.wait_for_code, timeout=10) == "662200"
