"""Waits longer than one long-poll, made of several: the rounds, written once.

The server ends a long-poll after at most 60 s (`MAX_WAIT_SECONDS`), so a caller that wants to
wait ten minutes polls in rounds until something comes or its own deadline passes. The SDK
(its sans-IO flows, sync and async) and the MCP tools (over either backend) both wait this way;
this module holds the one rule for it and imports nothing from the server, so the SDK can use it.

`WaitRounds` is the rule without any I/O: iterate it for each round's timeout and stop (break)
once a round found something. `wait_in_rounds` drives it for asyncio callers and reports
progress meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

__all__ = ["WaitRounds", "wait_in_rounds", "CUT_SHORT_SLACK"]

log = logging.getLogger(__name__)

R = TypeVar("R")

# A round that comes back empty this much before its timeout was cut short by the server: a
# process that is shutting down answers every long-poll at once.
CUT_SHORT_SLACK = 0.5


class WaitRounds:
    """The rounds of one wait of `timeout` seconds, each at most `cap` seconds long.

    Iterating yields each round's timeout (the last one is what is left, and a wait of 0 is one
    round of 0: mail already there still counts). The iteration ends after the round that
    reached the deadline; with `stop_when_cut_short`, also after a round that ended empty well
    before its timeout, instead of polling a closing server in a tight loop until the deadline.
    The caller breaks out as soon as a round found something.
    """

    def __init__(
        self,
        timeout: float,
        cap: float,
        *,
        stop_when_cut_short: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.timeout = timeout
        self.cap = cap
        self.stop_when_cut_short = stop_when_cut_short
        self.clock = clock
        self.started = clock()
        self.deadline = self.started + timeout

    @property
    def elapsed(self) -> float:
        """Seconds since the wait began."""
        return self.clock() - self.started

    def __iter__(self) -> Iterator[float]:
        while True:
            remaining = max(0.0, self.deadline - self.clock())
            round_timeout = min(remaining, self.cap)
            round_end = self.clock() + round_timeout
            yield round_timeout
            if round_timeout >= remaining:
                return
            if self.stop_when_cut_short and self.clock() < round_end - CUT_SHORT_SLACK:
                return


async def wait_in_rounds(
    call_once: Callable[[float], Awaitable[R | None]],
    total_timeout: float,
    round_cap: float,
    *,
    on_progress: Callable[[float, float], Awaitable[None]] | None = None,
    progress_interval: float = 5.0,
) -> tuple[R | None, float]:
    """Call `call_once(round_timeout)` in rounds (see `WaitRounds`) until it returns something
    or the time is up; that result (None if nothing came) and the seconds waited.

    `on_progress(elapsed, total_timeout)` is awaited at the start and every
    `progress_interval` seconds while the wait is pending; a failing report (a client that
    went away) is logged and never fails the wait.
    """
    rounds = WaitRounds(total_timeout, round_cap)

    async def report_progress() -> None:
        assert on_progress is not None
        try:
            while True:
                await on_progress(min(rounds.elapsed, total_timeout), total_timeout)
                await asyncio.sleep(progress_interval)
        except Exception:
            log.debug("progress report failed", exc_info=True)

    reporter = asyncio.create_task(report_progress()) if on_progress is not None else None
    found: R | None = None
    try:
        for round_timeout in rounds:
            found = await call_once(round_timeout)
            if found is not None:
                break
        return found, round(rounds.elapsed, 1)
    finally:
        if reporter is not None:
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter
