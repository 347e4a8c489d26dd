"""Background workers. Each is a loop safe to run in any number of processes at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from inboxkit.runtime import Runtime
from inboxkit.workers.outbox import no_pause, send_outbox
from inboxkit.workers.webhooks import dispatch_webhooks

__all__ = ["WORKERS", "start_workers"]

log = logging.getLogger(__name__)

# (name, one pass, seconds between passes). A pass returns how much it did; when it did
# something the next pass starts at once, so a backlog drains without waiting.
Worker = tuple[str, Callable[[Runtime], Awaitable[int]], Callable[[Runtime], float]]


async def _sweep(runtime: Runtime) -> int:
    return await runtime.mailboxes.sweep_expired()


WORKERS: list[Worker] = [
    ("expiry-sweeper", _sweep, lambda runtime: runtime.settings.sweep_interval),
    # These two wait for work inside their pass (bus wake-up, next retry, poll interval).
    ("outbox-sender", send_outbox, no_pause),
    ("webhook-dispatcher", dispatch_webhooks, no_pause),
]


async def _loop(
    runtime: Runtime, name: str, step: Callable[[Runtime], Awaitable[int]], interval: float
) -> None:
    while True:
        try:
            done = await step(runtime)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("worker %s failed; retrying after its interval", name)
            done = 0
        if not done:
            await asyncio.sleep(interval)


def start_workers(runtime: Runtime) -> list[asyncio.Task[None]]:
    return [
        asyncio.create_task(_loop(runtime, name, step, interval(runtime)), name=f"inboxkit-{name}")
        for name, step, interval in WORKERS
    ]
