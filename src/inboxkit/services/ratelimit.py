"""A sliding-window rate limit kept in the database, so it holds across processes.

Each counted action is a row in `rate_events` under a bucket name ("webhook-test:<account>").
`take` runs inside the caller's write transaction: it forgets the bucket's rows older than the
window, counts the rest, and either refuses (`RateLimited`, with the seconds until the oldest
row leaves the window) or records one more. Concurrent takers of one bucket are serialised —
by SQLite's single writer, or on PostgreSQL by a transaction-scoped advisory lock on the
bucket's name — so two processes cannot both see room for the last slot.
"""

from __future__ import annotations

import math
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.errors import RateLimited
from inboxkit.ids import new_id
from inboxkit.store.db import Database
from inboxkit.store.tables import rate_events, utcnow

__all__ = ["SlidingWindow"]


class SlidingWindow:
    """At most `limit` actions per `window` seconds in each bucket."""

    def __init__(self, db: Database, *, limit: int, window: float, what: str, per: str):
        self.db = db
        self.limit = limit
        self.window = window
        self.what = what  # for the refusal: "webhook tests"
        self.per = per  # "account"

    async def take(self, conn: AsyncConnection, bucket: str) -> None:
        """Count one action in `bucket`, or raise RateLimited when the window is full."""
        if not self.db.is_sqlite:
            await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(bucket))))
        now = utcnow()
        start = now - timedelta(seconds=self.window)
        e = rate_events.c
        await conn.execute(rate_events.delete().where(e.bucket == bucket, e.created_at <= start))
        count, oldest = (
            await conn.execute(
                sa.select(sa.func.count(), sa.func.min(e.created_at)).where(e.bucket == bucket)
            )
        ).one()
        if count >= self.limit:
            wait = (oldest + timedelta(seconds=self.window) - now).total_seconds()
            retry_after = max(1, math.ceil(wait))
            raise RateLimited(
                f"At most {self.limit} {self.what} per {self.window:g} seconds are allowed per "
                f"{self.per}; retry in {retry_after} s.",
                retry_after=retry_after,
            )
        await conn.execute(rate_events.insert().values(id=new_id(), bucket=bucket, created_at=now))
