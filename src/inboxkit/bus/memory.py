"""In-process bus: the embedded default, for a single process."""

from __future__ import annotations

from inboxkit.bus.base import Bus, Event

__all__ = ["MemoryBus"]


class MemoryBus(Bus):
    """The bus of a single process: events go straight to its own subscribers, with nothing to
    connect to."""

    async def publish(self, event: Event) -> None:
        self._dispatch(event)

    async def healthy(self) -> bool:
        return True
