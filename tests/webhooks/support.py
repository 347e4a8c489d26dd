"""Helpers for webhook tests: settings that reach a local receiver, registering an endpoint."""

from __future__ import annotations

import asyncio
from typing import Any

from inboxkit.bus import Subscription
from inboxkit.config import Settings
from tests.helpers import RunningServer

__all__ = ["FAST_RETRIES", "attempts", "hook_settings", "register"]

FAST_RETRIES = [0, 0.2, 0.2, 0.2]


def hook_settings(settings: Settings, **extra: Any) -> Settings:
    update: dict[str, Any] = {
        "webhook_allow_private": True,  # the receiver listens on 127.0.0.1
        "webhook_retry_schedule": FAST_RETRIES,
        "webhook_poll_interval": 1.0,
        "webhook_timeout": 10.0,
        **extra,
    }
    return settings.model_copy(update=update)


async def register(server: RunningServer, key: str, url: str, **body: Any) -> dict[str, Any]:
    response = await server.http.post(
        "/webhooks", headers=server.auth(key), json={"url": url, **body}
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def attempts(subscription: Subscription, count: int, timeout: float = 20.0) -> list[dict]:
    """The next `count` attempt reports from a webhook channel bus subscription, in order."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen: list[dict] = []
    while len(seen) < count:
        remaining = deadline - loop.time()
        assert remaining > 0, f"only {len(seen)} of {count} attempts reported: {seen}"
        event = await subscription.next(remaining)
        if event is not None and event.get("event") == "webhook.attempt":
            seen.append(event)
    return seen
