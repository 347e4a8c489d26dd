"""The parser pool: its time budget measures parsing, not starting a worker process; a worker
that dies is replaced; an abandoned parse never answers another message."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

from inboxkit.mail.parse import Limits
from inboxkit.mail.pool import ParserPool

RAW = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: first after a start\r\n\r\nhi\r\n"


async def test_the_first_message_after_a_start_is_parsed_though_starting_took_longer_than_the_budget():
    # A parse of this message takes milliseconds; starting the worker (fork, imports) takes
    # longer than the budget on any machine, and must not count against it.
    pool = ParserPool(1, 0.05, Limits(20, 500, 1024 * 1024))
    try:
        parsed = await pool.parse(RAW)
        assert parsed.parse_error is None, parsed.parse_error
        assert parsed.subject == "first after a start"
    finally:
        await pool.close()


def _message(subject: str, body_lines: int = 1) -> bytes:
    body = "".join(f"line {n} of {subject}\r\n" for n in range(body_lines))
    return f"From: a@example.com\r\nTo: b@example.com\r\nSubject: {subject}\r\n\r\n{body}".encode()


async def test_a_worker_killed_from_outside_is_replaced_and_the_message_parsed():
    pool = ParserPool(1, 5.0, Limits(20, 500, 1024 * 1024))
    try:
        assert (await pool.parse(_message("before"))).subject == "before"
        (slot,) = pool._slots
        assert slot.process is not None and slot.process.pid is not None
        first = slot.process.pid
        os.kill(first, signal.SIGKILL)
        parsed = await pool.parse(_message("after the kill"))
        assert parsed.parse_error is None, parsed.parse_error
        assert parsed.subject == "after the kill"
        assert slot.process is not None and slot.process.pid != first
    finally:
        await pool.close()


async def test_a_parse_cancelled_midway_never_answers_the_next_message():
    pool = ParserPool(1, 30.0, Limits(20, 500, 1024 * 1024))
    try:
        await pool.parse(_message("warm-up"))  # the worker is up: the next parse is sent at once
        slow = asyncio.create_task(pool.parse(_message("abandoned", body_lines=60_000)))
        await asyncio.sleep(0.05)
        slow.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await slow
        parsed = await pool.parse(_message("next"))
        assert parsed.subject == "next"
        assert "line 0 of next" in (parsed.text or "")
    finally:
        await pool.close()
