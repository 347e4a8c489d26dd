"""Queries of `domains`: an account's custom domains, who holds a domain, the served-domain
directory the recipient lookup reads, and the re-check claim."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.store.tables import DomainStatus, accounts, domains

Row = sa.Row[*tuple[Any, ...]]

__all__ = [
    "NewDomain",
    "claim_due",
    "count",
    "delete",
    "find",
    "holders",
    "insert",
    "list_for_account",
    "lock_account",
    "mark_unverified",
    "mark_verified",
    "named",
    "served",
    "set_keys",
    "set_retired",
    "touch",
]

PENDING = DomainStatus.PENDING
VERIFIED = DomainStatus.VERIFIED


@dataclass(frozen=True, slots=True)
class NewDomain:
    """The columns of a domain being added."""

    id: str
    account_id: str
    domain: str
    wildcard: bool
    status: str
    token: str
    created_at: datetime
    dkim_selector: str
    dkim_private_key: str
    dkim_public: str
    dkim_retired: list[dict[str, Any]]


def _holding(grace_start: datetime) -> sa.ColumnElement[bool]:
    """Verified, or unverified so recently that the grace period still holds it."""
    return sa.or_(
        domains.c.status == VERIFIED,
        sa.and_(domains.c.status == PENDING, domains.c.unverified_since > grace_start),
    )


async def insert(conn: AsyncConnection, new: NewDomain) -> None:
    """Insert a domain; raises IntegrityError when the account already has it."""
    await conn.execute(domains.insert().values(**asdict(new)))


async def lock_account(conn: AsyncConnection, account_id: str) -> None:
    """Lock the account's row (PostgreSQL; SQLite's writers are serialised already), so
    concurrent additions count the account's domains one after the other."""
    await conn.execute(
        sa.select(accounts.c.id).where(accounts.c.id == account_id).with_for_update()
    )


async def count(conn: AsyncConnection, account_id: str) -> int:
    query = sa.select(sa.func.count()).where(domains.c.account_id == account_id)
    return int(await conn.scalar(query) or 0)


async def find(conn: AsyncConnection, account_id: str, domain_id: str) -> Row | None:
    query = sa.select(domains).where(domains.c.account_id == account_id, domains.c.id == domain_id)
    return (await conn.execute(query)).first()


async def holders(conn: AsyncConnection, names: list[str], grace_start: datetime) -> Sequence[Row]:
    """Rows of any account that hold one of these names (verified, or within the grace
    period): who a domain's mail and mailboxes belong to."""
    query = sa.select(domains).where(domains.c.domain.in_(names), _holding(grace_start))
    return (await conn.execute(query)).all()


async def named(conn: AsyncConnection, account_id: str, names: list[str]) -> Sequence[Row]:
    """The account's own rows for these names, whatever their status."""
    query = sa.select(domains).where(
        domains.c.account_id == account_id, domains.c.domain.in_(names)
    )
    return (await conn.execute(query)).all()


async def list_for_account(
    conn: AsyncConnection, account_id: str, *, before: str | None, limit: int
) -> Sequence[Row]:
    """Up to `limit` of the account's domains, newest first, older than id `before`."""
    query = sa.select(domains).where(domains.c.account_id == account_id)
    if before is not None:
        query = query.where(domains.c.id < before)
    return (await conn.execute(query.order_by(domains.c.id.desc()).limit(limit))).all()


async def served(conn: AsyncConnection, grace_start: datetime) -> Sequence[Row]:
    """Every domain mail is accepted for: name, owner, wildcard and whether it is verified
    (else within its grace period)."""
    query = sa.select(
        domains.c.id, domains.c.domain, domains.c.account_id, domains.c.wildcard, domains.c.status
    ).where(_holding(grace_start))
    return (await conn.execute(query)).all()


async def mark_verified(conn: AsyncConnection, domain_id: str, now: datetime) -> None:
    """Verified now; raises IntegrityError when another row holds the name verified."""
    await conn.execute(
        domains.update()
        .where(domains.c.id == domain_id)
        .values(status=VERIFIED, verified_at=now, last_checked_at=now, unverified_since=None)
    )


async def mark_unverified(conn: AsyncConnection, domain_id: str, now: datetime) -> bool:
    """Back to pending because its TXT record is gone; False when it was no longer verified
    (another process got there first), so only one process announces it."""
    result = await conn.execute(
        domains.update()
        .where(domains.c.id == domain_id, domains.c.status == VERIFIED)
        .values(status=PENDING, unverified_since=now)
    )
    return bool(result.rowcount)


async def touch(conn: AsyncConnection, domain_id: str, now: datetime) -> None:
    await conn.execute(
        domains.update().where(domains.c.id == domain_id).values(last_checked_at=now)
    )


async def set_keys(
    conn: AsyncConnection,
    domain_id: str,
    *,
    selector: str,
    private_key: str,
    public: str,
    retired: list[dict[str, Any]],
) -> None:
    await conn.execute(
        domains.update()
        .where(domains.c.id == domain_id)
        .values(
            dkim_selector=selector,
            dkim_private_key=private_key,
            dkim_public=public,
            dkim_retired=retired,
        )
    )


async def set_retired(conn: AsyncConnection, domain_id: str, retired: list[dict[str, Any]]) -> None:
    await conn.execute(
        domains.update().where(domains.c.id == domain_id).values(dkim_retired=retired)
    )


async def delete(conn: AsyncConnection, account_id: str, domain_id: str) -> bool:
    result = await conn.execute(
        domains.delete().where(domains.c.account_id == account_id, domains.c.id == domain_id)
    )
    return bool(result.rowcount)


async def claim_due(
    conn: AsyncConnection, now: datetime, due_before: datetime, grace_start: datetime, batch: int
) -> Sequence[Row]:
    """Claim up to `batch` held domains last checked before `due_before` by stamping
    `last_checked_at = now`; returns the rows this transaction claimed.

    Safe in many processes at once: the UPDATE repeats the due condition, so a row another
    process stamped meanwhile is not claimed twice."""
    due = sa.and_(
        _holding(grace_start),
        sa.or_(domains.c.last_checked_at.is_(None), domains.c.last_checked_at < due_before),
    )
    candidates = (
        (await conn.execute(sa.select(domains.c.id).where(due).order_by(domains.c.id).limit(batch)))
        .scalars()
        .all()
    )
    if not candidates:
        return []
    return (
        await conn.execute(
            domains.update()
            .where(domains.c.id.in_(candidates), due)
            .values(last_checked_at=now)
            .returning(
                domains.c.id,
                domains.c.account_id,
                domains.c.domain,
                domains.c.status,
                domains.c.token,
            )
        )
    ).all()
