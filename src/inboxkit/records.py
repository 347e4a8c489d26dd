"""The JSON shape of a stored message, in one place.

A message summary is built from a committed `messages` row (or the dict it was inserted
from) and is what every surface shows: REST listings, the bus event a WebSocket or SSE stream
pushes, webhook payloads and MCP tool results. This module is a leaf (no inboxkit imports), so
the pipeline, the services and the surfaces can all share it without importing each other.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import to_jsonable_python

__all__ = ["summary", "jsonable"]


def summary(row: Any) -> dict[str, Any]:
    """The summary fields of a message row: anything with the `messages` columns as
    attributes (a SQLAlchemy row of `store.messages.SUMMARY_COLUMNS`, or an inserted row)."""
    return {
        "id": row.id,
        "mailbox_id": row.mailbox_id,
        "direction": row.direction,
        "from": row.from_addr,
        "from_name": row.from_name,
        "to": row.to_addrs,
        "subject": row.subject,
        "preview": row.preview,
        "received_at": row.received_at,
        "is_read": row.is_read,
        "has_attachments": row.has_attachments,
        "size": row.size,
        "codes": row.codes,
        "links": row.links,
        "tags": row.tags,
        "parse_error": row.parse_error,
        "delivery_status": row.delivery_status,
        "delivery_error": row.delivery_error,
    }


def jsonable(value: Any) -> Any:
    """Plain JSON types (ISO 8601 datetimes) for the bus, WebSocket, SSE and webhooks."""
    return to_jsonable_python(value)
