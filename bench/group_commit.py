"""Group commit: concurrent deliveries sharing commits vs one commit per message.

Runs the real delivery pipeline (recipient lookup, parse in the worker pool, store, publish)
with N concurrent deliveries, once with the CommitBatcher batching freely and once capped to
one delivery per commit, on SQLite (synchronous=FULL) and, with --postgres URL, PostgreSQL.
Rounds alternate between the two modes; prints msgs/s per round, medians and the ratio.

    .venv/bin/python bench/group_commit.py --messages 2000 --concurrency 20 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

from inboxkit.config import Settings
from inboxkit.pipeline import Envelope
from inboxkit.runtime import Runtime
from inboxkit.services.auth import ANONYMOUS


def message(to: str, index: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = "load@example.com"
    msg["To"] = to
    msg["Subject"] = f"bench {index}"
    msg.set_content(("lorem ipsum dolor sit amet " * 150)[:4000])
    return msg.as_bytes()


async def run_round(settings: Settings, max_batch: int, count: int, concurrency: int) -> float:
    runtime = Runtime(settings)
    await runtime.start()
    runtime.batcher.max_batch = max_batch
    try:
        inbox = await runtime.mailboxes.create(ANONYMOUS, mode="agent")
        payloads = [message(inbox["address"], i) for i in range(count)]
        await runtime.pipeline.deliver(Envelope("w@example.com", [inbox["address"]]), payloads[0])
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        for payload in payloads:
            queue.put_nowait(payload)

        async def worker() -> None:
            while not queue.empty():
                payload = queue.get_nowait()
                await runtime.pipeline.deliver(
                    Envelope("load@example.com", [inbox["address"]]), payload
                )

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        return count / elapsed
    finally:
        await runtime.close()


def fresh_pg(url: str) -> str:
    base, _, _ = url.rpartition("/")
    name = "inboxkit_bench_gc"
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {name}"],
        check=True,
    )
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {name}"], check=True
    )
    return f"{base}/{name}"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", default=None, help="postgresql+asyncpg://… to include PG")
    args = parser.parse_args()

    backends = ["sqlite"] + (["postgres"] if args.postgres else [])
    print(
        f"{args.messages} deliveries of ~4 KB, {args.concurrency} concurrent, {args.rounds} rounds"
    )
    for backend in backends:
        results: dict[str, list[float]] = {"grouped": [], "one per commit": []}
        for _ in range(args.rounds):
            for mode, max_batch in (("grouped", 128), ("one per commit", 1)):
                with tempfile.TemporaryDirectory() as tmp:
                    url = fresh_pg(args.postgres) if backend == "postgres" else None
                    settings = Settings(_env_file=None, data_dir=Path(tmp), database_url=url)
                    rate = await run_round(settings, max_batch, args.messages, args.concurrency)
                    results[mode].append(rate)
        grouped = statistics.median(results["grouped"])
        single = statistics.median(results["one per commit"])
        print(f"\n[{backend}]")
        for mode, rates in results.items():
            rounds = "  ".join(f"{r:7.0f}" for r in rates)
            print(
                f"  {mode:15s} msgs/s per round: {rounds}   median {statistics.median(rates):7.0f}"
            )
        print(f"  group commit speed-up: {grouped / single:.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
