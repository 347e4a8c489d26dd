"""Queries of `ui_sessions`: the web UI's signed-in browsers (policy in services/sessions.py)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.store.tables import ui_sessions

__all__ = ["delete", "insert", "live_secret"]


async def insert(
    conn: AsyncConnection, digest: str, secret: str, now: datetime, expires_at: datetime
) -> None:
    await conn.execute(
        ui_sessions.insert().values(id=digest, secret=secret, created_at=now, expires_at=expires_at)
    )
    # Forget sessions that ran out, a few at a time, as new ones open.
    c = ui_sessions.c
    stale = sa.select(c.id).where(c.expires_at <= now).limit(50).scalar_subquery()
    await conn.execute(ui_sessions.delete().where(c.id.in_(stale)))


async def live_secret(conn: AsyncConnection, digest: str, now: datetime) -> str | None:
    """The signing key of a session that exists and has not expired."""
    c = ui_sessions.c
    found = await conn.execute(sa.select(c.secret).where(c.id == digest, c.expires_at > now))
    return found.scalar_one_or_none()


async def delete(conn: AsyncConnection, digest: str) -> None:
    await conn.execute(ui_sessions.delete().where(ui_sessions.c.id == digest))
