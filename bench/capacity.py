"""Idle push clients: 5,000 WebSocket clients, then 5,000 long-poll clients, on one API process,
each on its own mailbox, all woken by their own mail; the server's memory per 1,000 clients.

    .venv/bin/python bench/capacity.py                         # 5,000 of each, one process
    .venv/bin/python bench/capacity.py --clients 2000 --kinds ws --setup multi

Setups as in bench/latency.py: `single` is `inboxkit serve` (role all: API and SMTP in one
process, SQLite, in-process bus); `multi` puts the API in its own process (PostgreSQL + Redis,
SMTP in another process), so the RSS measured is the API's alone.

For each kind of client:
  1. connect clients 1,000 at a time (at most --concurrency handshakes in flight); once the
     server's inboxkit_bus_subscribers gauge shows them all, read the server's RSS
     (/proc/<pid>/status VmRSS);
  2. send every mailbox one message over SMTP (--senders connections in parallel), and wait
     until every client has received its own message (checked: the right mailbox) — the
     latency per client is measured from its message's 250;
  3. disconnect everyone and check the gauge returns to 0.
The bench's own garbage collector is paused while clients are woken (see run_phase).
WebSocket clients are `websockets` connections with their default offer of permessage-deflate
(as browsers make); long-poll clients are raw HTTP/1.1 requests on their own sockets, so the
client side stays light. The file-descriptor limit is raised to the hard limit first.

Prints RSS at each step, growth per 1,000 clients, wake-up time and latency; no assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import aiosmtplib
import httpx
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
from latency import (  # noqa: E402 - the sibling script, not a package
    ADMIN,
    Deployment,
    bus_subscribers,
    message_bytes,
    percentiles,
    start_multi,
    start_single,
    until,
)

MiB = 1024 * 1024


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@dataclass
class Box:
    id: str
    address: str
    token: str
    last_id: str | None = None  # the message the previous phase delivered


@dataclass
class Phase:
    kind: str
    rss: list[tuple[int, int]] = field(default_factory=list)  # (clients, bytes)
    connect_seconds: float = 0.0
    wake_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    wrong: int = 0
    after_close: float = -1.0


async def create_boxes(api_url: str, count: int, concurrency: int) -> list[Box]:
    boxes: list[Box] = []
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=api_url, timeout=120, limits=limits) as http:
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                created = await http.post(
                    "/api/v1/mailboxes", json={"ttl_minutes": 600}, headers=ADMIN
                )
                data = created.json()["data"]
                boxes.append(Box(data["id"], data["address"], data["token"]))

        await asyncio.gather(*(one() for _ in range(count)))
    return boxes


async def send_all(deployment: Deployment, boxes: list[Box], senders: int) -> dict[str, float]:
    """One message per mailbox; returns each mailbox's 250 time (perf_counter)."""
    got_250: dict[str, float] = {}
    queue = list(boxes)

    async def sender(offset: int) -> None:
        mine = queue[offset::senders]
        smtp: aiosmtplib.SMTP | None = None
        try:
            for n, box in enumerate(mine):
                if smtp is None or n % 100 == 0:
                    if smtp is not None:
                        await smtp.quit()
                    smtp = aiosmtplib.SMTP(
                        hostname="127.0.0.1", port=deployment.smtp_port, timeout=120
                    )
                    await smtp.connect()
                await smtp.sendmail(
                    "bench@example.com", [box.address], message_bytes(box.address, f"wake {box.id}")
                )
                got_250[box.id] = time.perf_counter()
        finally:
            if smtp is not None:
                with contextlib.suppress(Exception):
                    await smtp.quit()

    await asyncio.gather(*(sender(n) for n in range(senders)))
    return got_250


async def subscribed(
    http: httpx.AsyncClient, deployment: Deployment, count: int, timeout: float
) -> None:
    async def enough() -> bool:
        return await bus_subscribers(http, deployment.api_url) >= count

    await until(enough, timeout, f"{count} subscribers")


async def none_subscribed(http: httpx.AsyncClient, deployment: Deployment) -> None:
    async def zero() -> bool:
        return await bus_subscribers(http, deployment.api_url) == 0

    await until(zero, 120, "the subscribers to go")


# -- clients ----------------------------------------------------------------------------------


class WsClient:
    def __init__(self, deployment: Deployment, box: Box):
        self.box = box
        self.url = (
            deployment.api_url.replace("http://", "ws://") + f"/ws/inbox/{quote(box.address)}"
        )
        self.ws = None
        self.received_at: float | None = None
        self.message: dict | None = None
        self.task: asyncio.Task | None = None

    async def open(self) -> None:
        self.ws = await connect(
            self.url,
            additional_headers={"Authorization": f"Bearer {self.box.token}"},
            ping_interval=None,
            open_timeout=120,
            max_queue=4,
        )
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        async for raw in self.ws:
            event = json.loads(raw)
            if event["event"] == "message.received":
                self.received_at = time.perf_counter()
                self.message = event["message"] | {"mailbox": event["mailbox"]}
                return

    def right_mailbox(self) -> bool:
        return bool(self.message and self.message["mailbox"] == self.box.address)

    async def close(self) -> None:
        if self.task:
            self.task.cancel()
        if self.ws is not None:
            await self.ws.close()


class WaitClient:
    """A long-poll on a raw socket; re-asks when the server answers "timed out"."""

    def __init__(self, deployment: Deployment, box: Box):
        self.box = box
        self.port = int(deployment.api_url.rsplit(":", 1)[1])
        self.received_at: float | None = None
        self.message: dict | None = None
        self.task: asyncio.Task | None = None
        self.writer: asyncio.StreamWriter | None = None

    def _request(self) -> bytes:
        after = f"&after={self.box.last_id}" if self.box.last_id else ""
        return (
            f"GET /api/v1/mailboxes/{self.box.id}/wait?timeout=60{after} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{self.port}\r\nAuthorization: Bearer {self.box.token}\r\n\r\n"
        ).encode()

    async def open(self) -> None:
        reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(self._request())
        await self.writer.drain()
        self.task = asyncio.create_task(self._run(reader))

    async def _run(self, reader: asyncio.StreamReader) -> None:
        assert self.writer is not None
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = json.loads(await reader.readexactly(length))
            message = body.get("data", {}).get("message")
            if message:
                self.received_at = time.perf_counter()
                self.message = message
                return
            self.writer.write(self._request())  # timed out: ask again, as a client would
            await self.writer.drain()

    def right_mailbox(self) -> bool:
        return bool(self.message and self.message["mailbox_id"] == self.box.id)

    async def close(self) -> None:
        if self.task:
            self.task.cancel()
        if self.writer is not None:
            self.writer.close()


# -- one phase ----------------------------------------------------------------------------------


async def run_phase(
    kind: str, deployment: Deployment, boxes: list[Box], step: int, concurrency: int, senders: int
) -> Phase:
    phase = Phase(kind)
    make: Callable[[Deployment, Box], WsClient | WaitClient] = (
        WsClient if kind == "ws" else WaitClient
    )
    clients = [make(deployment, box) for box in boxes]
    async with httpx.AsyncClient(timeout=60) as http:
        phase.rss.append((0, rss_bytes(deployment.api_pid)))
        gate = asyncio.Semaphore(concurrency)

        async def opened(client: WsClient | WaitClient) -> None:
            async with gate:
                await client.open()

        started = time.perf_counter()
        for start in range(0, len(clients), step):
            batch = clients[start : start + step]
            await asyncio.gather(*(opened(c) for c in batch))
            await subscribed(http, deployment, start + len(batch), 120)
            phase.rss.append((start + len(batch), rss_bytes(deployment.api_pid)))
            print(
                f"  [{kind}] {start + len(batch):>6} clients  RSS {phase.rss[-1][1] / MiB:8.1f} MiB",
                flush=True,
            )
        phase.connect_seconds = time.perf_counter() - started

        # Thousands of clients make this process's own garbage collector pause for 100+ ms;
        # hold it while timing, so a pause here is not counted as the server's latency.
        gc.collect()
        gc.freeze()
        gc.disable()
        try:
            woke = time.perf_counter()
            got_250 = await send_all(deployment, boxes, senders)
            pending: list[Awaitable[None]] = [c.task for c in clients if c.task is not None]
            await asyncio.wait_for(asyncio.gather(*pending), 300)
        finally:
            gc.enable()
            gc.unfreeze()
        phase.wake_seconds = max(c.received_at or 0 for c in clients) - woke
        phase.latencies = [((c.received_at or 0) - got_250[c.box.id]) * 1000 for c in clients]
        phase.wrong = sum(1 for c in clients if not c.right_mailbox())
        phase.rss.append((-1, rss_bytes(deployment.api_pid)))
        for client in clients:
            if client.message:
                client.box.last_id = client.message["id"]
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        await none_subscribed(http, deployment)
        phase.after_close = rss_bytes(deployment.api_pid) / MiB
    return phase


def report(phases: list[tuple[Phase, Deployment]], clients: int) -> None:
    print()
    print(
        f"Idle push clients on one API process, {clients} clients of each kind, a fresh server each"
    )
    for phase, deployment in phases:
        base = phase.rss[0][1]
        steps = [(n, rss) for n, rss in phase.rss if n > 0]
        top_n, top = steps[-1]
        label = "WebSocket" if phase.kind == "ws" else "long-poll"
        print(f"{label} ({deployment.description}):")
        print("  clients   RSS MiB   growth MiB   MiB per 1,000 (this step)")
        prev_n, prev = 0, base
        print(f"  {0:>7} {base / MiB:>9.1f}")
        for n, rss in steps:
            per = (rss - prev) / MiB / ((n - prev_n) / 1000)
            print(f"  {n:>7} {rss / MiB:>9.1f} {(rss - base) / MiB:>12.1f} {per:>10.1f}")
            prev_n, prev = n, rss
        print(f"  growth per 1,000 clients overall: {(top - base) / MiB / (top_n / 1000):.1f} MiB")
        p = percentiles(phase.latencies)
        print(
            f"  connect all: {phase.connect_seconds:.1f}s;  wake all ({clients} messages over SMTP): "
            f"{phase.wake_seconds:.1f}s;  wrong mailbox: {phase.wrong}"
        )
        print(
            f"  per-client latency from its 250, ms: p50 {p['p50']:.1f}  p95 {p['p95']:.1f}  "
            f"p99 {p['p99']:.1f}  max {p['max']:.1f}"
        )
        print(
            f"  RSS after the wake-up {phase.rss[-1][1] / MiB:.1f} MiB; after everyone left "
            f"{phase.after_close:.1f} MiB (subscribers back to 0)"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--step", type=int, default=1000)
    parser.add_argument("--kinds", default="ws,wait", help="comma list: ws, wait")
    parser.add_argument("--setup", choices=("single", "multi"), default="single")
    parser.add_argument("--concurrency", type=int, default=100, help="handshakes in flight")
    parser.add_argument("--senders", type=int, default=16, help="parallel SMTP connections")
    args = parser.parse_args()
    limit = raise_fd_limit()
    print(
        f"inboxkit push capacity; {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.platform()}; open files limit {limit}"
    )
    phases: list[tuple[Phase, Deployment]] = []
    start = start_single if args.setup == "single" else start_multi
    for kind in args.kinds.split(","):
        # A fresh server per kind: memory one kind freed would otherwise be reused by the next.
        with tempfile.TemporaryDirectory(prefix="inboxkit-capacity-") as tmp:
            deployment = await start(Path(tmp))
            try:
                started = time.perf_counter()
                boxes = await create_boxes(deployment.api_url, args.clients, 20)
                print(
                    f"[{kind}] {len(boxes)} mailboxes created in {time.perf_counter() - started:.1f}s",
                    flush=True,
                )
                phase = await run_phase(
                    kind, deployment, boxes, args.step, args.concurrency, args.senders
                )
                phases.append((phase, deployment))
            finally:
                await deployment.stop()
    report(phases, args.clients)


if __name__ == "__main__":
    asyncio.run(main())
