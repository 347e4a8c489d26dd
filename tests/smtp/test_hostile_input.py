"""Hostile and broken mail: every case gets a defined SMTP answer, nothing crashes, whatever is
accepted is listed (flagged `parse_error` where it could not be parsed) with its raw bytes kept,
and the HTTP side keeps answering `/healthz` while the hostile message is being parsed."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import aiosmtplib
import httpx
import pytest

from inboxkit.config import Settings
from tests.helpers import RunningServer, smtp_wire_bytes, start_server

SENDER = "mallory@example.com"


async def _healthy_while(server: RunningServer, work: Awaitable[Any]) -> Any:
    """Await `work` while probing /healthz; every probe must answer 200 promptly."""
    task = asyncio.ensure_future(work)
    probes = 0
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        while True:
            response = await client.get("/healthz")
            assert response.status_code == 200, response.text
            probes += 1
            await asyncio.wait({task}, timeout=0.05)
            if task.done():
                break
    assert probes >= 1
    return await task


async def _send(server: RunningServer, address: str, raw: bytes) -> str:
    errors, reply = await aiosmtplib.send(
        raw,
        sender=SENDER,
        recipients=[address],
        hostname="127.0.0.1",
        port=server.smtp_port,
        timeout=60,
    )
    assert errors == {}
    return reply


async def _only_message(server: RunningServer, inbox: dict) -> tuple[dict, dict, bytes]:
    """The inbox's single listed message: its summary, full form and raw bytes."""
    headers = server.auth(inbox["token"])
    listing = await server.http.get(f"/mailboxes/{inbox['id']}/messages", headers=headers)
    assert listing.status_code == 200, listing.text
    (summary,) = listing.json()["data"]
    path = f"/mailboxes/{inbox['id']}/messages/{summary['id']}"
    full = await server.http.get(path, headers=headers)
    assert full.status_code == 200, full.text
    raw = await server.http.get(f"{path}/raw", headers=headers)
    assert raw.status_code == 200
    return summary, full.json()["data"], raw.content


async def _deliver_hostile(server: RunningServer, raw: bytes) -> tuple[dict, dict]:
    """Send `raw` (probing health meanwhile), check it is kept byte-exact, and check the server
    still takes ordinary mail afterwards. Returns the message's summary and full form."""
    inbox = await server.create_inbox()
    reply = await _healthy_while(server, _send(server, inbox["address"], raw))
    assert reply.startswith("2.0.0 OK")
    summary, full, stored = await _only_message(server, inbox)
    assert stored == smtp_wire_bytes(raw)
    after = await server.create_inbox()
    await server.send(after["address"], subject="still alive")
    (ordinary, _, _) = await _only_message(server, after)
    assert ordinary["subject"] == "still alive" and ordinary["parse_error"] is False
    return summary, full


def _nested_multipart(depth: int) -> bytes:
    lines = [
        b"From: mallory@example.com",
        b"Subject: nested all the way down",
        b"MIME-Version: 1.0",
        b'Content-Type: multipart/mixed; boundary="b0"',
        b"",
    ]
    for level in range(1, depth):
        lines += [b"--b%d" % (level - 1), b'Content-Type: multipart/mixed; boundary="b%d"' % level]
        lines.append(b"")
    lines += [b"--b%d" % (depth - 1), b"Content-Type: text/plain", b"", b"deep inside"]
    lines += [b"--b%d--" % level for level in reversed(range(depth))]
    return b"\r\n".join(lines) + b"\r\n"


async def test_thousand_level_nested_multipart_is_accepted_and_listed_as_unparsed(
    server: RunningServer,
):
    summary, full = await _deliver_hostile(server, _nested_multipart(1000))
    assert summary["parse_error"] is True
    assert summary["subject"] == "nested all the way down"  # the header section still reads
    assert full["parse_error_detail"]


async def test_400kb_encoded_word_subject_is_accepted_and_subject_is_capped(
    server: RunningServer,
):
    word = b"=?utf-8?b?" + base64.b64encode("Grüße aus Köln ".encode() * 3) + b"?="
    folded = b"\r\n ".join([word] * (400_000 // (len(word) + 3)))
    raw = b"From: mallory@example.com\r\nSubject: " + folded + b"\r\n\r\nbody text\r\n"
    assert len(raw) > 390_000
    summary, full = await _deliver_hostile(server, raw)
    assert summary["parse_error"] is False
    assert summary["subject"].startswith("Grüße aus Köln Grüße")
    assert len(summary["subject"]) <= 1000
    assert full["text"].strip() == "body text"


async def test_unknown_charset_is_decoded_leniently(server: RunningServer):
    raw = (
        b"From: mallory@example.com\r\n"
        b"Subject: =?x-klingon?q?Qapla=E9?=\r\n"
        b"Content-Type: text/plain; charset=x-klingon\r\n\r\n"
        b"Qapla\xe9, your code is 482913\r\n"
    )
    summary, full = await _deliver_hostile(server, raw)
    assert summary["parse_error"] is False
    assert summary["subject"].startswith("Qapla")
    assert full["text"].startswith("Qaplaé, your code is 482913")


async def test_broken_base64_body_is_decoded_as_far_as_possible(server: RunningServer):
    raw = (
        b"From: mallory@example.com\r\n"
        b"Subject: broken base64\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        b"SGVsbG8gd29y!!!bGQ=\r\n==ab*c\r\n"
    )
    summary, full = await _deliver_hostile(server, raw)
    assert summary["subject"] == "broken base64"
    assert summary["parse_error"] is False
    assert full["text"].startswith("Hello wor")


async def test_nul_bytes_in_headers_and_body_are_accepted_and_kept_raw(server: RunningServer):
    raw = (
        b"From: mallory\x00@example.com\r\n"
        b"Subject: nul\x00here\r\n"
        b"X-Nul: \x00\x00\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        b"before \x00 after\r\n"
    )
    summary, full = await _deliver_hostile(server, raw)
    assert summary["parse_error"] is False
    assert summary["subject"] == "nulhere"
    assert "\x00" not in full["text"] and full["text"].startswith("before  after")
    assert all("\x00" not in value for _, value in full["headers"])


async def test_raw_utf8_bytes_in_headers_are_read_as_utf8(server: RunningServer):
    raw = (
        "From: Jörg Müller <joerg@example.com>\r\nSubject: Grüße aus Köln ✓\r\n\r\nbody\r\n"
    ).encode()
    summary, _ = await _deliver_hostile(server, raw)
    assert summary["parse_error"] is False
    assert summary["subject"] == "Grüße aus Köln ✓"
    assert summary["from"] == "joerg@example.com"
    assert summary["from_name"] == "Jörg Müller"


async def test_raw_latin1_bytes_in_headers_are_decoded_leniently(server: RunningServer):
    raw = ("From: Jörg <joerg@example.com>\r\nSubject: Grüße aus Köln\r\n\r\nbody\r\n").encode(
        "latin-1"
    )
    summary, _ = await _deliver_hostile(server, raw)
    assert summary["parse_error"] is False
    assert summary["from"] == "joerg@example.com"
    assert summary["subject"] == "Grüße aus Köln"


async def test_header_section_larger_than_the_limit_is_stored_raw_and_flagged(
    server: RunningServer,
):
    filler = b"".join(b"X-Filler-%d: %s\r\n" % (n, b"y" * 70) for n in range(40_000))
    raw = b"From: mallory@example.com\r\nSubject: huge headers\r\n" + filler + b"\r\nbody\r\n"
    assert len(raw) > 3 * server.settings.max_header_bytes
    summary, full = await _deliver_hostile(server, raw)
    assert summary["parse_error"] is True
    assert "header" in full["parse_error_detail"]


class RawSMTP:
    """A deliberately dumb SMTP client over a raw socket: it sends exactly the bytes given."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    async def reply(self) -> tuple[int, str]:
        lines = []
        while True:
            line = await asyncio.wait_for(self.reader.readline(), 30)
            assert line, "the server closed the connection"
            lines.append(line.decode().rstrip("\r\n"))
            if line[3:4] != b"-":
                return int(line[:3]), "\n".join(text[4:] for text in lines)

    async def command(self, data: bytes) -> tuple[int, str]:
        self.writer.write(data)
        await self.writer.drain()
        return await self.reply()


@pytest.fixture
async def raw_smtp(server: RunningServer) -> AsyncIterator[RawSMTP]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.smtp_port)
    client = RawSMTP(reader, writer)
    try:
        assert (await client.reply())[0] == 220
        yield client
    finally:
        writer.close()
        await writer.wait_closed()


async def test_bare_lf_commands_and_body_are_accepted_and_kept_as_sent(
    server: RunningServer, raw_smtp: RawSMTP
):
    inbox = await server.create_inbox()
    body = b"From: mallory@example.com\nSubject: bare newlines\n\nline one\nline two\n"
    assert b"\r" not in body
    assert (await raw_smtp.command(b"EHLO bare.example\n"))[0] == 250
    assert (await raw_smtp.command(b"MAIL FROM:<mallory@example.com>\n"))[0] == 250
    assert (await raw_smtp.command(b"RCPT TO:<%s>\n" % inbox["address"].encode()))[0] == 250
    assert (await raw_smtp.command(b"DATA\n"))[0] == 354
    # Only CRLF.CRLF ends the data (RFC 5321 §4.1.1.4); the bytes before it are the message.
    code, _ = await _healthy_while(server, raw_smtp.command(body + b"\r\n.\r\n"))
    assert code == 250
    summary, full, stored = await _only_message(server, inbox)
    assert stored == body + b"\r\n"
    assert summary["subject"] == "bare newlines" and summary["parse_error"] is False
    assert full["text"].startswith("line one\nline two")


async def test_bare_lf_dot_does_not_end_data_so_commands_cannot_be_smuggled(
    server: RunningServer, raw_smtp: RawSMTP
):
    inbox, victim = await server.create_inbox(), await server.create_inbox()
    smuggled = (
        b"Subject: outer\r\n\r\nhello\n.\n"
        b"MAIL FROM:<ceo@example.com>\nRCPT TO:<" + victim["address"].encode() + b">\nDATA\n"
        b"Subject: smuggled\n\nforged\n"
    )
    assert (await raw_smtp.command(b"EHLO smuggler.example\r\n"))[0] == 250
    assert (await raw_smtp.command(b"MAIL FROM:<mallory@example.com>\r\n"))[0] == 250
    assert (await raw_smtp.command(b"RCPT TO:<%s>\r\n" % inbox["address"].encode()))[0] == 250
    assert (await raw_smtp.command(b"DATA\r\n"))[0] == 354
    assert (await raw_smtp.command(smuggled + b"\r\n.\r\n"))[0] == 250
    summary, _, stored = await _only_message(server, inbox)
    assert summary["subject"] == "outer" and b"Subject: smuggled" in stored
    listing = await server.http.get(
        f"/mailboxes/{victim['id']}/messages", headers=server.auth(victim["token"])
    )
    assert listing.json()["data"] == []


@pytest.fixture
async def impatient_server(settings: Settings) -> AsyncIterator[RunningServer]:
    """A server whose parser gives up almost at once."""
    async with start_server(settings.model_copy(update={"parse_timeout": 0.001})) as running:
        yield running


async def test_parse_exceeding_parse_timeout_stores_the_message_raw_and_flagged(
    impatient_server: RunningServer,
):
    server = impatient_server
    # Large enough that parsing and extracting it (not starting the worker, which is not
    # counted) takes far longer than the 1 ms budget.
    raw = b"From: a@example.com\r\nSubject: slow\r\n\r\nyour code is 123456\r\n" + (
        b"a line of an ordinary, long message body, 9 of 10 words plain\r\n" * 20_000
    )
    summary, full = await _deliver_hostile_on(server, raw, expect_parse_error=True)
    assert summary["parse_error"] is True
    assert "longer than" in full["parse_error_detail"]


async def _deliver_hostile_on(
    server: RunningServer, raw: bytes, *, expect_parse_error: bool
) -> tuple[dict, dict]:
    inbox = await server.create_inbox()
    reply = await _healthy_while(server, _send(server, inbox["address"], raw))
    assert reply.startswith("2.0.0 OK")
    summary, full, stored = await _only_message(server, inbox)
    assert stored == smtp_wire_bytes(raw)
    assert summary["parse_error"] is expect_parse_error
    return summary, full


def _many_parts(count: int) -> bytes:
    """A message the stdlib parser needs many seconds for (it parses every part)."""
    head = (
        b"From: mallory@example.com\r\nSubject: parts galore\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
    )
    return head + b"--B\r\nContent-Type: text/plain\r\n\r\nx\r\n" * count + b"--B--\r\n"


@pytest.fixture
async def bounded_server(settings: Settings) -> AsyncIterator[RunningServer]:
    """One parser process with a parse time limit far below what the slow message needs."""
    update = {"parse_timeout": 1.0, "parse_workers": 1}
    async with start_server(settings.model_copy(update=update)) as running:
        yield running


async def test_a_parse_timeout_does_not_fail_messages_parsed_after_it(
    bounded_server: RunningServer, monkeypatch: pytest.MonkeyPatch
):
    server = bounded_server
    parser = server.runtime.parser
    slow_started = asyncio.Event()
    parse = parser.parse

    async def watched_parse(raw: bytes) -> Any:
        if b"parts galore" in raw[:200]:
            slow_started.set()
        return await parse(raw)

    monkeypatch.setattr(parser, "parse", watched_parse)
    slow_inbox = await server.create_inbox()
    await server.send(slow_inbox["address"], subject="warm-up")  # the parser process is up
    slow = asyncio.create_task(_send(server, slow_inbox["address"], _many_parts(200_000)))
    await asyncio.wait_for(slow_started.wait(), 30)
    others = [await server.create_inbox() for _ in range(3)]
    await asyncio.gather(*(server.send(inbox["address"], subject="ordinary") for inbox in others))
    assert (await slow).startswith("2.0.0 OK")
    for inbox in others:
        summary, _, _ = await _only_message(server, inbox)
        assert summary["subject"] == "ordinary"
        assert summary["parse_error"] is False, "an innocent message lost its parse"
    listing = await server.http.get(
        f"/mailboxes/{slow_inbox['id']}/messages", headers=server.auth(slow_inbox["token"])
    )
    assert [m["parse_error"] for m in listing.json()["data"]] == [True, False]
