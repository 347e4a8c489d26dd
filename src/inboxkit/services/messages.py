"""Messages: list, read, raw bytes, attachments, mark read, label, delete.

Reads serve what the parse worker prepared at delivery (sanitised HTML, decoded attachment
bytes; see `mail/prepare.py` and `store/tables.py`), so a read costs database I/O only. Rows
stored before those columns existed are served the old way, by sanitising or re-parsing in a
worker thread.
"""

from __future__ import annotations

import asyncio
import email
import email.utils
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.config import Settings
from inboxkit.errors import BadRequest, NotFound, Resource, ValidationFailed
from inboxkit.ids import is_id
from inboxkit.labels import MAX_LABELS_PER_MESSAGE, LabelError, normalise, user_labels
from inboxkit.mail.forward import ForwardedAttachment, ForwardedMessage
from inboxkit.mail.markdown import markdown
from inboxkit.mail.parse import POLICY, Limits, decode_payload, find_part
from inboxkit.mail.prepare import sanitize_html
from inboxkit.mail.reply import reply_text
from inboxkit.records import MessageSummary, summary
from inboxkit.senders import authentication_results
from inboxkit.services.auth import Principal
from inboxkit.services.mailboxes import MailboxService, decode_cursor, encode_cursor
from inboxkit.services.search import SearchService, parse_query
from inboxkit.store import labels as label_rows
from inboxkit.store import messages as rows
from inboxkit.store.db import Database
from inboxkit.store.tables import messages

__all__ = [
    "MAX_BATCH",
    "MessageChange",
    "MessageFilter",
    "MessageService",
    "forwardable",
    "message_in",
]

# Messages one batch may change (DESIGN §13).
MAX_BATCH = 100


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
    in an agent mailbox, DESIGN §9) instead of the rest; a wait never asks for it. `label`
    (lists only) keeps the messages carrying that label, user or system (labels.py): `spam`
    is the spam folder, as `spam` is."""

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
    label: str | None = None
    # Messages of this conversation only (a wait for the next reply in a thread).
    thread_id: str | None = None

    def apply(self, query: sa.Select[Any], mailbox_id: str | None = None) -> sa.Select[Any]:
        """`query` (over `messages`, of `mailbox_id` if given) narrowed to the rows this filter
        matches."""
        return rows.apply_filter(query, self, mailbox_id)


@dataclass(frozen=True, slots=True)
class MessageChange:
    """What a PATCH or a batch changes on messages: read state, labels added and removed
    (as given: `MessageService` checks and normalises them). At least one must be set."""

    is_read: bool | None = None
    add_labels: Sequence[str] = ()
    remove_labels: Sequence[str] = ()

    def checked(self) -> tuple[list[str], list[str]]:
        """The labels to add and to remove, normalised; ValidationFailed (malformed, too
        many) or BadRequest (a system label) otherwise, and when nothing would change.
        Removals apply after additions: a label named in both ends up absent."""
        if self.is_read is None and not self.add_labels and not self.remove_labels:
            raise ValidationFailed(
                "Say what to change: `is_read`, `add_labels` or `remove_labels`."
            )
        try:
            add = user_labels(self.add_labels, "add_labels")
            remove = user_labels(self.remove_labels, "remove_labels")
        except LabelError as exc:
            raise (BadRequest if exc.reserved else ValidationFailed)(exc.message) from None
        return add, remove


def _label_filter(flt: MessageFilter) -> MessageFilter:
    """`flt` with its label normalised, and asking for the spam folder when its query does
    (`label:spam`), as `?label=spam` does."""
    if flt.label is not None:
        try:
            flt = replace(flt, label=normalise(flt.label))
        except LabelError as exc:
            raise ValidationFailed(f"label: {exc.message}") from None
    if flt.q and not flt.spam and parse_query(flt.q).asks_spam:
        flt = replace(flt, spam=True)
    return flt


def _for_readers(text: str | None, html: str | None, subject: str) -> tuple[str | None, str | None]:
    """`reply_text` and `markdown`: None for a message with no body (one that could not be
    parsed)."""
    if not text and not html:
        return None, None
    return reply_text(text, html, subject), markdown(text, html)


def _attachment_bytes(raw: bytes, attachment_id: str, limits: Limits) -> bytes | None:
    part = find_part(email.message_from_bytes(raw, policy=POLICY), attachment_id, limits)
    return None if part is None else decode_payload(part)


def _sent_at(headers: Any, received_at: datetime) -> datetime:
    """The original's Date header, else when it was received."""
    for pair in headers or []:
        if isinstance(pair, list | tuple) and len(pair) == 2 and str(pair[0]).lower() == "date":
            try:
                return email.utils.parsedate_to_datetime(str(pair[1]))
            except (TypeError, ValueError, IndexError):
                break
    return received_at


async def forwardable(conn: AsyncConnection, row: Any, limits: Limits) -> ForwardedMessage:
    """What a forward of the message `row` shows (mail/forward.py): its summary fields, its
    text, its HTML as sanitised for display and every attachment's decoded bytes (each read
    from its own prepared slice; the raw message is re-parsed only for a row stored before
    those existed)."""
    body = await rows.body(conn, row.content_id)
    content = await rows.attachment_index(conn, row.content_id)
    found = [
        await rows.attachment_bytes(conn, row.content_id, content, index)
        for index in range(len(content.attachments))
    ]
    raw = await rows.raw_bytes(conn, row.content_id) if None in found else None
    attachments = []
    for meta, data in zip(content.attachments, found, strict=True):
        if data is None and raw is not None:
            data = await asyncio.to_thread(_attachment_bytes, raw, meta["id"], limits)
        attachments.append(
            ForwardedAttachment(
                filename=meta.get("filename"),
                content_type=meta.get("content_type") or "application/octet-stream",
                data=data or b"",
                content_id=meta.get("content_id"),
            )
        )
    html_sanitized = body.html_sanitized
    if body.html and html_sanitized is None:  # stored before sanitising at parse time
        html_sanitized = await asyncio.to_thread(sanitize_html, body.html)
    return ForwardedMessage(
        from_addr=row.from_addr,
        from_name=row.from_name,
        date=_sent_at(body.headers, row.received_at),
        subject=row.subject,
        to=list(row.to_addrs),
        cc=list(row.cc_addrs),
        text=body.text,
        html_sanitized=html_sanitized if body.html else None,
        message_id=row.message_id,
        references=list(row.references or []),
        attachments=attachments,
    )


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
        flt = _label_filter(flt)
        if flt.q:
            # `q` is the query language over the full-text index; the other filters narrow it.
            async with self.db.read() as conn:
                box = await self.mailboxes.find(principal, ref, conn)
                base = flt.apply(sa.select(messages.c.id), box.id).whereclause
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
        return await self.update(principal, ref, message_id, MessageChange(is_read=is_read))

    async def update(
        self, principal: Principal, ref: str, message_id: str, change: MessageChange
    ) -> dict[str, Any]:
        """Mark one message read or unread and add or remove its labels; returns the whole
        message as it is now. Removing a label it does not carry changes nothing."""
        principal.require("messages:write")
        add, remove = change.checked()
        async with self.db.write() as conn:
            box = await self.mailboxes.find(principal, ref, conn)
            await self._change(conn, box.id, [message_id], change.is_read, add, remove)
        return await self.get(principal, ref, message_id, mark_read=False)

    async def update_many(
        self, principal: Principal, ref: str, message_ids: Sequence[str], change: MessageChange
    ) -> dict[str, Any]:
        """The same change to up to MAX_BATCH messages of one mailbox, all or nothing: when one
        id is not a message of the mailbox (missing, or another account's), NotFound names it
        and no message changes. Returns `updated` (how many), `ids` and the `messages` as
        they are now (summaries, in the order asked)."""
        principal.require("messages:write")
        ids = list(message_ids)
        if not 1 <= len(ids) <= MAX_BATCH:
            raise ValidationFailed(
                f"`ids` lists 1 to {MAX_BATCH} message ids; it has {len(ids)}. Split the batch."
            )
        if len(set(ids)) != len(ids):
            repeated = next(i for n, i in enumerate(ids) if i in ids[:n])
            raise ValidationFailed(f"`ids` lists {repeated[:40]!r} more than once; list each once.")
        add, remove = change.checked()
        async with self.db.write() as conn:
            box = await self.mailboxes.find(principal, ref, conn)
            await self._change(conn, box.id, ids, change.is_read, add, remove)
            found = await rows.summaries(conn, box.id, ids)
        by_id = {row.id: summary(row) for row in found}
        return {"updated": len(ids), "ids": ids, "messages": [by_id[i] for i in ids]}

    async def _change(
        self,
        conn: AsyncConnection,
        mailbox_id: str,
        ids: Sequence[str],
        is_read: bool | None,
        add: Sequence[str],
        remove: Sequence[str],
    ) -> None:
        """Apply one change to messages of the mailbox in the caller's transaction, or raise
        before writing anything (the transaction then commits nothing)."""
        present = await label_rows.lock(conn, mailbox_id, [i for i in ids if is_id(i)])
        missing = next((i for i in ids if i not in present), None)
        if missing is not None:
            raise NotFound(
                f"No message {missing[:40]!r} in this mailbox; nothing was changed.",
                resource=Resource.MESSAGE,
            )
        if add or remove:
            before = await label_rows.of(conn, ids)
            after = {i: (labels | set(add)) - set(remove) for i, labels in before.items()}
            over = next((i for i in ids if len(after[i]) > MAX_LABELS_PER_MESSAGE), None)
            if over is not None:
                raise ValidationFailed(
                    f"A message carries at most {MAX_LABELS_PER_MESSAGE} labels; message "
                    f"{over} would have {len(after[over])}. Remove some first; nothing was "
                    "changed."
                )
            await label_rows.change(conn, mailbox_id, before, after)
        if is_read is not None:
            await label_rows.set_read(conn, ids, is_read)

    async def delete(self, principal: Principal, ref: str, message_id: str) -> None:
        principal.require("messages:write")
        async with self.db.write() as conn:
            row = await self._row(conn, principal, ref, message_id)
            await rows.delete(conn, row.id, row.content_id)
