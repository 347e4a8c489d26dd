"""The wait catch-up: turns bus events that were missed into wake-ups, by reading the database.

Waits and streams (`services/wait.py`) are woken by bus events, and events can be missed
(Redis restarts, a publisher dies between commit and publish). So each process runs one
`CatchUp` task: every `wait_poll_interval` it reads the ids of recently stored messages (one
primary-key range scan, however many consumers wait) and the state of the mailboxes being
watched, and wakes the consumers of any mailbox with a message it has not seen, or that was
deleted or has expired. A missed event therefore costs at most one poll interval, and idle
consumers cost the database nothing. The bus also pokes it after a gap in its feed.
"""

from __future__ import annotations

import asyncio
import logging
import time

from inboxkit.bus import Bus
from inboxkit.bus.base import RESYNC
from inboxkit.ids import id_at, id_time_ms
from inboxkit.services.wait import LOOKBACK_MS
from inboxkit.store.db import Database
from inboxkit.store.waits import ended_mailboxes, recent_messages

__all__ = ["CatchUp"]

log = logging.getLogger(__name__)


class CatchUp:
    """One per process, in every role: started and stopped with the runtime."""

    def __init__(self, db: Database, bus: Bus, interval: float):
        self.db = db
        self.bus = bus
        self.interval = interval
        self._seen: dict[str, int] = {}
        self._poke = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.passes = 0
        bus.on_gap(self.poke)

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="inboxkit-wait-catchup")

    def poke(self) -> None:
        """Run a pass now (the bus calls this after a gap in its feed)."""
        self._poke.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self.interval):
                    await self._poke.wait()
            except TimeoutError:
                pass
            self._poke.clear()
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("catch-up pass failed (%s); retrying in %.1fs", exc, self.interval)

    async def run_once(self) -> int:
        """One pass; returns how many mailboxes it woke."""
        self.passes += 1
        watched = self.bus.watched_mailboxes()
        horizon = time.time_ns() // 1_000_000 - LOOKBACK_MS
        self._seen = {key: ms for key, ms in self._seen.items() if ms >= horizon - LOOKBACK_MS}
        if not watched:
            return 0
        woken: set[str] = set()
        async with self.db.read() as conn:
            for message_id, mailbox_id in await recent_messages(conn, id_at(horizon), watched):
                if message_id not in self._seen:
                    self._seen[message_id] = id_time_ms(message_id)
                    if not self.bus.announced(message_id):
                        woken.add(mailbox_id)
            woken.update(await ended_mailboxes(conn, watched))
        for mailbox_id in woken:
            self.bus.wake(mailbox_id, {"event": RESYNC})
        return len(woken)
