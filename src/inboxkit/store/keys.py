"""Queries of credentials: `accounts`, `api_keys`, and mailbox tokens (on `mailboxes`).

Tokens are stored only as SHA-256 digests; these lookups find a row by digest and leave the
constant-time comparison to the caller (services/auth.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.store.db import insert_unless_present
from inboxkit.store.plans import account_plan_columns, mailbox_plan_join
from inboxkit.store.tables import accounts, api_keys, mailboxes, plans, utcnow

# A result row of any shape (SQLAlchemy types rows by their column tuple).
Row = sa.Row[*tuple[Any, ...]]

__all__ = [
    "NewKey",
    "account_exists",
    "active_key",
    "insert_account",
    "insert_key",
    "list_keys",
    "mailbox_token",
    "revoke_key",
]


@dataclass(frozen=True, slots=True)
class NewKey:
    """The columns of an API key being created."""

    id: str
    account_id: str
    name: str
    digest: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    modes: list[str] | None = None
    sigv4_digest: str | None = None


async def account_exists(conn: AsyncConnection, account_id: str) -> bool:
    found = await conn.scalar(sa.select(accounts.c.id).where(accounts.c.id == account_id))
    return found is not None


async def insert_account(
    conn: AsyncConnection, account_id: str, name: str, created_at: datetime
) -> None:
    """Create the account unless it exists (another process starting at once may have)."""
    await insert_unless_present(conn, accounts, id=account_id, name=name, created_at=created_at)


async def insert_key(conn: AsyncConnection, key: NewKey) -> None:
    await conn.execute(api_keys.insert().values(**asdict(key)))


async def active_key(conn: AsyncConnection, digest: str) -> Row | None:
    """The unrevoked API key with this digest, with its account's plan (`plan_<field>`
    columns, NULL for an account on no plan)."""
    query = (
        sa.select(api_keys, *account_plan_columns())
        .select_from(
            api_keys.join(accounts, accounts.c.id == api_keys.c.account_id).outerjoin(
                plans, plans.c.name == accounts.c.plan
            )
        )
        .where(api_keys.c.digest == digest, api_keys.c.revoked_at.is_(None))
    )
    return (await conn.execute(query)).first()


async def active_key_by_id(conn: AsyncConnection, key_id: str) -> Row | None:
    """The unrevoked API key with this id, with its account's plan (as `active_key`)."""
    query = (
        sa.select(api_keys, *account_plan_columns())
        .select_from(
            api_keys.join(accounts, accounts.c.id == api_keys.c.account_id).outerjoin(
                plans, plans.c.name == accounts.c.plan
            )
        )
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
    )
    return (await conn.execute(query)).first()


async def mailbox_token(conn: AsyncConnection, digest: str) -> Row | None:
    """Id, account and token digest of the undeleted mailbox whose token has this digest,
    with the plan that limits it: its account's, or `anonymous` for a mailbox without one."""
    query = (
        sa.select(
            mailboxes.c.id,
            mailboxes.c.account_id,
            mailboxes.c.token_digest,
            *account_plan_columns(),
        )
        .select_from(mailbox_plan_join())
        .where(mailboxes.c.token_digest == digest, mailboxes.c.deleted_at.is_(None))
    )
    return (await conn.execute(query)).first()


async def list_keys(conn: AsyncConnection, account_id: str | None = None) -> Sequence[Row]:
    """Every key (of one account, if given), oldest first."""
    query = sa.select(api_keys).order_by(api_keys.c.id)
    if account_id:
        query = query.where(api_keys.c.account_id == account_id)
    return (await conn.execute(query)).all()


async def revoke_key(conn: AsyncConnection, key_id: str) -> bool:
    """Revoke an active key; False when there is no such active key."""
    result = await conn.execute(
        api_keys.update()
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return bool(result.rowcount)
