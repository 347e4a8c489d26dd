"""Queries of `drafts`: insert, pages, conditional changes, and the lease a send holds.

A draft is changed only while nobody is sending it: every edit, deletion and take is one
conditional statement on `status` and the lease (`locked_until`), so a worker holding a
scheduled draft and a request cancelling it cannot both win. The send itself marks the draft
sent (`mark_sent`) inside the transaction that stores and queues the message, again only while
the lease token is the sender's: if the draft was cancelled meanwhile, that transaction rolls
back and nothing is sent.
"""

from __future__ import annotations

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
    "delete_idle",
    "find",
    "insert",
    "mailbox_with_plan",
    "mark_sent",
    "page",
    "prune_sent",
    "release",
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
) -> Row | None:
    """Change a draft that is in one of `statuses` and held by nobody; None when it is not
    (gone, sent, or being sent right now)."""
    now = utcnow()
    c = drafts.c
    return (
        await conn.execute(
            drafts.update()
            .where(
                c.id == draft_id,
                c.mailbox_id == mailbox_id,
                c.status.in_(list(statuses)),
                _idle(now),
            )
            .values(updated_at=now, **values)
            .returning(*drafts.c)
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
) -> Row | None:
    """Lease a draft to send it now: it becomes `scheduled` (due now) under `token`, so if this
    process dies mid-send the drafts worker sends it once the lease runs out."""
    now = utcnow()
    lease = {
        "status": DraftStatus.SCHEDULED,
        "next_attempt_at": now,
        "locked_until": now + timedelta(seconds=lease_seconds),
        "lock_token": token,
        "attempts": drafts.c.attempts + 1,
    }
    return await update_idle(conn, mailbox_id, draft_id, lease | values, statuses=statuses)


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
    c = drafts.c
    async with db.write() as conn:
        return (
            await conn.execute(
                drafts.update()
                .where(c.id == draft_id, c.lock_token == token, c.status == DraftStatus.SCHEDULED)
                .values(locked_until=None, lock_token=None, updated_at=utcnow(), **values)
                .returning(*drafts.c)
            )
        ).first()


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
