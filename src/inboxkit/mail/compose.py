"""Building outgoing messages with the stdlib `email` package (pure, no I/O).

Everything that ends up in a header is checked first: addresses must be plain addr-specs
(RFC 5321 §4.1.2 / RFC 5322 §3.4.1 dot-atoms, no display names, no comments, no quoting), and
no field may hold CR, LF or NUL, so no caller can add a header or a recipient of their own
(header injection). Nor may it hold anything else Python treats as a line break
(`str.splitlines`: VT, FF, FS, GS, RS, NEL, U+2028, U+2029), which the email package refuses
in a header, or a lone surrogate, which cannot be encoded at all. Values that come from
received mail, such as a Message-ID we thread a reply onto, are filtered the same way before
they are reused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from inboxkit.mail.htmltext import html_to_text

__all__ = [
    "Draft",
    "OutgoingAttachment",
    "ComposeError",
    "check_address",
    "check_body",
    "check_line",
    "check_header",
    "format_address",
    "clean_line",
    "unique_addresses",
    "message_id_ok",
    "reply_subject",
    "compose",
]

SUBJECT_CHARS = 998  # RFC 5322 §2.1.1: a line must not exceed 998 characters
MAX_REFERENCES = 20
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
# C0 controls (tab allowed), DEL, C1 controls (NEL is U+0085), the Unicode line and paragraph
# separators, and lone surrogates: everything str.splitlines breaks on, or UTF-8 cannot encode.
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_FORBIDDEN = re.compile(r"[\r\n\x00]")
_MSG_ID = re.compile(r"^<[!-;=?-~]{1,250}>$")  # visible ASCII without '<' and '>'
_CONTENT_TYPE = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$"
)
_CONTENT_ID = re.compile(r"^[!-;=?-~]{1,250}$")
_REPLY_PREFIX = re.compile(r"^\s*re\s*:", re.IGNORECASE)


class ComposeError(ValueError):
    """A field cannot go into a message; the text says which and why."""


def check_line(name: str, value: str, max_chars: int = SUBJECT_CHARS) -> str:
    """A one-line header value: no CR, LF, NUL or other control characters."""
    if _FORBIDDEN.search(value):
        raise ComposeError(f"{name} must not contain CR, LF or NUL characters.")
    if _CONTROL.search(value):
        raise ComposeError(
            f"{name} must not contain control characters, line separators (such as U+2028 "
            "or U+0085) or unpaired surrogates."
        )
    if len(value) > max_chars:
        raise ComposeError(f"{name} is longer than {max_chars} characters.")
    return value


def check_body(name: str, value: str | None) -> str | None:
    """A message body: any text but NUL (no SMTP server takes it) and unpaired surrogates
    (they have no UTF-8 encoding)."""
    if value is None:
        return None
    if "\x00" in value:
        raise ComposeError(f"{name} must not contain NUL characters.")
    if _SURROGATE.search(value):
        raise ComposeError(f"{name} must not contain unpaired surrogates (invalid Unicode).")
    return value


def clean_line(value: str, max_chars: int = SUBJECT_CHARS) -> str:
    """A received header value made safe to reuse: control characters become spaces."""
    return _CONTROL.sub(" ", value).strip()[:max_chars]


def check_address(value: str, field_name: str = "address") -> str:
    """`value` if it is a plain, deliverable address (`local@domain.tld`), else ComposeError.

    International domains are accepted and returned in their ASCII (IDNA) form; non-ASCII
    local parts would need SMTPUTF8 all the way and are refused.
    """
    if not isinstance(value, str) or _FORBIDDEN.search(value):
        raise ComposeError(f"{field_name} must not contain CR, LF or NUL characters.")
    local, at, domain = value.strip().rpartition("@")
    if not at or not local or not domain:
        raise ComposeError(f"{field_name} {value!r} is not an email address (local@domain).")
    if len(local) > 64 or not _LOCAL.match(local):
        raise ComposeError(
            f"{field_name} {value!r} is not a plain address: use letters, digits and "
            "!#$%&'*+/=?^_`{|}~.- in the local part, without a display name."
        )
    try:
        ascii_domain = domain.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        raise ComposeError(f"{field_name} {value!r} has an invalid domain.") from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise ComposeError(f"{field_name} {value!r} has an invalid domain.")
    address = f"{local}@{ascii_domain.lower()}"
    if len(address) > 254:  # RFC 5321 §4.5.3.1.3 path limit, less the angle brackets
        raise ComposeError(f"{field_name} {value!r} is longer than 254 characters.")
    return address


# RFC 5322 §3.6.8: a field name is printable ASCII except ':'. Fields that give the message
# its structure are the composer's alone; the rest may come from a caller.
_FIELD_NAME = re.compile(r"^[!-9;-~]{1,76}$")
_STRUCTURAL = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "reply-to",
        "content-type",
        "content-transfer-encoding",
        "content-disposition",
    }
)
MAX_HEADERS = 100


def check_header(name: str, value: str) -> tuple[str, str]:
    """A caller's own header field, refused if its name is not a field name or is one the
    composer sets, or its value holds a line break."""
    if not _FIELD_NAME.match(name):
        raise ComposeError(f"'{name[:80]}' is not a header field name (printable ASCII, no ':').")
    if name.lower() in _STRUCTURAL:
        raise ComposeError(f"The {name} header is set from the message's own fields.")
    return name, check_line(f"header {name}", value)


def format_address(address: str, name: str | None = None) -> str:
    """`Name <address>` (quoted and encoded as needed) or the bare address, for `Draft.to`,
    `cc` and `reply_to`; the address must already have passed `check_address`."""
    if not name or not clean_line(name, 200):
        return address
    return str(Address(display_name=clean_line(name, 200), addr_spec=address))


def unique_addresses(addresses: list[str], already: set[str] | None = None) -> list[str]:
    """`addresses` in order without repeats, compared case-insensitively, leaving out those
    in `already` (lower-cased), which it extends. Linear: a header listing one address 50,000
    times must cost no more than listing it once."""
    seen = already if already is not None else set()
    unique = []
    for address in addresses:
        key = address.lower()
        if key not in seen:
            seen.add(key)
            unique.append(address)
    return unique


def message_id_ok(value: str | None) -> bool:
    return bool(value) and _MSG_ID.match(value or "") is not None


def reply_subject(subject: str) -> str:
    """`Re: <subject>`, without stacking a second `Re:` on a reply to a reply."""
    subject = clean_line(subject)
    return subject if _REPLY_PREFIX.match(subject) else f"Re: {subject}".rstrip()


@dataclass(slots=True)
class OutgoingAttachment:
    """A decoded file for an outgoing message; `check()` refuses values that cannot go safely
    into its MIME headers."""

    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None  # set: an inline part (e.g. an image the HTML refers to)

    def check(self, index: int) -> None:
        where = f"attachments[{index}]"
        check_line(f"{where}.filename", self.filename, 255)
        if not self.filename.strip():
            raise ComposeError(f"{where}.filename must not be empty.")
        if not _CONTENT_TYPE.match(self.content_type):
            raise ComposeError(f"{where}.content_type must look like type/subtype.")
        if self.content_type.lower().startswith(("multipart/", "message/")):
            raise ComposeError(f"{where}.content_type cannot be multipart/* or message/*.")
        if self.content_id is not None and not _CONTENT_ID.match(self.content_id.strip("<>")):
            raise ComposeError(f"{where}.content_id must be printable ASCII without spaces.")


@dataclass(slots=True)
class Draft:
    """Everything an outgoing message is made of, already decoded (attachments as bytes)."""

    from_address: str
    from_name: str | None
    to: list[str]
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    subject: str = ""
    text: str | None = None
    html: str | None = None
    attachments: list[OutgoingAttachment] = field(default_factory=list)
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    # Formatted like `to` (see `format_address`).
    reply_to: list[str] = field(default_factory=list)
    # Further header fields in order, each checked with `check_header` (a provider's custom
    # headers, tags and metadata).
    headers: list[tuple[str, str]] = field(default_factory=list)
    # An HTML-only draft gets a text part rendered from its HTML (what our own sends do); a
    # provider that sends HTML alone sets this False.
    text_from_html: bool = True


def compose(draft: Draft, *, message_id: str, date: datetime) -> bytes:
    """The message as wire bytes (CRLF line endings), Bcc left out of the headers.

    The caller has validated the draft (see `check_address` and `check_line`); the email
    package refuses CR/LF in header values as a second line of defence.
    """
    # 7bit: non-ASCII bodies go out quoted-printable or base64, so no relay needs 8BITMIME
    # and nothing on the way re-encodes the body (which would break a DKIM signature).
    msg = EmailMessage(policy=policy.SMTP.clone(cte_type="7bit"))
    name = clean_line(draft.from_name or "", 200)
    msg["From"] = Address(display_name=name, addr_spec=draft.from_address)
    msg["To"] = ", ".join(draft.to)
    if draft.cc:
        msg["Cc"] = ", ".join(draft.cc)
    msg["Subject"] = draft.subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    references = [ref for ref in draft.references if message_id_ok(ref)]
    if draft.in_reply_to and message_id_ok(draft.in_reply_to):
        msg["In-Reply-To"] = draft.in_reply_to
        if draft.in_reply_to not in references:
            references.append(draft.in_reply_to)
    elif draft.in_reply_to:
        references = []  # a reply to a message we cannot name threads onto nothing
    # RFC 5322 §3.6.4: the parent's References plus its Message-ID (a forward keeps the chain
    # without In-Reply-To); trimmed from the front (keeping the thread's first message) so
    # long threads stay a sane size.
    if references:
        if len(references) > MAX_REFERENCES:
            references = references[:1] + references[-(MAX_REFERENCES - 1) :]
        msg["References"] = " ".join(references)
    if draft.reply_to:
        msg["Reply-To"] = ", ".join(draft.reply_to)
    for name, value in draft.headers:
        msg[name] = value
    text = draft.text
    if text is None and draft.html is not None and draft.text_from_html:
        text = html_to_text(draft.html)
    if text is None and draft.html is not None:
        msg.set_content(draft.html, subtype="html", charset="utf-8")
    else:
        msg.set_content(text or "", subtype="plain", charset="utf-8")
        if draft.html is not None:
            msg.add_alternative(draft.html, subtype="html", charset="utf-8")
    for attachment in draft.attachments:
        maintype, _, subtype = attachment.content_type.lower().partition("/")
        inline: dict[str, str] = {}
        if attachment.content_id:
            inline = {"disposition": "inline", "cid": f"<{attachment.content_id.strip('<>')}>"}
        # The stdlib stub types only add_attachment's first keywords; these reach set_content.
        msg.add_attachment(
            attachment.data,
            maintype=maintype,
            subtype=subtype,
            filename=attachment.filename,
            **inline,  # type: ignore[arg-type]
        )
    return msg.as_bytes()
