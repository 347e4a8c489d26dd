"""RspamdEngine against the real rspamd (tests/rspamd.py) and, for the answers a real rspamd
cannot be made to give, against a stub HTTP server on a real socket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import pytest

from inboxkit.spam import RspamdEngine, ScoredMessage
from inboxkit.spam.rspamd import MAX_ANSWER, MAX_REASON
from tests.rspamd import GTUBE_ADD_HEADER, GTUBE_REJECT, Rspamd, unused_port
from tests.spam.stub import rspamd_answer, stub_server

# These tests start an rspamd process; `make test-fast` leaves them out.
pytestmark = pytest.mark.service


def scored(body: str, *, subject: str = "Lunch on Friday", **envelope: object) -> ScoredMessage:
    message = EmailMessage()
    message["From"] = "Alice <alice@example.com>"
    message["To"] = "bob@example.org"
    message["Subject"] = subject
    message["Date"] = "Fri, 04 Dec 2026 16:00:00 +0000"
    message["Message-ID"] = "<lunch-1@example.com>"
    message.set_content(body)
    fields: dict[str, object] = {
        "raw": message.as_bytes(),
        "mail_from": "alice@example.com",
        "rcpt_tos": ["bob@example.org"],
        "remote_addr": "203.0.113.5",
        "helo": "mail.example.com",
        "from_addr": "alice@example.com",
        "subject": subject,
        "text": body,
        "html": None,
    }
    fields.update(envelope)
    return ScoredMessage(**fields)  # type: ignore[arg-type]


@asynccontextmanager
async def engine(url: str, **options: object) -> AsyncIterator[RspamdEngine]:
    scorer = RspamdEngine(url, **options)  # type: ignore[arg-type]
    try:
        yield scorer
    finally:
        await scorer.close()


ORDINARY = "Hi Bob,\n\nshall we have lunch on Friday at noon? The usual place.\n\nAlice\n"


async def test_gtube_is_spam_through_rspamd(rspamd: Rspamd) -> None:
    async with engine(rspamd.url) as scorer:
        result = await scorer.score(scored(f"This is a test.\n{GTUBE_REJECT}\n"))
    assert result["engine"] == "rspamd"
    assert result["verdict"] == "spam"
    assert result["score"] is not None and result["score"] >= 15
    assert result["reason"] is not None and "GTUBE" in result["reason"]


async def test_ordinary_message_is_clean_through_rspamd(rspamd: Rspamd) -> None:
    async with engine(rspamd.url) as scorer:
        result = await scorer.score(scored(ORDINARY))
    assert result["engine"] == "rspamd"
    assert result["verdict"] == "clean"
    assert isinstance(result["score"], float) and result["score"] < 6


async def test_add_header_action_is_quarantine_through_rspamd(rspamd: Rspamd) -> None:
    async with engine(rspamd.url) as scorer:
        result = await scorer.score(scored(f"A test.\n{GTUBE_ADD_HEADER}\n"))
    assert (result["engine"], result["verdict"]) == ("rspamd", "quarantine")
    assert result["reason"] is not None and result["reason"].startswith("rspamd: add header")


async def test_one_engine_scores_many_messages_over_its_client(rspamd: Rspamd) -> None:
    async with engine(rspamd.url) as scorer:
        verdicts = [
            (await scorer.score(scored(body)))["verdict"]
            for body in (ORDINARY, GTUBE_REJECT, ORDINARY, GTUBE_REJECT)
        ]
    assert verdicts == ["clean", "spam", "clean", "spam"]


async def test_stopped_rspamd_gives_unavailable_and_clean(tmp_path: Path) -> None:
    server = Rspamd(tmp_path)
    server.start()
    try:
        async with engine(server.url) as scorer:
            assert (await scorer.score(scored(GTUBE_REJECT)))["verdict"] == "spam"
            server.stop()
            result = await scorer.score(scored(GTUBE_REJECT))
    finally:
        server.stop()
    assert result == {
        "verdict": "clean",
        "score": None,
        "reason": result["reason"],
        "engine": "unavailable",
    }
    assert result["reason"] and "rspamd" in result["reason"]


async def test_nothing_listening_gives_unavailable_and_clean_saying_so() -> None:
    async with engine(f"http://127.0.0.1:{unused_port()}") as scorer:
        result = await scorer.score(scored(GTUBE_REJECT))
    assert (result["verdict"], result["engine"], result["score"]) == ("clean", "unavailable", None)
    assert result["reason"] == "rspamd could not be reached (connection failed)"


async def test_server_that_never_answers_gives_unavailable_after_the_timeout() -> None:
    async with stub_server(silent=True) as stub, engine(stub.url, timeout=0.5) as scorer:
        result = await scorer.score(scored(ORDINARY))
    assert (result["verdict"], result["engine"]) == ("clean", "unavailable")
    assert result["reason"] == "rspamd did not answer within 0.5 s"
    assert len(stub.requests) == 1  # it did reach the server


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (500, b"", "rspamd answered HTTP 500"),
        (403, b'{"error": "unauthorized"}', "rspamd answered HTTP 403"),
        (200, b"<html>not json</html>", "rspamd's answer was not a scan result"),
        (200, b'{"error": "cannot parse"}', "rspamd's answer was not a scan result"),
        (200, b'{"action": "reject", "score": "high"}', "rspamd's answer was not a scan result"),
        (200, b'{"action": "reject", "score": NaN}', "rspamd's answer was not a scan result"),
        (200, b"[1, 2]", "rspamd's answer was not a scan result"),
        (200, b" " * (MAX_ANSWER + 1), f"rspamd's answer was longer than {MAX_ANSWER} bytes"),
    ],
    ids=["500", "403", "html", "error-json", "score-text", "score-nan", "list", "endless"],
)
async def test_unusable_answer_gives_unavailable_and_clean(
    status: int, body: bytes, reason: str
) -> None:
    async with stub_server(status, body) as stub, engine(stub.url) as scorer:
        result = await scorer.score(scored(GTUBE_REJECT))
    assert result == {"verdict": "clean", "score": None, "reason": reason, "engine": "unavailable"}


@pytest.mark.parametrize(
    ("action", "verdict"),
    [
        ("reject", "spam"),
        ("discard", "spam"),
        ("add header", "quarantine"),
        ("rewrite subject", "quarantine"),
        ("no action", "clean"),
        ("greylist", "clean"),
        ("soft reject", "clean"),
        ("something new", "clean"),
    ],
)
async def test_rspamd_action_decides_the_verdict(action: str, verdict: str) -> None:
    answer = rspamd_answer(action, 7.5, {"SOME_RULE": 7.5})
    async with stub_server(body=answer) as stub, engine(stub.url) as scorer:
        result = await scorer.score(scored(ORDINARY))
    assert result == {
        "verdict": verdict,
        "score": 7.5,
        "reason": f"rspamd: {action} (SOME_RULE 7.5)",
        "engine": "rspamd",
    }


async def test_reason_names_the_top_three_symbols_by_score_and_is_bounded() -> None:
    symbols = {"SMALL": 0.5, "BIG": 9.0, "NEGATIVE": -2.0, "MIDDLE": 3.0, "ZERO": 0.0, "X" * 500: 4}
    async with stub_server(body=rspamd_answer("reject", 16.5, symbols)) as stub:
        async with engine(stub.url) as scorer:
            result = await scorer.score(scored(ORDINARY))
    reason = result["reason"]
    assert reason is not None and len(reason) <= MAX_REASON
    assert reason.startswith("rspamd: reject (BIG 9, XXXX")
    assert "SMALL" not in reason and "NEGATIVE" not in reason and "ZERO" not in reason


async def test_clean_message_without_weighing_symbols_has_no_reason() -> None:
    answer = rspamd_answer("no action", -0.2, {"R_SPF_ALLOW": -0.2, "FROM_HAS_DN": 0.0})
    async with stub_server(body=answer) as stub, engine(stub.url) as scorer:
        result = await scorer.score(scored(ORDINARY))
    assert result == {"verdict": "clean", "score": -0.2, "reason": None, "engine": "rspamd"}


async def test_request_carries_the_message_and_rspamds_envelope_headers() -> None:
    message = replace(
        scored(ORDINARY, rcpt_tos=["bob@example.org", "<carol@example.org>"]),
        subject="Déjeuner\r\nX-Injected: yes",  # as a decoded encoded-word could be
    )
    async with stub_server(body=rspamd_answer("no action", 0.0)) as stub:
        async with engine(stub.url + "/", password="s3cret") as scorer:
            await scorer.score(message)
    (request,) = stub.requests
    assert request.line.startswith("POST /checkv2 ")
    assert request.body == message.raw
    assert request.values("IP") == ["203.0.113.5"]
    assert request.values("Helo") == ["mail.example.com"]
    assert request.values("From") == ["alice@example.com"]
    assert request.values("Rcpt") == ["bob@example.org", "carol@example.org"]
    assert request.values("Password") == ["s3cret"]
    # One header, its line breaks gone: nothing can be injected into the request.
    assert request.values("Subject") == ["Déjeuner  X-Injected: yes"]
    assert request.values("X-Injected") == []


async def test_request_leaves_out_what_the_envelope_lacks() -> None:
    message = scored(ORDINARY, mail_from="", remote_addr="not-an-address", helo=None)
    async with stub_server(body=rspamd_answer("no action", 0.0)) as stub:
        async with engine(stub.url) as scorer:
            result = await scorer.score(message)
    (request,) = stub.requests
    assert result["engine"] == "rspamd"
    assert request.values("IP") == request.values("From") == request.values("Helo") == []
    assert request.values("Password") == []
