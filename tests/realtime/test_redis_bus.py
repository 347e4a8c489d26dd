"""The Redis bus between two service instances sharing one database: mail accepted by one wakes
a waiter held by the other, through a Redis restart, and without Redis at all (the database
catch-up). Each test runs its own redis-server so it can be killed without harming others."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from inboxkit.bus import ALL, RESYNC
from inboxkit.config import Settings
from tests.helpers import RunningServer, start_server
from tests.realtime.processes import RedisServer, until_true
from tests.realtime.support import subscribed, wait

pytestmark = pytest.mark.skipif(
    not os.environ.get("INBOXKIT_TEST_REDIS_URL"),
    reason="Redis tests run when INBOXKIT_TEST_REDIS_URL is set",
)


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path)
    await server.start()
    yield server
    await server.process.stop()


@asynccontextmanager
async def two_instances(
    settings: Settings, redis: RedisServer, poll_interval: float
) -> AsyncIterator[tuple[RunningServer, RunningServer]]:
    """An instance that receives SMTP and one that only serves the API, one database."""
    shared = settings.model_copy(
        update={"redis_url": redis.url, "wait_poll_interval": poll_interval}
    )
    async with start_server(shared, "all") as receiver, start_server(shared, "api") as api:
        yield receiver, api


async def bus_healthy(*servers: RunningServer) -> None:
    async def all_healthy() -> bool:
        return all([await s.runtime.bus.healthy() for s in servers])

    await until_true(all_healthy, what="the Redis bus to reconnect")


async def test_a_wait_in_one_instance_is_woken_through_redis_by_mail_the_other_accepted(
    settings: Settings, redis_server: RedisServer
):
    # The catch-up interval is longer than the wait: only the bus can end it with a message.
    async with two_instances(settings, redis_server, poll_interval=600) as (receiver, api):
        box = await api.create_inbox()
        waiter = asyncio.create_task(wait(api, box, timeout=30))
        await subscribed(api)
        await receiver.send(box["address"], subject="across instances")
        data = (await asyncio.wait_for(waiter, 35)).json()["data"]
        assert data["timed_out"] is False
        assert data["message"]["subject"] == "across instances"

        await redis_server.kill()
        await redis_server.start()
        await bus_healthy(receiver, api)
        waiter = asyncio.create_task(wait(api, box, timeout=30))
        await subscribed(api)
        await receiver.send(box["address"], subject="after a Redis restart")
        data = (await asyncio.wait_for(waiter, 35)).json()["data"]
        assert data["timed_out"] is False
        assert data["message"]["subject"] == "after a Redis restart"


async def test_mail_still_reaches_a_waiter_while_redis_is_down(
    settings: Settings, redis_server: RedisServer
):
    async with two_instances(settings, redis_server, poll_interval=0.5) as (receiver, api):
        box = await api.create_inbox()
        await redis_server.kill()
        waiter = asyncio.create_task(wait(api, box, timeout=30))
        await subscribed(api)
        await receiver.send(box["address"], subject="while Redis is down")  # 250, not 451
        data = (await asyncio.wait_for(waiter, 35)).json()["data"]
        assert data["timed_out"] is False
        assert data["message"]["subject"] == "while Redis is down"


async def test_readyz_reports_the_bus_down_while_redis_is_down_and_up_once_it_returns(
    settings: Settings, redis_server: RedisServer
):
    async with two_instances(settings, redis_server, poll_interval=0.5) as (_receiver, api):
        ready = await api.http.get(f"{api.base_url}/readyz")
        assert ready.status_code == 200 and ready.json()["checks"]["bus"] is True
        await redis_server.kill()

        async def reports_down() -> bool:
            response = await api.http.get(f"{api.base_url}/readyz")
            return response.status_code == 503 and response.json()["checks"]["bus"] is False

        await until_true(reports_down, what="readyz to report the bus down")
        await redis_server.start()

        async def reports_up() -> bool:
            return (await api.http.get(f"{api.base_url}/readyz")).status_code == 200

        await until_true(reports_up, what="readyz to report the bus up again")


async def test_after_a_redis_restart_workers_watching_every_mailbox_are_told_to_resync(
    settings: Settings, redis_server: RedisServer
):
    async with two_instances(settings, redis_server, poll_interval=600) as (_receiver, api):
        with api.runtime.bus.subscribe(ALL) as everything:
            everything.drain()
            await redis_server.kill()
            await redis_server.start()
            seen: list[str] = []
            while RESYNC not in seen:
                events = await asyncio.wait_for(everything.wait(None), 30)
                seen += [event.get("event") for event in events]
