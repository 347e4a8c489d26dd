"""Run parsing off the event loop, in worker processes, with a hard time bound.

A hostile message can make the stdlib parser spin (quadratic header folding, deep nesting), and
a thread cannot be stopped, so parsing runs in a small process pool: the event loop keeps
serving SMTP and HTTP, and a parse that overruns `timeout` is abandoned by killing the pool's
processes. Worker processes also run with a memory ceiling so a parse cannot exhaust the
machine. With `workers=0` parsing runs in a thread instead (no hard bound; for embedding in
scripts that cannot be re-imported by a child process).

`concurrent.futures.ProcessPoolExecutor` is used rather than `multiprocessing.Pool` because it
notices workers that die (memory ceiling, a signal to the process group) and fails their
futures instead of waiting forever, and its shutdown does not hang on a dead worker's locks.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import resource
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from inboxkit.mail.parse import Limits, ParsedMessage
from inboxkit.mail.prepare import prepare_message

__all__ = ["ParserPool"]

log = logging.getLogger(__name__)

WORKER_MEMORY_BYTES = 2 * 1024**3
ATTEMPTS = 3


def _init_worker() -> None:
    # Ctrl-C in a terminal reaches the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    except (ValueError, OSError):
        pass
    import inboxkit.mail.extract  # noqa: F401  (warm the imports before the first message)
    import inboxkit.mail.htmltext  # noqa: F401


def _unparsed(reason: str) -> ParsedMessage:
    return ParsedMessage(parse_error=reason)


class ParserPool:
    def __init__(self, workers: int, timeout: float, limits: Limits):
        self.workers = workers
        self.timeout = timeout
        self.limits = limits
        self._executor: ProcessPoolExecutor | None = None
        # Only as many parses as there are workers are submitted at once, so `timeout` measures
        # parsing, not time spent queued behind other messages.
        self._slots = asyncio.Semaphore(max(1, workers))

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # forkserver: workers are forked from a clean server process, not from this one
            # with its event loop and database threads.
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["inboxkit.mail.prepare"])
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=_init_worker
            )
        return self._executor

    def _discard(self, executor: ProcessPoolExecutor) -> None:
        """Kill a pool's processes (one of them is stuck) and start afresh on next use."""
        if self._executor is executor:
            self._executor = None
        for process in list(getattr(executor, "_processes", {}).values()):
            process.kill()
        executor.shutdown(wait=False, cancel_futures=True)

    async def parse(self, raw: bytes) -> ParsedMessage:
        """Parse (and prepare, see `prepare.py`) `raw` within `timeout` seconds; a message that
        overruns comes back unparsed."""
        if self.workers == 0:
            return await asyncio.to_thread(prepare_message, raw, self.limits)
        async with self._slots:
            for _attempt in range(ATTEMPTS):
                executor = self._pool()
                try:
                    future = asyncio.wrap_future(executor.submit(prepare_message, raw, self.limits))
                    return await asyncio.wait_for(future, self.timeout)
                except TimeoutError:
                    log.warning("parse exceeded %.1fs; storing the message unparsed", self.timeout)
                    self._discard(executor)
                    return _unparsed(f"parsing took longer than {self.timeout:g}s")
                except (BrokenProcessPool, RuntimeError):
                    # A worker died (another message hit the memory ceiling, or the pool was
                    # discarded under us): this message is innocent, so it is parsed again.
                    self._discard(executor)
                    continue
                except Exception as exc:  # the parser's result could not be sent back
                    log.warning("parse failed in the worker: %s", type(exc).__name__)
                    return _unparsed(f"parser failed ({type(exc).__name__})")
        return _unparsed("the parser's worker process kept failing")

    async def close(self) -> None:
        # Workers hold nothing worth keeping; a delivery still parsing gets a 451 and is retried.
        if self._executor is not None:
            await asyncio.to_thread(self._discard, self._executor)
