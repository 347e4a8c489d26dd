"""Durable work queues in the database: claiming rows with a lease, handing them back.

The outbox and webhook deliveries are tables whose rows carry `status`, `attempts`,
`next_attempt_at`, `locked_until` and `lock_token`. Any number of worker processes claim due
rows with one conditional UPDATE: a row is taken only while it is due and unlocked, and the
claim stamps it with a fresh token and a lease. Whoever finishes a row updates it only where
the token is still theirs, so a worker that lost its lease (it stalled past `locked_until`
and another took over) cannot overwrite the new owner's result. A worker that dies simply
lets its lease run out and the row is claimed again: nothing is lost.

How concurrent claimers keep out of each other's way differs per database (`dialect.py`).
The loop that claims and runs rows is `workers/queue.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.ids import new_id
from inboxkit.store.db import Database
from inboxkit.store.dialect import Dialect, create_dialect
from inboxkit.store.tables import UTCDateTime, utcnow

__all__ = ["Claim", "claim", "next_due", "release"]

log = logging.getLogger(__name__)


class Claim:
    """Rows taken by one claim, and the token that proves it."""

    def __init__(self, token: str, rows: list[Any]):
        self.token = token
        self.rows = rows


async def claim(
    db: Database,
    table: sa.Table,
    status: str,
    limit: int,
    lease_seconds: float,
    dialect: Dialect | None = None,
) -> Claim:
    """Take up to `limit` due rows of `table` in `status`, leasing them for `lease_seconds`.

    A claim lost in a crash only means the rows are claimed again, so it is written as the
    dialect writes what need not be durable on its own; pass the process's dialect (the one
    that knows its commit batcher) so a claim on SQLite rides along in the group commit.
    """
    token = new_id()
    if limit <= 0:
        return Claim(token, [])
    dialect = dialect or create_dialect(db)
    c = table.c

    async def take(conn: AsyncConnection) -> list[Any]:
        now = utcnow()
        claimable = sa.and_(
            c.status == status,
            c.next_attempt_at <= now,
            sa.or_(c.locked_until.is_(None), c.locked_until < now),
        )
        candidates = dialect.skip_locked(
            sa.select(c.id).where(claimable).order_by(c.next_attempt_at).limit(limit)
        )
        ids = list((await conn.execute(candidates)).scalars())
        if not ids:
            return []
        return list(
            (
                await conn.execute(
                    table.update()
                    .where(c.id.in_(ids), claimable)
                    .values(
                        locked_until=now + timedelta(seconds=lease_seconds),
                        lock_token=token,
                        attempts=c.attempts + 1,
                    )
                    .returning(*table.c)
                )
            ).all()
        )

    rows = await dialect.write_unflushed(take)
    return Claim(token, sorted(rows, key=lambda row: row.next_attempt_at))


async def next_due(db: Database, table: sa.Table, status: str) -> datetime | None:
    """When a row in `status` is next claimable: its next attempt or, for a row leased to a
    worker, the lease running out (None when there is no such row). A read, so checking for
    work costs no write lock."""
    c = table.c
    claimable_at = sa.case(
        (
            sa.and_(c.locked_until.is_not(None), c.locked_until > c.next_attempt_at),
            c.locked_until,
        ),
        else_=c.next_attempt_at,
    )
    async with db.read() as conn:
        due: datetime | None = await conn.scalar(
            sa.select(sa.type_coerce(sa.func.min(claimable_at), UTCDateTime)).where(
                c.status == status
            )
        )
        return due


async def release(
    db: Database, table: sa.Table, status: str, taken: Iterable[tuple[str, str]]
) -> None:
    """Hand back rows whose attempt was interrupted (shutdown), given as (id, token) pairs, so
    a restarted worker retries them at once instead of waiting for the lease to run out."""
    taken = list(taken)
    if not taken:
        return
    c = table.c
    try:
        async with db.write() as conn:
            for row_id, token in taken:
                await conn.execute(
                    table.update()
                    .where(c.id == row_id, c.lock_token == token, c.status == status)
                    .values(locked_until=None, lock_token=None, attempts=c.attempts - 1)
                )
    except Exception as exc:  # the leases run out on their own
        log.warning("could not hand back %d interrupted %s rows: %s", len(taken), table.name, exc)
