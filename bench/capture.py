"""Capture throughput: an application's mail captured over SMTP AUTH and over an emulated
provider API, side by side with plain SMTP ingest to a hosted mailbox, in one server and one run.

    .venv/bin/python bench/capture.py                         # SQLite, 5 rounds
    .venv/bin/python bench/capture.py --backend pg            # PostgreSQL + Redis
    .venv/bin/python bench/capture.py --backend sqlite,pg --rounds 5 --messages 1000

One ``inboxkit serve`` per backend (fresh SQLite data dir; or a PostgreSQL database dropped and
created afresh, with Redis as the bus) with SMTP capture on, an account on the shipped
``default`` plan with one API key, and one agent mailbox of that account. The same client (this
process, asyncio, ``--concurrency`` senders at once, 4 KiB messages) drives three ways in:

  smtp        baseline: aiosmtplib, one connection per message, MAIL/RCPT/DATA to the hosted
              agent mailbox (no AUTH) — plain ingest.
  smtp-auth   aiosmtplib, one connection per message, AUTH PLAIN with the key, then the same
              message to an outside address: it lands in the account's capture mailbox.
  esp         the provider API emulation over HTTP keep-alive (``--esp``: postmark or resend),
              one JSON request per message with the same subject and a 4 KiB text body.

Rounds are interleaved (the order rotates each round) so a busy machine's drift spreads over
all three. After every round the stored count is checked against what was sent. Printed:
msg/s per round and median, server CPU per message, and each way's ratio to ``smtp``.
aiosmtplib and httpx are used for every way (not Postfix smtp-source, which cannot
authenticate), so the client's own cost is alike; see docs/benchmarks.md for smtp-source
figures of plain ingest.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent

try:
    import aiosmtplib
    import httpx
except ImportError:  # started with a Python that lacks the project's dependencies
    venv_python = REPO / ".venv/bin/python"
    if venv_python.exists() and Path(sys.executable).resolve() != venv_python.resolve():
        os.execv(str(venv_python), [str(venv_python), __file__, *sys.argv[1:]])
    raise

sys.path.insert(0, str(BENCH))
import ingest  # noqa: E402
import quotas  # noqa: E402

ADMIN_KEY = quotas.ADMIN_KEY
WAYS = ("smtp", "smtp-auth", "esp")
OUTSIDE = "customer@shop.example"
log = ingest.log


@dataclass
class Round:
    sent: int
    seconds: float
    server_cpu: float
    stored_delta: int
    errors: int

    @property
    def ok(self) -> bool:
        return self.errors == 0 and self.stored_delta == self.sent

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


class CaptureServer(quotas.QuotaServer):
    """``inboxkit serve`` with capture on, an account with a key and one agent mailbox."""

    extra_env = {"INBOXKIT_SMTP_CAPTURE": "true"}  # noqa: RUF012 - read, never changed
    key: str = ""
    mailbox_id: str = ""
    capture_id: str = ""

    def start(self, args: argparse.Namespace) -> None:
        super().start(args)
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        key = httpx.post(self.api("/api/v1/keys"), json={"name": "bench app"}, headers=admin)
        key.raise_for_status()
        self.key = key.json()["data"]["token"]
        mine = {"Authorization": f"Bearer {self.key}"}
        box = httpx.post(
            self.api("/api/v1/mailboxes"),
            json={"mode": "agent", "handle": "bench-plain"},
            headers=mine,
        )
        box.raise_for_status()
        self.recipient, self.mailbox_id = box.json()["data"]["address"], box.json()["data"]["id"]
        capture = httpx.get(self.api("/api/v1/capture"), headers=mine)
        capture.raise_for_status()
        self.capture_id = capture.json()["data"]["id"]

    def count(self, way: str) -> int:
        mailbox = self.mailbox_id if way == "smtp" else self.capture_id
        r = httpx.get(
            self.api(f"/api/v1/mailboxes/{mailbox}"),
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=30,
        )
        r.raise_for_status()
        return int(r.json()["data"]["message_count"])


def message(to: str, n: int, size: int) -> bytes:
    body = ("Your verification code is 482913. " * (size // 34 + 1))[:size]
    return (
        f"From: Shop <no-reply@shop.example>\r\nTo: {to}\r\nSubject: Welcome {n}\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@shop.example>\r\n\r\n{body}\r\n"
    ).encode()


async def drive(count: int, concurrency: int, send: Callable[[int], Awaitable[None]]) -> int:
    """Send `count` messages with `concurrency` senders; the number that failed."""
    queue = iter(range(count))
    errors = 0

    async def worker() -> None:
        nonlocal errors
        for n in queue:
            try:
                await send(n)
            except Exception as exc:  # counted and shown; the round is marked failed
                errors += 1
                if errors <= 3:
                    log(f"    send failed: {type(exc).__name__}: {exc}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return errors


def esp_request(provider: str, key: str, n: int, size: int) -> tuple[str, dict, dict]:
    text = ("Your verification code is 482913. " * (size // 34 + 1))[:size]
    if provider == "postmark":
        body = {
            "From": "Shop <no-reply@shop.example>",
            "To": OUTSIDE,
            "Subject": f"Welcome {n}",
            "TextBody": text,
        }
        return "/esp/postmark/email", body, {"X-Postmark-Server-Token": key}
    body = {"from": "Shop <no-reply@shop.example>", "to": [OUTSIDE], "subject": f"Welcome {n}"}
    body["text"] = text
    return "/esp/resend/emails", body, {"Authorization": f"Bearer {key}"}


async def run_way(server: CaptureServer, way: str, args: argparse.Namespace) -> Round:
    before = server.count(way)
    cpu0 = server.cpu()
    t0 = time.perf_counter()
    if way == "esp":
        limits = httpx.Limits(max_connections=args.concurrency)
        async with httpx.AsyncClient(base_url=server.api(""), limits=limits, timeout=60) as http:

            async def send(n: int) -> None:
                path, body, headers = esp_request(args.esp, server.key, n, args.size)
                r = await http.post(path, json=body, headers=headers)
                if r.status_code >= 300:
                    raise RuntimeError(f"HTTP {r.status_code} {r.text[:200]}")

            errors = await drive(args.messages, args.concurrency, send)
    else:
        to = server.recipient if way == "smtp" else OUTSIDE
        auth = {"username": "app", "password": server.key} if way == "smtp-auth" else {}

        async def send(n: int) -> None:
            await aiosmtplib.send(
                message(to, n, args.size),
                sender="no-reply@shop.example",
                recipients=[to],
                hostname="127.0.0.1",
                port=server.smtp_port,
                timeout=60,
                **auth,
            )

        errors = await drive(args.messages, args.concurrency, send)
    seconds = time.perf_counter() - t0
    cpu = server.cpu() - cpu0
    await asyncio.sleep(0.2)  # let reply-after-commit bookkeeping settle before counting
    return Round(args.messages, seconds, cpu, server.count(way) - before, errors)


def run_backend(backend: str, args: argparse.Namespace, workroot: Path) -> int:
    label = "SQLite" if backend == "sqlite" else "PostgreSQL + Redis"
    log("")
    log(f"### {label}")
    server = CaptureServer(backend, workroot / backend)
    if backend == "pg":
        server.database_url, server.redis_url = args.pg_url, args.redis_url
    failures = 0
    results: dict[str, list[Round]] = {way: [] for way in WAYS}
    try:
        server.start(args)
        for rnd in range(args.rounds):
            order = WAYS[rnd % len(WAYS) :] + WAYS[: rnd % len(WAYS)]
            for way in order:
                result = asyncio.run(run_way(server, way, args))
                results[way].append(result)
                failures += not result.ok
                status = "ok" if result.ok else f"ERROR ({result.errors} failed sends)"
                log(
                    f"  round {rnd + 1}/{args.rounds} {way:<9} {result.sent:>5} msgs "
                    f"{result.seconds:6.2f}s {ingest.fmt_rate(result.rate):>6} msg/s  "
                    f"srv {result.server_cpu / max(result.sent, 1) * 1000:5.2f} ms/msg  "
                    f"stored +{result.stored_delta} {status}"
                )
        summary(label, args, results)
        errors = server.log_errors()
        if errors:
            log(f"  note: the server log has {errors} error/traceback lines: {server.logfile}")
    except Exception as exc:
        log(f"  {label} failed: {type(exc).__name__}: {exc}")
        failures += 1
    finally:
        server.stop()
    return failures


def summary(label: str, args: argparse.Namespace, results: dict[str, list[Round]]) -> None:
    medians = {w: statistics.median([r.rate for r in rs]) for w, rs in results.items()}
    cpu = {
        w: statistics.median([r.server_cpu / r.sent * 1000 for r in rs])
        for w, rs in results.items()
    }
    log("")
    log(
        f"{label}: {args.messages} msgs x {args.rounds} rounds, {args.size} B bodies, "
        f"{args.concurrency} senders at once; esp = {args.esp}"
    )
    head = f"{'way':<10}" + "".join(f"{f'r{i + 1}':>8}" for i in range(args.rounds))
    log(f"{head}{'median msg/s':>14}{'srv CPU/msg':>13}{'vs smtp':>9}")
    for way in WAYS:
        row = "".join(f"{ingest.fmt_rate(r.rate) if r.ok else 'ERROR':>8}" for r in results[way])
        ratio = medians[way] / medians["smtp"] if medians["smtp"] else 0.0
        log(f"{way:<10}{row}{ingest.fmt_rate(medians[way]):>14}{cpu[way]:>10.2f} ms{ratio:>9.2f}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="sqlite", help="sqlite, pg, or both: sqlite,pg")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=500, help="per way per round")
    parser.add_argument("--size", type=int, default=4096, help="body bytes")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--esp", choices=("postmark", "resend"), default="postmark")
    parser.add_argument("--inboxkit", default=str(REPO / ".venv/bin/inboxkit"))
    parser.add_argument("--start-timeout", type=float, default=60)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "INBOXKIT_BENCH_DATABASE_URL",
            "postgresql+asyncpg://postgres@127.0.0.1:5432/inboxkit_bench_capture",
        ),
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("INBOXKIT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"),
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log(f"capture benchmark: {' '.join(sys.argv[1:]) or '(defaults)'}")
    failures = 0
    with tempfile.TemporaryDirectory(prefix="inboxkit-bench-capture-") as tmp:
        for backend in args.backend.split(","):
            failures += run_backend(backend.strip(), args, Path(tmp))
        if "pg" in args.backend:
            ingest.drop_pg_database(args.pg_url)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
