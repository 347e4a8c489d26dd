"""Shared fixtures: every test that takes `server` runs once per backend.

Backends: `sqlite` (SQLite file + in-process bus) always; `postgres` (PostgreSQL + Redis bus)
when INBOXKIT_TEST_DATABASE_URL is set. If it is set but unreachable the tests fail; they are
never silently skipped. Each test gets an empty database: a copy of a migrated SQLite template,
or a truncated PostgreSQL database created for this test session.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from inboxkit.config import Settings
from inboxkit.store.db import Database
from inboxkit.store.migrate import upgrade
from tests.helpers import RunningServer, start_server

PG_URL = os.environ.get("INBOXKIT_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("INBOXKIT_TEST_REDIS_URL")

BACKENDS = ["sqlite"] + (["postgres"] if PG_URL else [])


def _pg_admin_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _pg_create(url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_pg_admin_url(url), timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _pg_drop(url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_pg_admin_url(url), timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


async def _migrate(url: str) -> None:
    db = Database(url)
    try:
        await upgrade(db)
    finally:
        await db.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "inboxkit.db"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    assert PG_URL, "INBOXKIT_TEST_DATABASE_URL is not set"
    name = f"inboxkit_test_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_pg_create(PG_URL, name))
    except Exception as exc:  # set but unreachable: fail loudly, never skip
        pytest.fail(f"INBOXKIT_TEST_DATABASE_URL={PG_URL} is unreachable: {exc}", pytrace=False)
    url = _with_database(PG_URL, name)
    asyncio.run(_migrate(url))
    yield url
    asyncio.run(_pg_drop(PG_URL, name))


async def _truncate(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_pg_admin_url(url), timeout=10)
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
        names = ", ".join(f'"{row["tablename"]}"' for row in tables)
        if names:
            await conn.execute(f"TRUNCATE {names} CASCADE")
    finally:
        await conn.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """Settings for an app on free ports and an empty database of the current backend."""
    overrides: dict[str, object] = {
        "data_dir": tmp_path,
        "http_port": 0,
        "smtp_port": 0,
        "auto_migrate": False,
        "wait_poll_interval": 2.0,
        "parse_workers": 1,
        # Generous: the tests that are about the time budget set their own; every other test
        # must get the parse it asks for even on a loaded machine.
        "parse_timeout": 15.0,
    }
    if backend == "sqlite":
        overrides["database_url"] = None  # never a developer's INBOXKIT_DATABASE_URL
        overrides["redis_url"] = None
        shutil.copy(request.getfixturevalue("sqlite_template"), tmp_path / "inboxkit.db")
    else:
        url = request.getfixturevalue("pg_database")
        asyncio.run(_truncate(url))
        overrides["database_url"] = url
        if REDIS_URL:
            overrides["redis_url"] = REDIS_URL
    return Settings(_env_file=None, **overrides)  # type: ignore[call-arg]


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[RunningServer]:
    """The whole service (HTTP, SMTP, workers) on real sockets in this test's event loop."""
    async with start_server(settings) as running:
        yield running
