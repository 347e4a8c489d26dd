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
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.errors import MailboxFull
from inboxkit.store.db import conflict_insert
from inboxkit.store.plans import account_plan_columns, mailbox_plan_join
from inboxkit.store.tables import mailboxes, usage_counters

Row = sa.Row[*tuple[Any, ...]]

__all__ = [
    "ALL",
    "COUNTERS",
    "Figures",
    "account_subject",
    "add",
    "count_ended",
    "count_removed",
    "count_stored",
    "figures",
    "forget",
    "ip_subject",
    "owners",
    "mailbox_change",
    "message_count",
    "month",
    "admission_figures",
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


def ip_subject(address_key: str) -> str:
    """Anonymous mailboxes created from one client address (an IPv4 address or IPv6 /64)."""
    return f"ip:{address_key}"


def owner_subject(account_id: str | None, mailbox_id: str) -> str:
    """Whose figures a mailbox's mail counts towards: its account, or (anonymous) itself."""
    return account_subject(account_id) if account_id else f"mailbox:{mailbox_id}"


async def add(conn: AsyncConnection, subject: str, period: str, **deltas: int) -> Figures:
    """Add `deltas` (counter name -> amount, negative to take away) to the subject's row of
    `period`, creating it at zero first; returns the row's figures after the change."""
    values = {"subject": subject, "period": period, **{name: 0 for name in COUNTERS}}
    values.update(deltas)
    insert = conflict_insert(conn, usage_counters)
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


async def message_count(conn: AsyncConnection, mailbox_id: str) -> int:
    """How many messages the mailbox holds (its running count, not a scan)."""
    count = await conn.scalar(
        sa.select(mailboxes.c.message_count).where(mailboxes.c.id == mailbox_id)
    )
    return int(count or 0)


async def admission_figures(
    conn: AsyncConnection, mailbox_id: str, subject: str, period: str
) -> tuple[int, int]:
    """A mailbox's message count and its owner's received figure of `period`, in one
    statement: SMTP reads both for every RCPT to a mailbox whose plan has ceilings."""
    received = (
        sa.select(usage_counters.c.received)
        .where(usage_counters.c.subject == subject, usage_counters.c.period == period)
        .scalar_subquery()
    )
    row = (
        await conn.execute(
            sa.select(mailboxes.c.message_count, received).where(mailboxes.c.id == mailbox_id)
        )
    ).one_or_none()
    return (int(row[0] or 0), int(row[1] or 0)) if row is not None else (0, 0)


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


async def owners(conn: AsyncConnection, mailbox_ids: Sequence[str]) -> dict[str, Row]:
    """Each mailbox's owner, creating address, stored-message figures and plan
    (`plan_<field>` columns; NULL plan for the bootstrap admin's account), by mailbox id."""
    query = (
        sa.select(
            mailboxes.c.id,
            mailboxes.c.account_id,
            mailboxes.c.created_ip,
            mailboxes.c.message_count,
            mailboxes.c.stored_bytes,
            *account_plan_columns(),
        )
        .select_from(mailbox_plan_join())
        .where(mailboxes.c.id.in_(mailbox_ids))
    )
    return {row.id: row for row in await conn.execute(query)}


def _over(limit: int | None, value: int) -> bool:
    return limit is not None and value > limit


async def count_stored(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Count newly inserted message rows: each mailbox's message count and bytes (as stored),
    and its owner's received (inbound) this month and storage. Raises MailboxFull when inbound mail
    takes a mailbox past its plan's `max_messages_per_mailbox` or an owner past
    `received_per_month`; the caller's transaction is then rolled back, so nothing over a
    ceiling is ever stored. Mailboxes and subjects are updated in sorted order so concurrent
    transactions lock rows in the same order (no deadlocks on PostgreSQL)."""
    per_box: dict[str, list[int]] = {}  # mailbox id -> [messages, bytes, inbound messages]
    for row in rows:
        counts = per_box.setdefault(row["mailbox_id"], [0, 0, 0])
        counts[0] += 1
        counts[1] += row["stored_size"]
        counts[2] += row["direction"] == "inbound"
    found = await owners(conn, list(per_box))
    per_subject: dict[str, list[Any]] = {}  # subject -> [inbound, bytes, plan row]
    for mailbox_id in sorted(per_box):
        n, size, inbound = per_box[mailbox_id]
        owner = found[mailbox_id]
        count = await mailbox_change(conn, mailbox_id, messages_delta=n, bytes_delta=size)
        if inbound and _over(owner.plan_max_messages_per_mailbox, count):
            raise MailboxFull(
                f"This mailbox holds {owner.plan_max_messages_per_mailbox} messages, the most "
                f"plan '{owner.plan_name}' allows; delete some to receive more.",
                limit="max_messages_per_mailbox",
                allowed=owner.plan_max_messages_per_mailbox,
                used=count - n,
            )
        entry = per_subject.setdefault(owner_subject(owner.account_id, mailbox_id), [0, 0, owner])
        entry[0] += inbound
        entry[1] += size
    now = datetime.now(UTC)
    for subject in sorted(per_subject):
        inbound, size, owner = per_subject[subject]
        if inbound:
            monthly = await add(conn, subject, month(now), received=inbound)
            if _over(owner.plan_received_per_month, monthly["received"]):
                raise MailboxFull(
                    f"This account received {owner.plan_received_per_month} messages this "
                    f"month, the most plan '{owner.plan_name}' allows; mail is accepted again "
                    "next month or on a larger plan.",
                    limit="received_per_month",
                    allowed=owner.plan_received_per_month,
                    used=monthly["received"] - inbound,
                )
        await add(conn, subject, ALL, storage_bytes=size)


async def count_removed(conn: AsyncConnection, removed: Sequence[Row]) -> None:
    """Take deleted message rows (`mailbox_id`, `stored_size`: what each was counted with, see
    `store.messages.stored_size`) off their mailboxes' and owners' figures."""
    per_box: dict[str, list[int]] = {}
    for row in removed:
        counts = per_box.setdefault(row.mailbox_id, [0, 0])
        counts[0] += 1
        counts[1] += row.stored_size
    if not per_box:
        return
    found = await owners(conn, list(per_box))
    per_subject: dict[str, int] = {}
    for mailbox_id in sorted(per_box):
        n, size = per_box[mailbox_id]
        await mailbox_change(conn, mailbox_id, messages_delta=-n, bytes_delta=-size)
        subject = owner_subject(found[mailbox_id].account_id, mailbox_id)
        per_subject[subject] = per_subject.get(subject, 0) + size
    for subject in sorted(per_subject):
        await add(conn, subject, ALL, storage_bytes=-per_subject[subject])


async def count_ended(conn: AsyncConnection, mailbox_ids: Sequence[str]) -> None:
    """Take ended mailboxes (deleted or expired, about to be purged) off their owners'
    figures: one live mailbox fewer (and one fewer for the creating address of an anonymous
    one) and their stored bytes, read from the mailbox rows rather than counted."""
    found = await owners(conn, list(mailbox_ids))
    per_subject: dict[str, list[int]] = {}  # subject -> [mailboxes, bytes]
    for mailbox_id in sorted(found):
        owner = found[mailbox_id]
        entry = per_subject.setdefault(owner_subject(owner.account_id, mailbox_id), [0, 0])
        entry[0] += 1
        entry[1] += owner.stored_bytes
        if owner.account_id is None and owner.created_ip:
            per_subject.setdefault(ip_subject(owner.created_ip), [0, 0])[0] += 1
        await mailbox_change(
            conn, mailbox_id, messages_delta=-owner.message_count, bytes_delta=-owner.stored_bytes
        )
    for subject in sorted(per_subject):
        ended, size = per_subject[subject]
        await add(conn, subject, ALL, mailboxes=-ended, storage_bytes=-size)


async def forget(conn: AsyncConnection, subject: str) -> None:
    """Drop every figure of a subject that no longer exists (a deleted account)."""
    await conn.execute(usage_counters.delete().where(usage_counters.c.subject == subject))
