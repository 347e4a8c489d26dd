"""The parser pool's time budget measures parsing, not starting a worker process."""

from __future__ import annotations

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
