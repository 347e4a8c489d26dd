"""Queries of `messages` and `contents`: the delivery insert, listing filters, reads, purges.

A received message is stored as one `contents` row (raw bytes, parsed bodies, prepared
attachment bytes) and one `messages` row per receiving mailbox (the hot summary fields). The
raw and attachment bytes are written and read through `store/rawcodec.py` only (compressed
when that pays), so every reader gets them back exactly as they were.
Deliveries are written in batches (`store/batch.py` hands every delivery of a group commit to
`insert_deliveries` at once), so a batch costs a handful of set-based statements.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.ids import new_id
from inboxkit.labels import SPAM
from inboxkit.mail.parse import ParsedMessage
from inboxkit.records import MessageSummary, summary
from inboxkit.store import labels as message_labels
from inboxkit.store import rawcodec, search, threads, usage
from inboxkit.store.mailboxes import lock_undeleted
from inboxkit.store.plans import mailbox_plan_name
from inboxkit.store.tables import accounts, contents, drafts, mailboxes, messages, utcnow

# A result row of any shape (SQLAlchemy types rows by their column tuple).
Row = sa.Row[*tuple[Any, ...]]

__all__ = [
    "SUMMARY_COLUMNS",
    "Delivery",
    "MessageQuery",
    "StoreHook",
    "StoredContent",
    "Target",
    "apply_filter",
    "attachment_bytes",
    "attachment_index",
    "body",
    "counts",
    "delete",
    "encode_content",
    "envelope_recipients",
    "find",
    "insert_deliveries",
    "new_delivery",
    "page",
    "purge_mailboxes",
    "raw_bytes",
    "set_read",
    "stored_size",
    "summaries",
    "visible",
]

SUMMARY_COLUMNS = (
    messages.c.id,
    messages.c.mailbox_id,
    messages.c.direction,
    messages.c.from_addr,
    messages.c.from_name,
    messages.c.to_addrs,
    messages.c.subject,
    messages.c.preview,
    messages.c.received_at,
    messages.c.is_read,
    messages.c.has_attachments,
    messages.c.size,
    messages.c.codes,
    messages.c.links,
    messages.c.tags,
    messages.c.parse_error,
    messages.c.delivery_status,
    messages.c.delivery_error,
    messages.c.from_verified,
    messages.c.spam,
    # Labels (records.py): the user labels, and `hidden` for the system label `spam`.
    messages.c.labels,
    messages.c.hidden,
    messages.c.thread_id,
)

# Called inside the delivery transaction with the stored summaries (e.g. to queue webhooks in
# the same commit, so a crash can never store a message but lose its notification).
StoreHook = Callable[[AsyncConnection, list[MessageSummary]], Awaitable[None]]


# -- the delivery insert ------------------------------------------------------------------


@dataclass(slots=True)
class Target:
    """One receiving mailbox of a delivery, with every +tag the message was sent to."""

    mailbox_id: str
    address: str
    tags: list[str] = field(default_factory=list)
    # Whether this mailbox's mode asks for sender authentication (senders/).
    authenticate: bool = False
    # The mailbox's owner and mode: whose allow and block lists apply, and whether spam is
    # hidden there (spam/).
    account_id: str | None = None
    mode: str | None = None


@dataclass(frozen=True, slots=True)
class StoredContent:
    """A message's bytes as they go into `contents`: the raw message and the prepared
    attachment bytes, each as `rawcodec` encoded them."""

    raw: rawcodec.Encoded
    attachment_data: bytes | None
    attachment_layout: list[list[int]] | None


def _encode_content(raw: bytes, parsed: ParsedMessage) -> StoredContent:
    data: bytes | None = None
    layout: list[list[int]] | None = None
    if parsed.attachments:
        data, layout = rawcodec.encode_parts([(a.content_type, a.data) for a in parsed.attachments])
    return StoredContent(rawcodec.encode(raw), data, layout)


async def encode_content(raw: bytes, parsed: ParsedMessage) -> StoredContent:
    """The stored form of a parsed message's bytes, compressed in a worker thread when they
    are big enough to hold up the event loop (zstandard releases the GIL meanwhile)."""
    total = len(raw) + sum(len(a.data) for a in parsed.attachments)
    if total < rawcodec.OFF_LOOP_BYTES:
        return _encode_content(raw, parsed)
    return await asyncio.to_thread(_encode_content, raw, parsed)


@dataclass(slots=True)
class Delivery:
    """One parsed message waiting for a group commit: its `contents` row, one `messages` row
    per target mailbox, and a hook to run in the same transaction once it is stored."""

    content_row: dict[str, Any]
    message_rows: list[dict[str, Any]]
    also: StoreHook | None = None
    # Each target mailbox's address: a participant of the conversation (store/threads.py).
    addresses: dict[str, str] = field(default_factory=dict)


def new_delivery(
    parsed: ParsedMessage,
    raw: bytes,
    stored: StoredContent,
    *,
    envelope: dict[str, Any],
    targets: Sequence[Target],
    direction: str,
    extra: dict[str, Any],
    also: StoreHook | None = None,
    authentication: dict[str, Any] | None = None,
    from_verified: bool = False,
    spam: Mapping[str, tuple[dict[str, Any], bool]] | None = None,
) -> Delivery:
    """The rows that store `raw` once (as `stored`, from `encode_content`) and give each target
    its own message row.

    `envelope` is the SMTP envelope as stored (`mail_from`, `rcpt_to`, `remote_addr`,
    `helo`); `extra` overrides message columns (an outbound message's delivery status).
    `authentication` and `from_verified` go only to targets that asked for authentication;
    `spam` maps a target's mailbox id to its spam verdict and whether that hides the message."""
    now = utcnow()
    content_id = new_id()
    content_row = {
        "id": content_id,
        "size": len(raw),
        "raw": stored.raw.data,
        "raw_encoding": stored.raw.encoding,
        "headers": parsed.headers,
        "text": parsed.text,
        "html": parsed.html,
        "attachments": [a.to_dict() for a in parsed.attachments],
        "code_details": parsed.code_details,
        "parse_error": parsed.parse_error,
        "created_at": now,
        # Prepared in the parse worker so reads neither sanitise nor re-parse (tables.py).
        "html_sanitized": parsed.html_sanitized,
        "attachment_data": stored.attachment_data,
        "attachment_layout": stored.attachment_layout,
    }
    # The words the full-text index holds (store/search.py): the same for every target.
    words = search.document(
        subject=parsed.subject,
        from_addr=parsed.from_addr or envelope["mail_from"],
        from_name=parsed.from_name,
        recipients=[*parsed.to, *parsed.cc, *envelope["rcpt_to"]],
        body=parsed.text or parsed.preview,
    )
    message_rows = []
    for target in targets:
        verdict, hidden = (spam or {}).get(target.mailbox_id, (None, False))
        message_rows.append(
            {
                "id": new_id(),
                "mailbox_id": target.mailbox_id,
                "content_id": content_id,
                "direction": direction,
                "from_addr": parsed.from_addr or envelope["mail_from"],
                "from_name": parsed.from_name,
                "to_addrs": parsed.to,
                "cc_addrs": parsed.cc,
                "reply_to": parsed.reply_to,
                "subject": parsed.subject,
                "preview": parsed.preview,
                "received_at": now,
                "is_read": False,
                "has_attachments": bool(parsed.attachments),
                "size": len(raw),
                # What the owner's storage counts: the message as stored.
                "stored_size": len(stored.raw.data),
                "codes": parsed.codes,
                "links": parsed.links,
                "has_code": bool(parsed.codes),
                "message_id": parsed.message_id,
                "in_reply_to": parsed.in_reply_to,
                "references": parsed.references,
                "envelope": envelope,
                "tags": target.tags,
                "parse_error": parsed.parse_error is not None,
                "search_text": "",
                **words,
                "delivery_status": None,
                "delivery_error": None,
                "authentication": authentication if target.authenticate else None,
                "from_verified": from_verified if target.authenticate else False,
                "spam": verdict,
                "hidden": hidden,
                "labels": [],
                # Set in the storing transaction (store/threads.py `assign`).
                "thread_id": None,
                "message_key": None,
                **extra,
            }
        )
    addresses = {target.mailbox_id: target.address for target in targets}
    return Delivery(content_row, message_rows, also, addresses)


async def insert_deliveries(
    conn: AsyncConnection, deliveries: Sequence[Delivery], hooks: Sequence[StoreHook]
) -> list[list[MessageSummary]]:
    """Store every delivery of one group commit with set-based statements: one liveness
    check, one insert per table and one call of each hook for the whole batch.

    Returns each delivery's stored summaries, in order; a delivery whose mailboxes were all
    deleted meanwhile stores nothing and gets an empty list."""
    wanted = sorted({row["mailbox_id"] for d in deliveries for row in d.message_rows})
    live = await lock_undeleted(conn, wanted)
    kept = [[row for row in d.message_rows if row["mailbox_id"] in live] for d in deliveries]
    content_rows = [d.content_row for d, rows in zip(deliveries, kept, strict=True) if rows]
    if content_rows:
        inserted = [row for rows in kept for row in rows]
        addresses = {k: v for d in deliveries for k, v in d.addresses.items()}
        # Threaded here, after the mailboxes' rows are locked, so assignment is exact.
        await threads.assign(conn, inserted, addresses)
        await conn.execute(contents.insert(), content_rows)
        await conn.execute(messages.insert(), inserted)
        # Counted (and held to the plans' ceilings) in this same transaction.
        await usage.count_stored(conn, inserted)
    stored = [[summary(_RowView(row)) for row in rows] for rows in kept]
    # Hooks notify (webhooks): hidden mail (spam in an agent mailbox) notifies nobody.
    everything = [summary(_RowView(row)) for rows in kept for row in rows if not row.get("hidden")]
    if everything:
        for hook in hooks:
            await hook(conn, everything)
    for delivery, items in zip(deliveries, stored, strict=True):
        if delivery.also is not None and items:
            await delivery.also(conn, items)
    return stored


class _RowView:
    """Attribute access over an insert dict, so `summary()` serves rows and dicts alike."""

    def __init__(self, values: dict[str, Any]):
        self.__dict__.update(values)


# -- listing --------------------------------------------------------------------------------


class MessageQuery(Protocol):
    """The filters listing and waiting share (services.messages.MessageFilter). String
    filters are case-insensitive substrings; `spam` picks the hidden rows (the spam folder)
    instead of the visible ones."""

    unread: bool | None
    since: datetime | None
    after: str | None
    from_contains: str | None
    subject_contains: str | None
    to_contains: str | None
    direction: str | None
    has_code: bool | None
    spam: bool
    label: str | None
    thread_id: str | None


def apply_filter(
    query: sa.Select[Any], flt: MessageQuery, mailbox_id: str | None = None
) -> sa.Select[Any]:
    """`query` (over `messages`, of `mailbox_id` when given) narrowed to the rows `flt`
    matches: always either the visible rows or, with `spam` (or the label `spam`), only the
    hidden ones (DESIGN §9). `flt.label` is normalised already (labels.py)."""
    c = messages.c
    # The default view needs no index of its own: it is narrowed to one mailbox and walks
    # `(mailbox_id, id)` or `(mailbox_id, is_read, id)` in id order, so `hidden = false` is a
    # filter on rows the scan reads anyway, and hidden rows are few. The spam folder, a few
    # rows among possibly very many, is served by the partial index of hidden rows
    # (`ix_messages_mailbox_hidden`, migration 0010).
    label = getattr(flt, "label", None)
    query = query.where(visible(flt.spam or label == SPAM))
    if label is not None and label != SPAM:
        query = query.where(message_labels.condition(label, mailbox_id))
    if flt.unread is not None:
        query = query.where(c.is_read.is_(not flt.unread))
    if flt.since is not None:
        query = query.where(c.received_at >= flt.since)
    if flt.after is not None:
        query = query.where(c.id > flt.after)
    if flt.from_contains:
        needle = flt.from_contains.lower()
        query = query.where(
            sa.or_(
                sa.func.lower(c.from_addr).contains(needle, autoescape=True),
                sa.func.lower(c.from_name).contains(needle, autoescape=True),
            )
        )
    if flt.subject_contains:
        query = query.where(
            sa.func.lower(c.subject).contains(flt.subject_contains.lower(), autoescape=True)
        )
    if flt.to_contains:
        # The To and Cc headers and the envelope's recipients (a Bcc'd address is in the
        # envelope alone), never the body; JSON text is compared case-insensitively on both
        # backends.
        needle = flt.to_contains.lower()
        query = query.where(
            sa.or_(
                sa.func.lower(sa.cast(c.to_addrs, sa.Text)).contains(needle, autoescape=True),
                sa.func.lower(sa.cast(c.cc_addrs, sa.Text)).contains(needle, autoescape=True),
                sa.func.lower(sa.cast(c.envelope["rcpt_to"], sa.Text)).contains(
                    needle, autoescape=True
                ),
            )
        )
    if flt.direction:
        query = query.where(c.direction == flt.direction)
    if flt.has_code is not None:
        query = query.where(c.has_code.is_(flt.has_code))
    if flt.thread_id is not None:
        query = query.where(c.thread_id == flt.thread_id)
    return query


async def page(
    conn: AsyncConnection,
    mailbox_id: str,
    flt: MessageQuery,
    *,
    before: str | None,
    limit: int,
) -> Sequence[Row]:
    """Up to `limit` summary rows of the mailbox, newest first, older than id `before`."""
    query = apply_filter(
        sa.select(*SUMMARY_COLUMNS).where(messages.c.mailbox_id == mailbox_id), flt, mailbox_id
    )
    if before is not None:
        query = query.where(messages.c.id < before)
    return (await conn.execute(query.order_by(messages.c.id.desc()).limit(limit))).all()


def visible(spam: bool = False) -> sa.ColumnElement[bool]:
    """The rows a mailbox's default views show (`hidden` false), or with `spam` the hidden
    ones only."""
    return messages.c.hidden == (sa.true() if spam else sa.false())


async def counts(conn: AsyncConnection, mailbox_id: str) -> tuple[int, int]:
    """How many messages the mailbox holds (hidden spam too: it is stored and counts towards
    the quota), and how many of the visible ones are unread."""
    c = messages.c
    # Every unread message, minus the hidden unread ones: the first two figures come from
    # `ix_messages_mailbox_unread` alone (an index-only scan), the last from the partial index
    # of hidden rows and those few rows. Asking for `hidden = false` in the aggregate instead
    # would read every row of the mailbox.
    # (`is_read` is summed, not filtered on, in the hidden rows' count: as a filter it would
    # tempt SQLite, which keeps no statistics, into the unread index and its many rows.)
    unread = sa.func.coalesce(sa.func.sum(sa.case((c.is_read.is_(False), 1), else_=0)), 0)
    hidden_unread = sa.select(unread).where(c.mailbox_id == mailbox_id, visible(True))
    row = (
        await conn.execute(
            sa.select(sa.func.count(), unread, hidden_unread.scalar_subquery()).where(
                c.mailbox_id == mailbox_id
            )
        )
    ).one()
    return int(row[0]), int(row[1]) - int(row[2])


# -- one message -------------------------------------------------------------------------------


async def find(conn: AsyncConnection, mailbox_id: str, message_id: str) -> Row | None:
    """The message's full row, or None when it is not in that mailbox."""
    query = sa.select(messages).where(
        messages.c.id == message_id, messages.c.mailbox_id == mailbox_id
    )
    return (await conn.execute(query)).first()


async def summaries(
    conn: AsyncConnection, mailbox_id: str, message_ids: Sequence[str]
) -> Sequence[Row]:
    """The summary rows of those of `message_ids` that are in the mailbox."""
    if not message_ids:
        return []
    query = sa.select(*SUMMARY_COLUMNS).where(
        messages.c.mailbox_id == mailbox_id, messages.c.id.in_(list(message_ids))
    )
    return (await conn.execute(query)).all()


async def envelope_recipients(
    conn: AsyncConnection, mailbox_id: str, message_ids: Sequence[str]
) -> dict[str, list[str]]:
    """The envelope recipients (RCPT TO) of those of `message_ids` that are in the mailbox."""
    if not message_ids:
        return {}
    query = sa.select(messages.c.id, messages.c.envelope).where(
        messages.c.mailbox_id == mailbox_id, messages.c.id.in_(list(message_ids))
    )
    found: dict[str, list[str]] = {}
    for row in (await conn.execute(query)).all():
        envelope = row.envelope or {}
        found[row.id] = list(envelope.get("rcpt_to") or [])
    return found


async def body(conn: AsyncConnection, content_id: str) -> Row:
    """The parsed parts of a content row a full message read shows."""
    c = contents.c
    query = sa.select(
        c.headers, c.text, c.html, c.attachments, c.code_details, c.parse_error, c.html_sanitized
    ).where(c.id == content_id)
    return (await conn.execute(query)).one()


async def raw_bytes(conn: AsyncConnection, content_id: str) -> bytes:
    """The message exactly as received."""
    c = contents.c
    query = sa.select(c.raw, c.raw_encoding, c.size).where(c.id == content_id)
    row = (await conn.execute(query)).one()
    return await rawcodec.decode_off_loop(row.raw_encoding, bytes(row.raw), row.size)


async def attachment_index(conn: AsyncConnection, content_id: str) -> Row:
    """The attachment metadata, the length of the prepared attachment bytes (`stored_bytes`,
    NULL on rows stored before those existed) and how each attachment is stored in them."""
    c = contents.c
    query = sa.select(
        c.attachments,
        sa.func.length(c.attachment_data).label("stored_bytes"),
        c.attachment_layout,
    ).where(c.id == content_id)
    return (await conn.execute(query)).one()


async def attachment_bytes(
    conn: AsyncConnection, content_id: str, content: Row, index: int
) -> bytes | None:
    """The decoded bytes of attachment `index` (of `content`, from `attachment_index`), read
    from its own slice of the prepared bytes and decoded alone: neither the raw message nor the
    other attachments are read. None when the row has no prepared bytes, or they do not add up
    to what the metadata says: the caller then re-parses the raw message, the truth."""
    sizes = [int(a["size"]) for a in content.attachments]
    layout = content.attachment_layout or [[rawcodec.IDENTITY, size] for size in sizes]
    if (
        content.stored_bytes is None
        or len(layout) != len(sizes)
        or content.stored_bytes != sum(length for _, length in layout)
    ):
        return None
    encoding, length = layout[index]
    offset = sum(stored for _, stored in layout[:index])
    c = contents.c
    data = await conn.scalar(
        sa.select(
            sa.func.substr(c.attachment_data, offset + 1, length, type_=sa.LargeBinary)
        ).where(c.id == content_id)
    )
    try:
        return await rawcodec.decode_off_loop(encoding, bytes(data or b""), sizes[index])
    except rawcodec.CorruptContent:
        return None


async def set_read(conn: AsyncConnection, message_id: str, is_read: bool) -> None:
    await conn.execute(messages.update().where(messages.c.id == message_id).values(is_read=is_read))


# -- deleting ----------------------------------------------------------------------------------


def stored_size() -> sa.ColumnElement[int]:
    """What a message row counted towards its owner's storage when it was stored: its
    `stored_size`, or on rows from before compression their `size`."""
    return sa.func.coalesce(messages.c.stored_size, messages.c.size).label("stored_size")


async def delete(conn: AsyncConnection, message_id: str, content_id: str) -> None:
    """Delete one message row, and its content unless another mailbox's row still uses it."""
    removed = (
        await conn.execute(
            messages.delete()
            .where(messages.c.id == message_id)
            .returning(messages.c.mailbox_id, stored_size(), messages.c.thread_id)
        )
    ).all()
    await usage.count_removed(conn, removed)
    await threads.refresh(conn, [(row.mailbox_id, row.thread_id) for row in removed])
    await _delete_orphan_contents(conn, {content_id})


async def purge_older(conn: AsyncConnection, plan: str, cutoff: datetime, batch: int) -> int:
    """Delete up to `batch` messages received before `cutoff` in mailboxes on `plan` (the
    retention sweep); returns how many this transaction deleted. Safe in many processes: each
    row is counted off by the DELETE that removed it, which only one of them wins."""
    candidates = (
        sa.select(messages.c.id)
        .select_from(
            messages.join(mailboxes, mailboxes.c.id == messages.c.mailbox_id).outerjoin(
                accounts, accounts.c.id == mailboxes.c.account_id
            )
        )
        .where(messages.c.received_at < cutoff, mailbox_plan_name() == plan)
        .limit(batch)
    )
    ids = list((await conn.execute(candidates)).scalars())
    if not ids:
        return 0
    removed = (
        await conn.execute(
            messages.delete()
            .where(messages.c.id.in_(ids))
            .returning(
                messages.c.mailbox_id, stored_size(), messages.c.content_id, messages.c.thread_id
            )
        )
    ).all()
    await usage.count_removed(conn, removed)
    await threads.refresh(conn, [(row.mailbox_id, row.thread_id) for row in removed])
    await _delete_orphan_contents(conn, {row.content_id for row in removed})
    return len(removed)


async def purge_mailboxes(conn: AsyncConnection, mailbox_ids: list[str]) -> None:
    """End the mailboxes (just marked deleted or expired): take them off their owners'
    figures, delete their messages, threads and drafts, and any content no other message
    still uses."""
    if not mailbox_ids:
        return
    await usage.count_ended(conn, mailbox_ids)
    content_ids = sa.select(messages.c.content_id).where(messages.c.mailbox_id.in_(mailbox_ids))
    doomed = set((await conn.execute(content_ids)).scalars())
    await conn.execute(messages.delete().where(messages.c.mailbox_id.in_(mailbox_ids)))
    await threads.forget_mailboxes(conn, mailbox_ids)
    # Its drafts too: mailbox rows stay (marked deleted), so no cascade would remove them. A
    # draft being sent right now finds itself gone and its send rolls back.
    await conn.execute(drafts.delete().where(drafts.c.mailbox_id.in_(mailbox_ids)))
    await _delete_orphan_contents(conn, doomed)


async def _delete_orphan_contents(conn: AsyncConnection, content_ids: set[str]) -> None:
    if not content_ids:
        return
    still_used = set(
        (
            await conn.execute(
                sa.select(messages.c.content_id).where(messages.c.content_id.in_(content_ids))
            )
        ).scalars()
    )
    orphans = content_ids - still_used
    if orphans:
        await conn.execute(contents.delete().where(contents.c.id.in_(orphans)))
