"""The bus interface and the per-process fan-out both implementations share.

A process holds one upstream connection (none for the memory bus) and fans each event out to
the local subscriptions for that event's channel: a mailbox (message and mailbox events) or a
webhook endpoint (its delivery attempt reports), so a mailbox id and a webhook id can never be
taken for one another. Subscribers treat an event as a wake-up: they re-read the database, so a
dropped or coalesced event costs time, never a message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from enum import StrEnum
from typing import Any, Final, Literal, Required, TypedDict

__all__ = [
    "Bus",
    "Channel",
    "Event",
    "EventKind",
    "Subscription",
    "ALL",
    "RESYNC",
    "SHUTDOWN",
    "route",
]

log = logging.getLogger(__name__)

EventKind = Literal[
    "message.received",  # an inbound message was stored (carries its summary)
    "message.stored",  # an outbound message was stored and queued for sending
    "message.sent",
    "message.failed",
    "mailbox.deleted",
    "mailbox.expired",
    "webhook.attempt",  # a webhook delivery attempt was made (on the webhook's channel)
    # Drafts (no mailbox: they only wake the webhook dispatcher and the drafts worker).
    "draft.created",  # a draft began to await review
    "draft.updated",  # a draft awaiting review was edited
    "draft.approved",
    "draft.sent",
    "draft.scheduled",  # a draft is due at some time: the drafts worker looks again
    "resync",
    "shutdown",
]


class Event(TypedDict, total=False):
    """A bus event, exactly as it travels (JSON over Redis). Which fields are set depends on
    `event`: mailbox events carry `mailbox_id` and `mailbox` (the address), message events
    also the message summary (JSON-ready); attempt reports carry `webhook_id`, `delivery_id`,
    `status_code`, `error` and `final`. `origin` is stamped by the Redis bus."""

    event: Required[EventKind]
    mailbox_id: str
    mailbox: str
    message: dict[str, Any]
    webhook_id: str
    delivery_id: str
    status_code: int | None
    error: str | None
    final: bool
    origin: str


class Channel(StrEnum):
    """What a subscription's id names: a mailbox, or a webhook endpoint."""

    MAILBOX = "mailbox"
    WEBHOOK = "webhook"


# A subscription's key: one channel and id, or ALL (every event, whatever its channel).
Key = tuple[Channel, str] | Literal["*"]
ALL: Final = "*"
# Local-only events. RESYNC: something may have been missed, re-read the database.
# SHUTDOWN: the process is stopping; long-polls answer now and streams end.
RESYNC: Final = "resync"
SHUTDOWN: Final = "shutdown"
# A subscriber only needs to know *that* something happened. Past this many unread events the
# oldest are dropped and replaced by one RESYNC, which costs the subscriber one database read.
QUEUE_LIMIT = 64
# Ids of messages whose events this process received are remembered this long, so the
# database catch-up does not wake anyone for a message the bus already announced.
REMEMBER_MS = 60_000
REMEMBER_MAX = 100_000


def route(event: Event) -> tuple[Channel, str] | None:
    """The channel and id an event is delivered on (ALL subscribers get it too)."""
    if event.get("event") == "webhook.attempt":
        webhook_id = event.get("webhook_id")
        return (Channel.WEBHOOK, webhook_id) if isinstance(webhook_id, str) else None
    mailbox_id = event.get("mailbox_id")
    return (Channel.MAILBOX, mailbox_id) if isinstance(mailbox_id, str) else None


class Subscription:
    """Events for one mailbox (or every mailbox, with ALL), for one local consumer (one task
    waits on it at a time). Kept small: a process may hold tens of thousands."""

    __slots__ = ("_bus", "key", "_events", "_waiter")

    def __init__(self, bus: Bus, key: Key):
        self._bus = bus
        self.key = key
        self._events: list[Event] = []
        self._waiter: asyncio.Future[None] | None = None

    def deliver(self, event: Event) -> None:
        if len(self._events) >= QUEUE_LIMIT:
            self._events = [{"event": RESYNC}]
        self._events.append(event)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, timeout: float | None) -> list[Event]:
        """Every event delivered since the last call, waiting up to `timeout` seconds for the
        first one; an empty list when the time passes quietly."""
        await self.wait_ready(timeout)
        return self.drain()

    async def next(self, timeout: float | None) -> Event | None:
        """The next event, or None when `timeout` seconds pass without one."""
        await self.wait_ready(timeout)
        return self._events.pop(0) if self._events else None

    def drain(self) -> list[Event]:
        """Every event delivered and not yet taken, without waiting."""
        events, self._events = self._events, []
        return events

    async def wait_ready(self, timeout: float | None) -> None:
        """Until an event is there to take, or `timeout` seconds."""
        if self._events or (timeout is not None and timeout <= 0):
            return
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(timeout):
                await self._waiter
        except TimeoutError:
            pass
        finally:
            self._waiter = None

    def close(self) -> None:
        self._bus._remove(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Bus(ABC):
    """Publish after commit; subscribe per mailbox. One upstream connection per process."""

    def __init__(self) -> None:
        self._subscriptions: dict[Key, set[Subscription]] = {}
        self._gap_listeners: list[Callable[[], None]] = []
        self._announced: dict[str, int] = {}  # message id -> when its event arrived, ms

    # -- local fan-out ----------------------------------------------------------------------

    def subscribe(self, key: str = ALL, *, channel: Channel = Channel.MAILBOX) -> Subscription:
        """Events for one mailbox (or, with `channel=Channel.WEBHOOK`, one webhook endpoint's
        attempt reports); every event on every channel with ALL."""
        full: Key = ALL if key == ALL else (channel, key)
        subscription = Subscription(self, full)
        self._subscriptions.setdefault(full, set()).add(subscription)
        return subscription

    def _remove(self, subscription: Subscription) -> None:
        group = self._subscriptions.get(subscription.key)
        if group is not None:
            group.discard(subscription)
            if not group:
                del self._subscriptions[subscription.key]

    def subscriber_count(self, mailbox_id: str | None = None) -> int:
        """Local consumers waiting on one mailbox, or on any mailbox (ALL subscriptions, held by
        background workers, are not counted)."""
        if mailbox_id is not None:
            return len(self._subscriptions.get((Channel.MAILBOX, mailbox_id), ()))
        return sum(len(group) for key, group in self._subscriptions.items() if key != ALL)

    def watched_mailboxes(self) -> list[str]:
        """Mailboxes that have at least one local subscriber."""
        return [key[1] for key in self._subscriptions if key != ALL and key[0] is Channel.MAILBOX]

    def wake(self, mailbox_id: str, event: Event) -> None:
        """Deliver a local-only event to this process's subscribers of one mailbox."""
        for subscription in tuple(self._subscriptions.get((Channel.MAILBOX, mailbox_id), ())):
            subscription.deliver(event)

    def wake_all(self, event: Event) -> None:
        """Deliver a local-only event to every subscriber in this process."""
        for group in tuple(self._subscriptions.values()):
            for subscription in tuple(group):
                subscription.deliver(event)

    def announced(self, message_id: str) -> bool:
        """Whether this process has received the event for that message."""
        return message_id in self._announced

    def _dispatch(self, event: Event) -> None:
        message = event.get("message")
        if isinstance(message, dict) and isinstance(message.get("id"), str):
            now = time.monotonic_ns() // 1_000_000
            announced = self._announced
            announced[message["id"]] = now
            # Insertion order is arrival order: forget from the front.
            while (
                len(announced) > REMEMBER_MAX
                or announced[next(iter(announced))] < now - REMEMBER_MS
            ):
                del announced[next(iter(announced))]
        target = route(event)
        keys: tuple[Key, ...] = (target, ALL) if target is not None else (ALL,)
        for key in keys:
            for subscription in tuple(self._subscriptions.get(key, ())):
                subscription.deliver(event)

    # -- gaps in the upstream feed ------------------------------------------------------------

    def on_gap(self, listener: Callable[[], None]) -> None:
        """Call `listener` whenever events may have been missed (e.g. after a reconnect)."""
        self._gap_listeners.append(listener)

    def _gap(self) -> None:
        # Workers watching every mailbox learn of it directly; per-mailbox consumers are woken
        # by the database catch-up, only where something was actually missed.
        for subscription in tuple(self._subscriptions.get(ALL, ())):
            subscription.deliver({"event": RESYNC})
        for listener in self._gap_listeners:
            try:
                listener()
            except Exception:
                log.exception("bus gap listener failed")

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    @abstractmethod
    async def publish(self, event: Event) -> None:
        """Send `event` to its channel's subscribers (and ALL's) in every process.
        Never raises and never waits on the network: the commit it follows already happened."""

    @abstractmethod
    async def healthy(self) -> bool: ...
