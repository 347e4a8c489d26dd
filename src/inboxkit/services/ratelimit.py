"""A sliding-window rate limit kept in the database, so it holds across processes.

Each counted action is a row in `rate_events` under a bucket name ("webhook-test:<account>").
`take` runs inside the caller's write transaction: it forgets the bucket's rows older than the
window, counts the rest, and either refuses (`RateLimited`, with the seconds until the oldest
row leaves the window) or records one more. Concurrent takers of one bucket are serialised
(`Dialect.serialise`), so two processes cannot both see room for the last slot.
"""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.errors import RateLimited
from inboxkit.store import ratelimit as events
from inboxkit.store.dialect import Dialect
from inboxkit.store.tables import utcnow

__all__ = ["SlidingWindow"]


class SlidingWindow:
    """At most `limit` actions per `window` seconds in each bucket."""

    def __init__(self, dialect: Dialect, *, limit: int, window: float, what: str, per: str):
        self.dialect = dialect
        self.limit = limit
        self.window = window
        self.what = what  # for the refusal: "webhook tests"
        self.per = per  # "account"

    async def take(self, conn: AsyncConnection, bucket: str) -> None:
        """Count one action in `bucket`, or raise RateLimited when the window is full."""
        await self.dialect.serialise(conn, f"rate:{bucket}")
        now = utcnow()
        count, oldest = await events.count_since(conn, bucket, now - timedelta(seconds=self.window))
        if count >= self.limit:
            assert oldest is not None  # the limit is at least 1, so some row is counted
            wait = (oldest + timedelta(seconds=self.window) - now).total_seconds()
            retry_after = max(1, math.ceil(wait))
            raise RateLimited(
                f"At most {self.limit} {self.what} per {self.window:g} seconds are allowed per "
                f"{self.per}; retry in {retry_after} s.",
                retry_after=retry_after,
            )
        await events.record(conn, bucket, now)
