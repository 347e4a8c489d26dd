"""The webhook delivery rows' SQL: what the dispatcher reads and records
(`workers/webhooks.py`). Endpoints are created and listed by `services/webhooks.py`.

Every write on a claimed delivery checks its `lock_token` (see `queue.py`), so a worker that
lost its lease cannot overwrite what the new owner recorded.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.ids import new_id
from inboxkit.store.db import Database
from inboxkit.store.tables import (
    WebhookDeliveryStatus,
    webhook_attempts,
    webhook_deliveries,
    webhooks,
)

__all__ = [
    "endpoints",
    "any_enabled",
    "record_attempt",
    "update_delivery",
    "disable_endpoint",
    "prune",
]


async def endpoints(db: Database, ids: Iterable[str]) -> dict[str, Any]:
    """The endpoint rows with these ids (deleted ones are missing), by id."""
    async with db.read() as conn:
        rows = await conn.execute(sa.select(webhooks).where(webhooks.c.id.in_(set(ids))))
        return {row.id: row for row in rows}


async def any_enabled(db: Database) -> bool:
    """Whether any account has an enabled endpoint (otherwise no delivery can be queued)."""
    async with db.read() as conn:
        return bool(await conn.scalar(sa.select(sa.exists().where(webhooks.c.enabled.is_(True)))))


async def record_attempt(
    conn: AsyncConnection,
    delivery_id: str,
    token: str,
    values: dict[str, Any],
    *,
    attempted_at: datetime,
    status_code: int | None,
    error: str | None,
    latency_ms: int | None,
) -> bool:
    """Log one attempt and update the delivery with `values`, if it is still ours; False when
    another worker took it over (the attempt is still logged: it happened)."""
    await conn.execute(
        webhook_attempts.insert().values(
            id=new_id(),
            delivery_id=delivery_id,
            attempted_at=attempted_at,
            status_code=status_code,
            error=error,
            latency_ms=latency_ms,
        )
    )
    return await update_delivery(conn, delivery_id, token, values)


async def update_delivery(
    conn: AsyncConnection, delivery_id: str, token: str, values: dict[str, Any]
) -> bool:
    """Update the delivery with `values` if it is still ours; False when it is not."""
    d = webhook_deliveries.c
    result = await conn.execute(
        webhook_deliveries.update()
        .where(d.id == delivery_id, d.lock_token == token)
        .values(**values)
    )
    return bool(result.rowcount)


async def disable_endpoint(
    conn: AsyncConnection, webhook_id: str, reason: str, now: datetime, *, but: str
) -> None:
    """Disable the endpoint and fail its other pending deliveries (all but `but`)."""
    await conn.execute(
        webhooks.update()
        .where(webhooks.c.id == webhook_id)
        .values(enabled=False, disabled_reason=reason)
    )
    d = webhook_deliveries.c
    await conn.execute(
        webhook_deliveries.update()
        .where(d.webhook_id == webhook_id, d.status == WebhookDeliveryStatus.PENDING, d.id != but)
        .values(
            status=WebhookDeliveryStatus.FAILED,
            last_error="the endpoint was disabled (410 Gone)",
            finished_at=now,
            locked_until=None,
            lock_token=None,
        )
    )


async def prune(db: Database, cutoff: datetime) -> None:
    """Forget finished deliveries (and their attempt log) older than `cutoff`."""
    d = webhook_deliveries.c
    async with db.write() as conn:
        await conn.execute(
            webhook_deliveries.delete().where(
                d.status != WebhookDeliveryStatus.PENDING, d.finished_at < cutoff
            )
        )
