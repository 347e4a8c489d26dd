"""Working a durable queue: waking when there may be work, claiming, backing off.

The rows and their leases are `store/queue.py` (why a lease token makes any number of worker
processes safe); this is the loop around them that the outbox sender and the webhook
dispatcher share: sleep on the bus until rows may be due, claim up to the free concurrency,
run one task per row, and hand interrupted rows back on shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from inboxkit.bus import Bus
from inboxkit.bus.base import ALL, Event, Subscription
from inboxkit.store.db import Database
from inboxkit.store.dialect import Dialect
from inboxkit.store.queue import claim, next_due, release
from inboxkit.store.tables import utcnow

__all__ = ["retry_at", "until", "Waker", "Dispatcher", "Jobs"]

log = logging.getLogger(__name__)

JITTER = 0.2  # retries spread over ±20% of the delay so failures do not retry in lockstep
PRUNE_EVERY_SECONDS = 600.0

# Given the claimed rows and the claim's token: one job (a coroutine to run) per row, in order.
Jobs = Callable[[Sequence[Any], str], Awaitable[Sequence[Coroutine[Any, Any, None]]]]


def retry_at(schedule: list[float], attempts: int, now: datetime | None = None) -> datetime | None:
    """When to try again after `attempts` failed attempts, or None when the schedule is spent.

    `schedule[0]` is the delay before the first attempt; `schedule[n]` the wait after the nth.
    """
    if attempts >= len(schedule):
        return None
    delay = schedule[attempts] * random.uniform(1 - JITTER, 1 + JITTER)
    return (now or utcnow()) + timedelta(seconds=delay)


class Waker:
    """Sleeps a worker until there may be work: a bus event (new rows were committed, in any
    process), a local nudge (an in-flight job finished), the next retry falling due, or the
    poll interval passing, whichever comes first. The bus is only a wake-up: polling is what
    guarantees progress when an event is lost. Only events in `wake_on` (those announcing a
    commit that may have queued rows) wake it."""

    def __init__(self, bus: Bus, wake_on: frozenset[str], gate: Callable[[], bool] | None = None):
        self.bus = bus
        self.wake_on = wake_on
        # `gate` says whether those events can mean work at all right now (no webhook endpoint:
        # no delivery can have been queued); polling still runs either way.
        self.gate = gate
        self._subscription: Subscription | None = None
        self._nudged = asyncio.Event()

    def start(self) -> None:
        # Subscribed before the first claim, so rows committed while a claim runs still wake us.
        if self._subscription is None:
            self._subscription = self.bus.subscribe(ALL)

    def nudge(self) -> None:
        self._nudged.set()

    def _wakes(self, events: list[Event]) -> bool:
        names = {event.get("event") for event in events}
        if "resync" in names:  # the bus reconnected: events may have been lost
            return True
        return bool(names & self.wake_on) and (self.gate is None or self.gate())

    async def wait(self, timeout: float) -> None:
        self.start()
        subscription = self._subscription
        assert subscription is not None
        if self._wakes(subscription.drain()) or self._nudged.is_set() or timeout <= 0:
            self._nudged.clear()
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        nudge_task = asyncio.ensure_future(self._nudged.wait())
        event_task: asyncio.Future[Any] | None = None
        try:
            while (remaining := deadline - loop.time()) > 0:
                event_task = asyncio.ensure_future(subscription.next(remaining))
                done, _ = await asyncio.wait(
                    (event_task, nudge_task), timeout=remaining, return_when="FIRST_COMPLETED"
                )
                if nudge_task in done:
                    break
                if event_task in done:
                    event = event_task.result()
                    if event is None or self._wakes([event]):
                        break
        finally:
            pending = [task for task in (event_task, nudge_task) if task is not None]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._nudged.clear()
        subscription.drain()  # a burst of events needs one claim, not one per event

    def close(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None


def until(moment: datetime | None, cap: float) -> float:
    """Seconds from now until `moment`, between 0 and `cap` (`cap` when there is no moment)."""
    if moment is None:
        return cap
    return max(0.0, min(cap, (moment - utcnow()).total_seconds()))


class Dispatcher:
    """The worker loop of one queue (the outbox, webhook deliveries). Each `step` claims due
    rows, up to `concurrency` in flight, or sleeps on the waker until there may be some, and
    runs a task per claimed row; `close` stops the tasks and hands their rows back. Every
    PRUNE_EVERY_SECONDS a step first runs `prune` (forgetting finished rows)."""

    def __init__(
        self,
        db: Database,
        table: sa.Table,
        status: str,
        waker: Waker,
        *,
        concurrency: int,
        poll_interval: float,
        lease_seconds: float,
        dialect: Dialect,
        jobs: Jobs,
        prune: Callable[[], Awaitable[None]],
        name: str,
        job: str,
    ):
        self.db = db
        self.table = table
        self.status = status
        self.waker = waker
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.lease_seconds = lease_seconds
        self.dialect = dialect
        self.jobs = jobs
        self.prune = prune
        self.name = name  # in task names
        self.job = job  # what one job is, for the crash log
        self.inflight: dict[asyncio.Task[None], tuple[str, str]] = {}
        self._last_prune = 0.0

    async def step(self) -> int:
        """Start jobs for due rows, or sleep until there may be some. Returns how many started."""
        self.waker.start()
        moment = time.monotonic()
        if moment - self._last_prune >= PRUNE_EVERY_SECONDS:
            self._last_prune = moment
            await self.prune()
        free = self.concurrency - len(self.inflight)
        due = await next_due(self.db, self.table, self.status)
        if free <= 0:
            await self.waker.wait(self.poll_interval)  # until one finishes
            return 0
        if due is None or due > utcnow():
            await self.waker.wait(until(due, self.poll_interval))
            return 0
        taken = await claim(
            self.db, self.table, self.status, free, self.lease_seconds, self.dialect
        )
        if not taken.rows:  # another worker was quicker
            await self.waker.wait(min(0.05, self.poll_interval))
            return 0
        jobs = await self.jobs(taken.rows, taken.token)
        for row, job in zip(taken.rows, jobs, strict=True):
            task = asyncio.create_task(job, name=f"inboxkit-{self.name}-{row.id}")
            self.inflight[task] = (row.id, taken.token)
            task.add_done_callback(self._finished)
        return len(taken.rows)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.inflight.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s crashed", self.job, exc_info=task.exception())
        self.waker.nudge()

    async def close(self) -> None:
        """Stop the jobs in flight and hand their rows back, so a restart resumes them at once."""
        interrupted = list(self.inflight.items())
        for task, _ in interrupted:
            task.cancel()
        await asyncio.gather(*(task for task, _ in interrupted), return_exceptions=True)
        await release(self.db, self.table, self.status, [pair for _, pair in interrupted])
        self.waker.close()
