"""Guarded MIME parsing.

The stdlib `email` package with `policy.default` does the parsing; this module bounds what it
is asked to do (header size, MIME depth, part count, text size), decodes leniently (unknown
charsets, broken base64 and quoted-printable) and never raises: a message it cannot make sense
of comes back with `parse_error` set, to be stored raw and still listed. Time is bounded by the
caller (see `pool.py`), which runs this in a separate process it can kill.
"""

from __future__ import annotations

import base64
import email
import email.utils
import quopri
import re
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import EmailPolicy

__all__ = [
    "Limits",
    "Attachment",
    "ParsedMessage",
    "POLICY",
    "parse_message",
    "iter_parts",
    "find_part",
]

PREVIEW_CHARS = 200
SUBJECT_CHARS = 1000
HEADER_VALUE_CHARS = 16_384
TEXT_CHARS = 5_000_000
# HTML-only mail gets a text rendering of its first megabyte of markup (rendering is linear,
# but 25 MB of anchors would take seconds; the raw message keeps the rest).
HTML_TEXT_CHARS = 1_000_000
MAX_LINKS = 50
MAX_CODES = 5


# The stdlib's header parser is quadratic in a value's length (a 400 KB encoded-word subject
# takes seconds), and nothing past HEADER_VALUE_CHARS is ever shown, so longer values are cut.
HEADER_SOURCE_CHARS = 2 * HEADER_VALUE_CHARS

# Even cut, the structured header parser costs about 4 µs per character of an address list,
# and a 1 MB header section can hold 30 such values, each parsed more than once (1,800
# addresses in each of 30 `To:` headers took 11 s). So what it is given is bounded:
# - the fields the API shows are read from at most these many characters (addresses beyond
#   them are past the MAX_ADDRESSES kept anyway; the raw message always has them all);
SUBJECT_SOURCE_CHARS = HEADER_VALUE_CHARS  # room for SUBJECT_CHARS of any encoded text
ADDRESS_SOURCE_CHARS = 8192  # of each address field (all its headers together)
ID_SOURCE_CHARS = HEADER_VALUE_CHARS
MAX_ADDRESSES = 200
# - every other header access (the header list, each MIME part's headers, the stdlib parser's
#   own look-ups) shares a budget of characters per phase of a parse; past it, a value is
#   used as it arrived, unfolded, which the stdlib's MIME helpers read alike, and the header
#   list decodes its encoded words with the linear `_decode_words`.
HEADER_PARSE_BUDGET = 32 * 1024
HEADER_PARSE_VALUE_CHARS = 4096  # a longer value takes the plain route straight away
_budget: ContextVar[list[int] | None] = ContextVar("inboxkit_header_budget", default=None)


def _unfold(value: str) -> str:
    return value.replace("\r", "").replace("\n", "")


# An RFC 2047 encoded word, with the whitespace after it when another one follows (that
# whitespace is not part of the text). Bounded: a word is at most 75 characters by the RFC.
_ENCODED_WORD = re.compile(
    r"=\?([^?\s]{1,40})\?([bBqQ])\?([^?\s]{0,1000})\?=(?:[ \t]{1,64}(?==\?[^?\s]{1,40}\?[bBqQ]\?))?"
)


def _decode_word(match: re.Match[str]) -> str:
    charset, encoding, text = match.group(1).partition("*")[0], match.group(2), match.group(3)
    try:
        if encoding in "bB":
            data = base64.b64decode(text + "=" * (-len(text) % 4))
        else:
            data = quopri.decodestring(text.replace("_", " ").encode("ascii"), header=True)
        return data.decode(charset, "replace")
    except Exception:  # unknown charset, broken base64: leave the word as it came
        return match.group()


def _decode_words(value: str) -> str:
    """Decode the encoded words of an unstructured value in one pass (linear in its length)."""
    return _ENCODED_WORD.sub(_decode_word, _unfold(value)) if "=?" in value else _unfold(value)


def _cut(value: str, limit: int, separator: str = ",") -> str:
    """`value` cut to at most `limit` characters, at the last `separator` before the cut."""
    if len(value) <= limit:
        return value
    at = value.rfind(separator, 0, limit)
    return value[: at if at > 0 else limit]


def _repair_8bit(value: str) -> str:
    """Read raw 8-bit header bytes the way their sender meant them.

    The parser turns non-ASCII header bytes into surrogate escapes and later decodes them as
    UTF-8 with replacement characters, which garbles the Latin-1/Windows-1252 headers old
    mailers still send. UTF-8 (RFC 6532) is tried first; anything else is read as Windows-1252,
    then Latin-1, which never fails.
    """
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        pass
    data = value.encode("utf-8", "surrogateescape")
    for charset in ("utf-8", "cp1252"):
        try:
            return data.decode(charset)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


class _LenientPolicy(EmailPolicy):
    """policy.default, but header values are length-capped and 8-bit bytes decoded leniently
    as they are read, so every later access (subject, addresses, filenames) sees clean text."""

    def header_source_parse(self, sourcelines: list[str]) -> tuple[str, str]:
        name, value = super().header_source_parse(sourcelines)
        if len(value) > HEADER_SOURCE_CHARS:
            cut = max(value.rfind(" ", 0, HEADER_SOURCE_CHARS), HEADER_SOURCE_CHARS // 2)
            value = value[:cut].rstrip()
        return name, _repair_8bit(value)

    def header_fetch_parse(self, name: str, value: str) -> str:
        """The parsed header while this parse phase's budget lasts, the plain value after."""
        budget = _budget.get()
        if budget is not None and not hasattr(value, "name"):
            if len(value) > min(budget[0], HEADER_PARSE_VALUE_CHARS):
                return _unfold(value)
            budget[0] -= len(value)
        return super().header_fetch_parse(name, value)

    def parse_field(self, name: str, value: str) -> str:
        """A header the API shows, parsed outside the budget (callers cap its length)."""
        try:
            return str(super().header_fetch_parse(name, value))
        except Exception:
            return _unfold(value)


# Used for every parse of stored mail (attachment downloads too, so part ids always agree).
POLICY = _LenientPolicy()


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps on how much work one message may ask of the parser: MIME nesting, part count, header
    bytes."""

    max_depth: int = 20
    max_parts: int = 500
    max_header_bytes: int = 1024 * 1024


@dataclass(slots=True)
class Attachment:
    """An attachment or inline part of a parsed message, with its decoded bytes so the store can
    serve downloads without parsing again."""

    id: str
    filename: str | None
    content_type: str
    size: int
    content_id: str | None
    disposition: str
    # The decoded bytes, kept so the store can serve downloads without re-parsing.
    data: bytes = field(default=b"", repr=False)

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "content_id": self.content_id,
            "disposition": self.disposition,
        }


@dataclass(slots=True)
class ParsedMessage:
    """Everything read from a raw message for storing and serving; with `parse_error` set it
    could not be parsed fully and is kept raw."""

    subject: str = ""
    from_addr: str = ""
    from_name: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    reply_to: list[str] = field(default_factory=list)
    message_id: str | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    headers: list[list[str]] = field(default_factory=list)
    text: str | None = None
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    preview: str = ""
    codes: list[str] = field(default_factory=list)
    code_details: list[dict[str, object]] = field(default_factory=list)
    links: list[dict[str, str]] = field(default_factory=list)
    parse_error: str | None = None
    html_sanitized: str | None = None  # filled by `mail.prepare`, in the parse worker


_HEADER_END = re.compile(rb"\r?\n\r?\n")
_WS = re.compile(r"\s{1,4000}")  # collapses the <= 4000 characters a preview is made from


def _header_section_size(raw: bytes, cap: int) -> int:
    match = _HEADER_END.search(raw, 0, cap + 4)
    return match.start() if match else min(len(raw), cap + 1)


def _safe_str(value: object, limit: int = HEADER_VALUE_CHARS) -> str:
    try:
        text = str(value)
    except Exception:
        text = ""
    text = text.replace("\x00", "")
    return text[:limit]


def _raw_values(msg: Message, name: str) -> Iterator[str]:
    """The values of the headers called `name`, as read from the source (not yet parsed)."""
    lowered = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == lowered:
            yield value if isinstance(value, str) else _safe_str(value)


def _header(msg: Message, name: str, limit: int = HEADER_VALUE_CHARS) -> str:
    """The first `name` header's decoded value, read from at most `limit` characters."""
    try:
        for value in _raw_values(msg, name):
            return _safe_str(POLICY.parse_field(name, _cut(value, limit, " ")))
    except Exception:
        pass
    return ""


def _addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    """(name, address) pairs of the `name` headers, read from ADDRESS_SOURCE_CHARS at most."""
    values: list[str] = []
    room = ADDRESS_SOURCE_CHARS
    try:
        for value in _raw_values(msg, name):
            if room <= 0:
                break
            piece = _cut(value, room)
            room -= len(piece) + 1
            values.append(_safe_str(POLICY.parse_field(name, piece)))
        pairs = email.utils.getaddresses(values)
    except Exception:
        return []
    return [(n.strip(), a.strip()) for n, a in pairs if a and "@" in a][:MAX_ADDRESSES]


def _ids(msg: Message, name: str) -> list[str]:
    """Message ids of the first `name` header; ids are ASCII, so its raw value serves."""
    for value in _raw_values(msg, name):
        return _message_ids(_unfold(value[:ID_SOURCE_CHARS]))
    return []


def _message_ids(value: str) -> list[str]:
    return re.findall(r"<[^<>\s]{1,998}>", value)[:100]


def iter_parts(msg: Message, limits: Limits) -> Iterator[tuple[str, Message]]:
    """Leaf parts with their MIME section path ("1", "2.1", …), depth- and count-limited.

    Iterative so a deeply nested message cannot exhaust the stack; the paths are stable for a
    given raw message, which makes them usable as attachment ids.
    """
    stack: list[tuple[str, Message, int]] = [("", msg, 0)]
    seen = 0
    while stack:
        path, part, depth = stack.pop()
        seen += 1
        if seen > limits.max_parts:
            return
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list):
            if depth >= limits.max_depth:
                continue
            children = [
                (f"{path}.{index}" if path else str(index), child, depth + 1)
                for index, child in enumerate(payload, start=1)
                if isinstance(child, Message)
            ]
            stack.extend(reversed(children))
            continue
        yield (path or "1"), part


def find_part(msg: Message, part_id: str, limits: Limits) -> Message | None:
    for path, part in iter_parts(msg, limits):
        if path == part_id:
            return part
    return None


def decode_payload(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _decode_text(part: Message) -> str:
    data = decode_payload(part)
    charset = "utf-8"
    try:
        charset = part.get_content_charset() or "utf-8"
    except Exception:
        pass
    try:
        text = data.decode(charset, errors="replace")
    except (LookupError, ValueError):
        # Unknown or bogus charset: UTF-8 if it decodes cleanly, Latin-1 otherwise (never fails).
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    return text.replace("\x00", "")[:TEXT_CHARS]


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:
        return ""


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if not name:
        try:
            param = part.get_param("name", header="content-type")
            if isinstance(param, tuple):
                param = email.utils.collapse_rfc2231_value(param)
            name = param
        except Exception:
            name = None
    if name and "=?" in name:  # encoded words in a parameter: common, if not standard
        name = _decode_words(str(name))
    return _safe_str(name, 255) if name else None


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "application/octet-stream"


def _collect_bodies(msg: Message, limits: Limits, out: ParsedMessage) -> None:
    for path, part in iter_parts(msg, limits):
        ctype = _content_type(part)
        disposition = _disposition(part)
        filename = _filename(part)
        is_body_candidate = disposition != "attachment" and not filename
        if is_body_candidate and ctype == "text/plain" and out.text is None:
            out.text = _decode_text(part)
            continue
        if is_body_candidate and ctype == "text/html" and out.html is None:
            out.html = _decode_text(part)
            continue
        if is_body_candidate and ctype.startswith("text/") and path == "1" and out.text is None:
            out.text = _decode_text(part)
            continue
        if not part.is_multipart():
            content_id = _header(part, "Content-ID").strip().strip("<>") or None
            data = decode_payload(part)
            out.attachments.append(
                Attachment(
                    id=path,
                    filename=filename,
                    content_type=ctype,
                    size=len(data),
                    content_id=content_id,
                    disposition=disposition or ("inline" if content_id else "attachment"),
                    data=data,
                )
            )


def _fill_headers(msg: Message, out: ParsedMessage) -> None:
    subject = _header(msg, "Subject", SUBJECT_SOURCE_CHARS)
    out.subject = subject[:SUBJECT_CHARS].replace("\r", "").replace("\n", " ")
    senders = _addresses(msg, "From")
    if senders:
        out.from_name, out.from_addr = senders[0]
    else:
        out.from_addr = _header(msg, "From", ADDRESS_SOURCE_CHARS)[:320]
    out.to = [addr for _, addr in _addresses(msg, "To")]
    out.cc = [addr for _, addr in _addresses(msg, "Cc")]
    out.reply_to = [addr for _, addr in _addresses(msg, "Reply-To")]
    message_ids, in_reply_to = _ids(msg, "Message-ID"), _ids(msg, "In-Reply-To")
    out.message_id = message_ids[0] if message_ids else None
    out.in_reply_to = in_reply_to[0] if in_reply_to else None
    out.references = _ids(msg, "References")
    headers: list[list[str]] = []
    budget = 1024 * 1024
    for name, value in msg.raw_items():
        try:
            parsed = msg.policy.header_fetch_parse(name, value)
            rendered = _safe_str(_decode_words(parsed) if type(parsed) is str else parsed)
        except Exception:
            rendered = _safe_str(_unfold(value))
        budget -= len(name) + len(rendered)
        if budget < 0:
            break
        headers.append([_safe_str(name, 200), rendered])
    out.headers = headers


def _summarise(out: ParsedMessage) -> None:
    from inboxkit.mail.extract import extract
    from inboxkit.mail.htmltext import html_to_text

    plain = out.text
    if plain is None and out.html is not None:
        plain = html_to_text(out.html[:HTML_TEXT_CHARS])
    out.preview = _WS.sub(" ", (plain or "")[:4000]).strip()[:PREVIEW_CHARS]
    result = extract(out.subject, out.text, out.html)
    out.code_details = [
        {"value": c.value, "confidence": round(c.confidence, 3), "snippet": c.snippet}
        for c in result.codes[:MAX_CODES]
    ]
    out.codes = [c.value for c in result.codes[:MAX_CODES]]
    out.links = [{"url": x.url, "kind": x.kind, "text": x.text} for x in result.links[:MAX_LINKS]]
    # HTML-only mail gets its text rendering as `text` (after extraction, which reads the HTML
    # itself), so reading, free-text search and previews work the same for every message.
    if out.text is None and plain:
        out.text = plain[:TEXT_CHARS]


def _phase() -> None:
    """Start a parse phase: a fresh budget for the structured header parser."""
    _budget.set([HEADER_PARSE_BUDGET])


def parse_message(raw: bytes, limits: Limits = Limits()) -> ParsedMessage:
    """Parse `raw` into what the store and API need. Never raises."""
    token = _budget.set(None)
    try:
        return _parse(raw, limits)
    finally:
        _budget.reset(token)


def _parse(raw: bytes, limits: Limits) -> ParsedMessage:
    out = ParsedMessage()
    header_size = _header_section_size(raw, limits.max_header_bytes)
    if header_size > limits.max_header_bytes:
        out.parse_error = "header section larger than the parse limit"
        return out
    _phase()
    try:
        msg = email.message_from_bytes(raw, policy=POLICY)
    except Exception as exc:  # RecursionError (deep nesting), MemoryError, parser bugs
        out.parse_error = f"unparseable message ({type(exc).__name__})"
        # The body defeated the parser, but the header section alone is usually readable:
        # keep subject and sender so the message is still recognisable in a listing.
        try:
            _phase()
            _fill_headers(BytesHeaderParser(policy=POLICY).parsebytes(raw), out)
        except Exception:
            pass
        return out
    try:
        _phase()
        _fill_headers(msg, out)
    except Exception as exc:
        out.parse_error = out.parse_error or f"headers unreadable ({type(exc).__name__})"
    try:
        _phase()
        _collect_bodies(msg, limits, out)
    except Exception as exc:
        out.parse_error = out.parse_error or f"body unreadable ({type(exc).__name__})"
    try:
        _summarise(out)
    except Exception as exc:
        out.parse_error = out.parse_error or f"summary failed ({type(exc).__name__})"
    return out
