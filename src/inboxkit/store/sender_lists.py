"""Queries of `sender_lists`: an account's allow and block list entries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.store.tables import sender_lists

Row = sa.Row[*tuple[Any, ...]]

__all__ = ["NewEntry", "count", "delete", "find", "insert", "list_for_account", "matching"]


@dataclass(frozen=True, slots=True)
class NewEntry:
    """The columns of an entry being added."""

    id: str
    account_id: str
    mailbox_id: str | None
    type: str
    entry: str
    subdomains: bool
    created_at: datetime


async def insert(conn: AsyncConnection, new: NewEntry) -> None:
    await conn.execute(sender_lists.insert().values(**asdict(new)))


async def count(conn: AsyncConnection, account_id: str) -> int:
    query = sa.select(sa.func.count()).where(sender_lists.c.account_id == account_id)
    return int(await conn.scalar(query) or 0)


async def find(conn: AsyncConnection, account_id: str, entry_id: str) -> Row | None:
    query = sa.select(sender_lists).where(
        sender_lists.c.account_id == account_id, sender_lists.c.id == entry_id
    )
    return (await conn.execute(query)).first()


async def same(
    conn: AsyncConnection, account_id: str, mailbox_id: str | None, type_: str, entry: str
) -> Row | None:
    """The account's entry with the same type, value and scope, if there is one."""
    scope = (
        sender_lists.c.mailbox_id.is_(None)
        if mailbox_id is None
        else sender_lists.c.mailbox_id == mailbox_id
    )
    query = sa.select(sender_lists).where(
        sender_lists.c.account_id == account_id,
        sender_lists.c.entry == entry,
        sender_lists.c.type == type_,
        scope,
    )
    return (await conn.execute(query)).first()


async def list_for_account(
    conn: AsyncConnection,
    account_id: str,
    *,
    type_: str | None = None,
    mailbox_id: str | None = None,
) -> Sequence[Row]:
    """The account's entries, newest first, optionally of one type or one mailbox's own."""
    query = sa.select(sender_lists).where(sender_lists.c.account_id == account_id)
    if type_ is not None:
        query = query.where(sender_lists.c.type == type_)
    if mailbox_id is not None:
        query = query.where(sender_lists.c.mailbox_id == mailbox_id)
    return (await conn.execute(query.order_by(sender_lists.c.id.desc()))).all()


async def delete(conn: AsyncConnection, account_id: str, entry_id: str) -> bool:
    result = await conn.execute(
        sender_lists.delete().where(
            sender_lists.c.account_id == account_id, sender_lists.c.id == entry_id
        )
    )
    return bool(result.rowcount)


async def matching(conn: AsyncConnection, account_ids: set[str], keys: set[str]) -> Sequence[Row]:
    """Entries of these accounts whose value is one of `keys` (spam/lists.lookup_keys): one
    indexed lookup (account_id, entry) however long the lists are."""
    query = sa.select(sender_lists).where(
        sender_lists.c.account_id.in_(sorted(account_ids)), sender_lists.c.entry.in_(sorted(keys))
    )
    return (await conn.execute(query)).all()
