"""Usage counters: running figures changed in the transaction that does what they count.

`add` is one upsert (`INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n RETURNING`), the
same statement on SQLite and PostgreSQL. On PostgreSQL the upsert locks the counter row until
the transaction ends, so a transaction that adds and then compares the result with a ceiling
(raising, and so rolling back, when over) is exact however many processes do it at once; SQLite
serialises write transactions anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.store.tables import mailboxes, messages, usage_counters

Row = sa.Row[*tuple[Any, ...]]

__all__ = [
    "ALL",
    "COUNTERS",
    "Figures",
    "account_subject",
    "add",
    "figures",
    "mailbox_change",
    "month",
    "month_bounds",
    "owner_subject",
]

ALL = "all"
COUNTERS = ("mailboxes", "received", "sent", "storage_bytes")
Figures = dict[str, int]


def month(now: datetime) -> str:
    """The monthly period `now` falls in (UTC calendar month)."""
    return now.astimezone(UTC).strftime("%Y-%m")


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    """Start and end (exclusive) of the UTC calendar month `now` falls in."""
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


def account_subject(account_id: str) -> str:
    return f"account:{account_id}"


def owner_subject(account_id: str | None, mailbox_id: str) -> str:
    """Whose figures a mailbox's mail counts towards: its account, or (anonymous) itself."""
    return account_subject(account_id) if account_id else f"mailbox:{mailbox_id}"


async def add(conn: AsyncConnection, subject: str, period: str, **deltas: int) -> Figures:
    """Add `deltas` (counter name -> amount, negative to take away) to the subject's row of
    `period`, creating it at zero first; returns the row's figures after the change."""
    values = {"subject": subject, "period": period, **{name: 0 for name in COUNTERS}}
    values.update(deltas)
    insert = (sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert)(usage_counters)
    statement = (
        insert.values(**values)
        .on_conflict_do_update(
            index_elements=["subject", "period"],
            set_={name: usage_counters.c[name] + insert.excluded[name] for name in deltas},
        )
        .returning(*(usage_counters.c[name] for name in COUNTERS))
    )
    row = (await conn.execute(statement)).one()
    return dict(zip(COUNTERS, row, strict=True))


async def figures(
    conn: AsyncConnection, subject: str, periods: Sequence[str]
) -> dict[str, Figures]:
    """The subject's figures for each period (zeros where nothing was counted yet)."""
    found = {
        row.period: {name: int(getattr(row, name)) for name in COUNTERS}
        for row in await conn.execute(
            sa.select(usage_counters).where(
                usage_counters.c.subject == subject, usage_counters.c.period.in_(periods)
            )
        )
    }
    return {period: found.get(period, dict.fromkeys(COUNTERS, 0)) for period in periods}


async def mailbox_change(
    conn: AsyncConnection, mailbox_id: str, *, messages_delta: int, bytes_delta: int
) -> int:
    """Change a mailbox's stored-message figures; returns its message count after."""
    count = await conn.scalar(
        mailboxes.update()
        .where(mailboxes.c.id == mailbox_id)
        .values(
            message_count=mailboxes.c.message_count + messages_delta,
            stored_bytes=mailboxes.c.stored_bytes + bytes_delta,
        )
        .returning(mailboxes.c.message_count)
    )
    return int(count or 0)


async def held_by(conn: AsyncConnection, mailbox_ids: Sequence[str]) -> Sequence[Row]:
    """Each mailbox's owner, creating address and stored-message figures (to take back what a
    purge removes without counting the messages)."""
    return (
        await conn.execute(
            sa.select(
                mailboxes.c.id,
                mailboxes.c.account_id,
                mailboxes.c.created_ip,
                mailboxes.c.message_count,
                mailboxes.c.stored_bytes,
            ).where(mailboxes.c.id.in_(mailbox_ids))
        )
    ).all()


async def message_sizes(conn: AsyncConnection, message_ids: Sequence[str]) -> Sequence[Row]:
    return (
        await conn.execute(
            sa.select(messages.c.id, messages.c.mailbox_id, messages.c.size).where(
                messages.c.id.in_(message_ids)
            )
        )
    ).all()
