"""Redis pub/sub bus: one subscription per process, fanned out to local consumers.

Pub/sub delivers only to connected subscribers, so after any reconnect every local consumer is
woken to re-read the database; that is what makes a Redis restart cost a poll, not a message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random

import redis.asyncio as aioredis

from inboxkit.bus.base import Bus, Event

__all__ = ["RedisBus"]

log = logging.getLogger(__name__)
CHANNEL = "inboxkit:events"


class RedisBus(Bus):
    def __init__(self, url: str):
        super().__init__()
        self.url = url
        self._client = aioredis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="inboxkit-redis-bus")
        try:
            await asyncio.wait_for(self._connected.wait(), 5)
        except TimeoutError:
            log.warning("Redis bus not connected yet; consumers fall back to polling")

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        await self._client.aclose()

    async def publish(self, event: Event) -> None:
        try:
            await self._client.publish(CHANNEL, json.dumps(event, default=str))
        except Exception as exc:  # the commit already happened; consumers will poll
            log.warning("Redis publish failed (%s); consumers will catch up by polling", exc)

    async def healthy(self) -> bool:
        try:
            return bool(await self._client.ping()) and self._connected.is_set()
        except Exception:
            return False

    async def _listen(self) -> None:
        delay = 0.1
        while True:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(CHANNEL)
                self._connected.set()
                self._wake_everyone()
                delay = 0.1
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is None or message.get("type") != "message":
                        continue
                    try:
                        self._dispatch(json.loads(message["data"]))
                    except (ValueError, TypeError):
                        log.warning("ignoring malformed bus message")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._connected.clear()
                log.warning("Redis bus connection lost (%s); reconnecting in %.1fs", exc, delay)
                await asyncio.sleep(delay + random.random() * delay)
                delay = min(delay * 2, 5.0)
            finally:
                try:
                    await pubsub.aclose()
                except Exception:
                    pass
