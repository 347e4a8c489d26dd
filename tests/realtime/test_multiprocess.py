"""Many processes, one service: `inboxkit serve --role smtp|api|worker` on PostgreSQL and Redis.

Mail accepted by the SMTP process reaches a long-poll, a WebSocket and an SSE stream held by two
separate API processes, and keeps doing so while Redis is killed and restarted (a private
redis-server, never the machine's)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import aiosmtplib
import httpx
import pytest
from httpx_sse import aconnect_sse
from websockets.asyncio.client import connect

from tests.conftest import _migrate, _pg_create, _pg_drop, _with_database
from tests.helpers import make_message
from tests.realtime.processes import INBOXKIT, Process, RedisServer, free_port, until_true

PG_URL = os.environ.get("INBOXKIT_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("INBOXKIT_TEST_REDIS_URL")

pytestmark = pytest.mark.skipif(
    not (PG_URL and REDIS_URL),
    reason="needs INBOXKIT_TEST_DATABASE_URL and INBOXKIT_TEST_REDIS_URL",
)


@dataclass
class Cluster:
    smtp_port: int
    api_urls: list[str]
    redis: RedisServer
    processes: list[Process]
    http: httpx.AsyncClient

    async def subscribers(self, api: int) -> float:
        """The `inboxkit_bus_subscribers` gauge of one API process."""
        text = (await self.http.get(f"{self.api_urls[api]}/metrics")).text
        match = re.search(r"^inboxkit_bus_subscribers (\S+)$", text, re.MULTILINE)
        return float(match.group(1)) if match else 0.0

    async def until_subscribed(self, api: int, count: int) -> None:
        async def enough() -> bool:
            return await self.subscribers(api) >= count

        await until_true(enough, what=f"{count} subscriber(s) in API process {api + 1}")

    async def until_ready(self) -> None:
        for url in self.api_urls:

            async def ready(url: str = url) -> bool:
                exited = [p.name for p in self.processes if p.exited]
                if exited:
                    pytest.fail(f"{exited} exited during start-up:\n{self.logs()}", pytrace=False)
                return (await self.http.get(f"{url}/readyz")).status_code == 200

            await until_true(ready, timeout=60, what=f"{url}/readyz")

    async def send(self, to: str, subject: str) -> None:
        await aiosmtplib.send(
            make_message(to, subject, "hello from another process"),
            sender="sender@example.com",
            recipients=[to],
            hostname="127.0.0.1",
            port=self.smtp_port,
            timeout=30,
        )

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.output()[-3000:]}" for p in self.processes)


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    assert PG_URL and REDIS_URL
    name = f"inboxkit_mp_{uuid.uuid4().hex[:10]}"
    await _pg_create(PG_URL, name)
    database_url = _with_database(PG_URL, name)
    await _migrate(database_url)
    redis = RedisServer(tmp_path)
    await redis.start()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("INBOXKIT_")},
        "INBOXKIT_DATABASE_URL": database_url,
        "INBOXKIT_REDIS_URL": redis.url,
        "INBOXKIT_DATA_DIR": str(tmp_path / "data"),
        "INBOXKIT_WAIT_POLL_INTERVAL": "1",
        "INBOXKIT_PING_INTERVAL": "5",
        "PYTHONFAULTHANDLER": "1",
    }
    smtp_port, api_ports = free_port(), [free_port(), free_port()]
    serve = [str(INBOXKIT), "serve", "--no-migrate"]
    processes = [
        Process("smtp", [*serve, "--role", "smtp", "--smtp-port", str(smtp_port)], tmp_path, env),
        *(
            Process(
                f"api{n + 1}", [*serve, "--role", "api", "--http-port", str(port)], tmp_path, env
            )
            for n, port in enumerate(api_ports)
        ),
        Process("worker", [*serve, "--role", "worker"], tmp_path, env),
    ]
    async with httpx.AsyncClient(timeout=60) as http:
        cluster = Cluster(
            smtp_port=smtp_port,
            api_urls=[f"http://127.0.0.1:{port}" for port in api_ports],
            redis=redis,
            processes=processes,
            http=http,
        )
        try:
            for process in processes:
                await process.start()
            await cluster.until_ready()

            async def smtp_ready() -> bool:
                _reader, writer = await asyncio.open_connection("127.0.0.1", smtp_port)
                writer.close()
                return True

            await until_true(smtp_ready, what="the SMTP process to listen")
            yield cluster
        except BaseException:
            print(cluster.logs())
            raise
        finally:
            codes = [await process.stop() for process in processes]
            await redis.process.stop()
            await _pg_drop(PG_URL, name)
    # uvicorn re-raises SIGTERM once its graceful shutdown is done, hence -SIGTERM for API roles;
    # a process that hung in shutdown would have failed `stop()` instead.
    assert all(code in (0, -signal.SIGTERM) for code in codes), (codes, cluster.logs())


async def test_mail_accepted_by_the_smtp_process_reaches_waits_and_streams_in_api_processes(
    cluster: Cluster,
):
    api1, api2 = cluster.api_urls
    created = await cluster.http.post(f"{api1}/api/v1/mailboxes", json={})
    assert created.status_code == 201, created.text
    box = created.json()["data"]
    auth = {"Authorization": f"Bearer {box['token']}"}
    wait_url = f"{api2}/api/v1/mailboxes/{box['id']}/wait"
    ws_url = f"ws://127.0.0.1:{api1.rsplit(':', 1)[1]}/ws/inbox/{quote(box['address'])}"

    async def ws_next(ws) -> dict:  # type: ignore[no-untyped-def]
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if event["event"] != "ping":
                return event

    async def waited(subject: str) -> None:
        """A wait on API process 2 returns `subject`, sent once the wait is in place."""
        waiter = asyncio.create_task(
            cluster.http.get(wait_url, params={"timeout": 30}, headers=auth)
        )
        await cluster.until_subscribed(1, 2)  # the SSE stream plus this wait
        await cluster.send(box["address"], subject)
        data = (await asyncio.wait_for(waiter, 40)).json()["data"]
        assert data["timed_out"] is False, f"{subject!r} never reached the waiter"
        assert data["message"]["subject"] == subject

    async with (
        connect(ws_url, additional_headers=auth) as ws,
        aconnect_sse(
            cluster.http, "GET", f"{api2}/api/v1/mailboxes/{box['id']}/events", headers=auth
        ) as sse,
    ):
        sse_events = sse.aiter_sse()
        await cluster.until_subscribed(0, 1)

        async def pushed(subject: str) -> None:
            assert (await ws_next(ws))["message"]["subject"] == subject
            while (event := await asyncio.wait_for(anext(sse_events), 30)).event == "ping":
                pass
            assert event.json()["message"]["subject"] == subject

        await waited("first, through Redis")
        await pushed("first, through Redis")

        # Redis dies: mail is still accepted, and reaches everyone through the database.
        await cluster.redis.kill()
        await waited("while Redis is down")
        await pushed("while Redis is down")

        # Redis comes back: every process reconnects and the bus carries mail again.
        await cluster.redis.start()
        await cluster.until_ready()
        await waited("after Redis restarted")
        await pushed("after Redis restarted")
