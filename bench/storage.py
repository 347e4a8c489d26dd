"""What compressing stored mail saves and costs: raw bytes and attachments, side by side.

    .venv/bin/python bench/storage.py [--corpus ../shared/corpus] [--messages 1000] [--runs 5]

Workloads (all built or read in this run):

  corpus         every complete message of the shared MIME corpus (the folders
                 tests/smtp/test_corpus.py sends), as received.
  smtp-source    the messages bench/ingest.py's `small` workload sends: Postfix smtp-source's
                 4 KiB shape (four headers, then 80-column filler lines), one per Message-Id.
  transactional  ~4 KB sign-up mail written here: text and HTML alternatives with a code, a
                 link and a footer, each with its own name, code and token.

For each workload and way of storing raw bytes it prints the stored bytes per message (the
`contents.raw` column), the ratio to the original, and the CPU per message (thread CPU time,
p50 over --runs passes) to encode and to decode:

  none           the bytes as received (before this change).
  zstd-N         `store/rawcodec.py`'s rule at level N: a zstd frame when it saves >= 10%,
                 else as received (N = 3 is what the store uses).
  zstd-3+dict    the same with a 32 KiB dictionary trained on a disjoint set (the corpus: the
                 other half of it, alternating files; synthetic workloads: 500 messages built
                 with other values), to see whether a dictionary would pay.

Then the attachments of the corpus and of bench/ingest.py's ~1 MiB `big` message: decoded
bytes and stored bytes per kind (types compressed already, which are not tried, and the rest),
and the latency of one attachment download through the store (`attachment_bytes` on SQLite)
stored as before (plain) and as now (its own zstd frame), p50 over 200 reads.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import zstandard  # noqa: E402

from inboxkit.mail.prepare import prepare_message  # noqa: E402
from inboxkit.store import rawcodec  # noqa: E402

MESSAGE_FOLDERS = ("enmime/mail", "enmime/low-quality", "mail-parser/tests/mails")
DICT_BYTES = 32 * 1024


def corpus_files(corpus: Path) -> list[bytes]:
    files = [
        path
        for folder in MESSAGE_FOLDERS
        for path in sorted((corpus / folder).iterdir())
        if path.is_file() and not path.name.upper().startswith(("LICENSE", "README"))
    ]
    files += sorted((corpus / "mailpit").glob("*.eml"))
    return [path.read_bytes() for path in files]


def smtp_source_message(n: int, size: int = 4096) -> bytes:
    """The shape Postfix smtp-source sends with `-l size`: headers, then filler lines whose
    first character counts 1-9, 0 and round again."""
    head = (
        "From: <loadgen@bench.localhost>\r\nTo: <bench@inboxkit.localhost>\r\n"
        f"Date: Fri,  4 Dec 2026 21:{n // 60 % 60:02d}:{n % 60:02d} +0000 (UTC)\r\n"
        f"Message-Id: <{n:x}.{n % 7:04x}.0000@bench.localhost>\r\n\r\n"
    ).encode()
    lines = []
    for i in range(80, size + 1, 80):
        lines.append("0123456789"[(i // 80) % 10].encode() + b"X" * 77 + b"\r\n")
    return head + b"".join(lines)


_FIRST = ("Ada", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances", "Alan")
_LAST = ("Lovelace", "Hopper", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie")


_TIPS = (
    "Keeping your account safe: Northwind staff will never ask you for this code, by email, "
    "by phone or in a chat. Do not forward this message. If someone asked you to read the code "
    "out to them, change your password and contact support at once. You can see the devices "
    "signed in to your account, and sign any of them out, under Settings, Security. Turning "
    "on two-step sign-in means a stolen password alone is never enough to get in. You are "
    "receiving this email because an address was added to a Northwind account; we send it "
    "once, and only if you asked for it. Read how we use your data in our privacy notice."
)


def transactional_message(rng: random.Random) -> bytes:
    name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
    code = f"{rng.randrange(10**6):06d}"
    token = f"{rng.getrandbits(128):032x}"
    msg = EmailMessage()
    msg["From"] = "Northwind Accounts <no-reply@accounts.northwind.example>"
    msg["To"] = f"{name} <{name.split()[0].lower()}.{rng.randrange(10**4)}@inboxkit.localhost>"
    msg["Subject"] = f"{code} is your Northwind verification code"
    msg["Message-ID"] = f"<{token}@mail.northwind.example>"
    msg["Date"] = f"Tue, 0{rng.randrange(1, 9)} Sep 2026 1{rng.randrange(10)}:04:11 +0000"
    link = f"https://accounts.northwind.example/verify?token={token}"
    msg.set_content(
        f"Hi {name.split()[0]},\n\nYour verification code is {code}. It expires in 10 "
        f"minutes.\n\nOr confirm your address here:\n{link}\n\nIf you did not ask for this, "
        "you can ignore this message; nobody can use the code without your password.\n\n"
        f"{_TIPS}\n\n"
        "Northwind Accounts, 1 Harbour Street, Portsmouth\nUnsubscribe: "
        f"https://accounts.northwind.example/prefs?u={token[:12]}\n"
    )
    msg.add_alternative(
        '<!doctype html><html><body style="font-family:Helvetica,Arial,sans-serif;'
        'background:#f4f4f7;margin:0;padding:0"><table role="presentation" width="100%" '
        'cellpadding="0" cellspacing="0"><tr><td align="center" style="padding:24px">'
        '<table role="presentation" width="560" style="background:#ffffff;border-radius:8px">'
        f'<tr><td style="padding:32px;color:#333333;font-size:16px">Hi {name.split()[0]},'
        "<p>Your verification code is</p>"
        f'<p style="font-size:32px;letter-spacing:6px;font-weight:bold">{code}</p>'
        "<p>It expires in 10 minutes. Or confirm your address with the button below.</p>"
        f'<p><a href="{link}" style="background:#2563eb;color:#ffffff;padding:12px 20px;'
        'border-radius:6px;text-decoration:none">Confirm my address</a></p>'
        '<p style="color:#777777;font-size:13px">If you did not ask for this, you can '
        "ignore this message; nobody can use the code without your password.</p>"
        f'<p style="color:#777777;font-size:12px;line-height:18px">{_TIPS}</p></td></tr>'
        '<tr><td style="padding:16px 32px;color:#999999;font-size:12px">Northwind Accounts, '
        "1 Harbour Street, Portsmouth &middot; "
        f'<a href="https://accounts.northwind.example/prefs?u={token[:12]}" '
        'style="color:#999999">Unsubscribe</a></td></tr></table></td></tr></table>'
        "</body></html>",
        subtype="html",
    )
    return msg.as_bytes()


def big_message() -> bytes:
    """bench/ingest.py's `big` message."""
    import ingest

    return ingest.build_big_message(1024 * 1024, "bench@inboxkit.localhost")


def cpu_ns(fn: Callable[[], object]) -> int:
    start = time.thread_time_ns()
    fn()
    return time.thread_time_ns() - start


class Way:
    """One way of storing raw bytes: encode to (encoding, stored), decode back."""

    def __init__(self, name: str, level: int | None, dictionary: bytes | None = None):
        self.name = name
        if level is None:
            self.compressor = None
            return
        params = {}
        if dictionary is not None:
            params["dict_data"] = zstandard.ZstdCompressionDict(dictionary)
        self.compressor = zstandard.ZstdCompressor(level=level, **params)
        self.decompressor = zstandard.ZstdDecompressor(**params)

    def encode(self, raw: bytes) -> tuple[int, bytes]:
        if self.compressor is None or len(raw) < rawcodec.MIN_BYTES:
            return rawcodec.IDENTITY, raw
        packed = self.compressor.compress(raw)
        if len(packed) <= len(raw) * (1 - rawcodec.MIN_SAVING):
            return rawcodec.ZSTD, packed
        return rawcodec.IDENTITY, raw

    def decode(self, encoding: int, stored: bytes) -> bytes:
        if encoding == rawcodec.IDENTITY:
            return stored
        return self.decompressor.decompress(stored)


def measure(way: Way, messages: list[bytes], runs: int) -> tuple[float, int, float, float]:
    """(stored bytes per message, messages compressed, encode p50 µs, decode p50 µs)."""
    stored = [way.encode(raw) for raw in messages]
    for raw, (encoding, data) in zip(messages, stored, strict=True):
        assert way.decode(encoding, data) == raw, "round trip broke"
    enc: list[int] = []
    dec: list[int] = []
    for _ in range(runs):
        for raw, (encoding, data) in zip(messages, stored, strict=True):
            enc.append(cpu_ns(lambda raw=raw: way.encode(raw)))
            dec.append(cpu_ns(lambda e=encoding, d=data: way.decode(e, d)))
    total = sum(len(data) for _, data in stored)
    packed = sum(1 for encoding, _ in stored if encoding != rawcodec.IDENTITY)
    return (
        total / len(messages),
        packed,
        statistics.median(enc) / 1000,
        statistics.median(dec) / 1000,
    )


def raw_table(name: str, messages: list[bytes], training: list[bytes] | None, runs: int) -> None:
    original = sum(map(len, messages)) / len(messages)
    ways = [
        Way("none", None),
        Way("zstd-1", 1),
        Way("zstd-3", 3),
        Way("zstd-6", 6),
        Way("zstd-9", 9),
    ]
    if training is not None:
        dictionary = zstandard.train_dictionary(DICT_BYTES, training, level=3).as_bytes()
        ways.append(Way("zstd-3+dict", 3, dictionary))
    print(f"\n{name}: {len(messages)} messages, {original:,.0f} bytes per message as received")
    print(
        f"  {'way':<12} {'bytes/msg':>10} {'ratio':>7} {'compressed':>11} "
        f"{'encode p50':>11} {'decode p50':>11}"
    )
    for way in ways:
        per, packed, enc, dec = measure(way, messages, runs)
        print(
            f"  {way.name:<12} {per:>10,.0f} {per / original:>7.3f} "
            f"{packed:>5}/{len(messages):<5} {enc:>8.1f} µs {dec:>8.1f} µs"
        )


def attachments_table(corpus: list[bytes]) -> list[tuple[str, bytes]]:
    parts: list[tuple[str, bytes]] = []
    for raw in [*corpus, big_message()]:
        parsed = prepare_message(raw)
        parts += [(a.content_type, a.data) for a in parsed.attachments]
    print(f"\nattachments of the corpus and the `big` message: {len(parts)} parts")
    print(
        f"  {'kind':<34} {'parts':>5} {'decoded':>12} {'stored':>12} {'ratio':>7} "
        f"{'encode CPU':>11}"
    )
    groups: dict[str, list[tuple[str, bytes]]] = {}
    for content_type, data in parts:
        kind = "tried (text, other)" if rawcodec.worth_trying(content_type) else "not tried"
        groups.setdefault(kind, []).append((content_type, data))
        groups.setdefault("if every part were tried", []).append(("text/plain", data))
    for kind, members in groups.items():
        start = time.thread_time_ns()
        blob, _ = rawcodec.encode_parts(members)
        spent = (time.thread_time_ns() - start) / 1e6
        decoded = sum(len(data) for _, data in members)
        print(
            f"  {kind:<34} {len(members):>5} {decoded:>12,} {len(blob):>12,} "
            f"{len(blob) / decoded:>7.3f} {spent:>8.1f} ms"
        )
    return parts


async def download_latency(runs: int) -> None:
    """One text attachment of ~1 MiB read through the store, stored plain and compressed."""
    from inboxkit.ids import new_id
    from inboxkit.store import messages as rows
    from inboxkit.store.db import Database
    from inboxkit.store.migrate import upgrade
    from inboxkit.store.tables import contents, utcnow

    rng = random.Random(7)
    words = [rng.choice(_FIRST + _LAST) for _ in range(2000)]
    text = "".join(
        f"{i},{rng.choice(words)},{rng.randrange(10**6)},{rng.random():.4f}\r\n"
        for i in range(40_000)
    ).encode()[: 1024 * 1024]
    print(
        f"\none {len(text):,}-byte text/csv attachment beside a 200 KiB PDF, read through "
        f"`attachment_bytes` on SQLite, p50 of {runs} reads:"
    )
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{tmp}/bench.db")
        await upgrade(db)
        try:
            pdf = os.urandom(200 * 1024)
            meta = [
                {"id": "1", "size": len(pdf), "content_type": "application/pdf"},
                {"id": "2", "size": len(text), "content_type": "text/csv"},
            ]
            ids = {}
            for label, compress in (("plain (before)", False), ("zstd (now)", True)):
                parts = [("application/pdf", pdf), ("text/csv", text)]
                blob, layout = rawcodec.encode_parts(parts) if compress else (pdf + text, None)
                content_id = new_id()
                async with db.write() as conn:
                    await conn.execute(
                        contents.insert().values(
                            id=content_id,
                            size=10,
                            raw=b"x" * 10,
                            raw_encoding=0,
                            headers=[],
                            code_details=[],
                            attachments=meta,
                            attachment_data=blob,
                            attachment_layout=layout,
                            created_at=utcnow(),
                        )
                    )
                ids[label] = (content_id, len(blob))
            for label, (content_id, stored) in ids.items():
                times = []
                for _ in range(runs):
                    start = time.perf_counter_ns()
                    async with db.read() as conn:
                        index = await rows.attachment_index(conn, content_id)
                        data = await rows.attachment_bytes(conn, content_id, index, 1)
                    times.append(time.perf_counter_ns() - start)
                    assert data == text
                print(
                    f"  {label:<16} stored {stored:>10,} bytes   "
                    f"{statistics.median(times) / 1e6:7.2f} ms"
                )
        finally:
            await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(
        f"zstandard {zstandard.__version__} (libzstd {zstandard.ZSTD_VERSION}), "
        f"Python {sys.version.split()[0]}"
    )

    corpus = corpus_files(args.corpus)
    raw_table("corpus", corpus[1::2], corpus[0::2], args.runs)
    print("  (the odd half of the corpus; the dictionary is trained on the even half)")
    raw_table("corpus (every message)", corpus, None, args.runs)
    raw_table(
        "smtp-source 4 KiB",
        [smtp_source_message(n) for n in range(args.messages)],
        [smtp_source_message(n) for n in range(10**6, 10**6 + 500)],
        args.runs,
    )
    rng = random.Random(1)
    raw_table(
        "transactional ~4 KB",
        [transactional_message(rng) for _ in range(args.messages)],
        [transactional_message(random.Random(10**6 + i)) for i in range(500)],
        args.runs,
    )
    attachments_table(corpus)
    asyncio.run(download_latency(200))


if __name__ == "__main__":
    main()
