"""Redis pub/sub bus: one subscription per process, fanned out to local consumers.

- `publish` hands the event to this process's own subscribers at once and queues it for Redis;
  a background task sends the queue (pipelined) so a slow or absent Redis never delays the
  caller — the SMTP `250` waits for the database commit, not for the bus. Events that cannot
  be sent within `STALE_AFTER` seconds are dropped: by then the database catch-up has run.
- Each event carries this process's `origin`, so the copy that comes back from Redis is not
  delivered twice.
- Pub/sub only reaches connected subscribers, so whenever the subscription is (re)established
  the bus reports a gap and the waiters re-read the database (`Bus.on_gap`). Reconnects back
  off exponentially with jitter, up to `MAX_BACKOFF` seconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import uuid
from collections import deque
from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from inboxkit.bus.base import Bus, Event

__all__ = ["RedisBus", "CHANNEL"]

log = logging.getLogger(__name__)

CHANNEL = "inboxkit:events"
OUTBOX_LIMIT = 10_000
PIPELINE_BATCH = 256
STALE_AFTER = 10.0
MIN_BACKOFF = 0.05
MAX_BACKOFF = 5.0
HEALTH_TIMEOUT = 2.0


def _backoff(delay: float) -> float:
    return delay / 2 + random.random() * delay / 2


def _decode(data: Any) -> Event | None:
    """An event as it came off the wire (the JSON `publish` sent), or None if it is not one."""
    try:
        event = json.loads(data)
    except (ValueError, TypeError):
        return None
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        return None
    return cast(Event, event)


class RedisBus(Bus):
    """The bus shared by several processes through Redis pub/sub; a slow or absent Redis never
    delays a publisher (see the module doc)."""

    def __init__(self, url: str):
        super().__init__()
        self.url = url
        self.origin = uuid.uuid4().hex[:16]
        # No client-side retries: both loops below own their retry policy, and a command that
        # retried internally would hold up everything queued behind it.
        self._client = aioredis.Redis.from_url(
            url,
            socket_connect_timeout=2,
            socket_timeout=5,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=15,
        )
        self._outbox: deque[tuple[float, str]] = deque()
        self._outbox_ready = asyncio.Event()
        self._drained = asyncio.Event()
        self._subscribed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.published = 0
        self.dropped = 0

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="inboxkit-redis-listen"),
            asyncio.create_task(self._send(), name="inboxkit-redis-publish"),
        ]
        try:
            async with asyncio.timeout(5):
                await self._subscribed.wait()
        except TimeoutError:
            log.warning("Redis bus not connected yet; waiters rely on database polling meanwhile")

    async def close(self) -> None:
        if self._outbox and self._subscribed.is_set():
            try:  # best effort: hand over what is queued before going away
                async with asyncio.timeout(1):
                    await self._drained.wait()
            except TimeoutError:
                pass
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self._client.aclose()

    async def publish(self, event: Event) -> None:
        event = event.copy()
        event["origin"] = self.origin
        self._dispatch(event)
        loop = asyncio.get_running_loop()
        if len(self._outbox) >= OUTBOX_LIMIT:
            self._outbox.popleft()
            self.dropped += 1
        self._outbox.append((loop.time(), json.dumps(event, default=str)))
        self._drained.clear()
        self._outbox_ready.set()

    async def healthy(self) -> bool:
        if not self._subscribed.is_set():
            return False
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT):
                return bool(await self._client.ping())
        except Exception:
            return False

    # -- background loops ---------------------------------------------------------------------

    async def _send(self) -> None:
        loop = asyncio.get_running_loop()
        delay = MIN_BACKOFF
        failing = False
        while True:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            while self._outbox:
                cutoff = loop.time() - STALE_AFTER
                while self._outbox and self._outbox[0][0] < cutoff:
                    self._outbox.popleft()
                    self.dropped += 1
                batch = [
                    self._outbox.popleft() for _ in range(min(len(self._outbox), PIPELINE_BATCH))
                ]
                if not batch:
                    break
                try:
                    if len(batch) == 1:
                        await self._client.publish(CHANNEL, batch[0][1])
                    else:
                        async with self._client.pipeline(transaction=False) as pipe:
                            for _, payload in batch:
                                pipe.publish(CHANNEL, payload)
                            await pipe.execute()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if not failing:
                        log.warning(
                            "Redis publish failed (%s); waiters will catch up from the database",
                            exc,
                        )
                    failing = True
                    self._outbox.extendleft(reversed(batch))  # retried unless stale by then
                    while len(self._outbox) > OUTBOX_LIMIT:
                        self._outbox.popleft()
                        self.dropped += 1
                    await asyncio.sleep(_backoff(delay))
                    delay = min(delay * 2, MAX_BACKOFF)
                    continue
                self.published += len(batch)
                if failing:
                    log.warning("Redis publish recovered")
                failing, delay = False, MIN_BACKOFF
            if not self._outbox:
                self._drained.set()

    async def _listen(self) -> None:
        delay = MIN_BACKOFF
        while True:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(CHANNEL)
                self._subscribed.set()
                # Anything published while we were not subscribed is gone for us.
                self._gap()
                delay = MIN_BACKOFF
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is None or message.get("type") != "message":
                        continue
                    event = _decode(message["data"])
                    if event is None:
                        log.warning("ignoring a malformed bus message")
                    elif event.get("origin") != self.origin:
                        self._dispatch(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._subscribed.is_set():
                    log.warning("Redis bus connection lost (%s); reconnecting", exc)
                self._subscribed.clear()
                await asyncio.sleep(_backoff(delay))
                delay = min(delay * 2, MAX_BACKOFF)
            finally:
                self._subscribed.clear()
                try:
                    await pubsub.aclose()
                except Exception:
                    pass
