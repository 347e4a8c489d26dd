"""Mail text made safe to print: what outside senders wrote must not drive the terminal.

A subject or body can carry escape sequences — OSC 52 writes the user's clipboard, others
retitle the window, rewrite the screen or, on some terminals, answer back as typed input — and
a bare carriage return or bidirectional override can make a line read as something else. So
the CLI's human-readable output keeps only printable text, newlines and tabs; C0 and C1
controls, DEL and the bidi formatting characters are removed.

JSON output escapes C0 controls by itself but passes DEL, C1 controls and bidi characters
through as they are; `json_safe` escapes those too, which leaves the JSON's meaning unchanged.
"""

from __future__ import annotations

import re

__all__ = ["printable", "printable_bytes", "json_safe"]

# C0 except \t and \n; DEL; C1; bidi embeddings/overrides (U+202A-E) and isolates (U+2066-9).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with terminal controls removed (line breaks normalised to \\n)."""
    return _UNSAFE.sub("", text.replace("\r\n", "\n"))


def printable_bytes(data: bytes) -> str:
    """Raw message bytes for a terminal: decoded as UTF-8 (undecodable bytes shown as U+FFFD,
    so no stray byte reaches the terminal as an 8-bit control), then `printable`."""
    return printable(data.decode("utf-8", errors="replace"))


def json_safe(dumped: str) -> str:
    """JSON text with the characters `json.dumps` leaves raw written as \\u escapes (they only
    ever occur inside strings, so the value read back is the same)."""
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", dumped)
