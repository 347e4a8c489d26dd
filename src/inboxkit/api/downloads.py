"""Responses that hand mail content (raw messages, attachments) to a browser as inert files.

Everything in them was written by an outside sender, and the API's origin holds the user's
credentials, so a download must never be rendered as a page of this site:

- `Content-Disposition: attachment` with a filename stripped of control characters (a CR/LF
  in a header value would otherwise end the response) and encoded per RFC 6266 / RFC 5987:
  an ASCII `filename="…"` fallback plus the exact name as `filename*=UTF-8''…`;
- a Content-Type from a short list of passive types; anything a browser might execute or
  render as a document (HTML, SVG, XML, JavaScript, …) is served as application/octet-stream;
- `X-Content-Type-Options: nosniff`, so the type is not guessed from the bytes, and
  `Content-Security-Policy: sandbox`, so even a rendered response runs no script with
  this origin's rights.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from fastapi import Response

__all__ = ["download", "inert_content_type", "content_disposition"]

# Types a browser shows (if at all) without running anything from the file.
_PASSIVE_TYPES = frozenset(
    {
        "application/gzip",
        "application/json",
        "application/msword",
        "application/octet-stream",
        "application/pdf",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/zip",
        "image/avif",
        "image/bmp",
        "image/gif",
        "image/heic",
        "image/jpeg",
        "image/png",
        "image/tiff",
        "image/webp",
        "message/rfc822",
        "text/calendar",
        "text/csv",
        "text/plain",
    }
)
_PASSIVE_PREFIXES = (
    "audio/",
    "video/",
    "application/vnd.openxmlformats-officedocument.",
    "application/vnd.oasis.opendocument.",
)
_TOKEN_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
# C0 and C1 controls and DEL, plus the path separators a saved file name must not carry.
_UNSAFE_NAME_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f/\\]")
# RFC 5987 attr-char beyond what `quote` always leaves alone (letters, digits, "_.-~").
_ATTR_CHARS = "!#$&+^`|"
MAX_FILENAME_CHARS = 200


def inert_content_type(declared: str | None) -> str:
    """The declared type when it is passive, application/octet-stream otherwise."""
    value = (declared or "").strip().lower()
    if not _TOKEN_TYPE.fullmatch(value):
        return "application/octet-stream"
    if value in _PASSIVE_TYPES or value.startswith(_PASSIVE_PREFIXES):
        return value
    return "application/octet-stream"


def _clean_filename(name: str) -> str:
    cleaned = _UNSAFE_NAME_CHARS.sub("_", name).strip().strip(".")
    return cleaned[:MAX_FILENAME_CHARS]


def content_disposition(filename: str, fallback: str) -> str:
    """`attachment; filename="<ascii>"; filename*=UTF-8''<utf-8>` for a sender-chosen name."""
    name = _clean_filename(filename) or fallback
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r'["%;]', "_", ascii_name).strip() or fallback
    encoded = quote(name, safe=_ATTR_CHARS)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"


def download(data: bytes, *, content_type: str | None, filename: str, fallback: str) -> Response:
    """A response that browsers save rather than render, whatever the bytes are."""
    return Response(
        data,
        media_type=inert_content_type(content_type),
        headers={
            "Content-Disposition": content_disposition(filename, fallback),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
        },
    )
