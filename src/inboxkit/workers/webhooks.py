"""The webhook dispatcher: delivers queued webhook events (see services/webhooks.py)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inboxkit.runtime import Runtime

__all__ = ["dispatch_webhooks"]

log = logging.getLogger(__name__)


async def dispatch_webhooks(runtime: Runtime) -> int:
    """Start due attempts, or sleep until a bus event, a retry or the poll interval."""
    try:
        return await runtime.webhooks.dispatch_step()
    except asyncio.CancelledError:
        raise
    except Exception:
        # The step waits for work itself, so its loop has no pause of its own: pause here.
        log.exception("webhook dispatch pass failed; retrying after the poll interval")
        await asyncio.sleep(runtime.settings.webhook_poll_interval)
        return 0
