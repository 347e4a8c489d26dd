"""The outbox rows' SQL: what the outbox sender reads and records (`workers/outbox.py`).

Every write on a claimed row checks its `lock_token` (see `queue.py`), so a worker that lost
its lease cannot overwrite what the new owner recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.store import rawcodec
from inboxkit.store.db import Database
from inboxkit.store.tables import (
    OutboxStatus,
    contents,
    idempotency_keys,
    messages,
    outbox,
    utcnow,
)

__all__ = [
    "Outcomes",
    "raw_messages",
    "record_outcomes",
    "reschedule",
    "finish",
    "cancel",
    "prune",
]

# Recipient address -> (outcome, SMTP reply): sent or failed for good, or to be retried.
Outcomes = dict[str, tuple[OutboxStatus | Literal["retry"], str]]


async def raw_messages(db: Database, message_ids: list[str]) -> dict[str, bytes]:
    """The stored bytes of these messages (one read for a whole claim); deleted ones are
    missing."""
    async with db.read() as conn:
        rows = await conn.execute(
            sa.select(messages.c.id, contents.c.raw, contents.c.raw_encoding, contents.c.size)
            .select_from(messages.join(contents, contents.c.id == messages.c.content_id))
            .where(messages.c.id.in_(message_ids))
        )
        return {
            row.id: await rawcodec.decode_off_loop(row.raw_encoding, bytes(row.raw), row.size)
            for row in rows
        }


async def record_outcomes(
    conn: AsyncConnection, row_id: str, token: str, outcomes: Outcomes
) -> tuple[list[str], dict[str, Any]] | None:
    """Record settled recipients on the row, if it is still ours; (pending, results), or None
    when another worker holds the row now."""
    row = (
        await conn.execute(
            sa.select(outbox.c.pending, outbox.c.results).where(
                outbox.c.id == row_id, outbox.c.lock_token == token
            )
        )
    ).first()
    if row is None:
        return None
    results = dict(row.results)
    pending = []
    for address in row.pending:
        kind, reply = outcomes.get(address, ("retry", ""))
        if kind == "retry":
            pending.append(address)
        else:
            results[address] = {"status": kind, "reply": reply}
    await conn.execute(
        outbox.update()
        .where(outbox.c.id == row_id)
        .values(pending=pending, results=results, updated_at=utcnow())
    )
    return pending, results


async def reschedule(
    conn: AsyncConnection, row_id: str, message_id: str, retry: datetime, reasons: str
) -> None:
    """Release the row until `retry`, and tell the message's reader why it has not gone yet."""
    await conn.execute(
        outbox.update()
        .where(outbox.c.id == row_id)
        .values(
            next_attempt_at=retry, locked_until=None, lock_token=None, last_error=reasons or None
        )
    )
    await conn.execute(
        messages.update()
        .where(messages.c.id == message_id)
        .values(delivery_error=f"Temporary failure, retrying: {reasons}"[:2000])
    )


async def finish(
    conn: AsyncConnection,
    row_id: str,
    message_id: str,
    status: OutboxStatus,
    results: dict[str, Any],
    error: str | None,
    returning: Sequence[Any],
) -> Any:
    """Close the row as `status` ("sent" or "failed") and stamp the message with it; returns
    the message's `returning` columns, or None when the message was deleted meanwhile."""
    await conn.execute(
        outbox.update()
        .where(outbox.c.id == row_id)
        .values(
            status=status,
            pending=[],
            results=results,
            last_error=error,
            locked_until=None,
            lock_token=None,
            updated_at=utcnow(),
        )
    )
    return (
        await conn.execute(
            messages.update()
            .where(messages.c.id == message_id)
            .values(delivery_status=status, delivery_error=error)
            .returning(*returning)
        )
    ).first()


async def cancel(db: Database, row_id: str, token: str) -> None:
    """Give the row up: its message was deleted before it went out."""
    async with db.write() as conn:
        await conn.execute(
            outbox.update()
            .where(outbox.c.id == row_id, outbox.c.lock_token == token)
            .values(
                status=OutboxStatus.CANCELLED,
                last_error="The message was deleted before it was sent.",
                locked_until=None,
                lock_token=None,
                updated_at=utcnow(),
            )
        )


async def prune(db: Database, keep: timedelta, idempotency_ttl: timedelta) -> None:
    """Forget finished rows older than `keep`, and idempotency keys older than their TTL."""
    now = utcnow()
    async with db.write() as conn:
        await conn.execute(
            outbox.delete().where(
                outbox.c.status != OutboxStatus.QUEUED, outbox.c.updated_at < now - keep
            )
        )
        await conn.execute(
            idempotency_keys.delete().where(idempotency_keys.c.created_at < now - idempotency_ttl)
        )
