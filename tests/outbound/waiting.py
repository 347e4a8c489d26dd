"""Waiting for a sent message to settle, woken by the bus events the outbox publishes."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.helpers import RunningServer

__all__ = ["wait_for_delivery"]


async def wait_for_delivery(
    server: RunningServer, inbox: dict[str, Any], message_id: str, timeout: float = 20.0
) -> dict[str, Any]:
    """The message once its delivery_status is no longer `queued` (subscribed to the bus
    first, so the `message.sent` / `message.failed` event cannot slip past)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    with server.runtime.bus.subscribe(inbox["id"]) as events:
        while True:
            response = await server.http.get(
                f"/mailboxes/{inbox['id']}/messages/{message_id}",
                headers=server.auth(inbox["token"]),
                params={"mark_read": "false"},
            )
            assert response.status_code == 200, response.text
            message = response.json()["data"]
            if message["delivery_status"] != "queued":
                return message
            remaining = deadline - loop.time()
            assert remaining > 0, f"still queued after {timeout} s: {message}"
            await events.next(min(remaining, 1.0))
