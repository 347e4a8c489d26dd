"""Queries of `rate_events`: the rows of the database-backed sliding-window limits.

Each counted action is one row under a bucket name; the policy (window, limit, the refusal)
is `services/ratelimit.py`'s.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.ids import new_id
from inboxkit.store.tables import rate_events

__all__ = ["count_since", "record"]


async def count_since(
    conn: AsyncConnection, bucket: str, start: datetime
) -> tuple[int, datetime | None]:
    """Forget the bucket's rows at or before `start`, then count the rest; returns the count
    and the oldest remaining row's time."""
    e = rate_events.c
    await conn.execute(rate_events.delete().where(e.bucket == bucket, e.created_at <= start))
    count, oldest = (
        await conn.execute(
            sa.select(sa.func.count(), sa.func.min(e.created_at)).where(e.bucket == bucket)
        )
    ).one()
    return int(count), oldest


async def record(conn: AsyncConnection, bucket: str, at: datetime) -> None:
    """Count one action in the bucket."""
    await conn.execute(rate_events.insert().values(id=new_id(), bucket=bucket, created_at=at))
