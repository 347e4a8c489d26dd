"""Stop work whose client has gone.

uvicorn does not cancel a request handler when its client disconnects: it only reports the
disconnect to whoever next calls ASGI `receive()`. A long-poll or a WebSocket that waits for
mail would otherwise keep its bus subscription (and its task) until its own timeout, and
abandoned waits would pile up. So these handlers listen for the disconnect themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import anyio

__all__ = ["unless_disconnected"]

T = TypeVar("T")
_DISCONNECTS = ("http.disconnect", "websocket.disconnect")


async def _watch(
    receive: Callable[[], Awaitable[Mapping[str, Any]]], scope: anyio.CancelScope
) -> None:
    while (await receive())["type"] not in _DISCONNECTS:
        pass
    scope.cancel()


async def unless_disconnected(
    receive: Callable[[], Awaitable[Mapping[str, Any]]], work: Awaitable[T], gone: T
) -> T:
    """`await work`; if the client disconnects first, cancel `work` (so it releases what it
    holds) and return `gone` instead. `receive` is the request's or WebSocket's receive."""
    with anyio.CancelScope() as scope:
        watcher = asyncio.create_task(_watch(receive, scope))
        try:
            return await work
        finally:
            watcher.cancel()
    return gone
