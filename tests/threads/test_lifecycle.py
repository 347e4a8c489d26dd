"""Threads stay true when mail goes by retention or with its mailbox."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from inboxkit.config import Settings
from inboxkit.store.messages import purge_older
from inboxkit.store.tables import threads, utcnow
from tests.helpers import RunningServer, start_server
from tests.hidden_mail import BLOCKED, quiet, tenant
from tests.threads.support import Mailbox, mail


async def _thread_rows(server: RunningServer, mailbox_id: str) -> int:
    async with server.runtime.db.read() as conn:
        query = sa.select(sa.func.count()).where(threads.c.mailbox_id == mailbox_id)
        return int(await conn.scalar(query) or 0)


async def test_retention_purging_a_threads_mail_removes_the_thread(mail_server: RunningServer):
    box = Mailbox(mail_server, await mail_server.create_inbox())
    await mail_server.send(box.address, mail(box.address, "Old news"))
    assert len(await box.threads()) == 1
    async with mail_server.runtime.db.write() as conn:
        assert await purge_older(conn, "anonymous", utcnow() + timedelta(days=1), 100) == 1
    assert await box.threads() == []
    assert await _thread_rows(mail_server, box.id) == 0


async def test_deleting_a_mailbox_deletes_its_threads(mail_server: RunningServer):
    box = Mailbox(mail_server, await mail_server.create_inbox())
    await mail_server.send(box.address, mail(box.address, "Bye"))
    assert await _thread_rows(mail_server, box.id) == 1
    gone = await mail_server.http.delete(f"/mailboxes/{box.id}", headers=box.headers)
    assert gone.status_code == 204
    assert await _thread_rows(mail_server, box.id) == 0


async def test_a_thread_of_hidden_spam_is_left_out_unless_the_spam_view_is_asked(
    settings: Settings,
):
    async with start_server(quiet(settings)) as server:
        owner = await tenant(server, "threads-spam")  # BLOCKED is on its block list
        box = Mailbox(server, {**owner.agent, "token": owner.key})
        await server.send(box.address, mail(box.address, "Cheap watches", sender=BLOCKED))
        await server.send(box.address, mail(box.address, "Real mail"))
        (shown,) = await box.threads()
        assert shown["subject"] == "Real mail" and shown["labels"] == []
        (hidden,) = await box.threads(spam="true")
        assert hidden["subject"] == "Cheap watches" and hidden["labels"] == ["spam"]
        assert hidden["message_count"] == 1


async def _walk(box: Mailbox, **params: str) -> list[str]:
    """The subjects of every thread listed, one page of one thread at a time."""
    seen: list[str] = []
    cursor = None
    while True:
        page = await box.get(
            "/threads", limit=1, **params, **({"cursor": cursor} if cursor else {})
        )
        seen += [t["subject"] for t in page["data"]]
        cursor = page["meta"]["next_cursor"]
        if cursor is None:
            return seen


async def test_spam_joining_an_older_conversation_moves_it_in_the_spam_view_only(
    settings: Settings,
):
    async with start_server(quiet(settings)) as server:
        owner = await tenant(server, "threads-order")  # BLOCKED is on its block list
        box = Mailbox(server, {**owner.agent, "token": owner.key})
        first = mail(box.address, "Conversation A", message_id="<order-a@outside.example>")
        await server.send(box.address, first)
        await server.send(box.address, mail(box.address, "Conversation B"))
        # Spam that copies A's Message-ID into its References arrives last.
        spam = mail(
            box.address,
            "Cheap watches",
            sender=BLOCKED,
            references=["<order-a@outside.example>"],
        )
        await server.send(box.address, spam)

        listed = await box.threads()
        assert [t["subject"] for t in listed] == ["Conversation B", "Conversation A"]
        shown = [t["last_message_at"] for t in listed]
        assert shown == sorted(shown, reverse=True)
        assert listed[1]["message_count"] == 1 and listed[1]["labels"] == ["spam"]
        assert await _walk(box) == ["Conversation B", "Conversation A"]

        # The spam view finds the spam in A's thread.
        (folder,) = await box.threads(spam="true")
        assert folder["id"] == listed[1]["id"]
        assert folder["message_count"] == 1
        messages = (await box.thread(folder["id"], spam="true"))["messages"]
        assert [m["subject"] for m in messages] == ["Cheap watches"]
        assert await _walk(box, spam="true") == ["Conversation A"]


async def test_deleting_mail_reorders_each_view_by_the_mail_left_in_it(settings: Settings):
    async with start_server(quiet(settings)) as server:
        owner = await tenant(server, "threads-order-delete")
        box = Mailbox(server, {**owner.agent, "token": owner.key})
        await server.send(
            box.address, mail(box.address, "Conversation A", message_id="<keep-a@outside.example>")
        )
        first = await box.arrival()
        await server.send(box.address, mail(box.address, "Conversation B"))
        spam = mail(
            box.address, "Cheap watches", sender=BLOCKED, references=["<keep-a@outside.example>"]
        )
        await server.send(box.address, spam)
        reply = mail(
            box.address,
            "Re: Conversation A",
            in_reply_to="<keep-a@outside.example>",
            references=["<keep-a@outside.example>"],
        )
        await server.send(box.address, reply)
        assert [t["subject"] for t in await box.threads()] == ["Conversation A", "Conversation B"]
        a_thread = (await box.threads())[0]["id"]
        _, newest = (await box.thread(a_thread))["messages"]

        async def delete(message_id: str) -> None:
            gone = await server.http.delete(
                f"/mailboxes/{box.id}/messages/{message_id}", headers=box.headers
            )
            assert gone.status_code == 204

        # Without A's reply, A's newest visible mail is older than B's (its spam is newer).
        await delete(newest["id"])
        listed = await box.threads()
        assert [t["subject"] for t in listed] == ["Conversation B", "Conversation A"]
        assert listed[1]["last_message_at"] == first["received_at"]
        assert await _walk(box) == ["Conversation B", "Conversation A"]
        # Without any visible mail, A is in the spam view only.
        await delete(first["id"])
        assert await _walk(box) == ["Conversation B"]
        (folder,) = await box.threads(spam="true")
        assert folder["id"] == a_thread and folder["message_count"] == 1
