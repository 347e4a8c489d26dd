"""Group commit: concurrent deliveries share one transaction and one fsync.

With `synchronous=FULL` every SQLite commit waits for the disk, so committing each message on
its own caps ingest at the disk's flush rate. Deliveries instead queue a write function; one
task runs everything queued so far in a single transaction and then wakes every caller. If a
batch fails, its items are retried one per transaction so one bad item cannot fail the rest.
Nobody is told "stored" before the commit that stored them has returned.

Deliveries are not write functions but payloads: `store(delivery)` queues one parsed message,
and every delivery of a batch is written by one `store.messages.insert_deliveries` call, so a
batch of deliveries costs a handful of set-based statements instead of a handful per delivery
(per-statement overhead, not the disk, was what limited ingest).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.errors import InboxKitError
from inboxkit.records import MessageSummary
from inboxkit.store.db import Database
from inboxkit.store.messages import Delivery, StoreHook, insert_deliveries

__all__ = ["CommitBatcher", "WriteFn"]

log = logging.getLogger(__name__)
WriteFn = Callable[[AsyncConnection], Awaitable[Any]]
# A queued write (a function to run, or a delivery to insert) and the future its caller awaits.
_Item = tuple["WriteFn | Delivery", "asyncio.Future[Any]"]


class CommitBatcher:
    """Runs every write in shared transactions (group commit), so concurrent deliveries share
    one fsync."""

    def __init__(self, db: Database, max_batch: int = 128):
        self.db = db
        self.max_batch = max_batch
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.items = 0
        # Run in the storing transaction with everything a batch stored (see StoreHook).
        self.store_hooks: list[StoreHook] = []

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="inboxkit-commit-batcher")

    async def store(self, delivery: Delivery) -> list[MessageSummary]:
        """Insert a parsed message in a shared transaction; returns its stored summaries
        (none when every target mailbox was deleted meanwhile) once committed."""
        stored: list[MessageSummary] = await self.submit(delivery)
        return stored

    async def submit(self, work: WriteFn | Delivery) -> Any:
        """Run `work` (a write function, or a delivery to insert) inside a shared transaction
        and return its result once committed; every write goes through here."""
        self._ensure_running()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put((work, future))
        return await future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                results = await self._commit(batch)
            except Exception as exc:
                # A plan's ceiling refusing one delivery is routine; anything else is not.
                level = logging.DEBUG if isinstance(exc, InboxKitError) else logging.WARNING
                log.log(level, "group commit of %d failed (%s); retrying singly", len(batch), exc)
                for item in batch:
                    try:
                        (result,) = await self._commit([item])
                        _resolve(item[1], result, None)
                    except Exception as single_exc:
                        _resolve(item[1], None, single_exc)
                continue
            for (_work, future), result in zip(batch, results, strict=True):
                _resolve(future, result, None)

    async def _commit(self, batch: list[_Item]) -> list[Any]:
        results: list[Any] = [None] * len(batch)
        deliveries: list[Delivery] = []
        delivery_indexes: list[int] = []
        async with self.db.write() as conn:
            for index, (work, _future) in enumerate(batch):
                if isinstance(work, Delivery):
                    deliveries.append(work)
                    delivery_indexes.append(index)
                else:
                    results[index] = await work(conn)
            if deliveries:
                stored = await insert_deliveries(conn, deliveries, self.store_hooks)
                for index, items in zip(delivery_indexes, stored, strict=True):
                    results[index] = items
        self.batches += 1
        self.items += len(batch)
        return results

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None
        while not self._queue.empty():
            _work, future = self._queue.get_nowait()
            _resolve(future, None, RuntimeError("shutting down"))


def _resolve(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
