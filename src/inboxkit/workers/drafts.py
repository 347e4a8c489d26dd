"""The drafts worker: sends scheduled drafts when they fall due, from any number of processes.

Scheduled drafts are a lease queue like the outbox (`store/queue.py`): due rows are claimed
with a lease and a token, and `DraftService.send_leased` sends each through the same path as
any send, marking it sent in the transaction that stores the message only while the token is
still its own. A draft cancelled meanwhile is therefore never sent, and one whose worker died
is claimed again once the lease runs out. The loop sleeps until the earliest `send_at` (or a
retry, or a lease running out: `next_due`), or until a `draft.scheduled` event says a draft
was scheduled in some process, so a send time a moment away is met without polling for it.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine, Sequence
from typing import Any

from inboxkit.bus import Bus
from inboxkit.config import Settings
from inboxkit.services.drafts import DraftService
from inboxkit.store.db import Database
from inboxkit.store.dialect import Dialect
from inboxkit.store.tables import DraftStatus, drafts
from inboxkit.workers.queue import Dispatcher, Waker

__all__ = ["DraftScheduler"]

log = logging.getLogger(__name__)

# Drafts sent at once by one process; a scheduled burst beyond it waits for the next claim.
CONCURRENCY = 8


class DraftScheduler:
    """Sends due scheduled drafts: `step` is one pass of the worker loop."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        dialect: Dialect,
        bus: Bus,
        service: DraftService,
    ):
        self.service = service
        self.dispatcher = Dispatcher(
            db,
            drafts,
            DraftStatus.SCHEDULED,
            Waker(bus, wake_on=frozenset({"draft.scheduled", "draft.approved"})),
            concurrency=CONCURRENCY,
            poll_interval=settings.outbox_poll_interval,
            lease_seconds=settings.outbox_lease_seconds,
            dialect=dialect,
            jobs=self._sends,
            prune=service.prune,
            name="drafts",
            job="scheduled draft send",
        )

    async def step(self) -> int:
        """Start sends for due drafts, or sleep until one may be due. Returns how many started."""
        return await self.dispatcher.step()

    async def _sends(
        self, claimed: Sequence[Any], token: str
    ) -> Sequence[Coroutine[Any, Any, None]]:
        return [self._send(row, token) for row in claimed]

    async def _send(self, row: Any, token: str) -> None:
        await self.service.send_leased(row, token)

    async def close(self) -> None:
        """Stop sends in flight and hand their drafts back for the next worker."""
        await self.dispatcher.close()
