"""The event bus: a wake-up signal after commits, never the source of truth.

Consumers (waiters, WebSocket and SSE streams) re-read the database whenever they are woken, and
also on a timer, so an event lost in transit costs at most one poll interval, never a message.
"""

from inboxkit.bus.base import Bus, Event, Subscription
from inboxkit.bus.memory import MemoryBus


def create_bus(redis_url: str | None) -> Bus:
    if redis_url:
        from inboxkit.bus.redis import RedisBus

        return RedisBus(redis_url)
    return MemoryBus()


__all__ = ["Bus", "Event", "Subscription", "MemoryBus", "create_bus"]
