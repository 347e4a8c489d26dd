"""Everything about a message that is worked out once, at delivery, in the parse worker.

`parse_message` reads the MIME structure; `prepare_message` adds what would otherwise be
recomputed on every read: the HTML body sanitised for display. Running it in the parse worker
puts that CPU work under the same time and memory bounds as parsing, and off the event loop
(nh3 on a multi-megabyte body takes long enough to stall every other request).
"""

from __future__ import annotations

import nh3

from inboxkit.mail.parse import Limits, ParsedMessage, parse_message

__all__ = ["prepare_message", "sanitize_html"]


def sanitize_html(html: str) -> str:
    """The HTML as nh3 cleans it for display: no script, no event handlers, safe URLs."""
    return nh3.clean(html)


DEFAULT_LIMITS = Limits()


def prepare_message(raw: bytes, limits: Limits = DEFAULT_LIMITS) -> ParsedMessage:
    """`parse_message`, plus the sanitised HTML. Never raises."""
    parsed = parse_message(raw, limits)
    if parsed.html is not None:
        try:
            parsed.html_sanitized = sanitize_html(parsed.html)
        except Exception:  # nh3 refusing its input: nothing is shown rather than the raw HTML
            parsed.html_sanitized = ""
    return parsed
