"""SMTP ingest benchmark: inboxkit (SQLite, PostgreSQL) against a store-nothing aiosmtpd
server and MailDev, side by side in one run.

    .venv/bin/python bench/ingest.py                      # everything, 3 rounds
    .venv/bin/python bench/ingest.py --skip-large         # without the 100k-message mailbox
    .venv/bin/python bench/ingest.py --targets baseline,sqlite --rounds 5 --messages 3000

Targets (each a subprocess on free 127.0.0.1 ports, started once and kept for all rounds):

  baseline  bench/baseline_smtp.py: aiosmtpd whose handler answers 250 and stores nothing,
            the ceiling for any Python service built on aiosmtpd on this machine.
  sqlite    ``inboxkit serve`` on its embedded default (SQLite in a fresh data dir).
  postgres  ``inboxkit serve`` with INBOXKIT_DATABASE_URL on a freshly created database.
  maildev   MailDev 2.2.1 (Node.js), a popular catch-all test SMTP server, for reference.
  sqlite-2, postgres-2
            the same as sqlite / postgres with ``--smtp-processes 2``: two SMTP ingest
            processes sharing the port (SO_REUSEPORT), for the scaling from one to two.

With ``--before EXE`` (an ``inboxkit`` executable of other code, e.g. the main branch's
checkout: ``--before /work/main/.venv/bin/inboxkit``) each inboxkit target is also run from
that executable in the same rounds (``sqlite@before``, ...), so a change is measured against
the code before it under the same load.

Workloads:

  small        Postfix smtp-source, 4 KiB messages, 20 parallel sessions, one connection per
               message (smtp-source's default, like most MTAs delivering to a new domain).
  small-reuse  the same with each session reusing its connection (smtp-source -d).
  big          a ~1 MiB MIME message (text + HTML + two binary attachments) sent with
               aiosmtplib from a few concurrent clients (one connection each).
  large        (skip with --skip-large) a fresh SQLite inboxkit mailbox filled with 100,000
               messages by smtp-source, then the latency of ~500 sequential
               GET /api/v1/mailboxes/{address}/messages calls (first page, cursor pages,
               filters).

Rounds are interleaved (round 1: every target, round 2: every target, ...) so drift in a
noisy machine's load spreads over all targets. After every round the number of messages each
target holds is checked against what was sent: a benchmark that loses mail is wrong.

External tools are fetched into bench/.tools/ on first use (see bench/_tools.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
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
import urllib.parse
import uuid
from dataclasses import dataclass, field
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
import _tools  # noqa: E402

ALL_TARGETS = ("baseline", "sqlite", "postgres", "maildev", "sqlite-2", "postgres-2")
ALL_WORKLOADS = ("small", "small-reuse", "big")
LABELS = {
    "baseline": "aiosmtpd store-nothing",
    "sqlite": "inboxkit SQLite",
    "postgres": "inboxkit PostgreSQL",
    "maildev": "MailDev 2.2.1",
    "sqlite-2": "inboxkit SQLite, 2 SMTP procs",
    "postgres-2": "inboxkit PostgreSQL, 2 SMTP procs",
}
for _name in ("sqlite", "postgres", "sqlite-2", "postgres-2"):
    LABELS[f"{_name}@before"] = LABELS[_name] + " (before)"
SENDER = "loadgen@bench.localhost"
HELO = "bench.localhost"
BENCH_ADMIN_KEY = f"ik_bench_{uuid.uuid4().hex}"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg: str) -> None:
    print(msg, flush=True)


# --------------------------------------------------------------------------- process helpers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proc_stat(pid: int) -> tuple[int, float] | None:
    """(ppid, cpu seconds incl. reaped children) of a process, from /proc."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    ppid = int(fields[1])
    ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return ppid, ticks / CLK_TCK


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds used so far by a process and all its live descendants."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _proc_stat(int(entry))
            if st:
                stats[int(entry)] = st
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += stats[pid][1]
        todo.extend(children.get(pid, ()))
    return total


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def wait_http_ok(url: str, proc: subprocess.Popen, logfile: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"exited with {proc.returncode} before {url} answered:\n" + tail(logfile)
            )
        try:
            r = httpx.get(url, timeout=2)
            if r.status_code == 200:
                return
            last = f"HTTP {r.status_code}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout:.0f}s ({last}):\n" + tail(logfile))


# --------------------------------------------------------------------------- targets


@dataclass
class Target:
    name: str
    workdir: Path
    proc: subprocess.Popen | None = None
    smtp_port: int = 0
    http_port: int = 0
    recipient: str = "bench@inboxkit.localhost"
    logfile: Path = field(default=None)  # type: ignore[assignment]

    @property
    def label(self) -> str:
        return LABELS.get(self.name, self.name)

    def start(self, args: argparse.Namespace) -> None:
        raise NotImplementedError

    def stored(self) -> int:
        """How many messages the target holds for the benchmark recipient."""
        raise NotImplementedError

    def cpu(self) -> float:
        return tree_cpu_seconds(self.proc.pid) if self.proc else 0.0

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_errors(self) -> int:
        try:
            text = self.logfile.read_text(errors="replace")
        except OSError:
            return 0
        return text.count("Traceback") + text.count(" ERROR ")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                log(f"  note: {self.label} did not exit within 15 s of SIGTERM; killing it")
                self.proc.kill()
                self.proc.wait(5)
        if self.proc:
            # The server ran in its own session: end helpers it left behind (parser pools).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    def _spawn(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.logfile = self.workdir / "server.log"
        fh = open(self.logfile, "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            argv,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=self.workdir,
            start_new_session=True,
        )
        fh.close()


class BaselineTarget(Target):
    def start(self, args: argparse.Namespace) -> None:
        self.smtp_port = free_port()
        self._spawn(
            [
                sys.executable,
                str(BENCH / "baseline_smtp.py"),
                "--port",
                str(self.smtp_port),
                "--loop",
                args.baseline_loop,
            ]
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if "READY" in tail(self.logfile, 5):
                log(f"  baseline: {tail(self.logfile, 1).strip()}")
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError("baseline server did not start:\n" + tail(self.logfile))

    def stored(self) -> int:
        import smtplib

        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=10) as s:
            code, text = s.noop()
        fields = dict(kv.split("=") for kv in text.decode().split())
        return int(fields["accepted"])


class InboxkitTarget(Target):
    token: str = ""
    database_url: str | None = None
    smtp_processes: int = 1
    executable: str | None = None  # default: --inboxkit

    def start(self, args: argparse.Namespace) -> None:
        self.smtp_port, self.http_port = free_port(), free_port()
        data_dir = self.workdir / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update(
            INBOXKIT_HTTP_HOST="127.0.0.1",
            INBOXKIT_SMTP_HOST="127.0.0.1",
            INBOXKIT_HTTP_PORT=str(self.http_port),
            INBOXKIT_SMTP_PORT=str(self.smtp_port),
            INBOXKIT_DATA_DIR=str(data_dir),
            # The load generator is one address standing in for many senders.
            INBOXKIT_SMTP_MAX_CONNECTIONS_PER_IP="100000",
            INBOXKIT_SMTP_CONNECT_RATE_PER_IP="100000000",
            # The mailbox is created with the admin key: on no plan, so never rate limited.
            INBOXKIT_ADMIN_KEY=BENCH_ADMIN_KEY,
        )
        if self.database_url:
            recreate_pg_database(self.database_url)
            env["INBOXKIT_DATABASE_URL"] = self.database_url
        else:
            env.pop("INBOXKIT_DATABASE_URL", None)
        argv = [
            self.executable or args.inboxkit,
            "serve",
            "--http-port",
            str(self.http_port),
            "--smtp-port",
            str(self.smtp_port),
            "--data-dir",
            str(data_dir),
        ]
        if self.smtp_processes > 1:
            argv += ["--smtp-processes", str(self.smtp_processes)]
        self._spawn(argv, env)
        wait_http_ok(self.api("/healthz"), self.proc, self.logfile, args.start_timeout)
        handle = self.recipient.split("@", 1)[0]
        r = httpx.post(
            self.api("/api/v1/mailboxes"),
            json={"mode": "agent", "handle": handle},
            headers={"Authorization": f"Bearer {BENCH_ADMIN_KEY}"},
            timeout=30,
        )
        if r.status_code != 201:
            raise RuntimeError(f"creating mailbox {handle!r}: HTTP {r.status_code} {r.text[:300]}")
        data = r.json()["data"]
        self.recipient, self.token = data["address"], data["token"]
        log(
            f"  {self.name}: http {self.http_port} smtp {self.smtp_port} "
            f"mailbox {self.recipient} (pid {self.proc.pid})"
        )

    def api(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http_port}{path}"

    def mailbox_path(self) -> str:
        return "/api/v1/mailboxes/" + urllib.parse.quote(self.recipient, safe="")

    def stored(self) -> int:
        r = httpx.get(
            self.api(self.mailbox_path()),
            timeout=60,
            headers={"Authorization": f"Bearer {self.token}"},
        )
        r.raise_for_status()
        return int(r.json()["data"]["message_count"])

    def stop(self) -> None:
        super().stop()
        if self.database_url:
            with contextlib.suppress(Exception):
                drop_pg_database(self.database_url)


class MailDevTarget(Target):
    def start(self, args: argparse.Namespace) -> None:
        prog = _tools.ensure_maildev()
        self.smtp_port, self.http_port = free_port(), free_port()
        maildir = self.workdir / "mail"
        self._spawn(
            [
                *prog.argv,
                "--smtp",
                str(self.smtp_port),
                "--web",
                str(self.http_port),
                "--ip",
                "127.0.0.1",
                "--mail-directory",
                str(maildir),
                "--silent",
            ],
            prog.environ(),
        )
        wait_http_ok(
            f"http://127.0.0.1:{self.http_port}/healthz",
            self.proc,
            self.logfile,
            args.start_timeout,
        )
        log(f"  maildev: web {self.http_port} smtp {self.smtp_port} (pid {self.proc.pid})")

    def _count_at_least(self, n: int) -> bool:
        if n <= 0:
            return True
        r = httpx.get(
            f"http://127.0.0.1:{self.http_port}/email", params={"skip": n - 1}, timeout=120
        )
        r.raise_for_status()
        return len(r.json()) > 0

    def stored(self) -> int:
        # MailDev has no count endpoint and /email returns every message; its ``skip``
        # parameter lets a binary search count with small responses.
        hi = 1
        while self._count_at_least(hi):
            hi *= 2
        lo = hi // 2  # count >= lo (lo may be 0), count < hi
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._count_at_least(mid):
                lo = mid
            else:
                hi = mid
        return lo


# --------------------------------------------------------------------------- PostgreSQL


def _pg_parts(url: str) -> tuple[str, str]:
    """(asyncpg DSN of the maintenance database, name of the benchmark database)."""
    parsed = urllib.parse.urlsplit(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    dbname = parsed.path.lstrip("/") or "inboxkit_bench"
    admin = parsed._replace(path="/postgres").geturl()
    return admin, dbname


def _pg_exec(url: str, *statements: str) -> None:
    import asyncpg

    admin, _ = _pg_parts(url)

    async def run() -> None:
        conn = await asyncpg.connect(admin, timeout=10)
        try:
            for stmt in statements:
                await conn.execute(stmt)
        finally:
            await conn.close()

    asyncio.run(run())


def recreate_pg_database(url: str) -> None:
    _, db = _pg_parts(url)
    if not db.replace("_", "").isalnum():
        raise ValueError(f"refusing odd database name {db!r}")
    _pg_exec(url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)', f'CREATE DATABASE "{db}"')


def drop_pg_database(url: str) -> None:
    _, db = _pg_parts(url)
    _pg_exec(url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


# --------------------------------------------------------------------------- measurements


@dataclass
class RoundResult:
    sent: int
    seconds: float
    server_cpu: float  # seconds of CPU the target's process tree used during the round
    client_cpu: float  # seconds of CPU the load generator used
    stored_delta: int | None
    error: str | None = None
    nbytes: int = 0

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 and not self.error else 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and self.stored_delta in (None, self.sent)


def run_smtp_source(
    prog: _tools.Program,
    port: int,
    rcpt: str,
    count: int,
    size: int,
    sessions: int,
    reuse: bool,
    timeout: float,
) -> tuple[float, str | None]:
    """Run smtp-source once; (elapsed seconds, error or None). It aborts on any rejection."""
    argv = [
        *prog.argv,
        "-s",
        str(sessions),
        "-l",
        str(size),
        "-m",
        str(count),
        "-M",
        HELO,
        "-f",
        SENDER,
        "-t",
        rcpt,
    ]
    if reuse:
        argv.append("-d")
    argv.append(f"127.0.0.1:{port}")
    t0 = time.monotonic()
    proc = subprocess.Popen(
        argv, env=prog.environ(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        return time.monotonic() - t0, f"timed out after {timeout:.0f}s"
    elapsed = time.monotonic() - t0
    error = None
    if proc.returncode != 0:
        msg = err.decode(errors="replace").strip().splitlines()
        error = (msg[-1] if msg else f"exit {proc.returncode}").split("fatal: ")[-1]
    return elapsed, error


def children_cpu() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def build_big_message(target_bytes: int, rcpt: str) -> bytes:
    """text + HTML alternative + two random binary attachments, about target_bytes on the wire."""
    from email import policy
    from email.message import EmailMessage

    # base64 grows 3 -> 4 plus CRLF every 76 chars; leave ~6 KiB for headers and bodies.
    attach_raw = int((target_bytes - 6000) / 2 * 3 / 4 * 76 / 78)
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = f"Bench Sender <{SENDER}>"
    msg["To"] = rcpt
    msg["Subject"] = "Quarterly report with attachments (1 MiB benchmark message)"
    msg["Message-ID"] = "<big-bench@bench.localhost>"
    text = (
        "Hello,\n\nPlease find the quarterly figures attached. Your verification code is "
        "482913.\n\nConfirm here: https://example.test/verify?token=abc123\n\n"
    ) * 10
    msg.set_content(text)
    html = (
        "<html><body>"
        + "".join(
            f"<p>Paragraph {i}: the figures are attached. Code <b>482913</b>. "
            f'<a href="https://example.test/verify?token=abc123">Verify</a></p>'
            for i in range(40)
        )
        + "</body></html>"
    )
    msg.add_alternative(html, subtype="html")
    rng = __import__("random").Random(1234)
    for name, ctype in (
        ("figures.bin", ("application", "octet-stream")),
        ("scan.png", ("image", "png")),
    ):
        payload = rng.randbytes(attach_raw)
        msg.add_attachment(payload, maintype=ctype[0], subtype=ctype[1], filename=name)
    return msg.as_bytes()


async def _send_big_async(
    port: int, rcpt: str, raw: bytes, count: int, clients: int, timeout: float
) -> str | None:
    remaining = [count]
    errors: list[str] = []

    async def client() -> None:
        smtp = aiosmtplib.SMTP(
            hostname="127.0.0.1",
            port=port,
            local_hostname=HELO,
            timeout=timeout,
            start_tls=False,
            use_tls=False,
        )
        await smtp.connect()
        try:
            while remaining[0] > 0 and not errors:
                remaining[0] -= 1
                await smtp.sendmail(SENDER, [rcpt], raw)
        finally:
            with contextlib.suppress(Exception):
                await smtp.quit()

    results = await asyncio.gather(*(client() for _ in range(clients)), return_exceptions=True)
    for res in results:
        if isinstance(res, BaseException):
            errors.append(f"{type(res).__name__}: {res}"[:200])
    return errors[0] if errors else None


def send_big(
    port: int, rcpt: str, raw: bytes, count: int, clients: int, timeout: float
) -> tuple[float, str | None]:
    t0 = time.monotonic()
    try:
        err = asyncio.run(
            asyncio.wait_for(_send_big_async(port, rcpt, raw, count, clients, 120), timeout)
        )
    except TimeoutError:
        err = f"timed out after {timeout:.0f}s"
    return time.monotonic() - t0, err


def measure_round(
    target: Target, workload: str, args: argparse.Namespace, smtp_source: _tools.Program, big: bytes
) -> RoundResult:
    if not target.alive():
        return RoundResult(0, 0, 0, 0, None, error="server not running")
    before = target.stored()
    cpu0, ccpu0 = target.cpu(), children_cpu()
    if workload == "big":
        count = args.big_count
        t0cpu = time.process_time()
        seconds, error = send_big(
            target.smtp_port, target.recipient, big, count, args.big_clients, args.round_timeout
        )
        client_cpu = time.process_time() - t0cpu
        nbytes = len(big) * count
    else:
        count = args.messages
        seconds, error = run_smtp_source(
            smtp_source,
            target.smtp_port,
            target.recipient,
            count,
            args.size,
            args.sessions,
            workload == "small-reuse",
            args.round_timeout,
        )
        client_cpu = children_cpu() - ccpu0
        nbytes = 0
    server_cpu = target.cpu() - cpu0
    time.sleep(0.2)  # let any reply-after-commit bookkeeping settle before counting
    delta = target.stored() - before
    return RoundResult(count, seconds, server_cpu, client_cpu, delta, error, nbytes)


# --------------------------------------------------------------------------- reporting


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else 0.0


def print_table(title: str, results: dict[str, list[RoundResult]], big: bool) -> None:
    rounds = max((len(v) for v in results.values()), default=0)
    base = median([r.rate for r in results.get("baseline", []) if r.ok])
    head = ["target"] + [f"r{i + 1} msg/s" for i in range(rounds)] + ["median msg/s"]
    if big:
        head.append("median MB/s")
    head += ["vs baseline", "srv CPU/msg", "srv cores", "stored/sent"]
    rows = []
    for name, rs in results.items():
        rates = [r.rate for r in rs if r.ok]
        med = median(rates)
        row = [LABELS.get(name, name)]
        row += [fmt_rate(r.rate) if r.ok else ("LOST" if r.error is None else "ERROR") for r in rs]
        row += [""] * (rounds - len(rs))
        row.append(fmt_rate(med) if rates else "-")
        if big:
            mbs = [r.nbytes / r.seconds / 1e6 for r in rs if r.ok]
            row.append(f"{median(mbs):.1f}" if mbs else "-")
        row.append(f"{med / base:.2f}x" if base and rates else "-")
        cpu_per = [r.server_cpu / r.sent * 1000 for r in rs if r.ok and r.sent]
        cores = [r.server_cpu / r.seconds for r in rs if r.ok and r.seconds]
        row.append(f"{median(cpu_per):.2f} ms" if cpu_per else "-")
        row.append(f"{median(cores):.2f}" if cores else "-")
        stored = sum(r.stored_delta or 0 for r in rs)
        sent = sum(r.sent for r in rs)
        row.append(f"{stored}/{sent}" + ("" if stored == sent else " MISMATCH"))
        rows.append(row)
    widths = [max(len(str(c)) for c in col) for col in zip(head, *rows, strict=False)]
    log("")
    log(title)
    line = "  ".join(
        h.ljust(w) if i == 0 else h.rjust(w)
        for i, (h, w) in enumerate(zip(head, widths, strict=True))
    )
    log(line)
    log("-" * len(line))
    for row in rows:
        log(
            "  ".join(
                str(c).ljust(w) if i == 0 else str(c).rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    for name, rs in results.items():
        for i, r in enumerate(rs):
            if r.error:
                log(f"  ! {LABELS.get(name, name)} round {i + 1}: {r.error}")
            elif r.stored_delta is not None and r.stored_delta != r.sent:
                log(
                    f"  ! {LABELS.get(name, name)} round {i + 1}: sent {r.sent} "
                    f"(all accepted) but {r.stored_delta} stored"
                )


def print_scaling(results: dict[str, list[RoundResult]]) -> None:
    """Two SMTP processes against one, and this code against `--before`, from the medians."""
    med = {name: median([r.rate for r in rs if r.ok]) for name, rs in results.items()}
    for name, rate in med.items():
        one = name.replace("-2", "")
        if name != one and med.get(one):
            log(f"  scaling {LABELS.get(name, name)} / one process: {rate / med[one]:.2f}x")
        before = f"{name}@before"
        if med.get(before):
            log(f"  {LABELS.get(name, name)} / before: {rate / med[before]:.2f}x")


# --------------------------------------------------------------------------- large mailbox


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    if not xs:
        return 0.0
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def run_large(args: argparse.Namespace, smtp_source: _tools.Program, workroot: Path) -> None:
    import smtplib

    log("")
    log(
        f"== large mailbox: fill one SQLite mailbox with {args.large_count:,} messages, "
        f"then time GET .../messages =="
    )
    target = InboxkitTarget("sqlite", workroot / "large")
    target.recipient = "large@inboxkit.localhost"
    try:
        target.start(args)
        # A few distinctive messages first (the oldest), so filtered queries must look past
        # the whole mailbox to find them.
        needles = 20
        with smtplib.SMTP("127.0.0.1", target.smtp_port, timeout=30) as s:
            for i in range(needles):
                s.sendmail(
                    "needle@sender.test",
                    [target.recipient],
                    (
                        f"From: Needle <needle@sender.test>\r\nTo: {target.recipient}\r\n"
                        f"Subject: needle invoice {i}\r\nMessage-ID: <needle{i}@sender.test>"
                        f"\r\n\r\nThe needle body number {i}.\r\n"
                    ).encode(),
                )
        chunk = min(args.large_chunk, args.large_count)
        sent, t_start = 0, time.monotonic()
        while sent < args.large_count:
            n = min(chunk, args.large_count - sent)
            secs, err = run_smtp_source(
                smtp_source,
                target.smtp_port,
                target.recipient,
                n,
                args.large_size,
                args.sessions,
                True,
                args.round_timeout * 4,
            )
            if err:
                log(f"  fill failed after {sent} messages: {err}")
                return
            sent += n
            log(f"  filled {sent:>7,} ({n / secs:,.0f} msg/s for the last {n:,})")
        fill_secs = time.monotonic() - t_start
        stored = target.stored()
        expect = args.large_count + needles
        log(
            f"  fill: {sent:,} msgs of {args.large_size} B in {fill_secs:.0f}s = "
            f"{sent / fill_secs:,.0f} msg/s; mailbox holds {stored:,}"
            + ("" if stored == expect else f" — MISMATCH, expected {expect:,}")
        )

        path = target.mailbox_path() + "/messages"
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{target.http_port}",
            timeout=60,
            headers={"Authorization": f"Bearer {target.token}"},
        )
        timings: dict[str, list[float]] = {}
        notes: dict[str, str] = {}

        def get(kind: str, params: dict) -> dict | None:
            t0 = time.perf_counter()
            r = client.get(path, params=params)
            timings.setdefault(kind, []).append((time.perf_counter() - t0) * 1000)
            if r.status_code != 200:
                notes[kind] = f"HTTP {r.status_code} {r.text[:120]}"
                return None
            body = r.json()
            notes.setdefault(kind, f"{len(body['data'])} items")
            return body

        for _ in range(10):  # warm-up, not counted
            client.get(path, params={"limit": 50})
        for _ in range(300):
            get("first page (limit=50)", {"limit": 50})
        cursor, pages = None, 0
        for _ in range(100):
            body = get(
                "next pages via cursor", {"limit": 50, **({"cursor": cursor} if cursor else {})}
            )
            cursor = (body or {}).get("meta", {}).get("next_cursor")
            pages += 1
            if not cursor:
                break
        notes["next pages via cursor"] = f"{pages} pages walked, {pages * 50:,} msgs deep"
        for _ in range(25):
            get("subject=needle (oldest 20)", {"limit": 50, "subject": "needle"})
        for _ in range(25):
            get("from=needle@sender.test", {"limit": 50, "from": "needle@sender.test"})
        for _ in range(25):
            get("unread=true", {"limit": 50, "unread": "true"})
        for _ in range(25):
            get("q=needle (free text)", {"limit": 50, "q": "needle"})
        client.close()

        allt = [x for v in timings.values() for x in v]
        rows = [(k, v) for k, v in timings.items()] + [("all requests", allt)]
        w = max(len(k) for k, _ in rows)
        log("")
        log(f"GET {path}?... on a mailbox of {stored:,} messages (sequential, keep-alive)")
        log(f"{'query'.ljust(w)}  {'n':>4}  {'p50 ms':>8}  {'p99 ms':>8}  {'max ms':>8}  result")
        for k, v in rows:
            log(
                f"{k.ljust(w)}  {len(v):>4}  {percentile(v, 50):>8.1f}  {percentile(v, 99):>8.1f}"
                f"  {max(v):>8.1f}  {notes.get(k, '')}"
            )
    except Exception as exc:  # report and go on: the other workloads already printed
        log(f"  large-mailbox workload failed: {exc}")
    finally:
        target.stop()


# --------------------------------------------------------------------------- main


def describe_environment(args: argparse.Namespace) -> None:
    import aiosmtpd

    try:
        commit = (
            subprocess.run(
                ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                capture_output=True,
                text=True,
            ).stdout.strip()
            or "no commit"
        )
    except OSError:
        commit = "?"
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    log(f"inboxkit ingest benchmark — {dt.datetime.now().isoformat(timespec='seconds')}")
    log(
        f"  host: {platform.platform()}, {os.cpu_count()} CPUs, load avg "
        f"{' '.join(f'{x:.2f}' for x in load)}"
    )
    log(
        f"  python {platform.python_version()}, aiosmtpd {aiosmtpd.__version__}, "
        f"node {shutil.which('node') and subprocess.run(['node', '--version'], capture_output=True, text=True).stdout.strip()}, "  # noqa: E501
        f"repo commit {commit}"
    )
    log(
        f"  rounds {args.rounds} (interleaved), targets {','.join(args.targets)}, "
        f"workloads {','.join(args.workloads)}"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="SMTP ingest throughput: inboxkit vs aiosmtpd store-nothing vs MailDev",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--messages", type=int, default=5000, help="messages per small round")
    ap.add_argument("--size", type=int, default=4096, help="smtp-source message size (-l)")
    ap.add_argument("--sessions", type=int, default=20, help="smtp-source sessions (-s)")
    ap.add_argument(
        "--targets", default=",".join(ALL_TARGETS), help=f"comma list of {','.join(ALL_TARGETS)}"
    )
    ap.add_argument(
        "--workloads",
        default=",".join(ALL_WORKLOADS),
        help=f"comma list of {','.join(ALL_WORKLOADS)}",
    )
    ap.add_argument("--big-count", type=int, default=100, help="1 MiB messages per round")
    ap.add_argument("--big-clients", type=int, default=4, help="concurrent big-message senders")
    ap.add_argument("--big-bytes", type=int, default=1 << 20, help="size of the big message")
    ap.add_argument(
        "--skip-large",
        action="store_true",
        help="skip the 100k-message mailbox / API latency workload",
    )
    ap.add_argument("--large-count", type=int, default=100_000)
    ap.add_argument("--large-size", type=int, default=1024, help="message size for the fill")
    ap.add_argument("--large-chunk", type=int, default=10_000, help="fill progress step")
    ap.add_argument(
        "--pg-url",
        default=os.environ.get(
            "INBOXKIT_BENCH_DATABASE_URL",
            "postgresql+asyncpg://postgres@127.0.0.1:5432/inboxkit_bench",
        ),
        help="PostgreSQL URL; its database is dropped and created afresh",
    )
    ap.add_argument(
        "--inboxkit", default=str(REPO / ".venv/bin/inboxkit"), help="inboxkit executable"
    )
    ap.add_argument(
        "--before",
        default=None,
        help="inboxkit executable of the code before a change: its sqlite/postgres targets "
        "run too, in the same rounds",
    )
    ap.add_argument(
        "--baseline-loop",
        choices=("auto", "asyncio", "uvloop"),
        default="auto",
        help="event loop of the baseline ('auto' = uvloop if installed, as uvicorn)",
    )
    ap.add_argument("--round-timeout", type=float, default=300.0)
    ap.add_argument("--start-timeout", type=float, default=60.0)
    ap.add_argument("--keep-data", action="store_true", help="keep the temporary data dirs")
    args = ap.parse_args(argv)
    args.targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    args.workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    for t in args.targets:
        if t.removesuffix("@before") not in ALL_TARGETS:
            ap.error(f"unknown target {t!r}")
    for w in args.workloads:
        if w not in ALL_WORKLOADS:
            ap.error(f"unknown workload {w!r}")
    if args.before:
        args.targets += [f"{t}@before" for t in list(args.targets) if t in ("sqlite", "postgres")]
    if any(t.startswith(("sqlite", "postgres")) for t in args.targets) or not args.skip_large:
        if not Path(args.inboxkit).exists() and not shutil.which(args.inboxkit):
            ap.error(f"inboxkit executable not found: {args.inboxkit}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    describe_environment(args)
    smtp_source = _tools.ensure_smtp_source()
    if "maildev" in args.targets:
        _tools.ensure_maildev()
    workroot = Path(tempfile.mkdtemp(prefix="inboxkit-bench-"))
    targets: list[Target] = []
    failures = 0
    try:
        log("starting targets:")
        for name in args.targets:
            wd = workroot / name
            t: Target
            if name == "baseline":
                t = BaselineTarget(name, wd)
            elif name == "maildev":
                t = MailDevTarget(name, wd)
            else:
                t = InboxkitTarget(name, wd)
                kind, _, before = name.partition("@")
                if kind.endswith("-2"):
                    t.smtp_processes = 2
                if before:
                    t.executable = args.before
                if kind.startswith("postgres"):
                    # A database per target: they run side by side.
                    suffix = name.replace("-", "_").replace("@", "_").removeprefix("postgres")
                    t.database_url = args.pg_url + suffix
            try:
                t.start(args)
            except Exception as exc:
                log(f"  {name}: FAILED to start: {exc}")
                t.stop()
                failures += 1
                continue
            targets.append(t)

        big = build_big_message(args.big_bytes, "bench@inboxkit.localhost")
        titles = {
            "small": f"== {args.size} B messages, {args.sessions} sessions, new connection per "
            f"message (smtp-source -l {args.size} -s {args.sessions} -m "
            f"{args.messages}) ==",
            "small-reuse": f"== {args.size} B messages, {args.sessions} sessions reusing their "
            f"connection (smtp-source -d -l {args.size} -s {args.sessions} -m "
            f"{args.messages}) ==",
            "big": f"== {len(big):,} B MIME message (text+html+2 binary attachments), "
            f"{args.big_count} per round from {args.big_clients} aiosmtplib clients ==",
        }
        for workload in args.workloads:
            log("")
            log(titles[workload])
            results: dict[str, list[RoundResult]] = {t.name: [] for t in targets}
            for rnd in range(args.rounds):
                for t in targets:
                    try:
                        r = measure_round(t, workload, args, smtp_source, big)
                    except Exception as exc:
                        r = RoundResult(0, 0, 0, 0, None, error=f"{type(exc).__name__}: {exc}")
                    results[t.name].append(r)
                    if not r.ok:
                        failures += 1
                    status = (
                        "ok"
                        if r.ok
                        else f"ERROR {r.error}"
                        if r.error
                        else f"MISMATCH stored {r.stored_delta} of {r.sent}"
                    )
                    extra = f", {r.nbytes / r.seconds / 1e6:.1f} MB/s" if r.nbytes and r.ok else ""
                    log(
                        f"  round {rnd + 1}/{args.rounds} {t.label:<22} {r.sent:>6} msgs "
                        f"{r.seconds:7.2f}s {fmt_rate(r.rate):>7} msg/s{extra}  "
                        f"srv {r.server_cpu:6.1f} cpu-s  loadgen {r.client_cpu:5.1f} cpu-s  "
                        f"stored +{r.stored_delta}  {status}"
                    )
            print_table(titles[workload].strip("= "), results, workload == "big")
            print_scaling(results)
        for t in targets:
            errs = t.log_errors()
            if errs:
                log(f"  note: {t.label} log has {errs} error/traceback lines: {t.logfile}")
    finally:
        for t in targets:
            t.stop()
    if not args.skip_large:
        run_large(args, smtp_source, workroot)
    if args.keep_data:
        log(f"data kept in {workroot}")
    else:
        shutil.rmtree(workroot, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
