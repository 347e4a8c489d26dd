"""Helpers for the real-time tests: wait on observable state, never on the clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from tests.helpers import RunningServer

PING_INTERVAL = 0.5
# Background workers sleep in short-lived tasks running these; they come and go on their own
# schedule and would make a task count jitter.
_WORKER_SLEEPS = {"Event.wait", "Subscription.next"}


async def eventually(condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Return as soon as `condition()` holds; fail after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.005)


def task_count() -> int:
    """Tasks in this event loop, leaving out background workers' sleeping timers."""
    return sum(
        1
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "") not in _WORKER_SLEEPS
    )


async def subscribed(server: RunningServer, count: int = 1) -> None:
    """Until `count` consumers in the server hold a bus subscription."""
    await eventually(
        lambda: server.runtime.bus.subscriber_count() >= count,
        what=f"{count} bus subscriber(s)",
    )


def plus(address: str, tag: str) -> str:
    local, domain = address.split("@")
    return f"{local}+{tag}@{domain}"


async def wait(server: RunningServer, box: dict[str, Any], **params: Any) -> httpx.Response:
    params.setdefault("timeout", 30)
    return await server.http.get(
        f"/mailboxes/{box['id']}/wait", params=params, headers=server.auth(box["token"])
    )


async def messages(server: RunningServer, box: dict[str, Any]) -> list[dict[str, Any]]:
    """The mailbox's messages, oldest first."""
    response = await server.http.get(
        f"/mailboxes/{box['id']}/messages", headers=server.auth(box["token"])
    )
    assert response.status_code == 200, response.text
    return list(reversed(response.json()["data"]))
