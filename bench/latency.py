"""Push latency: from the moment an SMTP client gets its 250 to the moment a WebSocket client
gets the event and a long-poll client gets its answer, against polling the list endpoint.

    .venv/bin/python bench/latency.py                          # both setups, 1,000 messages
    .venv/bin/python bench/latency.py --setups single --messages 2000

Setups (every server is a subprocess on free 127.0.0.1 ports; this script is only a client):

  single  one `inboxkit serve` (role all): SQLite in a fresh data dir, in-process bus.
  multi   `inboxkit serve --role smtp` and `--role api` as two processes on PostgreSQL (a fresh
          database on INBOXKIT_BENCH_DATABASE_URL, default
          postgresql+asyncpg://postgres@127.0.0.1:5432/postgres) and Redis (a private
          redis-server on a free port, or INBOXKIT_BENCH_REDIS_URL if set).

For each message, a WebSocket (/ws/inbox/{address}) and a long-poll (/wait) on the mailbox are
already waiting (the bench reads the API process's inboxkit_bus_subscribers gauge before every
send), then one SMTP client sends it over a kept-open connection. Latency = arrival at the client
minus the moment sendmail() returned with 250. The server publishes right after its commit and
sends the 250 right after that, so a push can arrive before the client has read its 250:
those latencies are negative, and the share of them is printed.

Baseline: without push, clients poll GET …/messages; the bench runs a real poller every 3 s
(the interval client libraries use today) during the same run, and a message's polling latency
is the arrival of the first poll response that lists it, minus its 250.

Prints a table of p50 / p95 / p99 / max in milliseconds; no assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import aiosmtplib
import httpx
from websockets.asyncio.client import connect

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
INBOXKIT = Path(sys.executable).parent / "inboxkit"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
POLL_EVERY = 3.0
# Mailboxes are created with the bootstrap admin key: it is on no plan, so the anonymous plan's
# rate limits (3 creations, 60 reads a minute) do not throttle the measurements.
ADMIN_KEY = f"ik_bench_{uuid.uuid4().hex}"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def until(check: Callable[[], object], timeout: float, what: str) -> None:
    """Await `check()` until it returns true; raise after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            if await check():  # type: ignore[misc]
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


# -- servers ------------------------------------------------------------------------------------


@dataclass
class Deployment:
    """Running inboxkit processes: where to send mail, where the API is, how to stop it all."""

    name: str
    description: str
    api_url: str
    smtp_port: int
    api_pid: int
    processes: list[asyncio.subprocess.Process] = field(default_factory=list)
    cleanups: list[Callable[[], object]] = field(default_factory=list)

    async def stop(self) -> None:
        for proc in self.processes:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.processes:
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        for cleanup in reversed(self.cleanups):
            result = cleanup()
            if asyncio.iscoroutine(result):
                await result


async def spawn(argv: list[str], env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with open(log, "ab") as out:  # noqa: ASYNC230 - a local log file, handed to the child
        return await asyncio.create_subprocess_exec(
            *argv, env=env, stdout=out, stderr=out, start_new_session=True
        )


def base_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INBOXKIT_")}
    # The bench's senders share one address, standing in for many senders.
    env["INBOXKIT_SMTP_MAX_CONNECTIONS_PER_IP"] = "100000"
    env["INBOXKIT_SMTP_CONNECT_RATE_PER_IP"] = "100000000"
    env["INBOXKIT_ADMIN_KEY"] = ADMIN_KEY
    env.update({f"INBOXKIT_{k.upper()}": v for k, v in settings.items()})
    return env


async def wait_ready(
    api_url: str, smtp_port: int, procs: list[asyncio.subprocess.Process], logs: Path
) -> None:
    async with httpx.AsyncClient() as http:

        async def ready() -> bool:
            for proc in procs:
                if proc.returncode is not None:
                    raise SystemExit(f"a server process exited; see {logs}")
            return (await http.get(f"{api_url}/readyz")).status_code == 200

        await until(ready, 60, f"{api_url}/readyz")

    async def smtp_up() -> bool:
        _r, writer = await asyncio.open_connection("127.0.0.1", smtp_port)
        writer.close()
        return True

    await until(smtp_up, 30, "the SMTP listener")


async def start_single(workdir: Path, **settings: str) -> Deployment:
    """`inboxkit serve` (role all) on SQLite with the in-process bus."""
    http_port, smtp_port = free_port(), free_port()
    env = base_env(data_dir=str(workdir / "single"), **settings)
    argv = [str(INBOXKIT), "serve", "--http-port", str(http_port), "--smtp-port", str(smtp_port)]
    proc = await spawn(argv, env, workdir / "single.log")
    api_url = f"http://127.0.0.1:{http_port}"
    await wait_ready(api_url, smtp_port, [proc], workdir / "single.log")
    return Deployment(
        "single", "1 process, SQLite, memory bus", api_url, smtp_port, proc.pid, [proc]
    )


async def private_redis(workdir: Path) -> tuple[str, Callable[[], object]]:
    if os.environ.get("INBOXKIT_BENCH_REDIS_URL"):
        return os.environ["INBOXKIT_BENCH_REDIS_URL"], lambda: None
    binary = shutil.which("redis-server")
    if not binary:
        raise SystemExit("redis-server not found; set INBOXKIT_BENCH_REDIS_URL")
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = await spawn(argv, dict(os.environ), workdir / "redis.log")
    import redis.asyncio as aioredis

    client = aioredis.Redis(port=port)
    await until(client.ping, 15, "redis-server")
    await client.aclose()

    async def stop() -> None:
        proc.terminate()
        await proc.wait()

    return f"redis://127.0.0.1:{port}/0", stop


async def fresh_postgres() -> tuple[str, Callable[[], object]]:
    import asyncpg

    url = os.environ.get("INBOXKIT_BENCH_DATABASE_URL", DEFAULT_PG)
    admin = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    name = f"inboxkit_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    database_url = f"{url.rpartition('/')[0]}/{name}"

    async def drop() -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    migrate = await asyncio.create_subprocess_exec(
        str(INBOXKIT), "migrate", "--database-url", database_url, env=base_env()
    )
    if await migrate.wait() != 0:
        await drop()
        raise SystemExit("inboxkit migrate failed")
    return database_url, drop


async def start_multi(workdir: Path, **settings: str) -> Deployment:
    """`--role smtp` and `--role api` processes on PostgreSQL + Redis."""
    database_url, drop = await fresh_postgres()
    redis_url, stop_redis = await private_redis(workdir)
    http_port, smtp_port = free_port(), free_port()
    env = base_env(
        database_url=database_url,
        redis_url=redis_url,
        data_dir=str(workdir / "multi"),
        **settings,
    )
    serve = [str(INBOXKIT), "serve", "--no-migrate"]
    smtp = await spawn(
        [*serve, "--role", "smtp", "--smtp-port", str(smtp_port)], env, workdir / "smtp.log"
    )
    api = await spawn(
        [*serve, "--role", "api", "--http-port", str(http_port)], env, workdir / "api.log"
    )
    api_url = f"http://127.0.0.1:{http_port}"
    deployment = Deployment(
        "multi",
        "smtp + api processes, PostgreSQL, Redis",
        api_url,
        smtp_port,
        api.pid,
        [smtp, api],
        [drop, stop_redis],
    )
    try:
        await wait_ready(api_url, smtp_port, [smtp, api], workdir)
    except BaseException:
        await deployment.stop()
        raise
    return deployment


async def bus_subscribers(http: httpx.AsyncClient, api_url: str) -> float:
    text = (await http.get(f"{api_url}/metrics")).text
    match = re.search(r"^inboxkit_bus_subscribers (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": ordered[-1]}


def message_bytes(to: str, subject: str) -> bytes:
    return (
        f"From: bench@example.com\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@bench.example>\r\n\r\n"
        f"Your verification code is {abs(hash(subject)) % 1_000_000:06d}.\r\n"
    ).encode()


# -- the measurement ------------------------------------------------------------------------------


@dataclass
class Result:
    deployment: str
    description: str
    websocket: list[float]
    wait: list[float]
    poll: list[float]
    smtp: list[float]


async def measure(deployment: Deployment, count: int, warmup: int) -> Result:
    async with httpx.AsyncClient(base_url=deployment.api_url, timeout=60) as http:
        created = await http.post("/api/v1/mailboxes", json={"ttl_minutes": 600}, headers=ADMIN)
        box = created.json()["data"]
        auth = {"Authorization": f"Bearer {box['token']}"}
        ws_url = (
            deployment.api_url.replace("http://", "ws://") + f"/ws/inbox/{quote(box['address'])}"
        )
        sent_at: dict[str, float] = {}
        pushed_at: dict[str, float] = {}
        polled_at: dict[str, float] = {}
        pushed = asyncio.Event()
        stop = asyncio.Event()

        async def read_socket(ws) -> None:  # type: ignore[no-untyped-def]
            async for raw in ws:
                now = time.perf_counter()
                event = json.loads(raw)
                if event["event"] == "message.received":
                    pushed_at[event["message"]["subject"]] = now
                    pushed.set()

        async def poll_list() -> None:
            """Today's client: GET …/messages every 3 s, paging back to what it has seen."""
            seen: set[str] = set()
            while not stop.is_set():
                started = time.perf_counter()
                cursor = None
                while True:
                    params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
                    page = (
                        await http.get(
                            f"/api/v1/mailboxes/{box['id']}/messages", params=params, headers=auth
                        )
                    ).json()
                    now = time.perf_counter()
                    fresh = [m for m in page["data"] if m["id"] not in seen]
                    for message in fresh:
                        seen.add(message["id"])
                        polled_at.setdefault(message["subject"], now)
                    cursor = page["meta"]["next_cursor"]
                    if not cursor or len(fresh) < len(page["data"]):
                        break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        stop.wait(), max(0.0, POLL_EVERY - (time.perf_counter() - started))
                    )

        async def timed_wait() -> tuple[float, dict]:
            response = await http.get(
                f"/api/v1/mailboxes/{box['id']}/wait", params={"timeout": 30}, headers=auth
            )
            return time.perf_counter(), response.json()["data"]

        ws_lat: list[float] = []
        wait_lat: list[float] = []
        smtp_lat: list[float] = []
        async with connect(
            ws_url, additional_headers=auth, ping_interval=None, max_queue=None
        ) as ws:
            reader = asyncio.create_task(read_socket(ws))
            poller = asyncio.create_task(poll_list())
            smtp: aiosmtplib.SMTP | None = None
            try:
                for n in range(warmup + count):
                    if smtp is None or n % 100 == 0:  # stay well under the server's command cap
                        if smtp is not None:
                            await smtp.quit()
                        smtp = aiosmtplib.SMTP(
                            hostname="127.0.0.1", port=deployment.smtp_port, timeout=30
                        )
                        await smtp.connect()
                    subject = f"{'warmup' if n < warmup else 'lat'}-{n}"
                    waiter = asyncio.create_task(timed_wait())
                    await until(lambda: _two(http, deployment.api_url), 10, "the waiter")
                    pushed.clear()
                    started = time.perf_counter()
                    await smtp.sendmail(
                        "bench@example.com",
                        [box["address"]],
                        message_bytes(box["address"], subject),
                    )
                    got_250 = sent_at[subject] = time.perf_counter()
                    answered, data = await asyncio.wait_for(waiter, 35)
                    assert data["message"] and data["message"]["subject"] == subject, data
                    while subject not in pushed_at:
                        await asyncio.wait_for(pushed.wait(), 35)
                        pushed.clear()
                    if n >= warmup:
                        ws_lat.append((pushed_at[subject] - got_250) * 1000)
                        wait_lat.append((answered - got_250) * 1000)
                        smtp_lat.append((got_250 - started) * 1000)
                # Let the poller see the last messages.
                last = f"lat-{warmup + count - 1}"
                await until(lambda: _has(polled_at, last), POLL_EVERY * 3, "the poller")
            finally:
                stop.set()
                reader.cancel()
                await asyncio.gather(reader, poller, return_exceptions=True)
                if smtp is not None:
                    with contextlib.suppress(Exception):
                        await smtp.quit()
        poll_lat = [
            (polled_at[s] - sent_at[s]) * 1000
            for s in sent_at
            if s.startswith("lat-") and s in polled_at
        ]
    return Result(deployment.name, deployment.description, ws_lat, wait_lat, poll_lat, smtp_lat)


async def _two(http: httpx.AsyncClient, api_url: str) -> bool:
    return await bus_subscribers(http, api_url) >= 2  # the WebSocket and the wait


async def _has(mapping: dict[str, float], key: str) -> bool:
    return key in mapping


def report(results: list[Result], count: int) -> None:
    print()
    print(
        f"Latency from the SMTP client's 250 to the client hearing of the message, ms ({count} messages each)"
    )
    print(
        f"{'setup':<8} {'path':<22} {'n':>5} {'p50':>9} {'p95':>9} {'p99':>9} {'max':>9} {'<0':>5}"
    )
    for result in results:
        rows = [
            ("WebSocket event", result.websocket),
            ("long-poll /wait", result.wait),
            (f"poll list every {POLL_EVERY:g}s", result.poll),
            ("(SMTP DATA -> 250)", result.smtp),
        ]
        for label, values in rows:
            if len(values) < 2:
                print(f"{result.deployment:<8} {label:<22} {len(values):>5}  (not enough samples)")
                continue
            p = percentiles(values)
            negative = sum(1 for v in values if v < 0) / len(values)
            print(
                f"{result.deployment:<8} {label:<22} {len(values):>5} {p['p50']:>9.2f} {p['p95']:>9.2f}"
                f" {p['p99']:>9.2f} {p['max']:>9.2f} {negative:>5.0%}"
            )
        print(f"{'':<8} ({result.description})")
    print("<0: share of pushes that arrived before the SMTP client had read its 250.")


@contextlib.asynccontextmanager
async def deployed(name: str, workdir: Path) -> AsyncIterator[Deployment]:
    deployment = await (start_single if name == "single" else start_multi)(workdir)
    try:
        yield deployment
    finally:
        await deployment.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setups", default="single,multi", help="comma list: single, multi")
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args()
    print(
        f"inboxkit push latency; {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.platform()}"
    )
    results = []
    with tempfile.TemporaryDirectory(prefix="inboxkit-latency-") as tmp:
        for name in args.setups.split(","):
            workdir = Path(tmp) / name
            workdir.mkdir()
            print(f"[{name}] starting ...", flush=True)
            async with deployed(name, workdir) as deployment:
                started = time.monotonic()
                results.append(await measure(deployment, args.messages, args.warmup))
                print(
                    f"[{name}] {args.messages} messages in {time.monotonic() - started:.1f}s",
                    flush=True,
                )
    report(results, args.messages)


if __name__ == "__main__":
    asyncio.run(main())
