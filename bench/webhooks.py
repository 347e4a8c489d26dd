"""Webhook latency and outbox throughput benchmark.

    .venv/bin/python bench/webhooks.py                         # SQLite, the embedded default
    .venv/bin/python bench/webhooks.py --samples 500 --burst 1000 --outbox 2000
    .venv/bin/python bench/webhooks.py \\
        --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres \\
        --redis redis://127.0.0.1:6379/0                       # PostgreSQL + Redis

``inboxkit serve`` runs as a subprocess on free 127.0.0.1 ports (a fresh data directory, or
a freshly created PostgreSQL database). This process plays everyone else: the SMTP client,
an HTTP endpoint that receives the webhooks, and an SMTP relay that accepts outbound mail.

Figures:

  webhook latency, one at a time   a message is sent over SMTP; the clock runs from the
                                   client reading the 250 reply to the endpoint reading the
                                   webhook request for that message (both clocks are this
                                   process's). The next message goes once the webhook is in.
  webhook latency, burst           the same per message while 8 SMTP clients send a burst.
  outbox drain                     messages are queued through POST …/send while no worker
                                   runs; then ``serve --role worker`` starts and the relay's
                                   first-to-last receipt gives messages per second.

The endpoint and the relay store nothing and answer at once, so the figures are inboxkit's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent

try:
    import aiosmtplib
    import httpx
    from aiosmtpd.smtp import SMTP
except ImportError:  # started with a Python that lacks the project's dependencies
    venv_python = REPO / ".venv/bin/python"
    if venv_python.exists() and Path(sys.executable).resolve() != venv_python.resolve():
        os.execv(str(venv_python), [str(venv_python), __file__, *sys.argv[1:]])
    raise

ADMIN_KEY = f"ik_bench_{uuid.uuid4().hex}"
SENDER = "loadgen@bench.example"


def log(message: str) -> None:
    print(message, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def describe(values_ms: list[float]) -> str:
    return (
        f"p50 {percentile(values_ms, 0.50):7.2f} ms   p90 {percentile(values_ms, 0.90):7.2f} ms   "
        f"p99 {percentile(values_ms, 0.99):7.2f} ms   max {max(values_ms):7.2f} ms   "
        f"mean {statistics.fmean(values_ms):7.2f} ms   (n={len(values_ms)})"
    )


# -- the webhook endpoint: a bare HTTP/1.1 server that answers 200 at once ---------------------


class Endpoint(asyncio.Protocol):
    """Records when each request's body was complete, keyed by the message's subject."""

    arrivals: dict[str, float] = {}
    waiters: dict[str, asyncio.Future[float]] = {}
    count = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buffer) < head_end + 4 + length:
                return
            body = self.buffer[head_end + 4 : head_end + 4 + length]
            self.buffer = self.buffer[head_end + 4 + length :]
            self._arrived(body, time.perf_counter())
            self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")  # type: ignore[attr-defined]

    @classmethod
    def _arrived(cls, body: bytes, at: float) -> None:
        cls.count += 1
        marker = body.split(b'"subject":"', 1)[-1].split(b'"', 1)[0].decode()
        cls.arrivals[marker] = at
        waiter = cls.waiters.pop(marker, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(at)


# -- the relay: aiosmtpd that accepts everything and stores nothing -----------------------------


class Relay:
    def __init__(self) -> None:
        self.times: list[float] = []
        self.expected = 0
        self.done = asyncio.Event()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.times.append(time.perf_counter())
        if self.expected and len(self.times) >= self.expected:
            self.done.set()
        return "250 2.0.0 OK"


# -- the service under test ---------------------------------------------------------------------


class Service:
    def __init__(self, workdir: Path, env: dict[str, str]):
        self.workdir = workdir
        self.env = env
        self.http_port = free_port()
        self.smtp_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, role: str) -> None:
        argv = [
            str(REPO / ".venv/bin/inboxkit"),
            "serve",
            "--role",
            role,
            "--http-port",
            str(self.http_port),
            "--smtp-port",
            str(self.smtp_port),
            "--data-dir",
            str(self.workdir / "data"),
        ]
        logfile = open(self.workdir / f"serve-{role}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            argv, env={**os.environ, **self.env}, stdout=logfile, stderr=logfile
        )

    async def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                assert self.proc is not None and self.proc.poll() is None, "server exited"
                try:
                    if (await client.get(f"{self.base}/readyz", timeout=2)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError("server not ready; see the serve-*.log files")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


async def send_one(port: int, address: str, subject: str) -> float:
    message = (
        f"From: {SENDER}\r\nTo: {address}\r\nSubject: {subject}\r\n\r\nYour code is 123456.\r\n"
    )
    await aiosmtplib.send(
        message.encode(), sender=SENDER, recipients=[address], hostname="127.0.0.1", port=port
    )
    return time.perf_counter()


async def latency_one_at_a_time(service: Service, address: str, samples: int) -> list[float]:
    results = []
    loop = asyncio.get_running_loop()
    for number in range(samples):
        subject = f"seq-{number}"
        waiter: asyncio.Future[float] = loop.create_future()
        Endpoint.waiters[subject] = waiter
        replied = await send_one(service.smtp_port, address, subject)
        arrived = await asyncio.wait_for(waiter, 30)
        results.append((arrived - replied) * 1000)
    return results


async def latency_burst(
    service: Service, address: str, count: int, senders: int = 8
) -> list[float]:
    loop = asyncio.get_running_loop()
    replied: dict[str, float] = {}
    waiters = {}
    for number in range(count):
        subject = f"burst-{number}"
        waiters[subject] = Endpoint.waiters[subject] = loop.create_future()
    queue = iter(list(waiters))

    async def sender() -> None:
        for subject in queue:
            replied[subject] = await send_one(service.smtp_port, address, subject)

    await asyncio.gather(*(sender() for _ in range(senders)))
    arrived = await asyncio.wait_for(asyncio.gather(*waiters.values()), 120)
    return [(at - replied[subject]) * 1000 for subject, at in zip(waiters, arrived, strict=True)]


async def setup_account(base: str) -> tuple[str, dict]:
    async with httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=30) as client:
        key = (
            await client.post(
                "/keys",
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                json={"name": "bench"},
            )
        ).json()["data"]["token"]
        inbox = (
            await client.post(
                "/mailboxes",
                headers={"Authorization": f"Bearer {key}"},
                json={"mode": "agent", "handle": f"bench-{uuid.uuid4().hex[:8]}"},
            )
        ).json()["data"]
        return key, inbox


async def register_webhook(base: str, key: str, port: int) -> None:
    async with httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=30) as client:
        response = await client.post(
            "/webhooks",
            headers={"Authorization": f"Bearer {key}"},
            json={"url": f"http://127.0.0.1:{port}/hook", "events": ["message.received"]},
        )
        response.raise_for_status()


async def queue_outbound(base: str, key: str, inbox: dict, count: int, clients: int = 16) -> float:
    numbers = iter(range(count))
    started = time.perf_counter()

    async def client_loop(client: httpx.AsyncClient) -> None:
        for number in numbers:
            response = await client.post(
                f"/mailboxes/{inbox['id']}/send",
                headers={"Authorization": f"Bearer {key}"},
                json={
                    "to": [f"user{number}@relay.example"],
                    "subject": f"outbox {number}",
                    "text": "Hello from the benchmark.\n" * 20,
                },
            )
            assert response.status_code == 202, response.text

    async with httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=60) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
    return time.perf_counter() - started


async def create_pg_database(admin_url: str) -> str:
    import asyncpg

    name = f"inboxkit_bench_webhooks_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


async def drop_pg_database(admin_url: str, url: str) -> None:
    import asyncpg

    name = url.rpartition("/")[2]
    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def main(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    endpoint_server = await loop.create_server(Endpoint, "127.0.0.1", 0)
    endpoint_port = endpoint_server.sockets[0].getsockname()[1]
    relay = Relay()
    relay_server = await loop.create_server(
        lambda: SMTP(relay, hostname="relay.bench", decode_data=False), "127.0.0.1", 0
    )
    relay_port = relay_server.sockets[0].getsockname()[1]

    workdir = Path(tempfile.mkdtemp(prefix="inboxkit-bench-webhooks-"))
    env = {
        "INBOXKIT_ADMIN_KEY": ADMIN_KEY,
        "INBOXKIT_WEBHOOK_ALLOW_PRIVATE": "true",
        "INBOXKIT_SMTP_RELAY_URL": f"smtp://127.0.0.1:{relay_port}",
        "INBOXKIT_SEND_RATE_LIMIT": "1000000",
        "INBOXKIT_SEND_RATE_LIMIT_GLOBAL": "1000000",
    }
    pg_url = None
    if args.postgres:
        pg_url = await create_pg_database(args.postgres)
        env["INBOXKIT_DATABASE_URL"] = pg_url
    if args.redis:
        env["INBOXKIT_REDIS_URL"] = args.redis
    backend = "PostgreSQL" if pg_url else "SQLite"
    backend += " + Redis bus" if args.redis else " + in-process bus"
    log(f"inboxkit webhook/outbox benchmark — {backend}")
    log(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()},"
        f" {platform.system()} {platform.release()}"
    )
    log(f"work dir: {workdir}")

    service = Service(workdir, env)
    try:
        service.start("all")
        await service.wait_ready()
        key, inbox = await setup_account(service.base)
        await register_webhook(service.base, key, endpoint_port)

        await latency_one_at_a_time(service, inbox["address"], 20)  # warm-up
        sequential = await latency_one_at_a_time(service, inbox["address"], args.samples)
        log("")
        log("webhook latency, SMTP 250 -> endpoint request")
        log(f"  one at a time   {describe(sequential)}")
        started = time.perf_counter()
        burst = await latency_burst(service, inbox["address"], args.burst)
        elapsed = time.perf_counter() - started
        log(f"  burst of {args.burst:<6} {describe(burst)}")
        log(
            f"                  {args.burst / elapsed:.0f} messages/s in, all webhooks out in {elapsed:.2f} s"
        )
        service.stop()

        # Outbox: queue with no worker running, then time a worker draining it.
        service.start("api")
        await service.wait_ready()
        queue_seconds = await queue_outbound(service.base, key, inbox, args.outbox)
        service.stop()
        relay.expected = args.outbox
        started = time.perf_counter()
        service.start("worker")
        await asyncio.wait_for(relay.done.wait(), 600)
        total = time.perf_counter() - started
        drain = relay.times[-1] - relay.times[0]
        log("")
        log("outbox to a local SMTP relay")
        log(
            f"  queued {args.outbox} via POST /send (16 clients): {queue_seconds:.2f} s, "
            f"{args.outbox / queue_seconds:.0f} sends/s"
        )
        log(
            f"  drained by one worker: {(args.outbox - 1) / drain:.0f} msgs/s "
            f"(first to last relay receipt {drain:.2f} s; {total:.2f} s including worker start-up)"
        )
    finally:
        service.stop()
        endpoint_server.close()
        relay_server.close()
        if pg_url and args.postgres:
            await drop_pg_database(args.postgres, pg_url)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=300, help="one-at-a-time latency samples")
    parser.add_argument("--burst", type=int, default=500, help="messages in the burst")
    parser.add_argument("--outbox", type=int, default=1000, help="messages for the outbox drain")
    parser.add_argument("--postgres", help="admin URL; a fresh database is created and dropped")
    parser.add_argument("--redis", help="Redis URL for the bus")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, data)")
    asyncio.run(main(parser.parse_args()))
