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
from urllib.parse import urlsplit, urlunsplit

import pytest

from inboxkit.config import Settings
from inboxkit.store.db import Database
from inboxkit.store.migrate import upgrade
from tests.helpers import RunningServer, start_server
from tests.rspamd import Rspamd

PG_URL = os.environ.get("INBOXKIT_TEST_DATABASE_URL")

# Sender authentication would send DNS queries to the machine's resolver for every message to
# an agent mailbox; tests reach no network, so it is off unless a test turns it on with its own
# resolver (tests/senders). Set in the environment so servers started as subprocesses agree.
os.environ.setdefault("INBOXKIT_VERIFY_SENDERS", "none")


def _worker_redis_url(url: str | None) -> str | None:
    """The Redis database this pytest process uses: under pytest-xdist each worker takes the
    next database number, so keys such as the stream-slot sets of the fixed admin account are
    never shared by tests running at the same time. (Pub/sub is not per database, but bus
    events name random mailbox ids: another worker's events only wake a worker early.)"""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", … or unset
    if not url or not worker.startswith("gw"):
        return url
    parts = urlsplit(url)
    number = (int(parts.path.strip("/") or 0) + int(worker[2:])) % 16  # databases 0-15
    return urlunsplit(parts._replace(path=f"/{number}"))


REDIS_URL = _worker_redis_url(os.environ.get("INBOXKIT_TEST_REDIS_URL"))

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


async def _clear_rate_limits(url: str) -> None:
    """Forget the rate-limit counts a previous test left in this worker's Redis database, so
    every test starts with a full allowance (the counts are per caller address, and every test
    calls from 127.0.0.1)."""
    import redis.asyncio as aioredis

    from inboxkit.services.throttle import KEY_PREFIX

    client = aioredis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        keys = [key async for key in client.scan_iter(match=f"{KEY_PREFIX}:*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


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
            asyncio.run(_clear_rate_limits(REDIS_URL))
    return Settings(_env_file=None, **overrides)  # type: ignore[call-arg]


@pytest.fixture
async def server(
    settings: Settings, request: pytest.FixtureRequest
) -> AsyncIterator[RunningServer]:
    """The whole service (HTTP, SMTP, workers) on real sockets in this test's event loop. The
    anonymous plan's counts and rates are lifted unless the test is marked `plan_defaults`."""
    defaults = request.node.get_closest_marker("plan_defaults") is not None
    async with start_server(settings, plan_defaults=defaults) as running:
        yield running


@pytest.fixture(scope="session")
def rspamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rspamd]:
    """A real rspamd on a free port, shared by the tests of this pytest process (its
    configuration: tests/rspamd.py). Skips without `rspamd` unless INBOXKIT_REQUIRE_RSPAMD=1."""
    server = Rspamd(tmp_path_factory.mktemp("rspamd"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


# Tests that start the service, in this process or as `inboxkit` / pytest subprocesses, take
# seconds each: they are marked `service`, and `make test-fast` (-m "not service") runs the
# rest. Taking the `backend` fixture (`server`, `settings`) marks a test; these modules start
# the service without it.
SERVICE_MODULES = {
    "tests/cli/test_keys.py",
    "tests/client/test_docs.py",
    "tests/client/test_pytest_plugin.py",
    "tests/mcp/test_stdio.py",
    "tests/realtime/test_multiprocess.py",
    "tests/realtime/test_redis_bus.py",
    "tests/realtime/test_shared_rate_limits.py",
    "tests/store/test_data_dir.py",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.nodeid.partition("::")[0]
        if "backend" in getattr(item, "fixturenames", ()) or module in SERVICE_MODULES:
            item.add_marker(pytest.mark.service)
