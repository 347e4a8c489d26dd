"""Conversation threads of a mailbox: the list by activity and one thread's messages.

Which thread a message joins is decided when it is stored (`store/threads.py`); this service
reads. A thread's counts, preview and labels are computed from its messages in the view asked
for (the mailbox's visible mail, or with `spam` its hidden spam, as message lists do), so
they are right after any read, deletion or expiry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from inboxkit.errors import NotFound, Resource
from inboxkit.ids import is_id
from inboxkit.labels import shown
from inboxkit.records import MessageSummary, summary
from inboxkit.services.auth import Principal
from inboxkit.services.mailboxes import MailboxService, decode_cursor, encode_cursor
from inboxkit.store import threads as rows
from inboxkit.store.db import Database
from inboxkit.store.messages import SUMMARY_COLUMNS

__all__ = ["MAX_THREAD_MESSAGES", "Thread", "ThreadService", "ThreadView"]

# The most messages one read of a thread returns; `cursor` pages on.
MAX_THREAD_MESSAGES = 500


class Thread(TypedDict):
    """A conversation as listed."""

    id: str
    mailbox_id: str
    subject: str
    participants: list[str]
    message_count: int
    unread_count: int
    last_message_at: datetime
    # The labels its messages carry: their user labels, then the system labels (`shown`).
    labels: list[str]
    preview: str


class ThreadView(Thread):
    """A thread with a page of its messages, oldest first."""

    messages: list[MessageSummary]


def _not_found() -> NotFound:
    return NotFound(
        "No such thread in this mailbox; list its threads with GET …/threads.",
        resource=Resource.THREAD,
    )


def _thread(row: Any, stats: rows.ThreadStats | None) -> Thread:
    labels = (
        shown(stats.labels, sent=stats.outbound, spam=stats.hidden) if stats is not None else []
    )
    return {
        "id": row.id,
        "mailbox_id": row.mailbox_id,
        "subject": row.subject,
        "participants": list(row.participants),
        "message_count": stats.message_count if stats else 0,
        "unread_count": stats.unread_count if stats else 0,
        "last_message_at": (stats.last_at if stats and stats.last_at else row.last_message_at),
        "labels": labels,
        "preview": stats.preview if stats else "",
    }


class ThreadService:
    """The thread use cases behind REST, MCP, the SDK and the web UI; reading needs the
    `messages:read` scope, like message lists."""

    def __init__(self, db: Database, mailboxes: MailboxService):
        self.db = db
        self.mailboxes = mailboxes

    async def list(
        self,
        principal: Principal,
        ref: str,
        *,
        spam: bool = False,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[Thread], str | None]:
        """The mailbox's threads with a message in the view, by their newest message in the
        view, newest first (so in the order of the `last_message_at` shown: spam that joins a
        conversation does not move it in the default list); the cursor is the last thread's
        newest message id in the view."""
        principal.require("messages:read")
        async with self.db.read() as conn:
            box = await self.mailboxes.find(principal, ref, conn)
            before = decode_cursor(cursor) if cursor else None
            found = await rows.page(conn, box.id, spam=spam, before=before, limit=limit + 1)
            page = found[:limit]
            stats = await rows.stats(conn, box.id, [row.id for row in page], spam=spam)
        next_cursor = None
        if len(found) > limit:
            next_cursor = encode_cursor(rows.page_key(page[-1], spam=spam))
        return [_thread(row, stats.get(row.id)) for row in page], next_cursor

    async def get(
        self,
        principal: Principal,
        ref: str,
        thread_id: str,
        *,
        spam: bool = False,
        limit: int = MAX_THREAD_MESSAGES,
        cursor: str | None = None,
    ) -> tuple[ThreadView, str | None]:
        """The thread and up to `limit` of its messages in the view, oldest first, after the
        message id `cursor`; the cursor of the next page or None."""
        principal.require("messages:read")
        async with self.db.read() as conn:
            box = await self.mailboxes.find(principal, ref, conn)
            row = await rows.find(conn, box.id, thread_id) if is_id(thread_id) else None
            if row is None:
                raise _not_found()
            after = decode_cursor(cursor) if cursor else None
            stats = await rows.stats(conn, box.id, [row.id], spam=spam)
            found = await rows.messages_page(
                conn, box.id, row.id, SUMMARY_COLUMNS, spam=spam, after=after, limit=limit + 1
            )
        page = found[:limit]
        next_cursor = encode_cursor(page[-1].id) if len(found) > limit else None
        view: ThreadView = {
            **_thread(row, stats.get(row.id)),
            "messages": [summary(message) for message in page],
        }
        return view, next_cursor
