"""The outbox sender: delivers queued outbound mail (see services/outbox.py)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inboxkit.runtime import Runtime

__all__ = ["send_outbox", "no_pause"]

log = logging.getLogger(__name__)


async def send_outbox(runtime: Runtime) -> int:
    """Start due deliveries, or sleep until a bus event, a retry or the poll interval."""
    try:
        return await runtime.outbound.outbox.work_step()
    except asyncio.CancelledError:
        raise
    except Exception:
        # The step waits for work itself, so its loop has no pause of its own: pause here.
        log.exception("outbox pass failed; retrying after the poll interval")
        await asyncio.sleep(runtime.settings.outbox_poll_interval)
        return 0


def no_pause(runtime: Runtime) -> float:
    return 0.0
