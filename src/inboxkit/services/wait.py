"""Waiting for mail: the long-poll `wait` and the follow stream behind WebSocket and SSE.

Both subscribe to the bus *before* reading the database, so mail committed between the read
and the subscription cannot slip past; both re-read the database on every wake-up and at least
every `poll_interval`, so a lost bus event delays a consumer but never loses a message.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa

from inboxkit.bus import Bus
from inboxkit.config import Settings
from inboxkit.errors import ValidationFailed
from inboxkit.ids import new_id
from inboxkit.services.auth import Principal
from inboxkit.services.mailboxes import MailboxService
from inboxkit.services.messages import SUMMARY_COLUMNS, MessageFilter, summary
from inboxkit.store.db import Database
from inboxkit.store.tables import mailboxes, messages, utcnow

__all__ = ["WaitService", "MAX_WAIT_SECONDS", "StreamEnd"]

MAX_WAIT_SECONDS = 60.0


class StreamEnd(Exception):
    """The followed mailbox was deleted or expired; `event` names which."""

    def __init__(self, event: str):
        super().__init__(event)
        self.event = event


class WaitService:
    def __init__(self, settings: Settings, db: Database, bus: Bus, mailboxes: MailboxService):
        self.settings = settings
        self.db = db
        self.bus = bus
        self.mailboxes = mailboxes

    async def wait(
        self,
        principal: Principal,
        ref: str,
        flt: MessageFilter,
        *,
        timeout: float = 30.0,
        mark_read: bool = True,
    ) -> dict[str, Any]:
        """The oldest matching message, waiting up to `timeout` seconds for one to arrive.

        Without `since`/`after`, "matching" means unread, or arrived after this call began: so
        mail that landed before the call is found, successive waits walk the inbox in order,
        and every waiter already waiting when a message lands gets that message.
        """
        principal.require("messages:read")
        if not 0 <= timeout <= MAX_WAIT_SECONDS:
            raise ValidationFailed(f"timeout must be between 0 and {MAX_WAIT_SECONDS:g} seconds.")
        box = await self.mailboxes.find(principal, ref)
        started_marker = new_id()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        with self.bus.subscribe(box.id) as subscription:
            while True:
                row = await self._first_match(box.id, flt, started_marker)
                if row is not None:
                    if mark_read and not row.is_read:
                        async with self.db.write() as conn:
                            await conn.execute(
                                messages.update()
                                .where(messages.c.id == row.id)
                                .values(is_read=True)
                            )
                    item = summary(row)
                    item["is_read"] = row.is_read or mark_read
                    return {"message": item, "timed_out": False}
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return {"message": None, "timed_out": True}
                event = await subscription.next(min(remaining, self.settings.wait_poll_interval))
                if event and event.get("event") in ("mailbox.deleted", "mailbox.expired"):
                    return {"message": None, "timed_out": True}

    async def _first_match(self, mailbox_id: str, flt: MessageFilter, marker: str) -> Any:
        query = sa.select(*SUMMARY_COLUMNS).where(messages.c.mailbox_id == mailbox_id)
        query = flt.apply(query)
        if flt.since is None and flt.after is None and flt.unread is None:
            query = query.where(sa.or_(messages.c.is_read.is_(False), messages.c.id > marker))
        query = query.order_by(messages.c.id.asc()).limit(1)
        async with self.db.read() as conn:
            return (await conn.execute(query)).first()

    async def follow(
        self, principal: Principal, ref: str, *, after: str | None = None
    ) -> AsyncIterator[dict[str, Any] | None]:
        """Yield summaries of messages as they arrive (oldest first), starting after `after`
        (or now); yield None when `ping_interval` passes quietly; raise StreamEnd when the
        mailbox is deleted or expires."""
        principal.require("messages:read")
        box = await self.mailboxes.find(principal, ref)
        cursor = after or new_id()
        loop = asyncio.get_running_loop()
        with self.bus.subscribe(box.id) as subscription:
            last_yield = loop.time()
            while True:
                async with self.db.read() as conn:
                    rows = (
                        await conn.execute(
                            sa.select(*SUMMARY_COLUMNS)
                            .where(messages.c.mailbox_id == box.id, messages.c.id > cursor)
                            .order_by(messages.c.id.asc())
                            .limit(100)
                        )
                    ).all()
                    state = (
                        await conn.execute(
                            sa.select(mailboxes.c.deleted_at, mailboxes.c.expires_at).where(
                                mailboxes.c.id == box.id
                            )
                        )
                    ).one()
                for row in rows:
                    cursor = row.id
                    yield summary(row)
                    last_yield = loop.time()
                if state.deleted_at is not None:
                    raise StreamEnd("mailbox.deleted")
                if state.expires_at is not None and state.expires_at <= utcnow():
                    raise StreamEnd("mailbox.expired")
                if len(rows) == 100:
                    continue
                quiet_for = loop.time() - last_yield
                wait_for = min(
                    self.settings.wait_poll_interval,
                    max(0.0, self.settings.ping_interval - quiet_for),
                )
                event = await subscription.next(wait_for)
                if event and event.get("event") in ("mailbox.deleted", "mailbox.expired"):
                    raise StreamEnd(event["event"])
                if event is None and loop.time() - last_yield >= self.settings.ping_interval:
                    yield None
                    last_yield = loop.time()
