"""CPU time of parse + extract on the worst inputs known, next to a typical mail.

    .venv/bin/python bench/worst_inputs.py [--runs N] [--only NAME,...]

Each input is a whole raw message run through `parse_message` (MIME parsing, header fields,
HTML rendering, code and link extraction), in this process, `--runs` times (default 7); the
table gives the median and p99 (the slowest run, at this count) CPU time per input and the
ratio of the median to the baseline, a typical ~50 KB HTML verification mail. Inputs are
built to hit one step each at its caps (the server's limits: 25 MB per message, 1 MB of
header section). Figures only, no assertions; the service gives one message `parse_timeout`
(3 s by default) before storing it unparsed.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from extract_bench import typical_mail  # noqa: E402

from inboxkit.mail.htmltext import render_html  # noqa: E402
from inboxkit.mail.parse import parse_message  # noqa: E402

MB = 1 << 20


def _message(headers: str, body: bytes, content_type: str = "text/plain") -> bytes:
    head = f"From: mallory@example.com\r\nSubject: worst case\r\n{headers}"
    head += f"MIME-Version: 1.0\r\nContent-Type: {content_type}; charset=utf-8\r\n\r\n"
    return head.encode() + body


def baseline() -> bytes:
    subject, text, html = typical_mail()
    boundary = "b1"
    return (
        f"From: Northwind <no-reply@northwind.example>\r\nTo: jamie@example.com\r\n"
        f"Subject: {subject}\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
        f"--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"
        f"--{boundary}--\r\n"
    ).encode()


def addresses(count: int) -> str:
    return ", ".join(f'"User {i}" <user{i}@example.com>' for i in range(count))


def many_parts(count: int, extra: str = "") -> bytes:
    parts = "".join(f"--B\r\nContent-Type: text/plain{extra}\r\n\r\nx\r\n" for _ in range(count))
    return _message("", (parts + "--B--\r\n").encode(), 'multipart/mixed; boundary="B"')


INPUTS: dict[str, Callable[[], bytes]] = {
    "baseline: typical 50 KB HTML mail": baseline,
    "URL + 200,000 ')'": lambda: _message("", b"Open http://a" + b")" * 200_000),
    "URL + 1 MB of URL characters": lambda: _message("", b"http://a.example/" + b"a" * MB),
    "URL wrapped over 200,000 lines": lambda: _message(
        "", b"https://x.example/v?t=\r\n" + b"abc=\r\n" * 200_000
    ),
    "27 To: x 1,800 addresses (1 MB)": lambda: _message(
        "".join(f"To: {addresses(1_100)}\r\n" for _ in range(27)), b"body"
    ),
    "13,000 short headers (1 MB)": lambda: _message(
        "".join(f"X-H{i}: =?utf-8?q?caf=C3=A9?= value {i}\r\n" for i in range(13_000)), b"x"
    ),
    "32 KB encoded-word header x 20": lambda: _message(
        "".join(
            "X-Subject: "
            + " ".join([f"=?utf-8?b?{base64.b64encode('Grüße '.encode() * 8).decode()}?="] * 500)
            + "\r\n"
            for _ in range(20)
        ),
        b"x",
    ),
    "1 MB of digits": lambda: _message("", b"7" * MB),
    "1 MB of 'code is: 4 8 2'": lambda: _message("", b"Your code is: 4 8 2 " * (MB // 20)),
    "1 MB of e-mail addresses": lambda: _message("", b"user4829@example.com " * (MB // 21)),
    "1 MB HTML: nested divs": lambda: _message("", b"<div>" * (MB // 5), "text/html"),
    "1 MB HTML: anchors": lambda: _message(
        "", b'<a href="https://x.example/a">Verify</a>' * (MB // 42), "text/html"
    ),
    "1 MB HTML: empty anchors": lambda: _message(
        "", b"<a href=x></a><br>" * (MB // 18), "text/html"
    ),
    "500 parts, 10 KB Content-Type each": lambda: many_parts(
        500, "; " + "; ".join(f"p{i}={'v' * 60}" for i in range(150))
    ),
    "50,000 MIME parts (1.8 MB)": lambda: many_parts(50_000),
    "200,000 MIME parts (7 MB)": lambda: many_parts(200_000),
    "1,000-deep multipart nesting": lambda: _message(
        "",
        b"".join(
            b'--b%d\r\nContent-Type: multipart/mixed; boundary="b%d"\r\n\r\n' % (i, i + 1)
            for i in range(1_000)
        ),
        'multipart/mixed; boundary="b0"',
    ),  # fmt: skip
    "25 MB base64 attachment": lambda: _message(
        "",
        b"--B\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--B\r\n"
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(b"\x00\x01" * (9 * MB))
        + b"--B--\r\n",
        'multipart/mixed; boundary="B"',
    ),
}


def measure(raw: bytes, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        render_html.cache_clear()  # every run renders its HTML afresh
        start = time.process_time()
        parse_message(raw)
        times.append(time.process_time() - start)
    return sorted(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--only", default="", help="comma-separated substrings of input names")
    args = parser.parse_args()
    parse_message(baseline())  # imports warm
    names = [n for n in INPUTS if not args.only or any(s in n for s in args.only.split(","))]
    base = statistics.median(measure(baseline(), max(args.runs, 15)))
    print(f"{'input':<38}{'size':>10}{'median ms':>11}{'p99 ms':>9}{'x baseline':>12}  parse_error")
    for name in names:
        raw = INPUTS[name]()
        times = measure(raw, args.runs)
        median = statistics.median(times)
        flagged = parse_message(raw).parse_error or "-"
        print(
            f"{name:<38}{len(raw) / 1024:>9.0f}K{median * 1000:>11.1f}{times[-1] * 1000:>9.1f}"
            f"{median / base:>12.1f}  {flagged}",
            flush=True,
        )


if __name__ == "__main__":
    main()
