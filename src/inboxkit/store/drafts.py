"""Queries of `drafts`: insert, pages, conditional changes, and the lease a send holds.

A draft is changed only while nobody is sending it: every edit, deletion and take is one
conditional statement on `status` and the lease (`locked_until`), so a worker holding a
scheduled draft and a request cancelling it cannot both win. The send itself marks the draft
sent (`mark_sent`) inside the transaction that stores and queues the message, again only while
the lease token is the sender's: if the draft was cancelled meanwhile, that transaction rolls
back and nothing is sent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.store.db import Database
from inboxkit.store.plans import account_plan_columns, mailbox_plan_join
from inboxkit.store.tables import DraftStatus, drafts, mailboxes, utcnow

# A result row of any shape (SQLAlchemy types rows by their column tuple).
Row = sa.Row[*tuple[Any, ...]]

__all__ = [
    "EDITABLE",
    "count_open",
    "delete_held",
    "delete_idle",
    "find",
    "hold_unapproved",
    "insert",
    "open_size",
    "mailbox_with_plan",
    "mark_sent",
    "page",
    "prune_sent",
    "release",
    "release_in",
    "stored_size",
    "take",
    "update_idle",
]

# What an edit, a deletion or a send may start from: anything not sent.
EDITABLE = (
    DraftStatus.DRAFT,
    DraftStatus.PENDING_REVIEW,
    DraftStatus.SCHEDULED,
    DraftStatus.FAILED,
)


def _idle(now: datetime) -> sa.ColumnElement[bool]:
    """Nobody holds the draft: no lease, or one that ran out."""
    return sa.or_(drafts.c.locked_until.is_(None), drafts.c.locked_until < now)


async def insert(conn: AsyncConnection, values: dict[str, Any]) -> Row:
    return (await conn.execute(drafts.insert().values(**values).returning(*drafts.c))).one()


async def count_open(conn: AsyncConnection, mailbox_id: str) -> int:
    """Drafts of the mailbox not sent yet (what the per-mailbox cap counts)."""
    count = await conn.scalar(
        sa.select(sa.func.count())
        .select_from(drafts)
        .where(drafts.c.mailbox_id == mailbox_id, drafts.c.status != DraftStatus.SENT)
    )
    return int(count or 0)


def stored_size(text: str | None, html: str | None, attachments: Sequence[Any]) -> int:
    """What a draft holds, counted as `open_size` counts it: the characters of its bodies and
    of its attachments as stored (JSON, the files in base64)."""
    return len(text or "") + len(html or "") + len(json.dumps(list(attachments)))


async def open_size(conn: AsyncConnection, mailbox_id: str, *, excluding: str | None) -> int:
    """The characters the mailbox's unsent drafts hold (bodies, and attachments as stored
    JSON), except `excluding`'s: what the per-mailbox cap on draft storage counts."""
    c = drafts.c
    size = (
        sa.func.coalesce(sa.func.length(c.text), 0)
        + sa.func.coalesce(sa.func.length(c.html), 0)
        + sa.func.length(sa.cast(c.attachments, sa.Text))
    )
    query = sa.select(sa.func.coalesce(sa.func.sum(size), 0)).where(
        c.mailbox_id == mailbox_id, c.status != DraftStatus.SENT
    )
    if excluding is not None:
        query = query.where(c.id != excluding)
    return int(await conn.scalar(query) or 0)


async def find(conn: AsyncConnection, mailbox_id: str, draft_id: str) -> Row | None:
    query = sa.select(drafts).where(drafts.c.id == draft_id, drafts.c.mailbox_id == mailbox_id)
    return (await conn.execute(query)).first()


async def page(
    conn: AsyncConnection,
    mailbox_id: str,
    *,
    statuses: Sequence[str] | None,
    before: str | None,
    limit: int,
) -> Sequence[Row]:
    """Newest first (ids sort by creation), `limit` rows before the cursor id."""
    query = sa.select(drafts).where(drafts.c.mailbox_id == mailbox_id)
    if statuses is not None:
        query = query.where(drafts.c.status.in_(list(statuses)))
    if before is not None:
        query = query.where(drafts.c.id < before)
    return (await conn.execute(query.order_by(drafts.c.id.desc()).limit(limit))).all()


async def update_idle(
    conn: AsyncConnection,
    mailbox_id: str,
    draft_id: str,
    values: dict[str, Any],
    *,
    statuses: Sequence[str] = EDITABLE,
    version: datetime | None = None,
) -> Row | None:
    """Change a draft that is in one of `statuses` and held by nobody (and, with `version`,
    unchanged since its `updated_at` was `version`); None when it is not (gone, sent, being
    sent right now, or edited meanwhile)."""
    now = utcnow()
    c = drafts.c
    conditions = [
        c.id == draft_id,
        c.mailbox_id == mailbox_id,
        c.status.in_(list(statuses)),
        _idle(now),
    ]
    if version is not None:
        conditions.append(c.updated_at == version)
    return (
        await conn.execute(
            drafts.update().where(*conditions).values(updated_at=now, **values).returning(*drafts.c)
        )
    ).first()


async def delete_idle(conn: AsyncConnection, mailbox_id: str, draft_id: str) -> bool:
    """Delete a draft nobody is sending right now (a sent one's record may go too)."""
    c = drafts.c
    result = await conn.execute(
        drafts.delete().where(c.id == draft_id, c.mailbox_id == mailbox_id, _idle(utcnow()))
    )
    return bool(result.rowcount)


async def take(
    conn: AsyncConnection,
    mailbox_id: str,
    draft_id: str,
    statuses: Sequence[str],
    *,
    token: str,
    lease_seconds: float,
    values: dict[str, Any],
    version: datetime | None = None,
) -> Row | None:
    """Lease a draft to send it now: it becomes `scheduled` (due now) under `token`, so if this
    process dies mid-send the drafts worker sends it once the lease runs out. With `version`,
    only if it was not edited since (what an approval approved is what is sent)."""
    now = utcnow()
    lease = {
        "status": DraftStatus.SCHEDULED,
        "next_attempt_at": now,
        "locked_until": now + timedelta(seconds=lease_seconds),
        "lock_token": token,
        "attempts": drafts.c.attempts + 1,
    }
    return await update_idle(
        conn, mailbox_id, draft_id, lease | values, statuses=statuses, version=version
    )


async def mark_sent(
    conn: AsyncConnection, draft_id: str, token: str, message_id: str
) -> Row | None:
    """In the transaction that stores and queues the message: the draft is sent, if it is
    still scheduled under `token` (None: it was cancelled or taken over, so roll back)."""
    now = utcnow()
    c = drafts.c
    return (
        await conn.execute(
            drafts.update()
            .where(c.id == draft_id, c.lock_token == token, c.status == DraftStatus.SCHEDULED)
            .values(
                status=DraftStatus.SENT,
                sent_message_id=message_id,
                error=None,
                locked_until=None,
                lock_token=None,
                updated_at=now,
            )
            .returning(*drafts.c)
        )
    ).first()


async def release(db: Database, draft_id: str, token: str, values: dict[str, Any]) -> Row | None:
    """Let go of a draft this holder did not send: back to a former status, rescheduled for a
    retry, or failed (`values` says which), only while `token` still holds it."""
    async with db.write() as conn:
        return await release_in(conn, draft_id, token, values)


async def release_in(
    conn: AsyncConnection, draft_id: str, token: str, values: dict[str, Any]
) -> Row | None:
    """`release` in the caller's transaction (which also queues what the change announces)."""
    c = drafts.c
    return (
        await conn.execute(
            drafts.update()
            .where(c.id == draft_id, c.lock_token == token, c.status == DraftStatus.SCHEDULED)
            .values(locked_until=None, lock_token=None, updated_at=utcnow(), **values)
            .returning(*drafts.c)
        )
    ).first()


async def delete_held(db: Database, draft_id: str, token: str) -> None:
    """Delete a draft this holder leased whose mailbox is gone: nothing will ever send it."""
    c = drafts.c
    async with db.write() as conn:
        await conn.execute(drafts.delete().where(c.id == draft_id, c.lock_token == token))


async def hold_unapproved(conn: AsyncConnection, mailbox_id: str) -> Sequence[Row]:
    """Put the mailbox's scheduled drafts that nobody approved back to await review (its
    review was just turned on), except any being sent at this moment; returns them."""
    c = drafts.c
    return (
        await conn.execute(
            drafts.update()
            .where(
                c.mailbox_id == mailbox_id,
                c.status == DraftStatus.SCHEDULED,
                c.approved_at.is_(None),
                _idle(utcnow()),
            )
            .values(status=DraftStatus.PENDING_REVIEW, error=None, updated_at=utcnow())
            .returning(*drafts.c)
        )
    ).all()


async def prune_sent(db: Database, older_than: timedelta) -> None:
    """Forget sent drafts' records once old (the sent messages stay in their mailboxes)."""
    async with db.write() as conn:
        await conn.execute(
            drafts.delete().where(
                drafts.c.status == DraftStatus.SENT, drafts.c.updated_at < utcnow() - older_than
            )
        )


async def mailbox_with_plan(conn: AsyncConnection, mailbox_id: str) -> Row | None:
    """A live mailbox with its account's plan (`plan_<field>` columns): who a scheduled or
    approved draft is sent as."""
    now = utcnow()
    query = (
        sa.select(mailboxes, *account_plan_columns())
        .select_from(mailbox_plan_join())
        .where(
            mailboxes.c.id == mailbox_id,
            mailboxes.c.deleted_at.is_(None),
            sa.or_(mailboxes.c.expires_at.is_(None), mailboxes.c.expires_at > now),
        )
    )
    return (await conn.execute(query)).first()
