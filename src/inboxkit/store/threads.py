"""Queries of `threads`: which thread a message joins, a mailbox's threads by activity, one
thread's messages, keeping threads true when messages go, and the backfill of old rows.

**Assignment** runs inside the storing transaction (`insert_deliveries`), after the receiving
mailboxes' rows are locked, so it is exact: on PostgreSQL two deliveries to one mailbox take
turns at that lock whichever process stores them, and SQLite's write transactions are
serialised already. Two messages of one new conversation therefore never make two threads, at
the cost of nothing a delivery did not already pay. For each receiving mailbox, in order:

1. a stored message of that mailbox whose Message-ID is this message's In-Reply-To or one of
   its last 50 References (the most recent reference found wins): join its thread;
2. else, among the 20 threads with the same normalised subject (never an empty one) most
   recently active within 30 days: the newest whose latest message had the same set of
   participants (From, To, Cc and the mailbox's own address), else the newest whose
   participants include all of this message's (the agent forwarded to the warehouse, then the
   customer answers): join it;
3. else a new thread.

Messages of one batch see each other (a reply stored in the same group commit as what it
answers joins its thread). Each step is one set-based query for the whole batch.

**Activity.** A thread row keeps three newest messages: of all its mail
(`last_message_id`, `last_message_at`: what assignment compares, hidden spam included, so a
reply finds its conversation whatever the verdicts), of its visible mail (`last_visible_id`:
what the default list is ordered and paged by) and of its hidden mail (`last_hidden_id`: the
spam view's). So a spam message that joins a conversation moves it in the spam view only, and
the default list's order is the order of the `last_message_at` it shows. A message's `hidden`
is fixed when it is stored, so only deletion changes what the view columns point at.

**Counts** (`message_count`, `unread_count`), the preview and the labels are read from the
messages of a page's threads when listed, never stored, so marking read, deleting and expiry
need no bookkeeping; a thread row keeps only what ordering and lookup need, which deletion
refreshes (`refresh`) or removes with its last message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.ids import new_id
from inboxkit.mail import threading as keys
from inboxkit.store.tables import mailboxes, message_labels, messages, threads, utcnow

__all__ = [
    "SUBJECT_WINDOW",
    "ThreadStats",
    "assign",
    "backfill",
    "find",
    "forget_mailboxes",
    "messages_page",
    "page",
    "page_key",
    "refresh",
    "stats",
]

# A reply without references joins by subject only within this long of the thread's last
# message.
SUBJECT_WINDOW = timedelta(days=30)
# Threads of one subject a message without references is compared with, most recent first.
SUBJECT_CANDIDATES = 20
# Keys per IN (...) list: well under every backend's bound-parameter limit.
_CHUNK = 500

Row = sa.Row[*tuple[Any, ...]]


@dataclass(slots=True)
class _Found:
    """A thread as assignment sees it: what it updates when a message joins."""

    id: str
    subject_key: str | None
    participants_key: str
    participants: list[str]
    last_message_id: str
    last_message_at: datetime
    # The newest visible and hidden messages' ids (None: none yet).
    last_visible_id: str | None = None
    last_hidden_id: str | None = None
    new: bool = False
    subject: str = ""
    created_at: datetime | None = None
    changed: bool = False


def _chunks(values: Sequence[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield list(values[start : start + _CHUNK])


async def assign(
    conn: AsyncConnection, rows: Sequence[dict[str, Any]], addresses: Mapping[str, str]
) -> None:
    """Set `thread_id` and `message_key` on each message row about to be stored (or being
    backfilled), oldest first, creating and updating `threads` rows (see the module doc).
    `addresses` maps each mailbox id to its address (a participant of all its mail)."""
    if not rows:
        return
    facts = [_facts(row, addresses) for row in rows]
    mailbox_ids = sorted({row["mailbox_id"] for row in rows})
    by_reference = await _referenced(conn, mailbox_ids, facts)
    oldest = min(row["received_at"] for row in rows) - SUBJECT_WINDOW
    known, by_subject = await _candidates(
        conn, mailbox_ids, facts, {thread_id for thread_id, _ in by_reference.values()}, oldest
    )
    for row, fact in zip(rows, facts, strict=True):
        thread = _choose(row, fact, by_reference, by_subject, known)
        row["thread_id"] = thread.id
        thread.changed = True
        if row["id"] >= thread.last_message_id:
            thread.last_message_id = row["id"]
            thread.last_message_at = row["received_at"]
            thread.participants_key = fact.participants_key
        if row.get("hidden"):
            thread.last_hidden_id = max(row["id"], thread.last_hidden_id or "")
        else:
            thread.last_visible_id = max(row["id"], thread.last_visible_id or "")
        thread.participants = keys.participants([*thread.participants, *fact.participants])
        if row["message_key"] is not None:
            # Later messages of the batch find this one by reference.
            by_reference[(row["mailbox_id"], row["message_key"])] = (thread.id, row["id"])
        if thread.subject_key is not None:
            # Newest activity first, for the later messages of the batch.
            slot = (row["mailbox_id"], thread.subject_key)
            others = [t for t in by_subject.get(slot, []) if t.id != thread.id]
            by_subject[slot] = [thread, *others]
    await _write(conn, rows, known)


@dataclass(frozen=True, slots=True)
class _Facts:
    """What threading reads of one message."""

    chain: list[str]  # message keys it refers to, most recent first
    participants: list[str]
    participants_key: str
    subject_key: str | None


def _facts(row: dict[str, Any], addresses: Mapping[str, str]) -> _Facts:
    row["message_key"] = keys.message_key(row.get("message_id"))
    chain = keys.reference_chain(row.get("in_reply_to"), row.get("references") or [])
    people = keys.participants(
        [
            row.get("from_addr") or "",
            *(row.get("to_addrs") or []),
            *(row.get("cc_addrs") or []),
            addresses.get(row["mailbox_id"], ""),
        ]
    )
    return _Facts(
        [k for k in (keys.message_key(mid) for mid in chain) if k],
        people,
        keys.participants_key(people),
        keys.subject_key(row.get("subject")),
    )


async def _referenced(
    conn: AsyncConnection, mailbox_ids: list[str], facts: Sequence[_Facts]
) -> dict[tuple[str, str], tuple[str, str]]:
    """(mailbox id, message key) → (thread id, message id) of the stored messages these
    refer to: one index probe per key."""
    found: dict[tuple[str, str], tuple[str, str]] = {}
    wanted = sorted({key for fact in facts for key in fact.chain})
    c = messages.c
    for part in _chunks(wanted):
        query = sa.select(c.mailbox_id, c.message_key, c.thread_id, c.id).where(
            c.mailbox_id.in_(mailbox_ids), c.message_key.in_(part), c.thread_id.is_not(None)
        )
        for row in (await conn.execute(query)).all():
            slot = (row.mailbox_id, row.message_key)
            # Duplicated Message-IDs: the newest copy's thread.
            if slot not in found or found[slot][1] < row.id:
                found[slot] = (row.thread_id, row.id)
    return found


_COLUMNS = (
    threads.c.id,
    threads.c.mailbox_id,
    threads.c.subject_key,
    threads.c.participants_key,
    threads.c.participants,
    threads.c.last_message_id,
    threads.c.last_message_at,
    threads.c.last_visible_id,
    threads.c.last_hidden_id,
)


def _found(row: Row) -> _Found:
    return _Found(
        row.id,
        row.subject_key,
        row.participants_key,
        list(row.participants),
        row.last_message_id,
        row.last_message_at,
        row.last_visible_id,
        row.last_hidden_id,
    )


async def _candidates(
    conn: AsyncConnection,
    mailbox_ids: list[str],
    facts: Sequence[_Facts],
    referenced: set[str],
    oldest: datetime,
) -> tuple[dict[str, _Found], dict[tuple[str, str], list[_Found]]]:
    """The threads these messages could join: by subject (active since `oldest`; for each
    mailbox and subject the `SUBJECT_CANDIDATES` most recently active, newest first) and those
    found by reference."""
    known: dict[str, _Found] = {}
    by_subject: dict[tuple[str, str], list[_Found]] = {}
    for part in _chunks(sorted({f.subject_key for f in facts if f.subject_key})):
        # A common subject ("Your code") can have thousands of threads in a month: the window
        # keeps what is read back to a few per mailbox and subject.
        rank = (
            sa.func.row_number()
            .over(
                partition_by=(threads.c.mailbox_id, threads.c.subject_key),
                order_by=(threads.c.last_message_at.desc(), threads.c.id.desc()),
            )
            .label("rank")
        )
        ranked = (
            sa.select(*_COLUMNS, rank)
            .where(
                threads.c.mailbox_id.in_(mailbox_ids),
                threads.c.subject_key.in_(part),
                threads.c.last_message_at >= oldest,
            )
            .subquery()
        )
        query = (
            sa.select(*(ranked.c[column.name] for column in _COLUMNS))
            .where(ranked.c.rank <= SUBJECT_CANDIDATES)
            .order_by(ranked.c.last_message_at.desc(), ranked.c.id.desc())
        )
        for row in (await conn.execute(query)).all():
            thread = known.setdefault(row.id, _found(row))
            by_subject.setdefault((row.mailbox_id, row.subject_key), []).append(thread)
    for part in _chunks(sorted(referenced - set(known))):
        query = sa.select(*_COLUMNS).where(threads.c.id.in_(part))
        for row in (await conn.execute(query)).all():
            known.setdefault(row.id, _found(row))
    return known, by_subject


def _choose(
    row: dict[str, Any],
    fact: _Facts,
    by_reference: Mapping[tuple[str, str], tuple[str, str]],
    by_subject: Mapping[tuple[str, str], list[_Found]],
    known: dict[str, _Found],
) -> _Found:
    """The thread the message joins: by reference, else by subject, else a new one."""
    mailbox_id = row["mailbox_id"]
    for key in fact.chain:
        hit = by_reference.get((mailbox_id, key))
        if hit is not None and hit[0] in known:
            return known[hit[0]]
    if fact.subject_key is not None:
        recent = [
            t
            for t in by_subject.get((mailbox_id, fact.subject_key), [])
            if t.last_message_at >= row["received_at"] - SUBJECT_WINDOW
        ]
        # The same people as its latest message; else people all already in the conversation
        # (a reply to the customer after the agent forwarded to the warehouse). Someone new
        # writing with the same subject starts a conversation of their own.
        people = set(fact.participants)
        for candidate in recent:
            if candidate.participants_key == fact.participants_key:
                return candidate
        for candidate in recent:
            if people <= set(candidate.participants):
                return candidate
    thread = _Found(
        new_id(),
        fact.subject_key,
        fact.participants_key,
        [],
        row["id"],
        row["received_at"],
        new=True,
        subject=(row.get("subject") or "")[: keys.SUBJECT_CHARS],
        created_at=utcnow(),
    )
    known[thread.id] = thread
    return thread


async def _write(
    conn: AsyncConnection, rows: Sequence[dict[str, Any]], known: Mapping[str, _Found]
) -> None:
    """Insert the new threads and update the ones messages joined."""
    created = [t for t in known.values() if t.new]
    if created:
        mailbox_of = {row["thread_id"]: row["mailbox_id"] for row in rows}
        await conn.execute(
            threads.insert(),
            [
                {
                    "id": t.id,
                    "mailbox_id": mailbox_of[t.id],
                    "subject": t.subject,
                    "subject_key": t.subject_key,
                    "participants_key": t.participants_key,
                    "participants": t.participants,
                    "last_message_id": t.last_message_id,
                    "last_message_at": t.last_message_at,
                    "last_visible_id": t.last_visible_id,
                    "last_hidden_id": t.last_hidden_id,
                    "created_at": t.created_at,
                }
                for t in created
            ],
        )
    updated = [t for t in known.values() if t.changed and not t.new]
    if updated:
        await conn.execute(
            threads.update()
            .where(threads.c.id == sa.bindparam("tid"))
            .values(
                participants_key=sa.bindparam("pkey"),
                participants=sa.bindparam("people", type_=sa.JSON),
                last_message_id=sa.bindparam("last_id"),
                last_message_at=sa.bindparam("last_at", type_=threads.c.last_message_at.type),
                last_visible_id=sa.bindparam("visible_id"),
                last_hidden_id=sa.bindparam("hidden_id"),
            ),
            [
                {
                    "tid": t.id,
                    "pkey": t.participants_key,
                    "people": t.participants,
                    "last_id": t.last_message_id,
                    "last_at": t.last_message_at,
                    "visible_id": t.last_visible_id,
                    "hidden_id": t.last_hidden_id,
                }
                for t in updated
            ],
        )


# -- keeping threads true when messages go -----------------------------------------------------


async def refresh(conn: AsyncConnection, removed: Iterable[tuple[str, str | None]]) -> None:
    """After messages were deleted (their mailbox and thread ids): each thread's newest
    message, newest visible and newest hidden message again, or the thread gone with its last
    message. Read per mailbox, so each query is a walk of `ix_messages_mailbox_thread`."""
    per_box: dict[str, set[str]] = {}
    for mailbox_id, thread_id in removed:
        if thread_id:
            per_box.setdefault(mailbox_id, set()).add(thread_id)
    c = messages.c
    for mailbox_id, ids in sorted(per_box.items()):
        for part in _chunks(sorted(ids)):
            newest = (
                sa.select(
                    c.thread_id,
                    sa.func.max(c.id).label("last_id"),
                    *_newest_per_view(),
                )
                .where(c.mailbox_id == mailbox_id, c.thread_id.in_(part))
                .group_by(c.thread_id)
            )
            latest = {row.thread_id: row for row in (await conn.execute(newest)).all()}
            gone = [t for t in part if t not in latest]
            if gone:
                await conn.execute(threads.delete().where(threads.c.id.in_(gone)))
            if latest:
                await _set_newest(conn, latest)


def _newest_per_view() -> tuple[sa.Label[Any], sa.Label[Any]]:
    """Per thread (in a query grouped by `thread_id`): its newest visible and newest hidden
    message's ids, null when it has none."""
    c = messages.c
    return (
        sa.func.max(sa.case((c.hidden == sa.false(), c.id), else_=None)).label("visible_id"),
        sa.func.max(sa.case((c.hidden == sa.true(), c.id), else_=None)).label("hidden_id"),
    )


async def _set_newest(conn: AsyncConnection, latest: Mapping[str, Row]) -> None:
    """Point each thread (id → its newest message's, newest visible and newest hidden
    message's ids) at those messages."""
    query = sa.select(messages.c.id, messages.c.received_at).where(
        messages.c.id.in_([row.last_id for row in latest.values()])
    )
    at = {row.id: row.received_at for row in (await conn.execute(query)).all()}
    await conn.execute(
        threads.update()
        .where(threads.c.id == sa.bindparam("tid"))
        .values(
            last_message_id=sa.bindparam("last_id"),
            last_message_at=sa.bindparam("last_at", type_=threads.c.last_message_at.type),
            last_visible_id=sa.bindparam("visible_id"),
            last_hidden_id=sa.bindparam("hidden_id"),
        ),
        [
            {
                "tid": tid,
                "last_id": row.last_id,
                "last_at": at[row.last_id],
                "visible_id": row.visible_id,
                "hidden_id": row.hidden_id,
            }
            for tid, row in latest.items()
        ],
    )


async def forget_mailboxes(conn: AsyncConnection, mailbox_ids: list[str]) -> None:
    """Delete the threads of mailboxes being purged."""
    await conn.execute(threads.delete().where(threads.c.mailbox_id.in_(mailbox_ids)))


# -- reading ---------------------------------------------------------------------------------------


def _in_view(spam: bool) -> sa.ColumnElement[bool]:
    return messages.c.hidden == (sa.true() if spam else sa.false())


def _order_column(spam: bool) -> sa.Column[Any]:
    """The thread column a view is ordered and paged by: the id of its newest visible message,
    or with `spam` of its newest hidden one (null when it has none in the view)."""
    return threads.c.last_hidden_id if spam else threads.c.last_visible_id


def page_key(row: Row, *, spam: bool) -> str:
    """What a listed thread (a row of `page`) is ordered by in its view: the `before` that
    continues the list after it."""
    key: str = getattr(row, _order_column(spam).name)
    return key


async def page(
    conn: AsyncConnection, mailbox_id: str, *, spam: bool, before: str | None, limit: int
) -> Sequence[Row]:
    """Up to `limit` threads of the mailbox with a message in the view, by their newest
    message in the view, newest first, that message older than id `before`. One walk of
    `ix_threads_mailbox_visible` (or `ix_threads_mailbox_hidden`)."""
    newest = _order_column(spam)
    query = sa.select(threads).where(threads.c.mailbox_id == mailbox_id, newest.is_not(None))
    if before is not None:
        query = query.where(newest < before)
    query = query.order_by(newest.desc()).limit(limit)
    return (await conn.execute(query)).all()


async def find(conn: AsyncConnection, mailbox_id: str, thread_id: str) -> Row | None:
    """The thread, when it is the mailbox's."""
    query = sa.select(threads).where(threads.c.id == thread_id, threads.c.mailbox_id == mailbox_id)
    return (await conn.execute(query)).first()


@dataclass(frozen=True, slots=True)
class ThreadStats:
    """What a thread's messages in one view add up to."""

    message_count: int
    unread_count: int
    outbound: bool
    hidden: bool
    last_id: str | None
    last_at: datetime | None
    preview: str
    # The user labels of its messages in the view, sorted.
    labels: list[str]


async def stats(
    conn: AsyncConnection, mailbox_id: str, thread_ids: Sequence[str], *, spam: bool
) -> dict[str, ThreadStats]:
    """Counts, labels and the newest message's preview of each thread, over the messages the
    view shows (visible mail, or hidden spam with `spam`); `hidden` over all of them."""
    if not thread_ids:
        return {}
    c = messages.c
    shown = _in_view(spam)
    query = (
        sa.select(
            c.thread_id,
            sa.func.sum(sa.case((shown, 1), else_=0)).label("shown"),
            sa.func.sum(sa.case((sa.and_(shown, c.is_read.is_(False)), 1), else_=0)).label(
                "unread"
            ),
            sa.func.sum(sa.case((sa.and_(shown, c.direction == "outbound"), 1), else_=0)).label(
                "outbound"
            ),
            sa.func.sum(sa.case((c.hidden.is_(True), 1), else_=0)).label("hidden"),
            sa.func.max(sa.case((shown, c.id), else_=None)).label("last_id"),
        )
        .where(c.mailbox_id == mailbox_id, c.thread_id.in_(list(thread_ids)))
        .group_by(c.thread_id)
    )
    totals = (await conn.execute(query)).all()
    newest_ids = [row.last_id for row in totals if row.last_id]
    newest: dict[str, Row] = {}
    if newest_ids:
        found = await conn.execute(
            sa.select(c.id, c.preview, c.received_at).where(c.id.in_(newest_ids))
        )
        newest = {row.id: row for row in found.all()}
    # User labels: distinct per thread, through the label rows of the page's threads' messages
    # (an index read per message: a page is at most a few hundred threads).
    labelled = await conn.execute(
        sa.select(c.thread_id, message_labels.c.label)
        .distinct()
        .select_from(message_labels.join(messages, message_labels.c.message_id == c.id))
        .where(
            message_labels.c.mailbox_id == mailbox_id,
            c.mailbox_id == mailbox_id,
            c.thread_id.in_(list(thread_ids)),
            shown,
        )
    )
    labels: dict[str, set[str]] = {}
    for thread_id, label in labelled.all():
        labels.setdefault(thread_id, set()).add(label)
    result: dict[str, ThreadStats] = {}
    for row in totals:
        last = newest.get(row.last_id) if row.last_id else None
        result[row.thread_id] = ThreadStats(
            message_count=int(row.shown or 0),
            unread_count=int(row.unread or 0),
            outbound=bool(row.outbound),
            hidden=bool(row.hidden),
            last_id=row.last_id,
            last_at=last.received_at if last is not None else None,
            preview=last.preview if last is not None else "",
            labels=sorted(labels.get(row.thread_id, ())),
        )
    return result


async def messages_page(
    conn: AsyncConnection,
    mailbox_id: str,
    thread_id: str,
    columns: Sequence[sa.ColumnElement[Any]],
    *,
    spam: bool,
    after: str | None,
    limit: int,
) -> Sequence[Row]:
    """Up to `limit` of the thread's messages in the view, oldest first, newer than id
    `after`."""
    query = sa.select(*columns).where(
        messages.c.mailbox_id == mailbox_id, messages.c.thread_id == thread_id, _in_view(spam)
    )
    if after is not None:
        query = query.where(messages.c.id > after)
    return (await conn.execute(query.order_by(messages.c.id).limit(limit))).all()


# -- backfill ----------------------------------------------------------------------------------


async def backfill(conn: AsyncConnection, batch: int) -> int:
    """Thread up to `batch` rows stored before threads existed, oldest first (so a reply finds
    what it answers already threaded), with the same assignment new mail gets; returns how
    many. Each call is its own transaction's work, so an interrupted backfill resumes where it
    stopped (`ix_messages_thread_pending` finds the rest)."""
    c = messages.c
    query = (
        sa.select(
            c.id,
            c.mailbox_id,
            c.message_id,
            c.in_reply_to,
            c.references,
            c.subject,
            c.from_addr,
            c.to_addrs,
            c.cc_addrs,
            c.received_at,
            c.hidden,
            mailboxes.c.address,
        )
        .select_from(messages.join(mailboxes, mailboxes.c.id == c.mailbox_id))
        .where(c.thread_id.is_(None))
        .order_by(c.id)
        .limit(batch)
    )
    found = (await conn.execute(query)).all()
    if not found:
        return 0
    rows = [dict(row._mapping) for row in found]
    await assign(conn, rows, {row["mailbox_id"]: row["address"] for row in rows})
    await conn.execute(
        messages.update()
        .where(c.id == sa.bindparam("mid"))
        .values(thread_id=sa.bindparam("tid"), message_key=sa.bindparam("mkey")),
        [{"mid": r["id"], "tid": r["thread_id"], "mkey": r["message_key"]} for r in rows],
    )
    return len(rows)
