"""Inboxes that may send: only an account's inboxes can (an anonymous inbox's token cannot)."""

from __future__ import annotations

from typing import Any

from tests.helpers import RunningServer

__all__ = ["sending_inbox"]


async def sending_inbox(server: RunningServer, **body: Any) -> dict[str, Any]:
    """A new inbox of a new account, with its own mailbox token (`token`), which may send."""
    return await server.create_inbox(token=await server.create_key("sender"), **body)
