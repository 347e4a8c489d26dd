"""What the plan checks cost: SMTP ingest and message listing for a mailbox whose account is on
an unlimited plan, next to one whose plan has every ceiling set (high enough never to refuse),
side by side in one server and one run.

    .venv/bin/python bench/quotas.py                          # SQLite, 5 rounds
    .venv/bin/python bench/quotas.py --backend pg             # PostgreSQL + Redis
    .venv/bin/python bench/quotas.py --backend sqlite,pg --rounds 7 --messages 3000

One ``inboxkit serve`` per backend (fresh SQLite data dir; or a PostgreSQL database dropped and
created afresh, with Redis as the bus), holding two agent mailboxes of two accounts:

  unlimited  the account is on ``default`` as shipped (every ceiling null): RCPT takes no hold
             and reads nothing; only the usage counters are updated where mail is stored.
  enforced   the account is on a plan with every numeric limit at 1,000,000,000: each RCPT
             takes a hold (services/quotas.py: a read of the mailbox's count and the month's
             figures under the process's hold lock), DATA checks the size, the storing
             transaction compares the counters with the ceilings, and every request is counted
             against the plan's rate limits where those are enforced.

Workloads, rounds interleaved (round 1: unlimited then enforced, round 2: enforced then
unlimited, ...) so the drift of a busy machine spreads over both:

  ingest  ``bench/ingest.py``'s small workload: Postfix smtp-source, 4 KiB messages,
          20 sessions, one connection per message; msg/s, and the stored count checked
          against what was sent after every round.
  list    sequential keep-alive ``GET /api/v1/mailboxes/{id}/messages?limit=50`` with the
          account's API key (after the round's ingest, so the mailbox grows alike for both);
          median and p95 latency over all rounds.

Printed: per-round and median msg/s, server CPU per message, GET median/p95, and the ratio
enforced / unlimited for each. The target is at most 5 % throughput lost to the checks.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent

try:
    import httpx
except ImportError:  # started with a Python that lacks the project's dependencies
    venv_python = REPO / ".venv/bin/python"
    if venv_python.exists() and Path(sys.executable).resolve() != venv_python.resolve():
        os.execv(str(venv_python), [str(venv_python), __file__, *sys.argv[1:]])
    raise

sys.path.insert(0, str(BENCH))
import _tools  # noqa: E402
import ingest  # noqa: E402

ADMIN_KEY = f"ik_bench_{uuid.uuid4().hex}"
HIGH = 1_000_000_000  # every ceiling of the enforced plan: active, never reached
# Every numeric limit of a plan (DESIGN §8); the enforced plan sets them all.
NUMERIC_LIMITS = (
    "max_mailboxes",
    "max_messages_per_mailbox",
    "max_ttl_minutes",
    "retention_days",
    "received_per_month",
    "sent_per_month",
    "max_message_bytes",
    "max_webhooks",
    "max_domains",
    "create_per_minute",
    "read_per_minute",
    "write_per_minute",
    "send_per_minute",
    "concurrent_waits",
)
ENFORCED_PLAN = {
    "name": "bench-enforced",
    **dict.fromkeys(NUMERIC_LIMITS, HIGH),
    "send": "any",
    "agent_mode": True,
    "api_access": True,
    "mcp_access": True,
}
KINDS = ("unlimited", "enforced")
log = ingest.log


class QuotaServer(ingest.InboxkitTarget):
    """``inboxkit serve`` with an admin key, holding one mailbox per kind of plan."""

    redis_url: str | None = None
    # Further settings for the server (bench/capture.py turns SMTP capture on).
    extra_env: dict[str, str] = {}  # noqa: RUF012 - read, never changed

    def start(self, args: argparse.Namespace) -> None:
        self.smtp_port, self.http_port = ingest.free_port(), ingest.free_port()
        data_dir = self.workdir / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("INBOXKIT_")}
        env.update(
            INBOXKIT_HTTP_HOST="127.0.0.1",
            INBOXKIT_SMTP_HOST="127.0.0.1",
            INBOXKIT_DATA_DIR=str(data_dir),
            INBOXKIT_ADMIN_KEY=ADMIN_KEY,
            # The load generator is one address standing in for many senders.
            INBOXKIT_SMTP_MAX_CONNECTIONS_PER_IP="100000",
            INBOXKIT_SMTP_CONNECT_RATE_PER_IP="100000000",
            **self.extra_env,
        )
        if self.database_url:
            ingest.recreate_pg_database(self.database_url)
            env["INBOXKIT_DATABASE_URL"] = self.database_url
        if self.redis_url:
            env["INBOXKIT_REDIS_URL"] = self.redis_url
        self._spawn(
            [
                args.inboxkit,
                "serve",
                "--http-port",
                str(self.http_port),
                "--smtp-port",
                str(self.smtp_port),
                "--data-dir",
                str(data_dir),
            ],
            env,
        )
        ingest.wait_http_ok(self.api("/healthz"), self.proc, self.logfile, args.start_timeout)
        log(f"  {self.name}: http {self.http_port} smtp {self.smtp_port} (pid {self.proc.pid})")

    def admin(self, method: str, path: str, body: dict) -> dict:
        r = httpx.request(
            method,
            self.api(f"/api/v1{path}"),
            json=body,
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            timeout=30,
        )
        if r.status_code != 201:
            raise RuntimeError(f"{method} {path}: HTTP {r.status_code} {r.text[:300]}")
        return r.json()["data"]

    def mailbox(self, kind: str) -> MailboxOnPlan:
        """A new account on the plan of `kind`, its API key and one agent mailbox."""
        plan = "default" if kind == "unlimited" else ENFORCED_PLAN["name"]
        if kind == "enforced":
            self.admin("POST", "/plans", ENFORCED_PLAN)
        account = self.admin("POST", "/accounts", {"name": f"bench {kind}", "plan": plan})
        key = self.admin("POST", "/keys", {"name": f"bench {kind}", "account_id": account["id"]})
        r = httpx.post(
            self.api("/api/v1/mailboxes"),
            json={"mode": "agent", "handle": f"bench-{kind}"},
            headers={"Authorization": f"Bearer {key['token']}"},
            timeout=30,
        )
        if r.status_code != 201:
            raise RuntimeError(f"creating the {kind} mailbox: HTTP {r.status_code} {r.text[:300]}")
        box = MailboxOnPlan(kind, self.workdir)
        box.proc, box.smtp_port, box.http_port = self.proc, self.smtp_port, self.http_port
        box.recipient, box.token = r.json()["data"]["address"], key["token"]
        box.mailbox_id, box.plan = r.json()["data"]["id"], plan
        log(f"  {kind}: {box.recipient}, account on plan '{plan}'")
        return box


class MailboxOnPlan(ingest.InboxkitTarget):
    """One mailbox of the shared server, seen as an ingest target (`stored()` reads its count
    with its account's key)."""

    mailbox_id: str = ""
    plan: str = ""

    def stop(self) -> None:  # the server is stopped once, by its QuotaServer
        pass

    def list_latencies(self, requests: int) -> list[float]:
        """Milliseconds per `GET .../messages?limit=50`, sequential over one connection."""
        path = f"/api/v1/mailboxes/{self.mailbox_id}/messages"
        timings = []
        with httpx.Client(
            base_url=self.api(""), timeout=60, headers={"Authorization": f"Bearer {self.token}"}
        ) as client:
            for _ in range(10):  # warm-up, not counted
                client.get(path, params={"limit": 50}).raise_for_status()
            for _ in range(requests):
                t0 = time.perf_counter()
                r = client.get(path, params={"limit": 50})
                timings.append((time.perf_counter() - t0) * 1000)
                r.raise_for_status()
        return timings


def ratio(enforced: float, unlimited: float) -> str:
    return f"{enforced / unlimited:.3f}" if unlimited else "-"


def run_backend(
    backend: str, args: argparse.Namespace, smtp_source: _tools.Program, workroot: Path
) -> int:
    label = "SQLite" if backend == "sqlite" else "PostgreSQL + Redis"
    log("")
    log(f"### {label}")
    server = QuotaServer(backend, workroot / backend)
    if backend == "pg":
        server.database_url, server.redis_url = args.pg_url, args.redis_url
    failures = 0
    try:
        server.start(args)
        boxes = {kind: server.mailbox(kind) for kind in KINDS}
        ingested: dict[str, list[ingest.RoundResult]] = {kind: [] for kind in KINDS}
        listed: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for rnd in range(args.rounds):
            order = KINDS if rnd % 2 == 0 else KINDS[::-1]
            for kind in order:
                result = ingest.measure_round(boxes[kind], "small", args, smtp_source, b"")
                ingested[kind].append(result)
                failures += not result.ok
                status = "ok" if result.ok else f"ERROR {result.error or 'stored mismatch'}"
                times = boxes[kind].list_latencies(args.gets)
                listed[kind].extend(times)
                log(
                    f"  round {rnd + 1}/{args.rounds} {kind:<9} {result.sent:>5} msgs "
                    f"{result.seconds:6.2f}s {ingest.fmt_rate(result.rate):>6} msg/s  "
                    f"srv {result.server_cpu / max(result.sent, 1) * 1000:5.2f} ms/msg  "
                    f"stored +{result.stored_delta} {status}  "
                    f"GET p50 {statistics.median(times):.2f} ms"
                )
        print_summary(label, args, ingested, listed)
        errors = server.log_errors()
        if errors:
            log(f"  note: the server log has {errors} error/traceback lines: {server.logfile}")
    except Exception as exc:
        log(f"  {label} failed: {type(exc).__name__}: {exc}")
        failures += 1
    finally:
        server.stop()
    return failures


def print_summary(
    label: str,
    args: argparse.Namespace,
    ingested: dict[str, list[ingest.RoundResult]],
    listed: dict[str, list[float]],
) -> None:
    rates = {k: [r.rate for r in rs if r.ok] for k, rs in ingested.items()}
    medians = {k: ingest.median(v) for k, v in rates.items()}
    cpu = {
        k: ingest.median([r.server_cpu / r.sent * 1000 for r in rs if r.ok and r.sent])
        for k, rs in ingested.items()
    }
    log("")
    log(
        f"{label}: ingest ({args.size} B, {args.sessions} sessions, new connection per message, "
        f"{args.messages} msgs x {args.rounds} rounds)"
    )
    head = f"{'plan':<10}" + "".join(f"{f'r{i + 1}':>8}" for i in range(args.rounds))
    log(f"{head}{'median msg/s':>14}{'srv CPU/msg':>13}")
    for kind in KINDS:
        row = "".join(f"{ingest.fmt_rate(r.rate) if r.ok else 'ERROR':>8}" for r in ingested[kind])
        log(f"{kind:<10}{row}{ingest.fmt_rate(medians[kind]):>14}{cpu[kind]:>10.2f} ms")
    tput = ratio(medians["enforced"], medians["unlimited"])
    loss = (1 - medians["enforced"] / medians["unlimited"]) * 100 if medians["unlimited"] else 0
    log(
        f"enforced / unlimited: throughput {tput} ({loss:.1f} % lost), "
        f"CPU per message {ratio(cpu['enforced'], cpu['unlimited'])}"
    )
    log("")
    log(f"{label}: GET /mailboxes/{{id}}/messages?limit=50, {args.gets} per round, sequential")
    log(f"{'plan':<10}{'n':>6}{'median ms':>11}{'p95 ms':>9}")
    stats = {}
    for kind in KINDS:
        times = listed[kind]
        stats[kind] = (ingest.percentile(times, 50), ingest.percentile(times, 95))
        log(f"{kind:<10}{len(times):>6}{stats[kind][0]:>11.2f}{stats[kind][1]:>9.2f}")
    log(
        f"enforced / unlimited: median {ratio(stats['enforced'][0], stats['unlimited'][0])}, "
        f"p95 {ratio(stats['enforced'][1], stats['unlimited'][1])}"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="The cost of plan checks: unlimited vs enforced plan, side by side",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    ap.add_argument("--backend", default="sqlite", help="comma list of sqlite, pg")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--messages", type=int, default=2000, help="messages per ingest round")
    ap.add_argument("--size", type=int, default=4096, help="smtp-source message size (-l)")
    ap.add_argument("--sessions", type=int, default=20, help="smtp-source sessions (-s)")
    ap.add_argument("--gets", type=int, default=200, help="GET requests per round and plan")
    ap.add_argument(
        "--pg-url",
        default=os.environ.get(
            "INBOXKIT_BENCH_DATABASE_URL",
            "postgresql+asyncpg://postgres@127.0.0.1:5432/inboxkit_bench_quotas",
        ),
        help="PostgreSQL URL for --backend pg; its database is dropped and created afresh",
    )
    ap.add_argument(
        "--redis-url",
        default=os.environ.get("INBOXKIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
        help="Redis for --backend pg (the bus, and shared rate limits where enforced)",
    )
    ap.add_argument(
        "--inboxkit", default=str(REPO / ".venv/bin/inboxkit"), help="inboxkit executable"
    )
    ap.add_argument("--round-timeout", type=float, default=300.0)
    ap.add_argument("--start-timeout", type=float, default=60.0)
    args = ap.parse_args(argv)
    args.backends = [b.strip() for b in args.backend.split(",") if b.strip()]
    for backend in args.backends:
        if backend not in ("sqlite", "pg"):
            ap.error(f"unknown backend {backend!r}")
    if args.rounds < 1 or args.messages < 1 or args.gets < 1:
        ap.error("--rounds, --messages and --gets must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.targets, args.workloads = args.backends, ["small", "list"]
    ingest.describe_environment(args)
    smtp_source = _tools.ensure_smtp_source()
    failures = 0
    with tempfile.TemporaryDirectory(prefix="inboxkit-bench-quotas-") as workroot:
        for backend in args.backends:
            failures += run_backend(backend, args, smtp_source, Path(workroot))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
