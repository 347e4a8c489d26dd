"""Queries of `faults`: an account's injected SMTP faults, and the one UPDATE that fires one.

A fault is live while `remaining` is NULL (no count) or above 0. Firing decrements it with a
conditional `UPDATE … WHERE remaining IS NULL OR remaining > 0 … RETURNING`, so however many
SMTP processes match the same fault at once, it fires exactly `count` times: the database
decides which UPDATE takes the last one, and the others get no row back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.store.tables import faults

# A result row of any shape (SQLAlchemy types rows by their column tuple).
Row = sa.Row[*tuple[Any, ...]]

__all__ = [
    "NewFault",
    "count_live",
    "delete",
    "find",
    "fire",
    "insert",
    "list_for_account",
    "live",
    "prune_exhausted",
]


@dataclass(frozen=True, slots=True)
class NewFault:
    """The columns of a fault being created (`remaining` starts at `count`)."""

    id: str
    account_id: str
    mailbox_id: str | None
    stage: str
    code: int
    message: str | None
    probability: float
    count: int | None
    created_at: datetime


def _is_live() -> sa.ColumnElement[bool]:
    return sa.or_(faults.c.remaining.is_(None), faults.c.remaining > 0)


async def insert(conn: AsyncConnection, new: NewFault) -> None:
    await conn.execute(faults.insert().values(**asdict(new), remaining=new.count, fired=0))


async def count_live(conn: AsyncConnection, account_id: str) -> int:
    """How many of the account's faults can still fire."""
    query = (
        sa.select(sa.func.count())
        .select_from(faults)
        .where(faults.c.account_id == account_id, _is_live())
    )
    return int((await conn.execute(query)).scalar_one())


async def prune_exhausted(conn: AsyncConnection, account_id: str, keep: int) -> None:
    """Delete the account's exhausted faults but the newest `keep` of them."""
    exhausted = sa.and_(faults.c.account_id == account_id, faults.c.remaining == 0)
    newest = sa.select(faults.c.id).where(exhausted).order_by(faults.c.id.desc()).limit(keep)
    await conn.execute(faults.delete().where(exhausted, faults.c.id.not_in(newest)))


async def list_for_account(conn: AsyncConnection, account_id: str) -> list[Row]:
    """The account's faults, live and exhausted, newest first."""
    query = sa.select(faults).where(faults.c.account_id == account_id).order_by(faults.c.id.desc())
    return list((await conn.execute(query)).all())


async def find(conn: AsyncConnection, account_id: str, fault_id: str) -> Row | None:
    """The account's fault with that id (another account's is None, like a missing one)."""
    query = sa.select(faults).where(faults.c.id == fault_id, faults.c.account_id == account_id)
    return (await conn.execute(query)).first()


async def delete(conn: AsyncConnection, account_id: str, fault_id: str) -> bool:
    """Delete the account's fault; False when it has none with that id."""
    result = await conn.execute(
        faults.delete().where(faults.c.id == fault_id, faults.c.account_id == account_id)
    )
    return bool(result.rowcount)


async def live(conn: AsyncConnection) -> list[Row]:
    """Every live fault of every account, oldest first: the SMTP side's view."""
    query = sa.select(faults).where(_is_live()).order_by(faults.c.id)
    return list((await conn.execute(query)).all())


async def fire(conn: AsyncConnection, fault_id: str) -> Row | None:
    """Count one firing of a live fault: its new (`fired`, `remaining`), or None when it is
    exhausted or gone (another process took the last one, or it was deleted)."""
    result = await conn.execute(
        faults.update()
        .where(faults.c.id == fault_id, _is_live())
        # NULL - 1 stays NULL: a fault without a count never runs out.
        .values(fired=faults.c.fired + 1, remaining=faults.c.remaining - 1)
        .returning(faults.c.fired, faults.c.remaining)
    )
    return result.first()
