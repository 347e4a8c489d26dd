"""Coverage-guided fuzzing of the MIME parser, the extractor and the HTML renderer.

    .venv/bin/python bench/fuzz.py [--minutes N] [--targets parse,extract,html]
    make fuzz FUZZ_MINUTES=N

Each target gets an equal share of the time. With atheris installed (a `dev` dependency on
Linux x86-64) it is libFuzzer-driven and coverage-guided over our code and the stdlib `email`
package; elsewhere it falls back to hypothesis, which generates inputs but is not guided by
coverage. The seed corpus is the real mail in `tests/data/verification` and, when set,
`INBOXKIT_TEST_CORPUS`; the working corpus and any findings land in the git-ignored
`bench/.tools/fuzz/<target>/` (findings: `crash-*`, `timeout-*`, `slow-unit-*`).

What counts as a finding:
- `parse`: `parse_message` raising (it must never raise), a result over its caps, or a
  `parse_error` that says our own guard code failed (headers/body/summary unreadable).
- `extract`: `_extract` (the extractor without its catch-all) raising, or a result that is
  not well formed.
- `html`: `_render` (the renderer without its catch-all) raising, or internal marks leaking.
- any target: one input taking longer than `--timeout` seconds (a hang) — libFuzzer reports it
  as `timeout-*`; inputs slower than one second are listed as slow units.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / ".tools" / "fuzz"
TARGETS = ("parse", "extract", "html")
MAX_LEN = {"parse": 65_536, "extract": 32_768, "html": 32_768}
sys.path.insert(0, str(ROOT / "src"))

MARKS = set("\x01\x02\x03\x04\x05\x06")
OUR_GUARDS = ("headers unreadable", "body unreadable", "summary failed")


def _seeds() -> list[Path]:
    roots = [ROOT / "tests" / "data" / "verification"]
    if os.environ.get("INBOXKIT_TEST_CORPUS"):
        roots.append(Path(os.environ["INBOXKIT_TEST_CORPUS"]))
    found: list[Path] = []
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in {".eml", ".raw", ""} and path.stat().st_size:
                found.append(path)
    return found


# --------------------------------------------------------------------------------------------
# The checks, shared by both engines. Each takes the fuzzer's bytes.
# --------------------------------------------------------------------------------------------


def check_parse(data: bytes) -> None:
    from inboxkit.mail.parse import (
        MAX_CODES,
        MAX_LINKS,
        PREVIEW_CHARS,
        SUBJECT_CHARS,
        ParsedMessage,
        parse_message,
    )

    out = parse_message(data)
    assert isinstance(out, ParsedMessage)
    assert len(out.subject) <= SUBJECT_CHARS and len(out.preview) <= PREVIEW_CHARS
    assert len(out.to) <= 200 and len(out.cc) <= 200
    assert len(out.codes) <= MAX_CODES and len(out.links) <= MAX_LINKS
    if out.parse_error and out.parse_error.startswith(OUR_GUARDS):
        raise AssertionError(f"guard failed: {out.parse_error}")


def _split(data: bytes, parts: int) -> list[str]:
    text = data.decode("utf-8", "replace")
    chunk = max(1, len(text) // parts)
    return [text[i * chunk : (i + 1) * chunk if i < parts - 1 else None] for i in range(parts)]


def check_extract(data: bytes) -> None:
    from inboxkit.mail import extract as ex

    subject, text, html = _split(data, 3)
    result = ex._extract(" ".join(subject[:300].split()), text, html)
    for code in result.codes:
        assert code.value and 0.0 <= code.confidence <= 1.0
    urls = [link.url for link in result.links]
    assert len(urls) == len(set(urls))
    for url in urls:
        assert url.lower().startswith(("http://", "https://")) and not any(
            ch.isspace() for ch in url
        )


def check_html(data: bytes) -> None:
    from inboxkit.mail import htmltext

    (html,) = _split(data, 1)
    rendered = htmltext._render(html)
    assert not MARKS & set(rendered.text)
    for anchor in rendered.anchors:
        assert not MARKS & set(anchor.text) and not MARKS & set(anchor.context)


CHECKS = {"parse": check_parse, "extract": check_extract, "html": check_html}


# --------------------------------------------------------------------------------------------
# Engines
# --------------------------------------------------------------------------------------------


def run_atheris(target: str, seconds: int, timeout: int) -> int:
    """One libFuzzer run in a child process (libFuzzer owns the process it runs in)."""
    workdir = WORK / target
    corpus = workdir / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    if not any(corpus.iterdir()):
        for index, seed in enumerate(_seeds()):
            data = seed.read_bytes()
            if target == "parse":
                shutil.copyfile(seed, corpus / f"seed-{index}")
            else:  # the extractor and renderer get bodies, not whole messages
                body = data.partition(b"\n\n")[2] or data.partition(b"\r\n\r\n")[2] or data
                (corpus / f"seed-{index}").write_bytes(body[: MAX_LEN[target]])
    args = [
        sys.executable,
        __file__,
        "--child",
        target,
        str(corpus),
        f"-max_total_time={seconds}",
        f"-timeout={timeout}",
        f"-max_len={MAX_LEN[target]}",
        "-rss_limit_mb=2048",
        "-report_slow_units=1",
        "-print_final_stats=1",
        f"-artifact_prefix={workdir}/",
    ]
    return subprocess.call(args, cwd=workdir)


def child(target: str, argv: list[str]) -> None:
    import atheris

    with atheris.instrument_imports(include=["inboxkit", "email"]):
        import email  # noqa: F401
        import email.parser  # noqa: F401

        import inboxkit.mail.extract  # noqa: F401
        import inboxkit.mail.htmltext  # noqa: F401
        import inboxkit.mail.parse  # noqa: F401
    check = CHECKS[target]
    atheris.Setup([sys.argv[0], *argv], check)
    atheris.Fuzz()


def run_hypothesis(target: str, seconds: int) -> int:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    seeds = [p.read_bytes()[: MAX_LEN[target]] for p in _seeds()]
    check = CHECKS[target]

    def mutate(seed: bytes, cuts: list[tuple[int, bytes]]) -> bytes:
        data = bytearray(seed)
        for at, insert in cuts:
            at = at % (len(data) + 1)
            data[at:at] = insert
        return bytes(data)

    inputs = st.one_of(
        st.binary(max_size=4096),
        st.builds(
            mutate,
            st.sampled_from(seeds or [b""]),
            st.lists(st.tuples(st.integers(0, 1 << 20), st.binary(max_size=64)), max_size=8),
        ),
    )
    deadline = time.monotonic() + seconds
    rounds = 0
    while time.monotonic() < deadline:

        @settings(
            max_examples=500,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(inputs)
        def run(data: bytes) -> None:
            check(data)

        run()
        rounds += 1
    print(f"hypothesis: {target}: {rounds * 500} inputs in {seconds}s, no failure")
    return 0


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("FUZZ_MINUTES", 3)))
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--timeout", type=int, default=10, help="seconds before one input hangs")
    parser.add_argument("--engine", choices=("auto", "atheris", "hypothesis"), default="auto")
    args = parser.parse_args()
    targets = [t for t in args.targets.split(",") if t]
    unknown = set(targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401

            engine = "atheris"
        except ImportError:
            engine = "hypothesis"
    seconds = max(10, int(args.minutes * 60 / len(targets)))
    print(f"fuzzing {', '.join(targets)} with {engine}, {seconds}s each; findings: {WORK}/")
    failed = 0
    for target in targets:
        if engine == "atheris":
            code = run_atheris(target, seconds, args.timeout)
        else:
            code = run_hypothesis(target, seconds)
        print(f"{target}: {'no finding' if code == 0 else f'FINDING (exit {code})'}", flush=True)
        failed += code != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
