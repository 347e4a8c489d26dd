"""What the rate limiter adds to a request: GET /messages latency with the limiter counting and
without it, side by side in one run.

One `inboxkit serve` process on SQLite. Three callers read a mailbox of their own holding the
same messages:
- `limiter counting`: an API key whose plan has `read_per_minute` set far above what the run
  sends, so every request is counted and none refused;
- `same key path, no limit`: an API key on a plan without a read limit: the same
  authentication (a key looked up with its plan) and no count, so the difference between the
  two is the limiter alone;
- `admin, no limiter`: the bootstrap admin key, on no plan (it is also authenticated without a
  database read, so it is faster for a second reason).
Requests go one at a time over one keep-alive connection, the callers taking turns in blocks,
so all see the same machine. The limiter keeps its counts in the process's memory, and (setup
`redis`, when a Redis is at hand: INBOXKIT_BENCH_REDIS_URL or a `redis-server` to start) in
Redis, as every deployment with INBOXKIT_REDIS_URL does.

    .venv/bin/python bench/ratelimit.py --requests 3000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import aiosmtplib
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from latency import (  # noqa: E402 - the sibling script, not a package
    ADMIN,
    Deployment,
    message_bytes,
    percentiles,
    private_redis,
    start_single,
)

READS_PER_MINUTE = 100_000_000  # counted, never reached


COUNTED, UNCOUNTED, ADMIN_CALLER = (
    "limiter counting",
    "same key path, no limit",
    "admin, no limiter",
)


async def put_on_counted_plan(data_dir: Path, account_id: str) -> None:
    """Move an account to a plan with a read limit, in the server's database (plans are read
    fresh on every request)."""
    from inboxkit.store import plans
    from inboxkit.store.db import Database

    db = Database(f"sqlite+aiosqlite:///{(data_dir / 'inboxkit.db').resolve()}")
    try:
        async with db.write() as conn:
            await plans.insert_plan(conn, "bench-counted", {"read_per_minute": READS_PER_MINUTE})
            await plans.update_account(conn, account_id, {"plan": "bench-counted"})
    finally:
        await db.close()


async def fill(http: httpx.AsyncClient, deployment: Deployment, auth: dict, count: int) -> str:
    """A mailbox of the caller's own with `count` messages; its messages URL."""
    box = (await http.post("/api/v1/mailboxes", json={}, headers=auth)).json()["data"]
    for n in range(count):
        await aiosmtplib.send(
            message_bytes(box["address"], f"message {n}"),
            sender="bench@example.com",
            recipients=[box["address"]],
            hostname="127.0.0.1",
            port=deployment.smtp_port,
        )
    url = f"/api/v1/mailboxes/{box['id']}/messages"
    listed = await http.get(url, headers=auth)
    assert len(listed.json()["data"]) == count, listed.text
    return url


async def timed(http: httpx.AsyncClient, url: str, auth: dict, count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        response = await http.get(url, headers=auth)
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"GET {url}: {response.status_code} {response.text[:200]}")
    return latencies


async def measure(
    deployment: Deployment, data_dir: Path, args: argparse.Namespace
) -> dict[str, list[float]]:
    async with httpx.AsyncClient(base_url=deployment.api_url, timeout=60) as http:
        auths: dict[str, dict[str, str]] = {ADMIN_CALLER: ADMIN}
        for caller in (COUNTED, UNCOUNTED):
            made = (await http.post("/api/v1/keys", json={"name": caller}, headers=ADMIN)).json()
            auths[caller] = {"Authorization": f"Bearer {made['data']['token']}"}
            if caller == COUNTED:
                await put_on_counted_plan(data_dir, made["data"]["account_id"])
        urls = {
            caller: await fill(http, deployment, auths[caller], args.messages) for caller in auths
        }
        for caller, url in urls.items():
            probe = await http.get(url, headers=auths[caller])
            counted = "RateLimit-Remaining" in probe.headers
            assert counted == (caller == COUNTED), f"{caller}: counted={counted}"

        results: dict[str, list[float]] = {caller: [] for caller in urls}
        for caller in urls:
            await timed(http, urls[caller], auths[caller], args.warmup)
        block = max(1, args.requests // args.blocks)
        callers = list(urls)
        for round_ in range(args.rounds):
            for n in range(args.blocks):
                shift = (round_ + n) % len(callers)
                for caller in callers[shift:] + callers[:shift]:
                    results[caller] += await timed(http, urls[caller], auths[caller], block)
        return results


def report(setup: str, description: str, results: dict[str, list[float]]) -> None:
    print(f"\n[{setup}] {description}")
    print(f"{'caller':<24} {'requests':>8} {'median ms':>10} {'p95 ms':>8} {'p99 ms':>8}")
    medians = {}
    for caller, values in results.items():
        p = percentiles(values)
        medians[caller] = p["p50"]
        print(f"{caller:<24} {len(values):>8} {p['p50']:>10.2f} {p['p95']:>8.2f} {p['p99']:>8.2f}")
    extra = medians[COUNTED] - medians[UNCOUNTED]
    print(f"{'the limiter adds':<24} {'':>8} {extra:>+10.2f}  (median, counted - same key path)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setups", default="memory,redis", help="comma list: memory, redis")
    parser.add_argument("--requests", type=int, default=3000, help="per caller and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--blocks", type=int, default=10, help="alternations per round")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--messages", type=int, default=20, help="in each mailbox")
    args = parser.parse_args()
    print(
        f"inboxkit rate-limiter overhead, GET /messages of {args.messages} messages; "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory(prefix="inboxkit-ratelimit-") as tmp:
        for setup in args.setups.split(","):
            workdir = Path(tmp) / setup
            workdir.mkdir()
            settings: dict[str, str] = {}
            stop_redis = None
            if setup == "redis":
                if not (os.environ.get("INBOXKIT_BENCH_REDIS_URL") or shutil.which("redis-server")):
                    print("\n[redis] skipped: set INBOXKIT_BENCH_REDIS_URL or install redis-server")
                    continue
                settings["redis_url"], stop_redis = await private_redis(workdir)
            deployment = await start_single(workdir, **settings)
            try:
                results = await measure(deployment, workdir / "single", args)
            finally:
                await deployment.stop()
                if stop_redis is not None:
                    result = stop_redis()
                    if asyncio.iscoroutine(result):
                        await result
            where = "in Redis (bus too)" if setup == "redis" else "in process memory"
            report(setup, f"1 process, SQLite; limiter counts {where}", results)


if __name__ == "__main__":
    asyncio.run(main())
