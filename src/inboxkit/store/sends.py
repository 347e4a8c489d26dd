"""Queries of the sending side: queueing an `outbox` row, counting recent sends, and the
`idempotency_keys` that let a retried send get its first answer.

The outbox rows double as the send-rate count, so every process counts the same sends. The
worker side of the outbox (claiming, delivering, finishing rows) is not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.ids import id_at
from inboxkit.store.tables import OutboxStatus, idempotency_keys, outbox

# A result row of any shape (SQLAlchemy types rows by their column tuple).
Row = sa.Row[*tuple[Any, ...]]

__all__ = [
    "SEND_BUDGET_KEY",
    "QueuedSend",
    "queue",
    "remember_response",
    "remembered_response",
    "sent_since",
]

# What senders serialise on (`Dialect.serialise`) for the send-rate check and the outbox
# insert across processes.
SEND_BUDGET_KEY = "send-budget"


@dataclass(frozen=True, slots=True)
class QueuedSend:
    """A message to queue for sending: who sends it, to whom, and when to first try."""

    id: str
    mailbox_id: str
    mail_from: str
    recipients: list[str]
    bcc: frozenset[str]  # lower-cased; these recipients are not shown in the headers
    next_attempt_at: datetime
    created_at: datetime


async def queue(conn: AsyncConnection, send: QueuedSend, message_id: str) -> None:
    """Insert the outbox row for the stored outbound message `message_id`."""
    await conn.execute(
        outbox.insert().values(
            id=send.id,
            mailbox_id=send.mailbox_id,
            mail_from=send.mail_from,
            recipients=[{"address": a, "bcc": a.lower() in send.bcc} for a in send.recipients],
            pending=send.recipients,
            results={},
            status=OutboxStatus.QUEUED,
            attempts=0,
            next_attempt_at=send.next_attempt_at,
            created_at=send.created_at,
            updated_at=send.created_at,
            message_id=message_id,
        )
    )


async def sent_since(
    conn: AsyncConnection, start: datetime, mailbox_id: str | None = None
) -> tuple[int, datetime | None]:
    """Outbox rows queued after `start` (by this mailbox, or by anyone), and the oldest one's
    time."""
    query = sa.select(sa.func.count(), sa.func.min(outbox.c.created_at)).where(
        outbox.c.created_at > start
    )
    if mailbox_id is not None:
        query = query.where(outbox.c.mailbox_id == mailbox_id)
    else:
        # Ids are time-ordered and minted no earlier than `created_at`: bounding the id
        # as well makes the server-wide count a range scan of the primary key.
        floor = id_at(int(start.timestamp() * 1000))
        query = query.where(outbox.c.id >= floor)
    row = (await conn.execute(query)).one()
    return int(row[0]), row[1]


async def remembered_response(
    conn: AsyncConnection, key_id: str, newer_than: datetime
) -> Row | None:
    """The idempotency row (request hash, response) stored for `key_id` after `newer_than`."""
    query = sa.select(idempotency_keys).where(
        idempotency_keys.c.id == key_id, idempotency_keys.c.created_at > newer_than
    )
    return (await conn.execute(query)).first()


async def remember_response(
    conn: AsyncConnection,
    key_id: str,
    request_hash: str,
    response: dict[str, Any],
    *,
    now: datetime,
    expired_at_or_before: datetime,
) -> None:
    """Store the answer given for `key_id`, replacing an expired row of the same key. A
    concurrent first use of the key makes this raise IntegrityError."""
    await conn.execute(
        idempotency_keys.delete().where(
            idempotency_keys.c.id == key_id, idempotency_keys.c.created_at <= expired_at_or_before
        )
    )
    await conn.execute(
        idempotency_keys.insert().values(
            id=key_id, request_hash=request_hash, response=response, created_at=now
        )
    )
