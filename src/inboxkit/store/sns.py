"""Queries of the SNS message ids `POST /inbound/ses` has handled (`sns_messages`)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.store.tables import sns_messages

__all__ = ["outcome", "purge_older", "record"]


async def outcome(conn: AsyncConnection, message_id: str) -> str | None:
    """What became of an SNS message already handled, or None for a new one."""
    found = await conn.execute(
        sa.select(sns_messages.c.outcome).where(sns_messages.c.message_id == message_id)
    )
    return found.scalar_one_or_none()


async def record(
    conn: AsyncConnection, message_id: str, topic_arn: str, what: str, when: datetime
) -> None:
    """Claim `message_id`; raises the database's IntegrityError when it is already claimed
    (which rolls back whatever the transaction stored with it)."""
    await conn.execute(
        sns_messages.insert().values(
            message_id=message_id, topic_arn=topic_arn, outcome=what, received_at=when
        )
    )


async def purge_older(conn: AsyncConnection, cutoff: datetime, batch: int) -> int:
    """Forget at most `batch` message ids handled before `cutoff`; how many were forgotten."""
    oldest = (
        sa.select(sns_messages.c.message_id)
        .where(sns_messages.c.received_at < cutoff)
        .order_by(sns_messages.c.received_at)
        .limit(batch)
    )
    ids = list((await conn.execute(oldest)).scalars())
    if not ids:
        return 0
    await conn.execute(sns_messages.delete().where(sns_messages.c.message_id.in_(ids)))
    return len(ids)
