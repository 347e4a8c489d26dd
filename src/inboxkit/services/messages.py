"""Messages: list, read, raw bytes, attachments, mark read, delete.

Reads serve what the parse worker prepared at delivery (sanitised HTML, decoded attachment
bytes; see `mail/prepare.py` and `store/tables.py`), so a read costs database I/O only. Rows
stored before those columns existed are served the old way, by sanitising or re-parsing in a
worker thread.
"""

from __future__ import annotations

import asyncio
import email
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.config import Settings
from inboxkit.errors import NotFound, Resource, ValidationFailed
from inboxkit.ids import is_id
from inboxkit.mail.markdown import markdown
from inboxkit.mail.parse import POLICY, Limits, decode_payload, find_part
from inboxkit.mail.prepare import sanitize_html
from inboxkit.mail.reply import reply_text
from inboxkit.records import MessageSummary, summary
from inboxkit.senders import authentication_results
from inboxkit.services.auth import Principal
from inboxkit.services.mailboxes import MailboxService, decode_cursor, encode_cursor
from inboxkit.services.search import SearchService
from inboxkit.store import messages as rows
from inboxkit.store.db import Database
from inboxkit.store.tables import messages

__all__ = ["MessageFilter", "MessageService", "message_in"]


async def message_in(conn: AsyncConnection, mailbox_id: str, message_id: str) -> Any:
    """The message's row, or NotFound when it is not in that mailbox."""
    row = await rows.find(conn, mailbox_id, message_id) if is_id(message_id) else None
    if row is None:
        raise NotFound("No such message in this mailbox.", resource=Resource.MESSAGE)
    return row


@dataclass(slots=True)
class MessageFilter:
    """Filters shared by listing and waiting. String filters are case-insensitive substrings;
    `q` (lists only) is the search query language (services/search.py).

    `spam` lists the mail hidden from the mailbox's default views (spam and blocked senders
    in an agent mailbox, DESIGN §9) instead of the rest; a wait never asks for it."""

    unread: bool | None = None
    since: datetime | None = None
    after: str | None = None
    from_contains: str | None = None
    subject_contains: str | None = None
    to_contains: str | None = None
    q: str | None = None
    direction: str | None = None
    has_code: bool | None = None
    spam: bool = False
    # Messages of this conversation only (a wait for the next reply in a thread).
    thread_id: str | None = None

    def apply(self, query: sa.Select[Any]) -> sa.Select[Any]:
        """`query` (over `messages`) narrowed to the rows this filter matches."""
        return rows.apply_filter(query, self)


def _for_readers(text: str | None, html: str | None, subject: str) -> tuple[str | None, str | None]:
    """`reply_text` and `markdown`: None for a message with no body (one that could not be
    parsed)."""
    if not text and not html:
        return None, None
    return reply_text(text, html, subject), markdown(text, html)


def _attachment_bytes(raw: bytes, attachment_id: str, limits: Limits) -> bytes | None:
    part = find_part(email.message_from_bytes(raw, policy=POLICY), attachment_id, limits)
    return None if part is None else decode_payload(part)


class MessageService:
    """The message use cases behind REST, MCP and the SDK, each checking the caller's scope and
    access to the mailbox."""

    def __init__(self, settings: Settings, db: Database, mailboxes: MailboxService):
        self.settings = settings
        self.db = db
        self.mailboxes = mailboxes
        self.search = SearchService(db, mailboxes)
        self.limits = Limits(
            max_depth=settings.max_mime_depth,
            max_parts=settings.max_mime_parts,
            max_header_bytes=settings.max_header_bytes,
        )

    async def list(
        self,
        principal: Principal,
        ref: str,
        flt: MessageFilter,
        *,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[MessageSummary], str | None]:
        principal.require("messages:read")
        if flt.q:
            # `q` is the query language over the full-text index; the other filters narrow it.
            async with self.db.read() as conn:
                box = await self.mailboxes.find(principal, ref, conn)
                base = flt.apply(sa.select(messages.c.id)).whereclause
                return await self.search.list_page(
                    conn, box.id, flt.q, base, limit=limit, cursor=cursor
                )
        async with self.db.read() as conn:
            box = await self.mailboxes.find(principal, ref, conn)
            before = decode_cursor(cursor) if cursor else None
            found = await rows.page(conn, box.id, flt, before=before, limit=limit + 1)
        page = found[:limit]
        next_cursor = encode_cursor(page[-1].id) if len(found) > limit else None
        return [summary(row) for row in page], next_cursor

    async def envelope_recipients(
        self, principal: Principal, ref: str, message_ids: Sequence[str]
    ) -> dict[str, Sequence[str]]:
        """Each listed message's envelope recipients: in a capture mailbox, the addresses the
        application sent to (a Bcc is in the envelope alone). At most one page of ids."""
        principal.require("messages:read")
        if len(message_ids) > 200:
            raise ValidationFailed("Ask for the recipients of at most 200 messages at once.")
        async with self.db.read() as conn:
            box = await self.mailboxes.find(principal, ref, conn)
            return dict(await rows.envelope_recipients(conn, box.id, message_ids))

    async def _row(
        self, conn: AsyncConnection, principal: Principal, ref: str, message_id: str
    ) -> Any:
        box = await self.mailboxes.find(principal, ref, conn)
        return await message_in(conn, box.id, message_id)

    async def get(
        self, principal: Principal, ref: str, message_id: str, *, mark_read: bool = True
    ) -> dict[str, Any]:
        principal.require("messages:read")
        async with self.db.read() as conn:
            row = await self._row(conn, principal, ref, message_id)
            body = await rows.body(conn, row.content_id)
        html_sanitized = body.html_sanitized
        if body.html and html_sanitized is None:  # stored before sanitising at parse time
            html_sanitized = await asyncio.to_thread(sanitize_html, body.html)
        # Computed on read from the stored bodies (no migration, nothing stored twice): about a
        # millisecond each for a 50 KB HTML mail (docs/benchmarks.md), in a worker thread so
        # that a large message does not hold the event loop.
        new_text, as_markdown = await asyncio.to_thread(
            _for_readers, body.text, body.html, row.subject
        )
        if mark_read and not row.is_read:
            async with self.db.write() as conn:
                await rows.set_read(conn, row.id, True)
        result: dict[str, Any] = {**summary(row), "is_read": row.is_read or mark_read}
        result.update(
            {
                "cc": row.cc_addrs,
                "reply_to": row.reply_to,
                "message_id": row.message_id,
                "in_reply_to": row.in_reply_to,
                "references": row.references,
                "headers": body.headers,
                "text": body.text,
                "html": body.html,
                "html_sanitized": html_sanitized if body.html else None,
                "reply_text": new_text,
                "markdown": as_markdown,
                "attachments": body.attachments,
                # `via` (captured mail) and `tls` (encrypted SMTP) are recorded only when
                # they apply; every message shows both fields.
                "envelope": {"via": None, "tls": None, **row.envelope},
                "code_candidates": body.code_details,
                "parse_error_detail": body.parse_error,
                "authentication": row.authentication,
                # The header this server would have added, rendered from the stored results
                # (the raw bytes stay exactly as received).
                "authentication_results": (
                    authentication_results(
                        self.settings.smtp_hostname,
                        row.authentication,
                        row.envelope.get("mail_from", ""),
                    )
                    if row.authentication
                    else None
                ),
            }
        )
        return result

    async def raw(self, principal: Principal, ref: str, message_id: str) -> bytes:
        principal.require("messages:read")
        async with self.db.read() as conn:
            row = await self._row(conn, principal, ref, message_id)
            return await rows.raw_bytes(conn, row.content_id)

    async def attachment(
        self, principal: Principal, ref: str, message_id: str, attachment_id: str
    ) -> tuple[bytes, dict[str, Any]]:
        """The decoded bytes of one attachment and its metadata.

        Only that attachment's slice of the stored bytes is read; a row stored before those
        existed (or whose stored bytes do not add up) is re-parsed from its raw message."""
        principal.require("messages:read")
        async with self.db.read() as conn:
            row = await self._row(conn, principal, ref, message_id)
            content = await rows.attachment_index(conn, row.content_id)
            index = next(
                (i for i, a in enumerate(content.attachments) if a["id"] == attachment_id), None
            )
            if index is None:
                raise NotFound("No such attachment on this message.", resource=Resource.ATTACHMENT)
            meta = content.attachments[index]
            data = await rows.attachment_bytes(conn, row.content_id, content, index)
            if data is not None:
                return data, meta
            raw = await rows.raw_bytes(conn, row.content_id)
        found = await asyncio.to_thread(_attachment_bytes, raw, attachment_id, self.limits)
        if found is None:
            raise NotFound("No such attachment on this message.", resource=Resource.ATTACHMENT)
        return found, meta

    async def set_read(
        self, principal: Principal, ref: str, message_id: str, is_read: bool
    ) -> dict[str, Any]:
        principal.require("messages:write")
        async with self.db.write() as conn:
            row = await self._row(conn, principal, ref, message_id)
            await rows.set_read(conn, row.id, is_read)
        return await self.get(principal, ref, message_id, mark_read=False)

    async def delete(self, principal: Principal, ref: str, message_id: str) -> None:
        principal.require("messages:write")
        async with self.db.write() as conn:
            row = await self._row(conn, principal, ref, message_id)
            await rows.delete(conn, row.id, row.content_id)
