"""The bus interface and the per-process fan-out both implementations share."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from typing import Any

__all__ = ["Bus", "Event", "Subscription", "ALL"]

Event = dict[str, Any]
ALL = "*"
# Subscribers only need to know *that* something happened; a full queue drops the newest
# event, which is harmless because the consumer re-reads the database when it drains.
QUEUE_SIZE = 256


class Subscription:
    """Events for one mailbox (or every mailbox, with ALL) delivered to one local consumer."""

    def __init__(self, bus: Bus, key: str):
        self._bus = bus
        self.key = key
        self.queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)

    def deliver(self, event: Event) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            pass

    async def next(self, timeout: float) -> Event | None:
        """The next event, or None when `timeout` seconds pass without one."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    def drain(self) -> list[Event]:
        events = []
        while not self.queue.empty():
            events.append(self.queue.get_nowait())
        return events

    def close(self) -> None:
        self._bus._remove(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Bus(ABC):
    """Publish after commit; subscribe per mailbox. One upstream connection per process."""

    def __init__(self) -> None:
        self._subscriptions: dict[str, set[Subscription]] = {}

    def subscribe(self, mailbox_id: str = ALL) -> Subscription:
        subscription = Subscription(self, mailbox_id)
        self._subscriptions.setdefault(mailbox_id, set()).add(subscription)
        return subscription

    def _remove(self, subscription: Subscription) -> None:
        group = self._subscriptions.get(subscription.key)
        if group is not None:
            group.discard(subscription)
            if not group:
                del self._subscriptions[subscription.key]

    def subscriber_count(self) -> int:
        return sum(len(group) for group in self._subscriptions.values())

    def _dispatch(self, event: Event) -> None:
        for key in (event.get("mailbox_id"), ALL):
            for subscription in tuple(self._subscriptions.get(key, ())):
                subscription.deliver(event)

    def _wake_everyone(self) -> None:
        """After a gap in the upstream feed: every consumer re-reads the database."""
        for group in tuple(self._subscriptions.values()):
            for subscription in tuple(group):
                subscription.deliver({"event": "resync"})

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    @abstractmethod
    async def publish(self, event: Event) -> None: ...

    @abstractmethod
    async def healthy(self) -> bool: ...
