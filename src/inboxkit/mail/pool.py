"""Run parsing off the event loop, in worker processes, with a hard time bound.

A hostile message can make the stdlib parser spin (quadratic header folding, deep nesting), and
a thread cannot be stopped, so parsing runs in a small process pool: the event loop keeps
serving SMTP and HTTP, and a parse that overruns `timeout` is abandoned by terminating the pool.
Worker processes also run with a memory ceiling so a parse cannot exhaust the machine. With
`workers=0` parsing runs in a thread instead (no hard bound; for constrained environments).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import multiprocessing.pool
import resource
import threading

from inboxkit.mail.parse import Limits, ParsedMessage, parse_message

__all__ = ["ParserPool"]

log = logging.getLogger(__name__)

WORKER_MEMORY_BYTES = 2 * 1024**3


def _init_worker() -> None:
    try:
        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    except (ValueError, OSError):
        pass
    import inboxkit.mail.extract  # noqa: F401  (warm the imports before the first message)
    import inboxkit.mail.htmltext  # noqa: F401


def _timed_out(reason: str) -> ParsedMessage:
    return ParsedMessage(parse_error=reason)


class _PoolReset(Exception):
    """The pool was terminated (another parse overran) while this parse was in flight."""


class ParserPool:
    def __init__(self, workers: int, timeout: float, limits: Limits):
        self.workers = workers
        self.timeout = timeout
        self.limits = limits
        self._pool: multiprocessing.pool.Pool | None = None
        self._lock = threading.Lock()
        self._in_flight: set[asyncio.Future[ParsedMessage]] = set()

    def _get_pool(self) -> multiprocessing.pool.Pool:
        with self._lock:
            if self._pool is None:
                # forkserver: workers are forked from a clean server process, not from this
                # one with its event loop and database threads.
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(["inboxkit.mail.parse"])
                self._pool = context.Pool(self.workers, initializer=_init_worker)
            return self._pool

    async def _reset(self, keep: asyncio.Future[ParsedMessage] | None = None) -> None:
        # Parses that were sharing the terminated pool are innocent: tell them to resubmit.
        for future in tuple(self._in_flight):
            if future is not keep and not future.done():
                future.set_exception(_PoolReset())
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.terminate)

    async def parse(self, raw: bytes) -> ParsedMessage:
        """Parse `raw` within `timeout` seconds; a message that overruns comes back unparsed."""
        if self.workers == 0:
            return await asyncio.to_thread(parse_message, raw, self.limits)
        for _attempt in range(3):
            try:
                return await self._parse_once(raw)
            except _PoolReset:
                continue
        return _timed_out("the parser was restarted repeatedly")

    async def _parse_once(self, raw: bytes) -> ParsedMessage:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[ParsedMessage] = loop.create_future()

        def _done(result: ParsedMessage) -> None:
            loop.call_soon_threadsafe(_set, future, result, None)

        def _failed(error: BaseException) -> None:
            loop.call_soon_threadsafe(_set, future, None, error)

        pool = self._pool or await asyncio.to_thread(self._get_pool)
        try:
            pool.apply_async(
                parse_message, (raw, self.limits), callback=_done, error_callback=_failed
            )
        except ValueError:  # terminated between lookup and submit
            raise _PoolReset() from None
        self._in_flight.add(future)
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.timeout)
        except TimeoutError:
            log.warning("parse exceeded %.1fs; storing the message unparsed", self.timeout)
            await self._reset(keep=future)
            return _timed_out(f"parsing took longer than {self.timeout:g}s")
        except _PoolReset:
            raise
        except Exception as exc:  # worker died (memory ceiling) or result not picklable
            log.warning("parse worker failed: %s", type(exc).__name__)
            return _timed_out(f"parser failed ({type(exc).__name__})")
        finally:
            self._in_flight.discard(future)

    async def close(self) -> None:
        await self._reset()


def _set(future: asyncio.Future[ParsedMessage], result, error) -> None:  # type: ignore[no-untyped-def]
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
