"""The event bus: a wake-up signal after commits, never the source of truth.

Consumers (waiters, WebSocket and SSE streams, workers) re-read the database whenever they are
woken, and a database catch-up wakes them for anything the bus missed, so an event lost in
transit costs at most one poll interval, never a message.
"""

from inboxkit.bus.base import (
    ALL,
    RESYNC,
    SHUTDOWN,
    Bus,
    Channel,
    Event,
    EventKind,
    Subscription,
)
from inboxkit.bus.memory import MemoryBus


def create_bus(redis_url: str | None) -> Bus:
    if redis_url:
        from inboxkit.bus.redis import RedisBus

        return RedisBus(redis_url)
    return MemoryBus()


__all__ = [
    "ALL",
    "RESYNC",
    "SHUTDOWN",
    "Bus",
    "Channel",
    "Event",
    "EventKind",
    "Subscription",
    "MemoryBus",
    "create_bus",
]
