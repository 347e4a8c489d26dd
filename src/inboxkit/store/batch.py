"""Group commit: concurrent deliveries share one transaction and one fsync.

With `synchronous=FULL` every SQLite commit waits for the disk, so committing each message on
its own caps ingest at the disk's flush rate. Deliveries instead queue a write function; one
task runs everything queued so far in a single transaction and then wakes every caller. If a
batch fails, its items are retried one per transaction so one bad item cannot fail the rest.
Nobody is told "stored" before the commit that stored them has returned.

Writes of the same kind can also be merged: `submit(payload, merge=fn)` queues a payload, and
every payload in a batch that names the same `fn` is written by one `fn(conn, payloads)` call,
so a batch of deliveries costs a handful of set-based statements instead of a handful per
delivery (per-statement overhead, not the disk, was what limited ingest).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.store.db import Database

__all__ = ["CommitBatcher", "WriteFn", "MergeFn"]

log = logging.getLogger(__name__)
WriteFn = Callable[[AsyncConnection], Awaitable[Any]]
# Writes many payloads at once; returns one result per payload, in order.
MergeFn = Callable[[AsyncConnection, list[Any]], Awaitable[list[Any]]]
_Item = tuple[Any, "asyncio.Future[Any]", MergeFn | None]


class CommitBatcher:
    def __init__(self, db: Database, max_batch: int = 128):
        self.db = db
        self.max_batch = max_batch
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.items = 0

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="inboxkit-commit-batcher")

    async def submit(self, work: Any, *, merge: MergeFn | None = None) -> Any:
        """Run `work` (a WriteFn, or a payload for `merge`) inside a shared transaction and
        return its result once committed."""
        self._ensure_running()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put((work, future, merge))
        return await future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                results = await self._commit(batch)
            except Exception as exc:
                log.warning("group commit of %d failed (%s); retrying singly", len(batch), exc)
                for item in batch:
                    try:
                        (result,) = await self._commit([item])
                        _resolve(item[1], result, None)
                    except Exception as single_exc:
                        _resolve(item[1], None, single_exc)
                continue
            for (_work, future, _merge), result in zip(batch, results, strict=True):
                _resolve(future, result, None)

    async def _commit(self, batch: list[_Item]) -> list[Any]:
        results: list[Any] = [None] * len(batch)
        merged: dict[MergeFn, list[int]] = {}
        async with self.db.write() as conn:
            for index, (work, _future, merge) in enumerate(batch):
                if merge is None:
                    results[index] = await work(conn)
                else:
                    merged.setdefault(merge, []).append(index)
            for merge, indexes in merged.items():
                outcomes = await merge(conn, [batch[index][0] for index in indexes])
                for index, outcome in zip(indexes, outcomes, strict=True):
                    results[index] = outcome
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
            _work, future, _merge = self._queue.get_nowait()
            _resolve(future, None, RuntimeError("shutting down"))


def _resolve(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
