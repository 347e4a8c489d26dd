"""Real processes for the cross-process tests: a private redis-server (so it can be killed
and restarted without touching the machine's Redis) and `inboxkit serve` subprocesses."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sys
from pathlib import Path

import redis.asyncio as aioredis

INBOXKIT = Path(sys.executable).parent / "inboxkit"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def until_true(check, timeout: float = 30.0, what: str = "") -> None:  # type: ignore[no-untyped-def]
    """Await `check()` until it returns true; fail after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            if await check():
                return
        except Exception:
            pass
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)


class Process:
    """A child process whose output goes to a log file (shown when a test fails)."""

    def __init__(
        self, name: str, argv: list[str], log_dir: Path, env: dict[str, str] | None = None
    ):
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: ASYNC230 - a local log file, handed to the child
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv, stdout=log, stderr=log, env=self.env, start_new_session=True
            )
        finally:
            log.close()

    @property
    def exited(self) -> bool:
        return self.proc is not None and self.proc.returncode is not None

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        if self.proc is None or self.proc.returncode is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(sig)
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            # With PYTHONFAULTHANDLER set, SIGABRT makes a Python child log every thread's stack.
            self.proc.send_signal(signal.SIGABRT)
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
            raise AssertionError(
                f"{self.name} did not stop within {timeout}s:\n{self.output()[-6000:]}"
            ) from None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class RedisServer:
    """A private redis-server on a free port, with no persistence."""

    def __init__(self, log_dir: Path):
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--daemonize", "no"]  # fmt: skip
        self.process = Process(f"redis-{self.port}", argv, log_dir, env=dict(os.environ))

    async def start(self) -> None:
        await self.process.start()
        client = aioredis.Redis.from_url(self.url, socket_connect_timeout=1)
        try:
            await until_true(client.ping, timeout=15, what="redis-server to answer")
        finally:
            await client.aclose()

    async def kill(self) -> None:
        await self.process.stop(signal.SIGKILL)
