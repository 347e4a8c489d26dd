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
