"""Several SMTP ingest processes on one port (`inboxkit serve --smtp-processes N`): the real
command, real sockets, both backends. The extra processes take mail like the first, and none
outlives the process that started it."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import aiosmtplib
import httpx

from tests.test_durability import ADMIN_KEY, ServerProcess, _listed, _raw, _start, database_flags

__all__ = ["database_flags"]  # the fixture, shared with the durability test

MESSAGES = 60


def _smtp_processes_of(parent: int) -> list[int]:
    """The `--smtp-process` children of `parent`, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == parent and b"--smtp-process" in cmdline:
            found.append(int(entry))
    return found


def _any_alive(pids: list[int]) -> bool:
    return any(Path(f"/proc/{pid}").exists() for pid in pids)


async def _gone(pids: list[int], within: float) -> bool:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        if not _any_alive(pids):
            return True
        await asyncio.sleep(0.1)
    return False


async def _inbox(server: ServerProcess) -> dict:
    async with httpx.AsyncClient(base_url=server.api, timeout=30) as http:
        response = await http.post(
            "/mailboxes", json={}, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
        )
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def test_mail_to_every_smtp_process_is_stored_once(database_flags: list[str]):
    server = await _start([*database_flags, "--smtp-processes", "3"])
    try:
        assert len(_smtp_processes_of(server.process.pid)) == 2
        inbox = await _inbox(server)
        sent: set[str] = set()

        async def deliver(n: int) -> None:
            # A new connection per message: the kernel spreads connections over the listeners.
            subject = f"spread-{n}"
            raw = _raw(inbox["address"], subject, n)
            errors, reply = await aiosmtplib.send(
                raw,
                sender="spread@example.com",
                recipients=[inbox["address"]],
                hostname="127.0.0.1",
                port=server.smtp_port,
                timeout=30,
            )
            assert errors == {} and reply.startswith("2.0.0"), reply
            sent.add(subject)

        for start in range(0, MESSAGES, 10):
            await asyncio.gather(*(deliver(n) for n in range(start, start + 10)))
        async with httpx.AsyncClient(base_url=server.api, timeout=30) as http:
            listed = [item["subject"] for item in await _listed(http, inbox)]
        assert sorted(listed) == sorted(sent)
    finally:
        stopped = await server.stop()
    assert stopped, "".join(server.output)


async def test_smtp_processes_stop_with_the_server(database_flags: list[str]):
    server = await _start([*database_flags, "--smtp-processes", "2"])
    children = _smtp_processes_of(server.process.pid)
    assert len(children) == 1
    stopped = await server.stop()
    assert stopped, "".join(server.output)
    assert await _gone(children, 30), "an SMTP process outlived a stopped server"


async def test_smtp_processes_end_when_the_server_is_killed(database_flags: list[str]):
    server = await _start([*database_flags, "--smtp-processes", "2"])
    children = _smtp_processes_of(server.process.pid)
    assert len(children) == 1
    try:
        # Only the server itself: its standard-input pipe to the child closes with it.
        os.kill(server.process.pid, signal.SIGKILL)
        await server.process.wait()
        assert await _gone(children, 30), "an SMTP process outlived a killed server"
    finally:
        server.kill()
        if server.reader is not None:
            await server.reader
