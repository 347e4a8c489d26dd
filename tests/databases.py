"""Empty databases for tests that run the `inboxkit` command itself (migrate, serve)."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

__all__ = ["INBOXKIT", "PG_URL", "command_env", "fresh_postgres_database"]

INBOXKIT = str(Path(sys.executable).parent / "inboxkit")  # the console script in this venv
PG_URL = os.environ.get("INBOXKIT_TEST_DATABASE_URL")


def command_env() -> dict[str, str]:
    """This environment without any INBOXKIT_* setting, so only the flags given count."""
    return {k: v for k, v in os.environ.items() if not k.startswith("INBOXKIT_")}


@asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database on the test server; dropped afterwards."""
    import asyncpg

    assert PG_URL, "INBOXKIT_TEST_DATABASE_URL is not set"
    admin = PG_URL.replace("postgresql+asyncpg://", "postgresql://", 1)
    name = f"inboxkit_fresh_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(admin, timeout=10)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield f"{PG_URL.rpartition('/')[0]}/{name}"
    finally:
        conn = await asyncpg.connect(admin, timeout=10)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
