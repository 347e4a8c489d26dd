"""Messages: list, read, raw bytes, attachments, mark read, delete.

Reads serve what the parse worker prepared at delivery (sanitised HTML, decoded attachment
bytes; see `mail/prepare.py` and `store/tables.py`), so a read costs database I/O only. Rows
stored before those columns existed are served the old way, by sanitising or re-parsing in a
worker thread.
"""

from __future__ import annotations

import asyncio
import email
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic_core import to_jsonable_python

from inboxkit.config import Settings
from inboxkit.errors import NotFound, Resource
from inboxkit.mail.parse import POLICY, Limits, decode_payload, find_part
from inboxkit.mail.prepare import sanitize_html
from inboxkit.services.auth import Principal
from inboxkit.services.mailboxes import (
    MailboxService,
    decode_cursor,
    delete_orphan_contents,
    encode_cursor,
)
from inboxkit.store.db import Database
from inboxkit.store.tables import contents, messages

__all__ = [
    "MessageFilter",
    "MessageService",
    "summary",
    "SUMMARY_COLUMNS",
    "jsonable",
    "message_in",
]

SUMMARY_COLUMNS = (
    messages.c.id,
    messages.c.mailbox_id,
    messages.c.direction,
    messages.c.from_addr,
    messages.c.from_name,
    messages.c.to_addrs,
    messages.c.subject,
    messages.c.preview,
    messages.c.received_at,
    messages.c.is_read,
    messages.c.has_attachments,
    messages.c.size,
    messages.c.codes,
    messages.c.links,
    messages.c.tags,
    messages.c.parse_error,
    messages.c.delivery_status,
    messages.c.delivery_error,
)


def summary(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "mailbox_id": row.mailbox_id,
        "direction": row.direction,
        "from": row.from_addr,
        "from_name": row.from_name,
        "to": row.to_addrs,
        "subject": row.subject,
        "preview": row.preview,
        "received_at": row.received_at,
        "is_read": row.is_read,
        "has_attachments": row.has_attachments,
        "size": row.size,
        "codes": row.codes,
        "links": row.links,
        "tags": row.tags,
        "parse_error": row.parse_error,
        "delivery_status": row.delivery_status,
        "delivery_error": row.delivery_error,
    }


async def message_in(conn: Any, mailbox_id: str, message_id: str) -> Any:
    """The message's row, or NotFound when it is not in that mailbox."""
    row = (
        await conn.execute(
            sa.select(messages).where(
                messages.c.id == message_id, messages.c.mailbox_id == mailbox_id
            )
        )
    ).first()
    if row is None:
        raise NotFound("No such message in this mailbox.", resource=Resource.MESSAGE)
    return row


def jsonable(value: Any) -> Any:
    """Plain JSON types (ISO 8601 datetimes) for the bus, WebSocket, SSE and webhooks."""
    return to_jsonable_python(value)


@dataclass(slots=True)
class MessageFilter:
    """Filters shared by listing and waiting. String filters are case-insensitive substrings."""

    unread: bool | None = None
    since: datetime | None = None
    after: str | None = None
    from_contains: str | None = None
    subject_contains: str | None = None
    to_contains: str | None = None
    q: str | None = None
    direction: str | None = None
    has_code: bool | None = None

    def apply(self, query: sa.Select[Any]) -> sa.Select[Any]:
        c = messages.c
        if self.unread is not None:
            query = query.where(c.is_read.is_(not self.unread))
        if self.since is not None:
            query = query.where(c.received_at >= self.since)
        if self.after is not None:
            query = query.where(c.id > self.after)
        if self.from_contains:
            needle = self.from_contains.lower()
            query = query.where(
                sa.or_(
                    sa.func.lower(c.from_addr).contains(needle, autoescape=True),
                    sa.func.lower(c.from_name).contains(needle, autoescape=True),
                )
            )
        if self.subject_contains:
            query = query.where(
                sa.func.lower(c.subject).contains(self.subject_contains.lower(), autoescape=True)
            )
        if self.to_contains:
            # The To and Cc headers only (a body that mentions the address must not match);
            # JSON text is compared case-insensitively on both backends.
            needle = self.to_contains.lower()
            query = query.where(
                sa.or_(
                    sa.func.lower(sa.cast(c.to_addrs, sa.Text)).contains(needle, autoescape=True),
                    sa.func.lower(sa.cast(c.cc_addrs, sa.Text)).contains(needle, autoescape=True),
                )
            )
        if self.direction:
            query = query.where(c.direction == self.direction)
        if self.has_code is not None:
            query = query.where(c.has_code.is_(self.has_code))
        if self.q:
            needle = self.q.lower()
            body_match = sa.exists().where(
                contents.c.id == c.content_id,
                sa.func.lower(contents.c.text).contains(needle, autoescape=True),
            )
            query = query.where(sa.or_(c.search_text.contains(needle, autoescape=True), body_match))
        return query


def _attachment_bytes(raw: bytes, attachment_id: str, limits: Limits) -> bytes | None:
    part = find_part(email.message_from_bytes(raw, policy=POLICY), attachment_id, limits)
    return None if part is None else decode_payload(part)


class MessageService:
    def __init__(self, settings: Settings, db: Database, mailboxes: MailboxService):
        self.settings = settings
        self.db = db
        self.mailboxes = mailboxes
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
    ) -> tuple[list[dict[str, Any]], str | None]:
        principal.require("messages:read")
        async with self.db.read() as conn:
            box = await self.mailboxes.find(principal, ref, conn)
            query = sa.select(*SUMMARY_COLUMNS).where(messages.c.mailbox_id == box.id)
            query = flt.apply(query)
            if cursor:
                query = query.where(messages.c.id < decode_cursor(cursor))
            rows = (await conn.execute(query.order_by(messages.c.id.desc()).limit(limit + 1))).all()
        page = rows[:limit]
        next_cursor = encode_cursor(page[-1].id) if len(rows) > limit else None
        return [summary(row) for row in page], next_cursor

    async def _row(self, conn: Any, principal: Principal, ref: str, message_id: str) -> Any:
        box = await self.mailboxes.find(principal, ref, conn)
        return await message_in(conn, box.id, message_id)

    async def get(
        self, principal: Principal, ref: str, message_id: str, *, mark_read: bool = True
    ) -> dict[str, Any]:
        principal.require("messages:read")
        async with self.db.read() as conn:
            row = await self._row(conn, principal, ref, message_id)
            body = (
                await conn.execute(
                    sa.select(
                        contents.c.headers,
                        contents.c.text,
                        contents.c.html,
                        contents.c.attachments,
                        contents.c.code_details,
                        contents.c.parse_error,
                        contents.c.html_sanitized,
                    ).where(contents.c.id == row.content_id)
                )
            ).one()
        html_sanitized = body.html_sanitized
        if body.html and html_sanitized is None:  # stored before sanitising at parse time
            html_sanitized = await asyncio.to_thread(sanitize_html, body.html)
        if mark_read and not row.is_read:
            async with self.db.write() as conn:
                await conn.execute(
                    messages.update().where(messages.c.id == row.id).values(is_read=True)
                )
        result = summary(row)
        result["is_read"] = row.is_read or mark_read
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
                "attachments": body.attachments,
                "envelope": row.envelope,
                "code_candidates": body.code_details,
                "parse_error_detail": body.parse_error,
            }
        )
        return result

    async def raw(self, principal: Principal, ref: str, message_id: str) -> bytes:
        principal.require("messages:read")
        async with self.db.read() as conn:
            row = await self._row(conn, principal, ref, message_id)
            return bytes(
                await conn.scalar(sa.select(contents.c.raw).where(contents.c.id == row.content_id))
            )

    async def attachment(
        self, principal: Principal, ref: str, message_id: str, attachment_id: str
    ) -> tuple[bytes, dict[str, Any]]:
        """The decoded bytes of one attachment and its metadata.

        Only that attachment's slice of the stored bytes is read; a row stored before those
        existed (or whose stored bytes do not add up) is re-parsed from its raw message."""
        principal.require("messages:read")
        c = contents.c
        async with self.db.read() as conn:
            row = await self._row(conn, principal, ref, message_id)
            content = (
                await conn.execute(
                    sa.select(
                        c.attachments,
                        sa.func.length(c.attachment_data).label("stored_bytes"),
                    ).where(c.id == row.content_id)
                )
            ).one()
            index = next(
                (i for i, a in enumerate(content.attachments) if a["id"] == attachment_id), None
            )
            if index is None:
                raise NotFound("No such attachment on this message.", resource=Resource.ATTACHMENT)
            meta = content.attachments[index]
            sizes = [int(a["size"]) for a in content.attachments]
            if content.stored_bytes is not None and content.stored_bytes == sum(sizes):
                offset = sum(sizes[:index])
                data = await conn.scalar(
                    sa.select(
                        sa.func.substr(
                            c.attachment_data, offset + 1, sizes[index], type_=sa.LargeBinary
                        )
                    ).where(c.id == row.content_id)
                )
                return bytes(data or b""), meta
            raw = bytes(await conn.scalar(sa.select(c.raw).where(c.id == row.content_id)))
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
            await conn.execute(
                messages.update().where(messages.c.id == row.id).values(is_read=is_read)
            )
        return await self.get(principal, ref, message_id, mark_read=False)

    async def delete(self, principal: Principal, ref: str, message_id: str) -> None:
        principal.require("messages:write")
        async with self.db.write() as conn:
            row = await self._row(conn, principal, ref, message_id)
            await conn.execute(messages.delete().where(messages.c.id == row.id))
            await delete_orphan_contents(conn, {row.content_id})
