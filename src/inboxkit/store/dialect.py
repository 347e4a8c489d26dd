"""What differs between our two databases, written once: one interface, two implementations.

Three things are done differently on SQLite and PostgreSQL, and the queue, the webhook and outbox
workers and the long-poll all rely on them:

- Claiming rows of a work queue. On PostgreSQL the candidates are selected `FOR UPDATE SKIP
  LOCKED`, so concurrent claimers take different rows instead of queueing behind each other;
  on SQLite the write transaction (`BEGIN IMMEDIATE`) already serialises claimers.
- Serialising a check-then-insert across processes (a rate limit's count and its new row). On
  PostgreSQL a transaction-scoped advisory lock on the key; on SQLite the one write lock does it.
- Writes whose loss in a crash costs nothing but a retry (a lease claim, a read flag). On
  SQLite, where every commit waits for the disk, they join the group commit of `batch.py`, so
  a burst of them shares one fsync. On PostgreSQL they commit without waiting for the WAL
  flush (`synchronous_commit = OFF`): the write is visible to every session at once either way.

`create_dialect` picks the implementation once, from the Database, as `create_bus` does for
the bus.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.store.batch import CommitBatcher
from inboxkit.store.db import Database

__all__ = ["Dialect", "SqliteDialect", "PostgresDialect", "create_dialect"]

T = TypeVar("T")


class Dialect(ABC):
    """The database-specific half of claiming queue rows and of writes that may be lost."""

    def __init__(self, db: Database):
        self.db = db

    @abstractmethod
    def skip_locked(self, candidates: sa.Select[Any]) -> sa.Select[Any]:
        """`candidates` (rows about to be claimed) so that concurrent claimers skip each
        other's rows instead of waiting for them."""

    @abstractmethod
    async def serialise(self, conn: AsyncConnection, key: str) -> None:
        """Until `conn`'s transaction ends, make every other transaction that serialises on
        `key` wait: what this one counts cannot change before it commits."""

    @abstractmethod
    async def write_unflushed(self, write: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run `write` in a transaction that need not be durable on its own: losing it in a
        crash only means it is done again (a lease claimed again, a message unread again)."""


class SqliteDialect(Dialect):
    """One writer at a time: claims need no row locks, and a write is cheapest in a batch."""

    def __init__(self, db: Database, batcher: CommitBatcher | None = None):
        super().__init__(db)
        self.batcher = batcher

    def skip_locked(self, candidates: sa.Select[Any]) -> sa.Select[Any]:
        return candidates  # BEGIN IMMEDIATE already holds the one write lock

    async def serialise(self, conn: AsyncConnection, key: str) -> None:
        return None  # a write transaction already holds the one write lock

    async def write_unflushed(self, write: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        if self.batcher is not None:
            # Every write queues for the one write lock anyway: riding along in the batch of
            # concurrent deliveries saves a commit (and an fsync) of its own.
            result: T = await self.batcher.submit(write)
            return result
        async with self.db.write() as conn:
            return await write(conn)


class PostgresDialect(Dialect):
    """Many writers: claimers skip each other's rows, and lossy writes skip the WAL flush."""

    def skip_locked(self, candidates: sa.Select[Any]) -> sa.Select[Any]:
        return candidates.with_for_update(skip_locked=True)

    async def serialise(self, conn: AsyncConnection, key: str) -> None:
        await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(key))))

    async def write_unflushed(self, write: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        async with self.db.write() as conn:
            # Exclusion comes from locks, not durability: the commit need not wait for the
            # WAL to reach the disk.
            await conn.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
            return await write(conn)


def create_dialect(db: Database, batcher: CommitBatcher | None = None) -> Dialect:
    """The implementation for `db`. `batcher` (SQLite only) is the process's group commit."""
    if db.is_sqlite:
        return SqliteDialect(db, batcher)
    return PostgresDialect(db)
