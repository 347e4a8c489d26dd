"""Lists and searches on an account of a million messages: the old substring filters beside the
full-text index, on SQLite and PostgreSQL, in one run.

    .venv/bin/python bench/search.py                          # 1,000,000 messages, both backends
    .venv/bin/python bench/search.py --messages 200000 --backends sqlite
    .venv/bin/python bench/search.py --pg-url postgresql+asyncpg://postgres@127.0.0.1:5432/x

Building: one account, ten mailboxes (one holds 60% of the mail), written through the store's
tables in transactions of 5,000 rows (no SMTP, no parsing): subjects, senders and bodies are
the verification mails of tests/data/verification and the messages of the shared corpus
(INBOXKIT_TEST_CORPUS, default /work/shared/corpus), their words varied per message (names,
numbers, a few words swapped), so no two bodies are alike. 5% unread, 3% with attachments,
arrival spread over a year. One message in 20,000 carries the rare word. The old `search_text`
column is filled as before migration 0013, so the "before" column reads what it used to.

Timing: each query `--samples` times (after one warm-up) on the store, the way the services
call it (a search includes its highlights); p50 and p99 in milliseconds. "before" is the
substring filter that served the same need (`subject=`, `from=`, the old `q` LIKE over
`search_text` and the body); "—" where there was none. The database is deleted afterwards
unless `--keep`.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

import sqlalchemy as sa  # noqa: E402

from inboxkit.ids import _encode  # noqa: E402
from inboxkit.search.query import parse  # noqa: E402
from inboxkit.services.messages import MessageFilter  # noqa: E402
from inboxkit.services.search import _with_highlights  # noqa: E402
from inboxkit.store import messages as rows  # noqa: E402
from inboxkit.store import search as index  # noqa: E402
from inboxkit.store.db import Database  # noqa: E402
from inboxkit.store.migrate import upgrade  # noqa: E402
from inboxkit.store.tables import accounts, contents, mailboxes, messages  # noqa: E402

RARE = "zanzibar"
BATCH = 5_000
FIRST_NAMES = (
    "alice bob carol dave erin frank grace heidi ivan judy mallory niaj olivia peggy".split()
)
LAST_NAMES = "smith jones brown taylor wilson evans thomas roberts walker wright green".split()
DOMAINS = "shop.example bank.example news.example mail.example cloud.example game.example".split()
PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


# -- the mail --------------------------------------------------------------------------------


def _texts() -> list[tuple[str, str]]:
    """(subject, text) of every readable sample message."""
    corpus = Path(os.environ.get("INBOXKIT_TEST_CORPUS", "/work/shared/corpus"))
    files = sorted((REPO / "tests/data/verification").glob("*.eml"))
    files += [p for p in corpus.rglob("*") if p.is_file() and p.stat().st_size < 200_000]
    found = []
    for path in files:
        try:
            parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            part = parsed.get_body(preferencelist=("plain", "html"))
            text = part.get_content() if part is not None else ""
            subject = str(parsed.get("subject", "") or "")
        except Exception:  # the corpus holds broken mail on purpose
            continue
        if isinstance(text, str) and text.strip() and subject:
            text = re.sub(r"<[^>]{0,200}>", " ", text)[:4000]
            found.append((subject[:200], text))
    return found


class Mail:
    """Generates varied messages from the samples."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.samples = _texts()
        words = [w for _, t in self.samples for w in re.findall(r"[A-Za-z]{4,12}", t)]
        self.vocabulary = sorted(set(words))[:5000]

    def one(self, n: int) -> tuple[str, str, str, str]:
        """(from address, from name, subject, body)."""
        rng = self.rng
        subject, text = rng.choice(self.samples)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        body_words = text.split()
        for _ in range(3):  # a few words swapped, a number changed
            if body_words:
                body_words[rng.randrange(len(body_words))] = rng.choice(self.vocabulary)
        body = " ".join(body_words) + f"\nRef {rng.randrange(10**8)} for {first.title()}."
        if n % 20_000 == 7:
            body += f" Shipped via {RARE}."
        address = f"{first}.{last}{rng.randrange(100)}@{rng.choice(DOMAINS)}"
        return address, f"{first.title()} {last.title()}", subject, body


async def build(db: Database, total: int, seed: int = 7) -> tuple[str, list[str]]:
    """Fill the database; returns (account id, mailbox ids, the big one first)."""
    rng = random.Random(seed)
    mail = Mail(rng)
    now = datetime.now(UTC)
    account = _encode(int(now.timestamp() * 1000) << 80 | 1)
    boxes = [_encode(int(now.timestamp() * 1000) << 80 | (2 + i)) for i in range(10)]
    async with db.write() as conn:
        await conn.execute(
            accounts.insert().values(id=account, name="bench", created_at=now, plan=None)
        )
        for i, box in enumerate(boxes):
            await conn.execute(
                mailboxes.insert().values(
                    id=box,
                    account_id=account,
                    address=f"box{i}-{uuid.uuid4().hex[:6]}@inboxkit.localhost",
                    local_part=f"box{i}",
                    domain="inboxkit.localhost",
                    mode="agent",
                    created_at=now,
                )
            )
    start = now - timedelta(days=365)
    step = timedelta(days=365) / total
    for first in range(0, total, BATCH):
        content_rows, message_rows = [], []
        for n in range(first, min(first + BATCH, total)):
            at = start + step * n
            ms = int(at.timestamp() * 1000)
            mid = _encode(ms << 80 | rng.getrandbits(64))
            box = boxes[0] if rng.random() < 0.6 else rng.choice(boxes[1:])
            from_addr, from_name, subject, body = mail.one(n)
            to = ["box@inboxkit.localhost"]
            content_rows.append(
                {
                    "id": mid,
                    "size": len(body) + 600,
                    "raw": b"-",  # never read here
                    "headers": [],
                    "text": body,
                    "html": None,
                    "attachments": [],
                    "code_details": [],
                    "parse_error": None,
                    "created_at": at,
                }
            )
            attached = rng.random() < 0.03
            message_rows.append(
                {
                    "id": mid,
                    "mailbox_id": box,
                    "content_id": mid,
                    "direction": "inbound",
                    "from_addr": from_addr,
                    "from_name": from_name,
                    "to_addrs": to,
                    "cc_addrs": [],
                    "reply_to": [],
                    "subject": subject,
                    "preview": body[:200],
                    "received_at": at,
                    "is_read": rng.random() >= 0.05,
                    "has_attachments": attached,
                    "size": len(body) + (200_000 if attached else 600),
                    "codes": [],
                    "links": [],
                    "has_code": False,
                    "message_id": None,
                    "in_reply_to": None,
                    "references": [],
                    "envelope": {"mail_from": from_addr, "rcpt_to": to},
                    "tags": [],
                    "parse_error": False,
                    # As the old code filled it, for the "before" column.
                    "search_text": " ".join(
                        [from_addr, from_name, subject, " ".join(to), body[:4000]]
                    ).lower(),
                    "delivery_status": None,
                    "delivery_error": None,
                    "authentication": None,
                    "from_verified": False,
                    "spam": None,
                    "hidden": False,
                    **index.document(
                        subject=subject,
                        from_addr=from_addr,
                        from_name=from_name,
                        recipients=to,
                        body=body,
                    ),
                }
            )
        async with db.write() as conn:
            await conn.execute(contents.insert(), content_rows)
            await conn.execute(messages.insert(), message_rows)
        if (first // BATCH) % 20 == 0:
            print(f"  {first + len(message_rows):>9,} messages", flush=True)
    if not db.is_sqlite:
        async with db.write() as conn:
            await conn.execute(sa.text("ANALYZE"))
    return account, boxes


# -- the queries -----------------------------------------------------------------------------


def old_q(q: str) -> sa.ColumnElement[bool]:
    """The `q` filter before the index: a substring of `search_text`, or of the body."""
    c = messages.c
    needle = q.lower()
    body = sa.exists().where(
        contents.c.id == c.content_id,
        sa.func.lower(contents.c.text).contains(needle, autoescape=True),
    )
    return sa.or_(c.search_text.contains(needle, autoescape=True), body)


class Bench:
    def __init__(self, db: Database, account: str, boxes: list[str]):
        self.db, self.account, self.boxes = db, account, boxes
        self.big = boxes[0]
        self.deep: str | None = None

    async def page(self, flt: MessageFilter, before: str | None = None, extra: Any = None) -> int:
        async with self.db.read() as conn:
            query = rows.apply_filter(
                sa.select(*rows.SUMMARY_COLUMNS).where(messages.c.mailbox_id == self.big), flt
            )
            if extra is not None:
                query = query.where(extra)
            if before is not None:
                query = query.where(messages.c.id < before)
            found = (await conn.execute(query.order_by(messages.c.id.desc()).limit(51))).all()
        return len(found)

    async def account_like(self, q: str) -> int:
        async with self.db.read() as conn:
            live = sa.select(mailboxes.c.id).where(mailboxes.c.account_id == self.account)
            query = (
                sa.select(*rows.SUMMARY_COLUMNS)
                .where(messages.c.mailbox_id.in_(live), rows.visible(), old_q(q))
                .order_by(messages.c.id.desc())
                .limit(51)
            )
            return len((await conn.execute(query)).all())

    async def search(self, q: str, *, everywhere: bool = False) -> int:
        query = parse(q)
        scope = (
            index.Scope(account_id=self.account) if everywhere else index.Scope(mailbox_id=self.big)
        )
        async with self.db.read() as conn:
            found = await index.search_page(
                conn,
                sqlite=self.db.is_sqlite,
                scope=scope,
                query=query,
                base=[rows.visible()],
                columns=[*rows.SUMMARY_COLUMNS, messages.c.content_id],
                relevance=False,
                after=None,
                limit=51,
                now=datetime.now(UTC),
            )
            hits = [row for row, _ in found[:50]]
            texts = await index.bodies(conn, [r.content_id for r in hits], 20_000)
        _with_highlights(hits, query.highlighted, texts)
        return len(found)

    async def prepare(self) -> None:
        async with self.db.read() as conn:
            self.deep = await conn.scalar(
                sa.select(messages.c.id)
                .where(messages.c.mailbox_id == self.big)
                .order_by(messages.c.id.desc())
                .offset(10_000)
                .limit(1)
            ) or await conn.scalar(
                sa.select(sa.func.min(messages.c.id)).where(messages.c.mailbox_id == self.big)
            )

    def cases(
        self,
    ) -> list[tuple[str, Callable[[], Awaitable[int]] | None, Callable[[], Awaitable[int]] | None]]:
        today = datetime.now(UTC).date()
        month_ago = today - timedelta(days=30)
        return [
            ("list, first page", lambda: self.page(MessageFilter()), None),
            ("list, page 10,000 deep", lambda: self.page(MessageFilter(), before=self.deep), None),
            ("list, unread", lambda: self.page(MessageFilter(unread=True)), None),
            (f"rare word ({RARE})", lambda: self.page(MessageFilter(), extra=old_q(RARE)), lambda: self.search(RARE)),
            ("common word (your)", lambda: self.page(MessageFilter(), extra=old_q("your")), lambda: self.search("your")),
            ("from:alice", lambda: self.page(MessageFilter(from_contains="alice")), lambda: self.search("from:alice")),
            ('subject:"your account"', lambda: self.page(MessageFilter(subject_contains="your account")), lambda: self.search('subject:"your account"')),
            ("has:attachment is:unread", None, lambda: self.search("has:attachment is:unread")),
            (f"after:{month_ago} before:{today}", lambda: self.page(MessageFilter(since=datetime(month_ago.year, month_ago.month, month_ago.day, tzinfo=UTC))), lambda: self.search(f"after:{month_ago} before:{today}")),
            (f"/search account-wide ({RARE})", lambda: self.account_like(RARE), lambda: self.search(RARE, everywhere=True)),
            ("/search account-wide (your code)", lambda: self.account_like("your code"), lambda: self.search('"your code"', everywhere=True)),
        ]  # fmt: skip


async def _time(call: Callable[[], Awaitable[int]], samples: int) -> tuple[float, float, int]:
    found = await call()  # warm-up
    times = []
    for _ in range(samples):
        began = time.perf_counter()
        await call()
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    return statistics.median(times), p99, found


async def run_backend(name: str, url: str, total: int, samples: int) -> list[str]:
    db = Database(url)
    try:
        await upgrade(db)
        began = time.perf_counter()
        account, boxes = await build(db, total)
        built = time.perf_counter() - began
        print(f"{name}: built {total:,} messages in {built:.0f} s ({total / built:,.0f}/s)")
        bench = Bench(db, account, boxes)
        await bench.prepare()
        lines = [f"\n{name}, {total:,} messages (build {built:.0f} s)",
                 f"{'query':<40} {'before p50/p99 ms':>20} {'after p50/p99 ms':>20} {'hits':>5}"]  # fmt: skip
        for label, before, after in bench.cases():
            old = new = "—"
            hits = 0
            if before is not None:
                p50, p99, hits = await _time(before, samples)
                old = f"{p50:.1f} / {p99:.1f}"
            if after is not None:
                p50, p99, hits = await _time(after, samples)
                new = f"{p50:.1f} / {p99:.1f}"
            elif before is not None:
                new, old = old, "(unchanged)"
            lines.append(f"{label:<40} {old:>20} {new:>20} {hits:>5}")
            print(lines[-1], flush=True)
        return lines
    finally:
        await db.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--pg-url", default=PG_DEFAULT, help="a server; a database is made on it")
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="leave the databases behind")
    args = parser.parse_args()
    report: list[str] = []
    for backend in args.backends.split(","):
        if backend == "sqlite":
            where = Path(tempfile.mkdtemp(prefix="inboxkit-search-"))
            try:
                report += await run_backend(
                    "SQLite",
                    f"sqlite+aiosqlite:///{where / 'inboxkit.db'}",
                    args.messages,
                    args.samples,
                )
            finally:
                if not args.keep:
                    shutil.rmtree(where, ignore_errors=True)
        else:
            import asyncpg

            admin = args.pg_url.replace("postgresql+asyncpg://", "postgresql://", 1)
            name = f"inboxkit_search_bench_{uuid.uuid4().hex[:8]}"
            conn = await asyncpg.connect(admin)
            await conn.execute(f'CREATE DATABASE "{name}"')
            await conn.close()
            try:
                url = f"{args.pg_url.rpartition('/')[0]}/{name}"
                report += await run_backend("PostgreSQL", url, args.messages, args.samples)
            finally:
                if not args.keep:
                    conn = await asyncpg.connect(admin)
                    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    await conn.close()
    print("\n".join(report))


if __name__ == "__main__":
    asyncio.run(main())
