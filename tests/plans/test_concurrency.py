"""Plan ceilings hold exactly under concurrency: in one process on both backends, and across
separate `inboxkit serve --role api|smtp` processes sharing PostgreSQL and Redis.

Fifty SMTP deliveries race for a mailbox with room for ten: ten are stored, forty get
`452 4.2.2` (at RCPT, or at DATA when a slot looked free at RCPT but the storing transaction
found the mailbox full), and the usage figures count exactly the ten. Twenty mailbox creations
race for an account allowed five: five are created, fifteen get `403 quota_exceeded`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from inboxkit.config import Settings
from inboxkit.services.auth import SCOPES
from inboxkit.store import rawcodec
from tests.conftest import REDIS_URL, _migrate
from tests.databases import command_env, fresh_postgres_database
from tests.helpers import RunningServer, smtp_wire_bytes
from tests.plans.support import account_on_plan, bearer, deliver_one, raw_message
from tests.realtime.processes import INBOXKIT, Process, free_port, until_true

PG_URL = os.environ.get("INBOXKIT_TEST_DATABASE_URL")
DELIVERIES, ROOM = 50, 10
CREATIONS, ALLOWED = 20, 5
# Every delivery is its own connection from 127.0.0.1, all open at once.
CONNECTIONS_PER_IP = DELIVERIES + 10


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"smtp_max_connections_per_ip": CONNECTIONS_PER_IP})


# --------------------------------------------------------------------------- the scenarios


async def race_deliveries_into_a_mailbox_with_room_for_ten(
    apis: list[httpx.AsyncClient], smtp_port: int, admin: str
) -> Counter[str]:
    """Fifty concurrent deliveries: exactly ten stored, forty `452 4.2.2`, exact figures.
    Returns where the refusals were given (`rcpt` / `data`)."""
    key = await account_on_plan(apis[0], admin, "ten-per-box", {"max_messages_per_mailbox": ROOM})
    created = await apis[-1].post("/mailboxes", json={}, headers=bearer(key))
    assert created.status_code == 201, created.text
    box = created.json()["data"]
    raws = [raw_message(box["address"], n) for n in range(DELIVERIES)]
    assert len({len(raw) for raw in raws}) == 1

    outcomes = await asyncio.gather(*(deliver_one(smtp_port, box["address"], raw) for raw in raws))

    stored = [o for o in outcomes if o.stage == "stored"]
    refused = [o for o in outcomes if o.stage != "stored"]
    assert len(stored) == ROOM, outcomes
    assert all(o.code == 250 for o in stored), stored
    assert len(refused) == DELIVERIES - ROOM, outcomes
    for outcome in refused:
        assert outcome.code == 452, outcome
        assert outcome.message.startswith("4.2.2 "), outcome
        assert "Mailbox full" in outcome.message or "mailbox holds" in outcome.message, outcome

    # The figures, each read through a different API process when there are several.
    read = apis[len(apis) // 2]
    shown = await read.get(f"/mailboxes/{box['id']}", headers=bearer(key))
    assert shown.json()["data"]["message_count"] == ROOM
    listed = await apis[0].get(
        f"/mailboxes/{box['id']}/messages", params={"limit": 100}, headers=bearer(key)
    )
    messages = listed.json()["data"]
    assert len(messages) == ROOM
    accepted = {o.message.rsplit(" ", 1)[-1] for o in stored}  # "250 2.0.0 OK: queued as <id>"
    assert {m["id"] for m in messages} == accepted
    usage = (await apis[-1].get("/usage", headers=bearer(key))).json()["data"]
    assert usage["plan"] == "ten-per-box"
    assert usage["usage"]["received_this_month"] == ROOM
    # Storage counts each message as stored (compressed: store/rawcodec.py), exactly.
    assert usage["usage"]["storage_bytes"] == sum(
        len(rawcodec.encode(smtp_wire_bytes(raw)).data)
        for raw, outcome in zip(raws, outcomes, strict=True)
        if outcome.stage == "stored"
    )
    assert usage["usage"]["mailboxes"] == 1
    return Counter(o.stage for o in refused)


async def race_creations_for_an_account_allowed_five(
    apis: list[httpx.AsyncClient], admin: str
) -> None:
    """Twenty concurrent `POST /mailboxes` with one key: five 201, fifteen 403."""
    key = await account_on_plan(apis[0], admin, "five-boxes", {"max_mailboxes": ALLOWED})

    responses = await asyncio.gather(
        *(
            apis[n % len(apis)].post("/mailboxes", json={}, headers=bearer(key))
            for n in range(CREATIONS)
        )
    )

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: ALLOWED, 403: CREATIONS - ALLOWED}, [r.text for r in responses]
    for response in responses:
        if response.status_code == 403:
            error = response.json()["error"]
            assert error["code"] == "quota_exceeded"
            assert error["details"]["limit"] == "max_mailboxes"
            assert error["details"]["allowed"] == ALLOWED
            assert "5 live mailboxes" in error["message"] and "five-boxes" in error["message"]
    created = {r.json()["data"]["id"] for r in responses if r.status_code == 201}
    listed = await apis[-1].get("/mailboxes", params={"limit": 100}, headers=bearer(key))
    assert {m["id"] for m in listed.json()["data"]} == created
    usage = (await apis[0].get("/usage", headers=bearer(key))).json()["data"]
    assert usage["usage"]["mailboxes"] == ALLOWED


# --------------------------------------------------------------------------- one process


async def test_fifty_racing_deliveries_store_exactly_the_ten_a_mailbox_has_room_for(
    server: RunningServer, record_property: Callable[[str, object], None]
):
    admin = await server.create_key("admin", scopes=list(SCOPES))
    refused_at = await race_deliveries_into_a_mailbox_with_room_for_ten(
        [server.http], server.smtp_port, admin
    )
    record_property("refused_at", dict(refused_at))


async def test_twenty_racing_creations_make_exactly_the_five_mailboxes_a_plan_allows(
    server: RunningServer,
):
    admin = await server.create_key("admin", scopes=list(SCOPES))
    await race_creations_for_an_account_allowed_five([server.http], admin)


# --------------------------------------------------------------------------- many processes

ADMIN_KEY = "ik_admin_" + uuid.uuid4().hex


@dataclass
class Cluster:
    """Two `--role api` processes and one `--role smtp` on one database and one Redis."""

    smtp_port: int
    apis: list[httpx.AsyncClient]
    processes: list[Process]

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.output()[-3000:]}" for p in self.processes)


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    assert PG_URL and REDIS_URL
    databases = contextlib.AsyncExitStack()
    database_url = await databases.enter_async_context(fresh_postgres_database())
    await _migrate(database_url)
    env = {
        **command_env(),
        "INBOXKIT_DATABASE_URL": database_url,
        "INBOXKIT_REDIS_URL": REDIS_URL,
        "INBOXKIT_DATA_DIR": str(tmp_path / "data"),
        "INBOXKIT_ADMIN_KEY": ADMIN_KEY,
        "INBOXKIT_SMTP_MAX_CONNECTIONS_PER_IP": str(CONNECTIONS_PER_IP),
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
    ]
    async with contextlib.AsyncExitStack() as stack:
        apis = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=90)
            )
            for port in api_ports
        ]
        running = Cluster(smtp_port=smtp_port, apis=apis, processes=processes)
        try:
            for process in processes:
                await process.start()
            for port in api_ports:

                async def ready(port: int = port) -> bool:
                    exited = [p.name for p in processes if p.exited]
                    if exited:
                        pytest.fail(f"{exited} exited:\n{running.logs()}", pytrace=False)
                    url = f"http://127.0.0.1:{port}/readyz"
                    return (await apis[0].get(url)).status_code == 200

                await until_true(ready, timeout=60, what=f"API process on port {port}")

            async def smtp_ready() -> bool:
                _reader, writer = await asyncio.open_connection("127.0.0.1", smtp_port)
                writer.close()
                return True

            await until_true(smtp_ready, timeout=60, what="the SMTP process to listen")
            yield running
        except BaseException:
            print(running.logs())
            raise
        finally:
            codes = [await process.stop() for process in processes]
            await databases.aclose()
    # uvicorn re-raises SIGTERM once its graceful shutdown is done, hence -SIGTERM for API roles.
    assert all(code in (0, -signal.SIGTERM) for code in codes), (codes, running.logs())


needs_postgres_and_redis = pytest.mark.skipif(
    not (PG_URL and REDIS_URL),
    reason="needs INBOXKIT_TEST_DATABASE_URL and INBOXKIT_TEST_REDIS_URL",
)


@needs_postgres_and_redis
@pytest.mark.service  # starts `inboxkit serve` processes without the backend fixture
async def test_ceilings_hold_exactly_across_two_api_processes_and_an_smtp_process(
    cluster: Cluster, record_property: Callable[[str, object], None]
):
    refused_at = await race_deliveries_into_a_mailbox_with_room_for_ten(
        cluster.apis, cluster.smtp_port, ADMIN_KEY
    )
    record_property("refused_at", dict(refused_at))
    await race_creations_for_an_account_allowed_five(cluster.apis, ADMIN_KEY)
