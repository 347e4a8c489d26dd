"""The database handle: engines, SQLite pragmas, readiness.

SQLite runs in WAL mode with `synchronous=FULL` so a commit is on disk before SMTP says 250.
Writers use `BEGIN IMMEDIATE`: a deferred transaction that reads and then writes can fail with
SQLITE_BUSY without waiting when another connection committed in between, so SQLite gets a
separate write engine whose transactions take the write lock up front. Readers keep deferred
transactions and never block each other. PostgreSQL uses one engine for both.

The SQLite database holds every message and key, so a data directory we create is private to
the service's user (0700) and so is the database file (0600). SQLite gives the `-wal` and `-shm`
files it creates the database file's permissions, so creating that file first covers them too.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

__all__ = ["Database", "conflict_insert", "create_private_file", "insert_unless_present"]

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 15_000
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def conflict_insert(conn: AsyncConnection, table: sa.Table) -> sqlite.Insert | postgresql.Insert:
    """`conn`'s dialect's INSERT into `table`, the one with `ON CONFLICT` clauses: both
    databases spell them alike, so one statement serves SQLite and PostgreSQL."""
    insert = sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert
    return insert(table)


async def insert_unless_present(conn: AsyncConnection, table: sa.Table, **values: Any) -> Any:
    """`INSERT … ON CONFLICT DO NOTHING`: rows that every process creates at start-up (the
    admin account, the seeded plans) when several start at once against one database, where
    checking first and then inserting would race."""
    return await conn.execute(
        conflict_insert(conn, table).values(**values).on_conflict_do_nothing()
    )


def create_private_file(path: Path) -> None:
    """Create `path` (and its directory, if missing) readable by this user only. An existing
    directory is left as the operator set it; an existing file is left as it is."""
    # Only the last folder gets the mode; parents the operator did not ask for stay ordinary.
    path.parent.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


def _prepare_sqlite_file(path: Path) -> None:
    create_private_file(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning(
            "the database %s can be read by other users (mode %o); run chmod 600 on it and "
            "on its -wal and -shm files",
            path,
            mode,
        )


def _sqlite_engine(url: str, *, immediate: bool, pool_size: int) -> AsyncEngine:
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=60,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from the driver so BEGIN is ours to issue.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


# PostgreSQL's SQLSTATEs for a transaction it aborted so another could go on: the work can
# simply be done again.
_RETRYABLE_STATES = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure


def retryable(exc: BaseException) -> bool:
    """Whether `exc` is PostgreSQL aborting a transaction over a deadlock or a serialization
    conflict, so running the transaction again is the whole remedy."""
    orig = getattr(exc, "orig", None)
    return isinstance(exc, sa.exc.DBAPIError) and (
        getattr(orig, "sqlstate", None) in _RETRYABLE_STATES
    )


class Database:
    """Owns the engines. `read()` and `write()` yield connections inside a transaction."""

    def __init__(self, url: str):
        self.url = url
        self.dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
        if self.dialect == "sqlite":
            path = sa.engine.make_url(url).database
            if path and path != ":memory:":
                _prepare_sqlite_file(Path(path))
            self.reader = _sqlite_engine(url, immediate=False, pool_size=8)
            self.writer = _sqlite_engine(url, immediate=True, pool_size=2)
        else:
            self.reader = create_async_engine(
                url, pool_size=10, max_overflow=20, pool_pre_ping=True
            )
            self.writer = self.reader

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.reader.connect() as conn:
            async with conn.begin():
                yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        async with self.writer.connect() as conn:
            async with conn.begin():
                yield conn

    async def ping(self) -> bool:
        try:
            async with self.reader.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
            return True
        except Exception:
            return False

    async def close(self) -> None:
        await self.reader.dispose()
        if self.writer is not self.reader:
            await self.writer.dispose()
