"""Forwarding a received message: the `Draft` of the forward (pure, no I/O).

The original goes **inline**, as Gmail, Outlook and Apple Mail forward by default: the
sender's own text, then a "---------- Forwarded message ---------" block with the original's
From, Date, Subject, To and Cc, then its text body (and, in the HTML part, its HTML body,
sanitised), and every attachment of the original attached again with its bytes, file name and
content type unchanged. Why inline rather than the original as one `message/rfc822` part:

- a reader sees the forwarded text at once, in any client, without opening an attachment;
- an agent reading the forward (our own `text`, `reply_text`, `markdown`), and the extraction
  of codes and links, work on that text directly: an attached message would be one opaque
  part to them;
- the attachments are byte-exact either way.

The trade-off: the original's own header section is not carried (only the summary block),
so its DKIM signature and authentication results cannot be checked again by the recipient.
Threading keeps the original's chain: `References` is the original's References plus its
Message-ID; there is no `In-Reply-To`, so the recipient's client does not show the forward as
a reply.

Every value taken from the original is received data: header values are cleaned of control
characters (`compose.clean_line`), addresses that are not plain are left out of headers,
file names are cleaned, and content types that cannot be attached as they are (`message/*`,
`multipart/*`, malformed) go as `application/octet-stream`.
"""

from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime

from inboxkit.mail.compose import (
    Draft,
    OutgoingAttachment,
    clean_line,
    message_id_ok,
)
from inboxkit.mail.htmltext import html_to_text

__all__ = ["FORWARD_MARKER", "ForwardedMessage", "forward_draft", "forward_subject"]

FORWARD_MARKER = "---------- Forwarded message ---------"
_FORWARD_PREFIX = re.compile(r"^\s*(?:fwd?|fw)\s*:", re.IGNORECASE)
_CONTENT_TYPE = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$"
)
_CONTENT_ID = re.compile(r"^[!-;=?-~]{1,250}$")


@dataclass(slots=True)
class ForwardedAttachment:
    """One attachment of the original: its decoded bytes and what it was called."""

    filename: str | None
    content_type: str
    data: bytes
    content_id: str | None = None


@dataclass(slots=True)
class ForwardedMessage:
    """What a forward shows of the original message."""

    from_addr: str
    from_name: str | None
    date: datetime
    subject: str
    to: list[str]
    cc: list[str]
    text: str | None
    # The original's HTML as sanitised for display (nh3), or None when it had no HTML part.
    html_sanitized: str | None
    message_id: str | None = None
    references: list[str] = field(default_factory=list)
    attachments: list[ForwardedAttachment] = field(default_factory=list)


def forward_subject(subject: str) -> str:
    """`Fwd: <subject>`, without a second prefix on a forward of a forward."""
    subject = clean_line(subject)
    return subject if _FORWARD_PREFIX.match(subject) else f"Fwd: {subject}".rstrip()


def _who(address: str, name: str | None) -> str:
    address = clean_line(address, 320)
    name = clean_line(name or "", 200)
    return f"{name} <{address}>" if name and address else (address or name)


def _summary_lines(original: ForwardedMessage) -> list[tuple[str, str]]:
    lines = [
        ("From", _who(original.from_addr, original.from_name)),
        ("Date", format_datetime(original.date)),
        ("Subject", clean_line(original.subject)),
        ("To", ", ".join(clean_line(a, 320) for a in original.to)),
    ]
    if original.cc:
        lines.append(("Cc", ", ".join(clean_line(a, 320) for a in original.cc)))
    return lines


def _text_body(note: str | None, original: ForwardedMessage) -> str:
    block = [FORWARD_MARKER, *(f"{name}: {value}" for name, value in _summary_lines(original))]
    body = original.text
    if body is None and original.html_sanitized:
        body = html_to_text(original.html_sanitized)
    lines = [note.rstrip("\n"), ""] if note else []
    lines += [*block, "", body or ""]
    return "\n".join(lines)


def _html_body(note_html: str | None, note_text: str | None, original: ForwardedMessage) -> str:
    if note_html is not None:
        mine = note_html
    elif note_text:
        mine = "<div>" + htmllib.escape(note_text).replace("\n", "<br>\n") + "</div>"
    else:
        mine = ""
    header = "<br>\n".join(
        f"{name}: {htmllib.escape(value)}" for name, value in _summary_lines(original)
    )
    if original.html_sanitized is not None:
        body = original.html_sanitized
    else:
        body = "<div>" + htmllib.escape(original.text or "").replace("\n", "<br>\n") + "</div>"
    return (
        f'{mine}<br>\n<div class="forwarded">{FORWARD_MARKER}<br>\n{header}<br>\n<br>\n'
        f"{body}</div>\n"
    )


def _attachment(index: int, item: ForwardedAttachment) -> OutgoingAttachment:
    filename = clean_line(item.filename or "", 255) or f"attachment-{index + 1}"
    content_type = item.content_type.strip()
    if not _CONTENT_TYPE.match(content_type) or content_type.lower().startswith(
        ("multipart/", "message/")
    ):
        content_type = "application/octet-stream"
    content_id = (item.content_id or "").strip().strip("<>") or None
    if content_id is not None and not _CONTENT_ID.match(content_id):
        content_id = None
    return OutgoingAttachment(filename, content_type, item.data, content_id)


def forward_draft(
    original: ForwardedMessage,
    *,
    from_address: str,
    from_name: str | None,
    to: list[str],
    cc: list[str] | None = None,
    bcc: list[str] | None = None,
    text: str | None = None,
    html: str | None = None,
) -> Draft:
    """The draft forwarding `original` from `from_address` to the (already checked)
    recipients, with the sender's own `text` and/or `html` above the forwarded block. The
    draft has an HTML part when the original or the sender's note has HTML."""
    note_text = text
    if note_text is None and html is not None:
        note_text = html_to_text(html)
    with_html = original.html_sanitized is not None or html is not None
    references = [r for r in original.references if message_id_ok(r)]
    if original.message_id and message_id_ok(original.message_id):
        if original.message_id not in references:
            references.append(original.message_id)
    return Draft(
        from_address=from_address,
        from_name=from_name,
        to=to,
        cc=cc or [],
        bcc=bcc or [],
        subject=forward_subject(original.subject),
        text=_text_body(note_text, original),
        html=_html_body(html, text, original) if with_html else None,
        attachments=[_attachment(i, a) for i, a in enumerate(original.attachments)],
        references=references,
    )
