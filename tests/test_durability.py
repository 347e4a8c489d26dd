"""Nothing acknowledged is lost: the real `inboxkit serve` process is SIGKILLed in the middle of a
burst of concurrent SMTP deliveries, restarted on the same data, and every message that got a
250 must be there, byte-identical, and listed exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosmtplib
import httpx
import pytest

from tests.databases import INBOXKIT, command_env, fresh_postgres_database
from tests.helpers import RunningServer, smtp_wire_bytes

CLIENTS = 20
ADMIN_KEY = "ik_durability_admin_key_for_this_test_only"
MESSAGES_PER_CLIENT = 25  # 500 in all
KILL_AFTER = 200  # acknowledged messages before the SIGKILL lands


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class ServerProcess:
    process: asyncio.subprocess.Process
    http_port: int
    smtp_port: int
    output: list[str] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/api/v1"

    def kill(self) -> None:
        """SIGKILL the server and the parser processes it started (its own process group)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    async def stop(self) -> bool:
        """SIGTERM the server (as `docker stop` does); True if it then exited on its own."""
        graceful = True
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                graceful = False
                self.kill()
                await self.process.wait()
        if self.reader is not None:
            await self.reader
        return graceful


async def _start(flags: list[str]) -> ServerProcess:
    http_port, smtp_port = _free_port(), _free_port()
    process = await asyncio.create_subprocess_exec(
        INBOXKIT,
        "serve",
        "--http-port",
        str(http_port),
        "--smtp-port",
        str(smtp_port),
        *flags,
        # Inboxes are made with the admin key: the anonymous plan's creation rate is not what
        # this test is about.
        env={**command_env(), "INBOXKIT_ADMIN_KEY": ADMIN_KEY},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # its own process group, so a kill takes its children too
    )
    server = ServerProcess(process, http_port, smtp_port)
    ready = asyncio.Event()

    async def read_output() -> None:
        assert process.stderr is not None
        async for line in process.stderr:
            server.output.append(line.decode(errors="replace"))
            if "HTTP API" in server.output[-1]:  # the banner: HTTP and SMTP are listening
                ready.set()

    server.reader = asyncio.create_task(read_output())
    done, _ = await asyncio.wait(
        {asyncio.create_task(ready.wait()), server.reader},
        timeout=60,
        return_when=asyncio.FIRST_COMPLETED,
    )
    if not ready.is_set():
        server.kill()
        await process.wait()
        pytest.fail("inboxkit serve did not start:\n" + "".join(server.output))
    return server


@pytest.fixture
async def database_flags(backend: str, tmp_path: Path) -> AsyncIterator[list[str]]:
    if backend == "sqlite":
        yield ["--data-dir", str(tmp_path / "data")]
    else:
        async with fresh_postgres_database() as url:
            yield ["--database-url", url]


def _raw(address: str, subject: str, n: int) -> bytes:
    body = "".join(f"line {line} of message {subject}\r\n" for line in range(20 + n % 40))
    return (
        f"From: burst@example.com\r\nTo: {address}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject}@example.com>\r\n\r\n{body}"
    ).encode()


async def _burst(
    server: ServerProcess, inboxes: list[dict], acked: dict[str, bytes], attempted: set[str]
) -> None:
    enough = asyncio.Event()

    async def client(number: int) -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=server.smtp_port, timeout=30)
        try:
            await smtp.connect()
            for n in range(MESSAGES_PER_CLIENT):
                inbox = inboxes[(number + n) % len(inboxes)]
                subject = f"c{number}-m{n}-{uuid.uuid4().hex[:8]}"
                raw = _raw(inbox["address"], subject, n)
                attempted.add(subject)
                errors, reply = await smtp.sendmail("burst@example.com", [inbox["address"]], raw)
                assert not errors and reply.startswith("2.0.0"), reply
                acked[subject] = raw
                if len(acked) >= KILL_AFTER:
                    enough.set()
        except (aiosmtplib.SMTPException, OSError):
            return  # the server died under us: everything after this was never acknowledged

    clients = [asyncio.create_task(client(number)) for number in range(CLIENTS)]
    await asyncio.wait_for(enough.wait(), 90)
    server.kill()
    await asyncio.gather(*clients)


async def _listed(http: httpx.AsyncClient, inbox: dict) -> list[dict]:
    headers = {"Authorization": f"Bearer {inbox['token']}"}
    items: list[dict] = []
    cursor = None
    while True:
        params = {"limit": "200"} | ({"cursor": cursor} if cursor else {})
        response = await http.get(
            f"/mailboxes/{inbox['id']}/messages", params=params, headers=headers
        )
        assert response.status_code == 200, response.text
        items += response.json()["data"]
        cursor = response.json()["meta"]["next_cursor"]
        if cursor is None:
            return items


@pytest.mark.parametrize("smtp_processes", [1, 2])
async def test_every_acknowledged_message_survives_a_sigkill_mid_burst(
    database_flags: list[str], smtp_processes: int
):
    # With two SMTP processes (`--smtp-processes`) both commit into the same database and
    # both are killed mid-burst (they share the server's process group).
    server = await _start([*database_flags, "--smtp-processes", str(smtp_processes)])
    try:
        async with httpx.AsyncClient(base_url=server.api, timeout=30) as http:
            inboxes = []
            for _ in range(4):
                response = await http.post(
                    "/mailboxes", json={}, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
                )
                assert response.status_code == 201, response.text
                inboxes.append(response.json()["data"])
        acked: dict[str, bytes] = {}
        attempted: set[str] = set()
        await _burst(server, inboxes, acked, attempted)
    finally:
        server.kill()
        await server.process.wait()
        if server.reader is not None:
            await server.reader
    assert server.process.returncode == -signal.SIGKILL, "".join(server.output)
    assert KILL_AFTER <= len(acked) < CLIENTS * MESSAGES_PER_CLIENT

    restarted = await _start(database_flags)
    try:
        async with httpx.AsyncClient(base_url=restarted.api, timeout=30) as http:
            listed: dict[str, list[tuple[dict, dict]]] = {}
            for inbox in inboxes:
                for item in await _listed(http, inbox):
                    listed.setdefault(item["subject"], []).append((inbox, item))
            missing = sorted(set(acked) - set(listed))
            assert not missing, f"{len(missing)} acknowledged messages lost: {missing[:10]}"
            twice = sorted(subject for subject, found in listed.items() if len(found) > 1)
            assert not twice, f"listed more than once: {twice[:10]}"
            assert set(listed) <= attempted, "listed messages nobody sent"
            for subject, raw in acked.items():
                ((inbox, item),) = listed[subject]
                response = await http.get(
                    f"/mailboxes/{inbox['id']}/messages/{item['id']}/raw",
                    headers={"Authorization": f"Bearer {inbox['token']}"},
                )
                assert response.content == smtp_wire_bytes(raw), f"{subject} changed on disk"
            # The restarted server takes new mail as before.
            async with aiosmtplib.SMTP(hostname="127.0.0.1", port=restarted.smtp_port) as smtp:
                raw = _raw(inboxes[0]["address"], "after-restart", 0)
                errors, _ = await smtp.sendmail("burst@example.com", [inboxes[0]["address"]], raw)
                assert errors == {}
            after = [m for m in await _listed(http, inboxes[0]) if m["subject"] == "after-restart"]
            assert len(after) == 1, "mail taken after the restart is not listed exactly once"
    finally:
        stopped = await restarted.stop()
    assert stopped, "the server did not stop on SIGTERM:\n" + "".join(restarted.output)
    # uvicorn re-raises the signal after a clean shutdown, so the status may say SIGTERM.
    assert restarted.process.returncode in (0, -signal.SIGTERM), "".join(restarted.output)


async def test_a_message_that_cannot_be_stored_gets_451_without_internals(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
):
    inbox = await server.create_inbox()

    async def disk_full(write: Any) -> Any:
        raise OSError(28, "No space left on device: /var/lib/inboxkit/inboxkit.db")

    monkeypatch.setattr(server.runtime.batcher, "submit", disk_full)
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await server.send(inbox["address"], subject="not stored")
    assert refused.value.code == 451
    assert refused.value.message.startswith("4.3.0")
    assert "space" not in refused.value.message and "/var" not in refused.value.message
    monkeypatch.undo()
    listing = await server.http.get(
        f"/mailboxes/{inbox['id']}/messages", headers=server.auth(inbox["token"])
    )
    assert listing.json()["data"] == []
    await server.send(inbox["address"], subject="stored after all")  # the sender's retry
    listing = await server.http.get(
        f"/mailboxes/{inbox['id']}/messages", headers=server.auth(inbox["token"])
    )
    assert [m["subject"] for m in listing.json()["data"]] == ["stored after all"]
