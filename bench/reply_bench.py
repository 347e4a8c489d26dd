"""Accuracy of reply text and speed of reply text and Markdown, ours beside the libraries.

    .venv/bin/python bench/reply_bench.py [--runs N]

The libraries compared are not dependencies of inboxkit; each is measured when installed:

    .venv/bin/pip install mail-parser-reply email-reply-parser quotequail html-to-markdown markdownify

Prints, over the labelled corpus in tests/data/replies, the share of replies read exactly as
labelled (whitespace normalised) per client and per language, for `inboxkit.mail.reply` and
each reply library side by side; then p50 and p99 CPU time of rendering a typical ~50 KB HTML
mail as Markdown (ours, html-to-markdown, markdownify) and of reading a reply. The libraries
get the text part (HTML-only mail: its text rendering, as the store keeps it) since none reads
HTML structure. Figures only, no assertions.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from extract_bench import typical_mail  # noqa: E402

from inboxkit.mail.htmltext import html_to_text, render_html  # noqa: E402
from inboxkit.mail.markdown import markdown  # noqa: E402
from inboxkit.mail.reply import reply_text  # noqa: E402

CASES = ROOT / "tests" / "data" / "replies" / "cases.json"
Reader = Callable[[str, str | None, str | None], str]


def normalised(text: str | None) -> str:
    return " ".join((text or "").split())


def ours(text: str, html: str | None, subject: str | None) -> str:
    return reply_text(text, html, subject)


def readers() -> dict[str, Reader]:
    found: dict[str, Reader] = {"inboxkit": ours}
    try:
        mpr = importlib.import_module("mailparser_reply")
        # Every language it knows among ours.
        parser = mpr.EmailReplyParser(
            languages=["en", "de", "es", "fr", "it", "ja", "nl", "pl", "zh"]
        )
        found["mail-parser-reply"] = lambda text, html, subject: parser.parse_reply(text=text) or ""
    except ImportError:
        pass
    try:
        erp = importlib.import_module("email_reply_parser")
        found["email-reply-parser"] = lambda text, html, subject: erp.EmailReplyParser.parse_reply(
            text
        )
    except ImportError:
        pass
    try:
        quotequail = importlib.import_module("quotequail")

        def qq(text: str, html: str | None, subject: str | None) -> str:
            parts = quotequail.quote(text)  # [(shown, text), ...]: the unquoted parts
            return "\n".join(part for shown, part in parts if shown)

        found["quotequail"] = qq
    except ImportError:
        pass
    return found


def accuracy() -> None:
    cases = json.loads(CASES.read_text(encoding="utf-8"))
    found = readers()
    names = list(found)
    by: dict[str, dict[str, dict[str, list[int]]]] = {
        "client": defaultdict(lambda: defaultdict(lambda: [0, 0])),
        "language": defaultdict(lambda: defaultdict(lambda: [0, 0])),
    }
    totals = {name: 0 for name in names}
    for case in cases:
        text = case["text"] or html_to_text(case["html"])
        for name, read in found.items():
            try:
                got = read(text, case["html"], case["subject"])
            except Exception:
                got = ""
            right = normalised(got) == normalised(case["expected"])
            totals[name] += right
            for key in by:
                cell = by[key][case[key]][name]
                cell[0] += right
                cell[1] += 1
    width = max(len(n) for n in names) + 2
    for key, table in by.items():
        print(f"\nreply text exactly as labelled, per {key}")
        print(f"{key:<16}{'n':>4}" + "".join(f"{n:>{width}}" for n in names))
        for group in sorted(table):
            n = table[group][names[0]][1]
            row = "".join(f"{100 * table[group][name][0] / n:>{width - 1}.0f}%" for name in names)
            print(f"{group:<16}{n:>4}{row}")
    print(
        f"{'all':<16}{len(cases):>4}"
        + "".join(f"{100 * totals[name] / len(cases):>{width - 1}.1f}%" for name in names)
    )


def cpu(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        start = time.process_time_ns()
        fn()
        samples.append(time.process_time_ns() - start)
    samples.sort()
    return samples[len(samples) // 2] / 1e6, samples[
        min(len(samples) - 1, int(len(samples) * 0.99))
    ] / 1e6


def speed(runs: int) -> None:
    _, text, html = typical_mail()
    print(f"\nMarkdown of a {len(html) // 1024} KB HTML mail, CPU ms over {runs} runs")
    print(f"{'renderer':<22}{'p50':>8}{'p99':>8}")
    renderers: dict[str, Callable[[], object]] = {"inboxkit": lambda: markdown(text, html)}
    try:
        h2m = importlib.import_module("html_to_markdown")
        renderers["html-to-markdown"] = lambda: h2m.convert(html)
    except ImportError:
        pass
    try:
        mdfy = importlib.import_module("markdownify")
        renderers["markdownify"] = lambda: mdfy.markdownify(html)
    except ImportError:
        pass
    for name, fn in renderers.items():
        fn()  # warm up
        p50, p99 = cpu(fn, runs if name != "markdownify" else max(10, runs // 20))
        print(f"{name:<22}{p50:>8.2f}{p99:>8.2f}")

    cases = json.loads(CASES.read_text(encoding="utf-8"))
    html_case = next(c for c in cases if c["id"] == "outlook-html-en")
    text_case = next(c for c in cases if c["id"] == "gmail-text-en")
    print(f"\nreply text, CPU ms over {runs} runs")
    print(f"{'input':<36}{'p50':>8}{'p99':>8}")
    inputs = {
        "text reply (gmail-text-en)": lambda: reply_text(text_case["text"], None, "Re: x"),
        "HTML reply (outlook-html-en)": lambda: reply_text(
            html_case["text"], html_case["html"], "RE: x"
        ),
        "50 KB HTML mail, not a reply": lambda: (
            render_html.cache_clear(),
            reply_text(text, html, "Your code"),
        ),
    }
    for name, fn in inputs.items():
        p50, p99 = cpu(fn, runs)
        print(f"{name:<36}{p50:>8.3f}{p99:>8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=500)
    args = parser.parse_args()
    accuracy()
    speed(args.runs)


if __name__ == "__main__":
    main()
