"""Queries of `plans` and of accounts' plans.

A plan is read fresh wherever it decides something (joined into the query that authenticates
a token, or into the storing transaction), so a change takes effect on the next request in
every process without any cache to invalidate.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.store.db import insert_unless_present
from inboxkit.store.tables import PLAN_LIMITS, accounts, api_keys, mailboxes, plans, utcnow

Row = sa.Row[*tuple[Any, ...]]

__all__ = [
    "ANONYMOUS_PLAN",
    "DEFAULT_PLAN",
    "SEEDED",
    "account_plan_columns",
    "mailbox_plan_join",
    "mailbox_plan_name",
    "delete_plan",
    "ensure_seeded",
    "get_plan",
    "insert_plan",
    "list_plans",
    "plan_in_use",
    "update_plan",
    "get_account",
    "list_accounts",
    "insert_account",
    "update_account",
    "delete_account",
]

ANONYMOUS_PLAN = "anonymous"
DEFAULT_PLAN = "default"

# The two plans every deployment has (also inserted by migration 0004). `default` is unlimited
# so a private deployment behaves as it always did until its operator tightens it.
SEEDED: dict[str, dict[str, Any]] = {
    ANONYMOUS_PLAN: {
        "max_mailboxes": 10,
        "max_ttl_minutes": 60,
        "send": "none",
        "agent_mode": False,
        "api_access": True,
        "mcp_access": True,
        "create_per_minute": 3,
        "read_per_minute": 60,
    },
    DEFAULT_PLAN: {"send": "any", "agent_mode": True, "api_access": True, "mcp_access": True},
}


def account_plan_columns() -> list[sa.ColumnElement[Any]]:
    """The plan's columns, labelled `plan_<field>`, for joining into another query."""
    return [plans.c.name.label("plan_name")] + [
        plans.c[name].label(f"plan_{name}") for name in PLAN_LIMITS
    ]


def mailbox_plan_name() -> sa.ColumnElement[Any]:
    """The name of the plan that limits a mailbox: its account's, or `anonymous` for a mailbox
    without an account (NULL for the bootstrap admin's account, on no plan)."""
    return sa.case(
        (mailboxes.c.account_id.is_(None), sa.literal(ANONYMOUS_PLAN)), else_=accounts.c.plan
    )


def mailbox_plan_join() -> sa.FromClause:
    """mailboxes ⟕ accounts ⟕ plans: each mailbox with the plan that limits it (select
    `account_plan_columns()` from it)."""
    return mailboxes.outerjoin(accounts, accounts.c.id == mailboxes.c.account_id).outerjoin(
        plans, plans.c.name == mailbox_plan_name()
    )


async def ensure_seeded(conn: AsyncConnection) -> None:
    """Insert the seeded plans if they are missing (a database emptied by hand); several
    processes starting at once may all do this."""
    present = set((await conn.execute(sa.select(plans.c.name))).scalars())
    now = utcnow()
    for name, limits in SEEDED.items():
        if name not in present:
            await insert_unless_present(
                conn, plans, name=name, created_at=now, updated_at=now, **limits
            )


async def get_plan(conn: AsyncConnection, name: str) -> Row | None:
    return (await conn.execute(sa.select(plans).where(plans.c.name == name))).first()


async def list_plans(conn: AsyncConnection) -> Sequence[Row]:
    return (await conn.execute(sa.select(plans).order_by(plans.c.name))).all()


async def insert_plan(conn: AsyncConnection, name: str, limits: dict[str, Any]) -> None:
    now = utcnow()
    await conn.execute(plans.insert().values(name=name, created_at=now, updated_at=now, **limits))


async def update_plan(conn: AsyncConnection, name: str, changes: dict[str, Any]) -> bool:
    result = await conn.execute(
        plans.update().where(plans.c.name == name).values(updated_at=utcnow(), **changes)
    )
    return bool(result.rowcount)


async def plan_in_use(conn: AsyncConnection, name: str) -> bool:
    found = await conn.scalar(sa.select(accounts.c.id).where(accounts.c.plan == name).limit(1))
    return found is not None


async def delete_plan(conn: AsyncConnection, name: str) -> bool:
    result = await conn.execute(plans.delete().where(plans.c.name == name))
    return bool(result.rowcount)


# -- accounts ---------------------------------------------------------------------------------


async def get_account(conn: AsyncConnection, account_id: str) -> Row | None:
    return (await conn.execute(sa.select(accounts).where(accounts.c.id == account_id))).first()


async def list_accounts(conn: AsyncConnection, *, before: str | None, limit: int) -> Sequence[Row]:
    query = sa.select(accounts).order_by(accounts.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(accounts.c.id < before)
    return (await conn.execute(query)).all()


async def insert_account(
    conn: AsyncConnection, account_id: str, name: str, plan: str | None, created_at: datetime
) -> None:
    await conn.execute(
        accounts.insert().values(id=account_id, name=name, plan=plan, created_at=created_at)
    )


async def update_account(conn: AsyncConnection, account_id: str, changes: dict[str, Any]) -> bool:
    result = await conn.execute(
        accounts.update().where(accounts.c.id == account_id).values(**changes)
    )
    return bool(result.rowcount)


async def delete_account(conn: AsyncConnection, account_id: str) -> None:
    """Delete the account, its keys and webhooks. Its mailboxes must be ended first; their rows
    stay, detached, so their addresses are never handed out again."""
    await conn.execute(
        mailboxes.update().where(mailboxes.c.account_id == account_id).values(account_id=None)
    )
    await conn.execute(api_keys.delete().where(api_keys.c.account_id == account_id))
    await conn.execute(accounts.delete().where(accounts.c.id == account_id))
