"""deliver(): resolve mailboxes -> parse -> extract -> store (one commit) -> publish.

SMTP DATA, HTTP ingest and local delivery of sent mail all call `Pipeline.deliver`. It returns
only after the commit, so a caller that acknowledges on return (SMTP's 250) never acknowledges
mail that is not on disk. Publishing happens after the commit and is only a wake-up.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.bus import Bus
from inboxkit.errors import InboxKitError
from inboxkit.ids import new_id
from inboxkit.mail.parse import ParsedMessage
from inboxkit.mail.pool import ParserPool
from inboxkit.services.mailboxes import MailboxService, Recipient
from inboxkit.services.messages import jsonable, summary
from inboxkit.store.batch import CommitBatcher
from inboxkit.store.tables import contents, mailboxes, messages, utcnow

__all__ = ["Envelope", "NoRecipients", "Pipeline", "StoreHook"]

log = logging.getLogger(__name__)

SEARCH_TEXT_CHARS = 4000
# Called inside the delivery transaction with the stored summaries (e.g. to queue webhooks in
# the same commit, so a crash can never store a message but lose its notification).
StoreHook = Callable[[AsyncConnection, list[dict[str, Any]]], Awaitable[None]]


class NoRecipients(InboxKitError):
    code, status, default_message = "not_found", 404, "None of the recipients is a live mailbox."


@dataclass(slots=True)
class Envelope:
    mail_from: str
    rcpt_tos: list[str]
    remote_addr: str | None = None
    helo: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "mail_from": self.mail_from,
            "rcpt_to": self.rcpt_tos,
            "remote_addr": self.remote_addr,
            "helo": self.helo,
        }


@dataclass(slots=True)
class _Target:
    mailbox_id: str
    address: str
    tags: list[str] = field(default_factory=list)


class Pipeline:
    def __init__(
        self, mailboxes: MailboxService, parser: ParserPool, batcher: CommitBatcher, bus: Bus
    ):
        self.mailboxes = mailboxes
        self.parser = parser
        self.batcher = batcher
        self.bus = bus
        self.store_hooks: list[StoreHook] = []

    async def _targets(
        self, rcpt_tos: list[str], resolved: list[Recipient] | None = None
    ) -> list[_Target]:
        """Live recipient mailboxes, one target per mailbox with every +tag it was sent to."""
        if resolved is None:
            resolved = [await self.mailboxes.resolve_recipient(address) for address in rcpt_tos]
        targets: dict[str, _Target] = {}
        for found in resolved:
            if found.status != "ok" or found.mailbox_id is None or found.address is None:
                continue
            target = targets.setdefault(found.mailbox_id, _Target(found.mailbox_id, found.address))
            if found.tag and found.tag not in target.tags:
                target.tags.append(found.tag)
        return list(targets.values())

    async def deliver(
        self,
        envelope: Envelope,
        raw: bytes,
        *,
        direction: str = "inbound",
        extra: dict[str, Any] | None = None,
        also: StoreHook | None = None,
        resolved: list[Recipient] | None = None,
    ) -> list[dict[str, Any]]:
        """Store `raw` once and give every live recipient mailbox its own message row.

        Returns the stored summaries; raises NoRecipients when no recipient is live any more,
        and whatever the store raised when the commit failed (nothing is acknowledged then).
        `also` runs inside the same transaction after the store hooks; if it raises, nothing
        is stored. `resolved` passes recipients already resolved (SMTP resolves them at RCPT
        time); the storing transaction re-checks that each mailbox still exists either way.
        """
        targets = await self._targets(envelope.rcpt_tos, resolved)
        if not targets:
            raise NoRecipients()
        return await self._store(targets, envelope, raw, direction, extra or {}, also)

    async def store_sent(
        self,
        mailbox_id: str,
        address: str,
        envelope: Envelope,
        raw: bytes,
        *,
        extra: dict[str, Any] | None = None,
        also: StoreHook | None = None,
    ) -> dict[str, Any]:
        """Store a message this server sends as one `outbound` row in the sender's mailbox,
        through the same parse-and-store path as received mail; `also` runs in the same
        transaction (the outbox row is queued there, so a stored message is never unsent)."""
        target = _Target(mailbox_id, address)
        (stored,) = await self._store([target], envelope, raw, "outbound", extra or {}, also)
        return stored

    async def _store(
        self,
        targets: list[_Target],
        envelope: Envelope,
        raw: bytes,
        direction: str,
        extra: dict[str, Any],
        also: StoreHook | None,
    ) -> list[dict[str, Any]]:
        parsed = await self.parser.parse(raw)
        content_row, message_rows = _rows(envelope, raw, parsed, targets, direction, extra)
        delivery = _Delivery(content_row, message_rows, also)
        stored: list[dict[str, Any]] = await self.batcher.submit(delivery, merge=self._write_many)
        if not stored:
            raise NoRecipients()
        addresses = {target.mailbox_id: target.address for target in targets}
        for item in stored:
            await self.bus.publish(
                {
                    "event": "message.received" if direction == "inbound" else "message.stored",
                    "mailbox_id": item["mailbox_id"],
                    "mailbox": addresses[item["mailbox_id"]],
                    "message": jsonable(item),
                }
            )
        return stored

    async def _write_many(
        self, conn: AsyncConnection, deliveries: list[_Delivery]
    ) -> list[list[dict[str, Any]]]:
        """Store every delivery of one group commit with set-based statements: one liveness
        check, one insert per table and one call of each store hook for the whole batch."""
        wanted = sorted({row["mailbox_id"] for d in deliveries for row in d.message_rows})
        live = await _lock_undeleted(conn, wanted)
        kept = [[row for row in d.message_rows if row["mailbox_id"] in live] for d in deliveries]
        content_rows = [d.content_row for d, rows in zip(deliveries, kept, strict=True) if rows]
        if content_rows:
            await conn.execute(contents.insert(), content_rows)
            await conn.execute(messages.insert(), [row for rows in kept for row in rows])
        stored = [[summary(_RowView(row)) for row in rows] for rows in kept]
        everything = [item for items in stored for item in items]
        if everything:
            for hook in self.store_hooks:
                await hook(conn, everything)
        for delivery, items in zip(deliveries, stored, strict=True):
            if delivery.also is not None and items:
                await delivery.also(conn, items)
        return stored


@dataclass(slots=True)
class _Delivery:
    """One parsed message waiting for a group commit."""

    content_row: dict[str, Any]
    message_rows: list[dict[str, Any]]
    also: StoreHook | None


async def _lock_undeleted(conn: AsyncConnection, mailbox_ids: list[str]) -> set[str]:
    """Which of the mailboxes still exist, read inside the storing transaction.

    Recipients are resolved before parsing, and a mailbox may be deleted (or swept) meanwhile;
    storing into it would leave mail that nothing ever purges. On PostgreSQL the rows are
    share-locked (in id order) so a concurrent delete waits for this commit and then purges
    what it stored; SQLite's write transactions are serialised already. A mailbox that merely
    expired meanwhile is kept: the sweeper purges it with everything else.
    """
    query = (
        sa.select(mailboxes.c.id)
        .where(mailboxes.c.id.in_(mailbox_ids), mailboxes.c.deleted_at.is_(None))
        .order_by(mailboxes.c.id)
        .with_for_update(read=True)
    )
    return set((await conn.execute(query)).scalars())


class _RowView:
    """Attribute access over an insert dict, so `summary()` serves rows and dicts alike."""

    def __init__(self, values: dict[str, Any]):
        self.__dict__.update(values)


def _rows(
    envelope: Envelope,
    raw: bytes,
    parsed: ParsedMessage,
    targets: list[_Target],
    direction: str,
    extra: dict[str, Any],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    now = utcnow()
    content_id = new_id()
    content_row = {
        "id": content_id,
        "size": len(raw),
        "raw": raw,
        "headers": parsed.headers,
        "text": parsed.text,
        "html": parsed.html,
        "attachments": [a.to_dict() for a in parsed.attachments],
        "code_details": parsed.code_details,
        "parse_error": parsed.parse_error,
        "created_at": now,
        # Prepared in the parse worker so reads neither sanitise nor re-parse (tables.py).
        "html_sanitized": parsed.html_sanitized,
        "attachment_data": (
            b"".join(a.data for a in parsed.attachments) if parsed.attachments else None
        ),
    }
    search_text = " ".join(
        [
            parsed.from_addr,
            parsed.from_name,
            parsed.subject,
            " ".join(parsed.to + parsed.cc + envelope.rcpt_tos),
            (parsed.text or parsed.preview)[:SEARCH_TEXT_CHARS],
        ]
    ).lower()
    message_rows = []
    for target in targets:
        message_rows.append(
            {
                "id": new_id(),
                "mailbox_id": target.mailbox_id,
                "content_id": content_id,
                "direction": direction,
                "from_addr": parsed.from_addr or envelope.mail_from,
                "from_name": parsed.from_name,
                "to_addrs": parsed.to,
                "cc_addrs": parsed.cc,
                "reply_to": parsed.reply_to,
                "subject": parsed.subject,
                "preview": parsed.preview,
                "received_at": now,
                "is_read": False,
                "has_attachments": bool(parsed.attachments),
                "size": len(raw),
                "codes": parsed.codes,
                "links": parsed.links,
                "has_code": bool(parsed.codes),
                "message_id": parsed.message_id,
                "in_reply_to": parsed.in_reply_to,
                "references": parsed.references,
                "envelope": envelope.to_dict(),
                "tags": target.tags,
                "parse_error": parsed.parse_error is not None,
                "search_text": search_text,
                "delivery_status": None,
                "delivery_error": None,
                **extra,
            }
        )
    return content_row, message_rows
