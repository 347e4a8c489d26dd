"""Checked reads of a provider's JSON fields: each raises ComposeError naming the field, so
every refusal says which field is wrong and why, in the provider's own field names."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from inboxkit.mail.compose import (
    MAX_HEADERS,
    ComposeError,
    OutgoingAttachment,
    check_body,
    check_header,
    check_line,
)

__all__ = [
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
    """Strict base64 (line breaks allowed, as some encoders wrap at 76 characters)."""
    if not isinstance(value, str):
        raise ComposeError(f"{name} must be a base64 string.")
    try:
        return base64.b64decode("".join(value.split()), validate=True)
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
