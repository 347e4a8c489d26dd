"""The worker loops a `worker` (or `all`) process runs: each is safe in any number of processes.

Each worker is one pass run over and over; a pass that did something is followed at once by
the next, so a backlog drains without waiting, and a pass that failed is logged and retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the runtime builds the workers' objects and starts these loops
    from inboxkit.runtime import Runtime

__all__ = ["WORKERS", "start_workers"]

log = logging.getLogger(__name__)

Pause = Callable[["Runtime"], float]
# (name, one pass, pause after a pass that did nothing, pause after a pass that failed).
# A pass returns how much it did; when it did something the next pass starts at once, so a
# backlog drains without waiting.
Worker = tuple[str, Callable[["Runtime"], Awaitable[int]], Pause, Pause]


async def _sweep(runtime: Runtime) -> int:
    return await runtime.mailboxes.sweep_expired()


async def _retention(runtime: Runtime) -> int:
    """Purge messages older than their plan's `retention_days` (mailboxes stay)."""
    return await runtime.usage.purge_retention()


async def _send_outbox(runtime: Runtime) -> int:
    """Start due deliveries, or sleep until a bus event, a retry or the poll interval."""
    return await runtime.outbox.step()


async def _send_drafts(runtime: Runtime) -> int:
    """Start due scheduled drafts, or sleep until one may be due (workers/drafts.py)."""
    return await runtime.draft_scheduler.step()


async def _dispatch_webhooks(runtime: Runtime) -> int:
    """Start due attempts, or sleep until a bus event, a retry or the poll interval."""
    return await runtime.webhook_dispatcher.step()


async def _recheck_domains(runtime: Runtime) -> int:
    """Re-check verified custom domains' TXT records (services/domains.py)."""
    return await runtime.domains.recheck_due()


def _recheck_pause(runtime: Runtime) -> float:
    """Look for due domains every recheck interval, but at least once a minute (a domain's
    check falls due on its own schedule) and at most once a second."""
    return min(max(runtime.settings.domain_recheck_interval, 1.0), 60.0)


async def _forget_sns(runtime: Runtime) -> int:
    """Forget SNS message ids older than INBOXKIT_SNS_DEDUPE_DAYS (services/inbound_ses.py)."""
    return await runtime.ses_inbound.purge()


def _no_pause(runtime: Runtime) -> float:
    return 0.0


WORKERS: list[Worker] = [
    (
        "expiry-sweeper",
        _sweep,
        lambda runtime: runtime.settings.sweep_interval,
        lambda runtime: runtime.settings.sweep_interval,
    ),
    (
        "retention-sweeper",
        _retention,
        lambda runtime: runtime.settings.sweep_interval,
        lambda runtime: runtime.settings.sweep_interval,
    ),
    ("domain-recheck", _recheck_domains, _recheck_pause, _recheck_pause),
    (
        "sns-id-sweeper",
        _forget_sns,
        lambda runtime: runtime.settings.sweep_interval,
        lambda runtime: runtime.settings.sweep_interval,
    ),
    # These wait for work inside their pass, so an idle pass needs no pause of its own.
    (
        "outbox-sender",
        _send_outbox,
        _no_pause,
        lambda runtime: runtime.settings.outbox_poll_interval,
    ),
    (
        "draft-scheduler",
        _send_drafts,
        _no_pause,
        lambda runtime: runtime.settings.outbox_poll_interval,
    ),
    (
        "webhook-dispatcher",
        _dispatch_webhooks,
        _no_pause,
        lambda runtime: runtime.settings.webhook_poll_interval,
    ),
]


async def _loop(
    runtime: Runtime,
    name: str,
    step: Callable[[Runtime], Awaitable[int]],
    idle: float,
    after_failure: float,
) -> None:
    while True:
        try:
            done = await step(runtime)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("worker %s failed; retrying in %gs", name, after_failure)
            await asyncio.sleep(after_failure)
            continue
        if not done:
            await asyncio.sleep(idle)


def start_workers(runtime: Runtime) -> list[asyncio.Task[None]]:
    """One task per worker, running until cancelled."""
    return [
        asyncio.create_task(
            _loop(runtime, name, step, idle(runtime), after_failure(runtime)),
            name=f"inboxkit-{name}",
        )
        for name, step, idle, after_failure in WORKERS
    ]
