"""Rate limits are shared by every API process through Redis: two `inboxkit serve --role api`
processes on one PostgreSQL database and one (private) Redis count one caller together."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import _migrate
from tests.databases import command_env, fresh_postgres_database
from tests.realtime.processes import INBOXKIT, Process, RedisServer, free_port, until_true

PG_URL = os.environ.get("INBOXKIT_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("INBOXKIT_TEST_REDIS_URL")

pytestmark = pytest.mark.skipif(
    not (PG_URL and REDIS_URL),
    reason="needs INBOXKIT_TEST_DATABASE_URL and INBOXKIT_TEST_REDIS_URL",
)


@pytest.fixture
async def api_urls(tmp_path: Path) -> AsyncIterator[list[str]]:
    """Two API processes on the shipped plans (anonymous: 3 creations a minute)."""
    assert PG_URL
    databases = contextlib.AsyncExitStack()
    database_url = await databases.enter_async_context(fresh_postgres_database())
    await _migrate(database_url)
    redis = RedisServer(tmp_path)
    await redis.start()
    env = {
        **command_env(),
        "INBOXKIT_DATABASE_URL": database_url,
        "INBOXKIT_REDIS_URL": redis.url,
        "INBOXKIT_DATA_DIR": str(tmp_path / "data"),
        "PYTHONFAULTHANDLER": "1",
    }
    ports = [free_port(), free_port()]
    processes = [
        Process(
            f"api{n + 1}",
            [str(INBOXKIT), "serve", "--no-migrate", "--role", "api", "--http-port", str(port)],
            tmp_path,
            env,
        )
        for n, port in enumerate(ports)
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for process in processes:
            await process.start()
        async with httpx.AsyncClient(timeout=10) as http:
            for url in urls:

                async def ready(url: str = url) -> bool:
                    exited = [p.name for p in processes if p.exited]
                    assert not exited, f"{exited} exited during start-up"
                    return (await http.get(f"{url}/readyz")).status_code == 200

                await until_true(ready, timeout=60, what=f"{url}/readyz")
        yield urls
    except BaseException:
        print("\n".join(f"--- {p.name}\n{p.output()[-3000:]}" for p in processes))
        raise
    finally:
        codes = [await process.stop() for process in processes]
        await redis.process.stop()
        await databases.aclose()
    assert all(code in (0, -signal.SIGTERM) for code in codes), codes


async def test_anonymous_creations_are_counted_once_across_api_processes(api_urls: list[str]):
    first, second = api_urls
    async with httpx.AsyncClient(timeout=30) as http:
        statuses = []
        for url in (first, second, first):
            created = await http.post(f"{url}/api/v1/mailboxes", json={})
            statuses.append(created.status_code)
        assert statuses == [201, 201, 201]
        assert created.headers["RateLimit-Remaining"] == "0"

        # The fourth is refused by whichever process gets it.
        for url in (second, first):
            refused = await http.post(f"{url}/api/v1/mailboxes", json={})
            assert refused.status_code == 429, refused.text
            assert refused.json()["error"]["code"] == "rate_limited"
            assert 1 <= int(refused.headers["Retry-After"]) <= 60
