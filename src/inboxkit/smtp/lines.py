"""How SMTP lines are read: command lines are short and capped; DATA lines may be very long.

A command line is at most 512 octets (RFC 5321 §4.5.3.1.4), plus what extensions add to MAIL and
RCPT; aiosmtpd answers longer complete lines `500` itself. What it cannot do is stop a client that
never ends its line: the bytes pile up in the session's read buffer. `CommandLineGuard` watches
bytes as they arrive and ends the session once a command line passes `COMMAND_LINE_LIMIT`.

DATA lines are another matter. RFC 5321 §4.5.3.1.6 caps them at 1,000 octets, but real senders
(Outlook, HTML mailers) send far longer ones, and refusing them would lose real mail. So
`read_data` reads the message in pieces of at most the read window, whatever the line lengths, and
keeps at most `size_limit` octets of it: an oversized message is read to its end and dropped.
"""

from __future__ import annotations

import asyncio

__all__ = ["COMMAND_LINE_LIMIT", "READ_WINDOW", "CommandLineGuard", "line_too_long", "read_data"]

# RFC 5321 §4.5.3.1.4: 512 octets, "with an allowance for extensions"; beyond this the session
# ends, which bounds what a client can make us hold before a command is complete.
COMMAND_LINE_LIMIT = 4096

# The session's StreamReader limit: the longest piece `readuntil` returns (a longer line comes in
# several pieces). The reader stops reading the socket at twice this, so it also bounds the
# bytes buffered ahead of the session.
READ_WINDOW = 64 * 1024


def line_too_long(limit: int = COMMAND_LINE_LIMIT) -> str:
    # RFC 5321 §4.2.2 / RFC 3463 5.5.2: a syntax error, and the session is over.
    return f"500 5.5.2 Line too long: a command line may be at most {limit} octets; closing"


class CommandLineGuard:
    """Tracks the length of the line being received, to refuse an over-long command line
    while it arrives rather than after buffering it."""

    def __init__(self, limit: int = COMMAND_LINE_LIMIT):
        self.limit = limit
        self._open = 0  # octets received since the last LF (aiosmtpd accepts a bare LF)

    def over_limit(self, data: bytes, *, commands: bool) -> bool:
        """Account for `data`; true when a command line in it passes the limit. During DATA
        (`commands=False`) lines are not limited, only followed so the count stays right."""
        if not commands:
            end = data.rfind(b"\n")
            self._open = self._open + len(data) if end < 0 else len(data) - end - 1
            return False
        longest, start = 0, 0
        while (end := data.find(b"\n", start)) >= 0:
            longest = max(longest, self._open + end - start)
            self._open, start = 0, end + 1
        self._open += len(data) - start
        return max(longest, self._open) > self.limit


async def read_data(reader: asyncio.StreamReader, size_limit: int) -> bytes | None:
    """Read a DATA section up to the lone dot and return the message, or None when it was
    larger than `size_limit` octets (it is still read to its end, so the session can go on).

    Only CRLF ends a line and only CRLF.CRLF ends the data (RFC 5321 §4.1.1.4): a bare LF is
    message content, so commands cannot be smuggled inside a message.
    """
    kept: list[bytes] = []
    size = 0
    at_line_start = True
    while True:
        try:
            piece = await reader.readuntil(b"\r\n")
        except asyncio.LimitOverrunError as overrun:
            # A line longer than the read window: take what is buffered, the rest follows.
            # `consumed` never splits the CRLF, so a piece ends in CRLF only at a line's end.
            piece = await reader.read(overrun.consumed)
        except asyncio.IncompleteReadError as eof:
            raise ConnectionResetError("the client went away during DATA") from eof
        if at_line_start:
            if piece == b".\r\n":
                break
            if piece.startswith(b"."):
                piece = piece[1:]  # RFC 5321 §4.5.2: undo the sender's dot-stuffing
        at_line_start = piece.endswith(b"\r\n")
        size += len(piece)
        if size <= size_limit:
            kept.append(piece)
        elif kept:
            kept.clear()  # too big: read on to the end, keeping nothing
    return None if size > size_limit else b"".join(kept)
