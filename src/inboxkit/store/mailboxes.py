"""Queries of `mailboxes`: live lookups, insert, listing, changes, deletion and the expiry claim.

A mailbox is live while it is neither deleted nor expired. Deleted rows are kept (address
unique forever, token cleared) so an address is never handed out twice; their messages are
purged with `store.messages.purge_mailboxes` in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, TypedDict

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.store.plans import account_plan_columns, mailbox_plan_join
from inboxkit.store.tables import mailboxes, utcnow

# A result row of any shape (SQLAlchemy types rows by their column tuple).
Row = sa.Row[*tuple[Any, ...]]

__all__ = [
    "MailboxChanges",
    "NewMailbox",
    "address_taken",
    "claim_expired",
    "find_live",
    "insert",
    "list_live",
    "live_recipient",
    "lock_undeleted",
    "mark_account_deleted",
    "mark_deleted",
    "update",
]


@dataclass(frozen=True, slots=True)
class NewMailbox:
    """The columns of a mailbox being created."""

    id: str
    account_id: str | None
    address: str
    local_part: str
    domain: str
    mode: str
    name: str | None
    token_digest: str
    created_at: datetime
    expires_at: datetime | None
    created_via: str | None = None
    created_ip: str | None = None


class MailboxChanges(TypedDict, total=False):
    """What an update may change; a key that is absent stays as it is."""

    name: str | None
    expires_at: datetime | None
    outbound_review: bool


def _live(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        mailboxes.c.deleted_at.is_(None),
        sa.or_(mailboxes.c.expires_at.is_(None), mailboxes.c.expires_at > now),
    )


async def find_live(
    conn: AsyncConnection, *, mailbox_id: str | None = None, address: str | None = None
) -> Row | None:
    """The live mailbox with that id, or with that (normalised) address."""
    if address is not None:
        condition = mailboxes.c.address == address
    else:
        condition = mailboxes.c.id == mailbox_id
    query = sa.select(mailboxes).where(condition, _live(utcnow()))
    return (await conn.execute(query)).first()


async def live_recipient(conn: AsyncConnection, address: str, now: datetime) -> Row | None:
    """Id, address, expiry, account, mode and plan (`plan_<field>` columns) of the mailbox at
    `address` if it is live at `now`: what an SMTP RCPT needs."""
    query = (
        sa.select(
            mailboxes.c.id,
            mailboxes.c.address,
            mailboxes.c.expires_at,
            mailboxes.c.account_id,
            mailboxes.c.mode,
            *account_plan_columns(),
        )
        .select_from(mailbox_plan_join())
        # A capture mailbox takes mail only from its account's authenticated senders
        # (services/capture.py), never by its address from anybody.
        .where(mailboxes.c.address == address, mailboxes.c.mode != "capture", _live(now))
    )
    return (await conn.execute(query)).first()


async def live_capture(conn: AsyncConnection, account_id: str) -> Row | None:
    """The account's live capture mailbox with its plan (`plan_<field>` columns), if it has
    one. Capture mailboxes never expire, so only deletion ends one."""
    query = (
        sa.select(mailboxes, *account_plan_columns())
        .select_from(mailbox_plan_join())
        .where(
            mailboxes.c.account_id == account_id,
            mailboxes.c.mode == "capture",
            mailboxes.c.deleted_at.is_(None),
        )
    )
    return (await conn.execute(query)).first()


async def address_taken(conn: AsyncConnection, address: str) -> bool:
    """Whether any mailbox, live or deleted, ever had this address."""
    found = await conn.scalar(sa.select(mailboxes.c.id).where(mailboxes.c.address == address))
    return found is not None


async def insert(conn: AsyncConnection, mailbox: NewMailbox) -> None:
    """Insert a mailbox; raises IntegrityError when the address was ever taken."""
    await conn.execute(mailboxes.insert().values(**asdict(mailbox)))


async def list_live(
    conn: AsyncConnection,
    *,
    account_id: str | None = None,
    mailbox_id: str | None = None,
    before: str | None,
    limit: int,
) -> Sequence[Row]:
    """Up to `limit` live mailboxes, newest first, older than id `before`: the one with
    `mailbox_id` if given (a mailbox token's view), else those of `account_id`."""
    query = sa.select(mailboxes).where(_live(utcnow()))
    if mailbox_id is not None:
        query = query.where(mailboxes.c.id == mailbox_id)
    else:
        query = query.where(mailboxes.c.account_id == account_id)
    if before is not None:
        query = query.where(mailboxes.c.id < before)
    return (await conn.execute(query.order_by(mailboxes.c.id.desc()).limit(limit))).all()


async def update(conn: AsyncConnection, mailbox_id: str, changes: MailboxChanges) -> None:
    if changes:
        await conn.execute(mailboxes.update().where(mailboxes.c.id == mailbox_id).values(**changes))


async def mark_deleted(conn: AsyncConnection, mailbox_id: str) -> None:
    """Mark the mailbox deleted and clear its token (the row stays: see the module doc)."""
    await conn.execute(
        mailboxes.update()
        .where(mailboxes.c.id == mailbox_id)
        .values(deleted_at=utcnow(), token_digest=None)
    )


async def mark_account_deleted(conn: AsyncConnection, account_id: str) -> Sequence[Row]:
    """Mark every undeleted mailbox of the account deleted; returns their (id, address)."""
    return (
        await conn.execute(
            mailboxes.update()
            .where(mailboxes.c.account_id == account_id, mailboxes.c.deleted_at.is_(None))
            .values(deleted_at=utcnow(), token_digest=None)
            .returning(mailboxes.c.id, mailboxes.c.address)
        )
    ).all()


async def claim_expired(
    conn: AsyncConnection, now: datetime, batch: int
) -> tuple[int, Sequence[Row]]:
    """Mark up to `batch` expired mailboxes deleted; returns how many were candidates and the
    rows (id, address, account_id) this transaction claimed.

    Safe in many processes at once: a mailbox is claimed by the UPDATE that marks it deleted,
    which only one of them wins."""
    candidates = (
        (
            await conn.execute(
                sa.select(mailboxes.c.id)
                .where(mailboxes.c.deleted_at.is_(None), mailboxes.c.expires_at <= now)
                .limit(batch)
            )
        )
        .scalars()
        .all()
    )
    if not candidates:
        return 0, []
    claimed = (
        await conn.execute(
            mailboxes.update()
            .where(mailboxes.c.id.in_(candidates), mailboxes.c.deleted_at.is_(None))
            .values(deleted_at=now, token_digest=None)
            .returning(mailboxes.c.id, mailboxes.c.address, mailboxes.c.account_id)
        )
    ).all()
    return len(candidates), claimed


async def lock_undeleted(conn: AsyncConnection, mailbox_ids: list[str]) -> set[str]:
    """Which of the mailboxes still exist, read inside the storing transaction.

    Recipients are resolved before parsing, and a mailbox may be deleted (or swept) meanwhile;
    storing into it would leave mail that nothing ever purges. On PostgreSQL the rows are
    locked (in id order) so a concurrent delete waits for this commit and then purges what it
    stored, and concurrent deliveries to one mailbox take turns at its message count (the
    plan's per-mailbox ceiling is exact); SQLite's write transactions are serialised already. A mailbox that merely
    expired meanwhile is kept: the sweeper purges it with everything else.
    """
    query = (
        sa.select(mailboxes.c.id)
        .where(mailboxes.c.id.in_(mailbox_ids), mailboxes.c.deleted_at.is_(None))
        .order_by(mailboxes.c.id)
        .with_for_update()
    )
    return set((await conn.execute(query)).scalars())
