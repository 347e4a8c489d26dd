"""Apply Alembic migrations, from the CLI or from inside the running service.

Several processes may start at once (one SMTP and two API processes, say); a lock makes the
first one migrate while the others wait and then find nothing to do: a PostgreSQL advisory lock,
or an exclusive file lock beside the SQLite database.
"""

from __future__ import annotations

import asyncio
import fcntl
from pathlib import Path
from typing import TextIO

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from inboxkit.store import search, threads
from inboxkit.store.db import Database, create_private_file

__all__ = ["upgrade", "alembic_config", "backfill_search", "backfill_threads"]

_MIGRATIONS = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 0x1B0C_4B17  # any constant shared by every inboxkit process


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


def _upgrade_sync(connection: Connection, url: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def backfill_search(db: Database, batch: int = 2_000) -> int:
    """Index the messages stored before the search index existed (migration 0013), a batch per
    transaction, so a large table never holds one long transaction and a stopped run resumes
    where it left off. Returns how many rows it indexed (none once done: one index probe)."""
    total = 0
    while True:
        async with db.write() as conn:
            done = await search.backfill(conn, batch)
        total += done
        if done < batch:
            return total


async def backfill_threads(db: Database, batch: int = 1_000) -> int:
    """Thread the messages stored before threads existed (migration 0015), oldest first, a
    batch per transaction, with the code that threads new mail (`store/threads.py`, which also
    keeps each thread's newest visible and hidden message, migration 0018): like the search
    backfill, a large table never holds one long transaction, and a stopped run resumes. Until a row is reached its `thread_id` is null and it is in no
    thread; listings of messages are unaffected. Returns how many rows it threaded."""
    total = 0
    while True:
        async with db.write() as conn:
            done = await threads.backfill(conn, batch)
        total += done
        if done < batch:
            return total


def _lock_file(path: Path) -> TextIO:
    create_private_file(path)
    handle = path.open("w")
    fcntl.flock(handle, fcntl.LOCK_EX)  # blocks while another process migrates
    return handle


async def upgrade(db: Database) -> None:
    """Bring the schema to the newest revision."""
    if db.is_sqlite:
        path = sa.engine.make_url(db.url).database
        in_memory = not path or path == ":memory:"
        handle = (
            None if in_memory else await asyncio.to_thread(_lock_file, Path(f"{path}.migrate.lock"))
        )
        try:
            async with db.writer.connect() as conn:
                await conn.run_sync(_upgrade_sync, db.url)
                await conn.commit()
            await backfill_search(db)
            await backfill_threads(db)
        finally:
            if handle is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()
        return
    async with db.writer.connect() as conn:
        await conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _PG_LOCK_KEY})
        try:
            await conn.commit()
            await conn.run_sync(_upgrade_sync, db.url)
            await conn.commit()
            await backfill_search(db)
            await backfill_threads(db)
        finally:
            await conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY})
            await conn.commit()
