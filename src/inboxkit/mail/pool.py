"""Run parsing off the event loop, in worker processes, with a hard time bound.

A hostile message can make the stdlib parser spin (quadratic header folding, deep nesting), and
a thread cannot be stopped, so parsing runs in worker processes: the event loop keeps serving
SMTP and HTTP, and a parse that overruns `timeout` is abandoned by killing the process parsing
it. Worker processes also run with a memory ceiling so a parse cannot exhaust the
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
ATTEMPTS = 2  # a message whose worker dies twice is stored unparsed (it may be the cause)
# How long a new parser process may take to start (fork and imports) before it counts as failed.
STARTUP_TIMEOUT = 60.0


def _init_worker() -> None:
    # Ctrl-C in a terminal reaches the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    except (ValueError, OSError):
        pass
    import inboxkit.mail.extract  # noqa: F401  (warm the imports before the first message)
    import inboxkit.mail.htmltext  # noqa: F401


def _answer() -> bool:
    """Run in a new worker to show it is up (see `ParserPool._started`)."""
    return True


def _unparsed(reason: str) -> ParsedMessage:
    return ParsedMessage(parse_error=reason)


class _Slot:
    """One worker process of its own, so a stuck parse is killed without touching the others."""

    def __init__(self) -> None:
        self.executor: ProcessPoolExecutor | None = None
        self.ready = False  # its process has started and answered once

    def executor_for_use(self) -> ProcessPoolExecutor:
        if self.executor is None:
            # forkserver: workers are forked from a clean server process, not from this one
            # with its event loop and database threads.
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["inboxkit.mail.prepare"])
            self.executor = ProcessPoolExecutor(1, mp_context=context, initializer=_init_worker)
        return self.executor

    def discard(self) -> None:
        """Kill this slot's process (it is stuck or dead) and start afresh on next use."""
        executor, self.executor = self.executor, None
        self.ready = False
        if executor is None:
            return
        for process in list(getattr(executor, "_processes", {}).values()):
            process.kill()
        executor.shutdown(wait=False, cancel_futures=True)


class ParserPool:
    """`workers` parser processes, each parsing one message at a time within `timeout`.

    Each worker is a single-process executor of its own: a parse that overruns kills only its
    own process, so the messages other workers are parsing at that moment are unaffected (a
    shared pool would have to be killed whole, failing every parse in flight).
    """

    def __init__(self, workers: int, timeout: float, limits: Limits):
        self.workers = workers
        self.timeout = timeout
        self.limits = limits
        # A message waits for a free worker before its clock starts, so `timeout` measures
        # parsing, not time spent queued behind other messages.
        self._free: asyncio.Queue[_Slot] = asyncio.Queue()
        self._slots = [_Slot() for _ in range(workers)]
        for slot in self._slots:
            self._free.put_nowait(slot)

    async def parse(self, raw: bytes) -> ParsedMessage:
        """Parse (and prepare, see `prepare.py`) `raw` within `timeout` seconds; a message that
        overruns comes back unparsed."""
        if self.workers == 0:
            return await asyncio.to_thread(prepare_message, raw, self.limits)
        slot = await self._free.get()
        try:
            return await self._parse_in(slot, raw)
        finally:
            self._free.put_nowait(slot)

    async def _started(self, slot: _Slot) -> ProcessPoolExecutor:
        """The slot's executor, its process started and answering. Starting a process (fork,
        imports) is not parsing: on a loaded machine it alone can take seconds, and counting it
        in the message's `timeout` stored the first messages after a start unparsed."""
        executor = slot.executor_for_use()
        if not slot.ready:
            started = asyncio.wrap_future(executor.submit(_answer))
            try:
                await asyncio.wait_for(started, STARTUP_TIMEOUT)
            except TimeoutError:
                raise BrokenProcessPool("the parser process did not start") from None
            slot.ready = True
        return executor

    async def _parse_in(self, slot: _Slot, raw: bytes) -> ParsedMessage:
        for _attempt in range(ATTEMPTS):
            try:
                executor = await self._started(slot)
                future = asyncio.wrap_future(executor.submit(prepare_message, raw, self.limits))
                return await asyncio.wait_for(future, self.timeout)
            except TimeoutError:
                log.warning("parse exceeded %.1fs; storing the message unparsed", self.timeout)
                slot.discard()
                return _unparsed(f"parsing took longer than {self.timeout:g}s")
            except (BrokenProcessPool, RuntimeError):
                # The worker died under this message: the memory ceiling, a signal from outside,
                # or the pool closing. Tried again on a fresh process, a bounded number of times.
                slot.discard()
                continue
            except Exception as exc:  # the parser's result could not be sent back
                log.warning("parse failed in the worker: %s", type(exc).__name__)
                return _unparsed(f"parser failed ({type(exc).__name__})")
        return _unparsed("the parser's worker process kept failing")

    async def close(self) -> None:
        # Workers hold nothing worth keeping; a delivery still parsing gets a 451 and is retried.
        for slot in self._slots:
            await asyncio.to_thread(slot.discard)
