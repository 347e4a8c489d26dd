"""Checked reads of a provider's JSON fields: each raises ComposeError naming the field, so
every refusal says which field is wrong and why, in the provider's own field names."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from inboxkit.api.schemas import EMAIL_PATTERN
from inboxkit.mail.compose import (
    MAX_HEADERS,
    ComposeError,
    OutgoingAttachment,
    check_body,
    check_header,
    check_line,
)

__all__ = [
    "ADDRESS_PATTERN",
    "BASE64_PATTERN",
    "CONTENT_TYPE_PATTERN",
    "FIELD_NAME_PATTERN",
    "FILENAME_PATTERN",
    "ONE_LINE_PATTERN",
    "TEXT_PATTERN",
    "MAX_ATTACHMENTS",
    "MAX_BODY_CHARS",
    "AttachmentBudget",
    "base64_bytes",
    "body_text",
    "headers_from_mapping",
    "json_object",
    "json_list",
    "optional_line",
]

# For the OpenAPI document: a plain address the composer takes and capture can file (the
# capture service splits a `+tag` off the local part, so the part before it must not be empty).
ADDRESS_PATTERN = "^(?![+])" + EMAIL_PATTERN.removeprefix("^")
# A one-line value (`check_line`): no control characters but tab, no line separators.
ONE_LINE_PATTERN = r"^[^\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]*$"
# A body (`check_body`): anything but NUL.
TEXT_PATTERN = r"^[^\x00]*$"
# A file name: one line with something visible in it.
FILENAME_PATTERN = (
    r"^[^\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]*[!-~][^\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]*$"
)
# A header field name the caller may set (`check_header`): printable ASCII without ':', not
# one of the fields the composer sets itself.
FIELD_NAME_PATTERN = (
    "^(?!(?i:from|to|cc|bcc|subject|date|message-id|mime-version|reply-to|content-type|"
    "content-transfer-encoding|content-disposition)$)[!-9;-~]{1,76}$"
)
# A media type for an attachment (`OutgoingAttachment.check`): type/subtype, neither
# multipart/* nor message/*.
CONTENT_TYPE_PATTERN = (
    "^(?!(?i:multipart|message)/)"
    "[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$"
)
# Standard base64, padded, without line breaks.
BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"

# Bodies: providers take about 5 MB of text or HTML (Postmark's documented ceiling); the
# request limit and the plan's message size bound the whole message as well.
MAX_BODY_CHARS = 5 * 1024 * 1024
# Files per message. Providers do not publish a count, only a total size (`AttachmentBudget`).
MAX_ATTACHMENTS = 100


def json_object(value: object, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ComposeError(f"{name} must be a JSON object.")
    return value


def json_list(value: object, name: str, *, limit: int) -> list[Any]:
    if not isinstance(value, list):
        raise ComposeError(f"{name} must be a JSON array.")
    if len(value) > limit:
        raise ComposeError(f"{name} may hold at most {limit} items; it has {len(value)}.")
    return value


def optional_line(value: object, name: str, max_chars: int) -> str | None:
    """A one-line string field (subject, tag, file name), or None when absent or null."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ComposeError(f"{name} must be a string.")
    return check_line(name, value, max_chars)


def body_text(value: object, name: str) -> str | None:
    """A text or HTML body, or None when absent, null or empty."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ComposeError(f"{name} must be a string.")
    if len(value) > MAX_BODY_CHARS:
        raise ComposeError(f"{name} is longer than {MAX_BODY_CHARS} characters.")
    return check_body(name, value)


def base64_bytes(value: object, name: str) -> bytes:
    """Strict, padded base64 (BASE64_PATTERN)."""
    if not isinstance(value, str):
        raise ComposeError(f"{name} must be a base64 string.")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ComposeError(f"{name} is not valid base64.") from None


def headers_from_mapping(value: object, name: str) -> list[tuple[str, str]]:
    """Custom headers given as a JSON object of names to string values."""
    if value is None:
        return []
    mapping = json_object(value, name)
    if len(mapping) > MAX_HEADERS:
        raise ComposeError(f"{name} may hold at most {MAX_HEADERS} headers.")
    checked = []
    for key, item in mapping.items():
        if not isinstance(item, str):
            raise ComposeError(f"{name}.{key[:80]} must be a string.")
        checked.append(check_header(key, item))
    return checked


class AttachmentBudget:
    """Counts the files of one message against a count and a total decoded size, so a
    request is refused as soon as it goes over rather than after decoding everything."""

    def __init__(self, max_bytes: int, provider_limit: str):
        self.max_bytes = max_bytes
        self.provider_limit = provider_limit
        self.used = 0
        self.count = 0

    def add(self, attachment: OutgoingAttachment, index: int) -> OutgoingAttachment:
        attachment.check(index)
        self.count += 1
        if self.count > MAX_ATTACHMENTS:
            raise ComposeError(f"A message may carry at most {MAX_ATTACHMENTS} attachments.")
        self.used += len(attachment.data)
        if self.used > self.max_bytes:
            raise ComposeError(
                f"Attachments may total at most {self.provider_limit} per message "
                f"({self.max_bytes} bytes decoded)."
            )
        return attachment
