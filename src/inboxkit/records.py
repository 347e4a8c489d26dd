"""The JSON shape of a stored message, in one place.

A message summary is built from a committed `messages` row (or the dict it was inserted
from) and is what every surface shows: REST listings, the bus event a WebSocket or SSE stream
pushes, webhook payloads and MCP tool results. This module is a leaf (no inboxkit imports), so
the pipeline, the services and the surfaces can all share it without importing each other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NotRequired, TypedDict

from pydantic_core import to_jsonable_python

from inboxkit.labels import shown

__all__ = ["Mailbox", "MessageSummary", "WaitResult", "summary", "jsonable"]

# "from" is a keyword, hence the functional form. Datetimes are `datetime` here; `jsonable`
# turns the whole summary into plain JSON types for the bus, streams and webhooks.
MessageSummary = TypedDict(
    "MessageSummary",
    {
        "id": str,
        "mailbox_id": str,
        "direction": str,  # "inbound" | "outbound"
        "from": str,
        "from_name": str | None,
        "to": list[str],
        "subject": str,
        "preview": str,
        "received_at": datetime,
        "is_read": bool,
        "has_attachments": bool,
        "size": int,
        "codes": list[dict[str, Any]],
        "links": list[dict[str, Any]],
        "tags": list[str],
        "parse_error": bool,
        # An outbound message's `store.tables.OutboxStatus`; None for inbound mail.
        "delivery_status": str | None,
        "delivery_error": str | None,
        # DMARC passed for the From domain (or, with no DMARC record, an aligned DKIM or SPF
        # pass); False when not evaluated (test mailboxes by default).
        "from_verified": bool,
        # The spam verdict (spam/verdicts.py SpamResult): verdict, score, reason, engine.
        "spam": dict[str, Any],
        # The user labels (sorted), then the system labels: `sent` for outbound mail, `spam`
        # for mail its verdict hid (labels.py).
        "labels": list[str],
        # The conversation it belongs to (store/threads.py); None only on a row stored before
        # threads existed that the start-up backfill has not reached yet.
        "thread_id": str | None,
    },
)

# The `spam` of a message never scored (sent mail, mail stored before scoring existed, or
# filtering turned off): what spam/verdicts.py calls NOT_SCORED.
UNSCORED: dict[str, Any] = {"verdict": "clean", "score": None, "reason": None, "engine": "none"}


class WaitResult(TypedDict):
    """What a wait answers: the message it claimed, or `timed_out`."""

    message: MessageSummary | None
    timed_out: bool


class Mailbox(TypedDict):
    """A mailbox as the services return it (and the surfaces show it)."""

    id: str
    address: str
    mode: str  # "test" | "agent"
    name: str | None
    created_at: datetime
    expires_at: datetime | None
    message_count: int
    unread_count: int
    outbound_review: bool  # sends and replies become drafts awaiting approval (DESIGN §13)
    token: NotRequired[str]  # the mailbox token, only in the answer that created it


def summary(row: Any) -> MessageSummary:
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
        "from_verified": bool(row.from_verified),
        "spam": dict(row.spam) if row.spam else dict(UNSCORED),
        "labels": shown(
            getattr(row, "labels", None) or (),
            sent=row.direction == "outbound",
            spam=bool(getattr(row, "hidden", False)),
        ),
        "thread_id": row.thread_id,
    }


def jsonable(value: Any) -> Any:
    """Plain JSON types (ISO 8601 datetimes) for the bus, WebSocket, SSE and webhooks."""
    return to_jsonable_python(value)
