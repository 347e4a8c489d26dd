"""Stream slots: how many long-polls, WebSockets and SSE streams one token holds at once.

Each of them pins a connection, a task and a bus subscription for up to a minute (a stream,
for ever), so one token could otherwise hold thousands. `WaitService` takes a slot for every
`wait` and every `follow` stream (REST, WebSocket, SSE and the MCP wait tools all go through
it) and gives it back however the wait or stream ends; past the limit the caller gets `429
rate_limited` with `Retry-After`. The limit is the server's `max_streams_per_token`, or the
caller's plan's `concurrent_waits` where that is lower.

Where the count lives:
- Without Redis, in this process (a dict of counters): exact, and per process — but without
  Redis there is only one API process that shares the bus.
- With Redis, in one sorted set per token shared by every API process. Each slot is a member
  whose score is a lease expiry; acquiring is one Lua script (drop expired members, count,
  add if under the limit), releasing is a `ZREM`. Every process renews the leases of the
  slots it holds every `LEASE_SECONDS / 3`, so a process that dies without releasing (killed,
  machine lost) frees its slots within `LEASE_SECONDS` instead of blocking its tokens for
  good. A Redis that cannot be reached fails open to the per-process count: an outage must
  not turn every wait into an error.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter

from inboxkit.errors import RateLimited
from inboxkit.metrics import Metrics
from inboxkit.plan import Plan
from inboxkit.services.auth import Principal, PrincipalKind

__all__ = ["StreamSlots", "Slot", "slot_holder", "LEASE_SECONDS", "RETRY_AFTER_SECONDS"]

log = logging.getLogger(__name__)

LEASE_SECONDS = 60
RETRY_AFTER_SECONDS = 5
KEY_PREFIX = "inboxkit:streams:"

# KEYS[1] the token's set; ARGV: now, limit, lease expiry, member, key ttl.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


def slot_holder(principal: Principal) -> str:
    """Whose slots a call uses: the API key, or the mailbox of a mailbox token."""
    if principal.kind is PrincipalKind.MAILBOX:
        return f"mailbox:{principal.mailbox_id}"
    return f"key:{principal.key_id or principal.account_id}"


class Slot:
    """One held slot; `release()` gives it back (idempotent, safe in any `finally`)."""

    __slots__ = ("_slots", "holder", "member", "_released")

    def __init__(self, slots: StreamSlots, holder: str, member: str | None):
        self._slots = slots
        self.holder = holder
        self.member = member  # the Redis member, or None when counted in this process only
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._slots._release(self)


class StreamSlots:
    """Counts the waits and streams each token holds and refuses one past `limit`; shared by
    every process through Redis when one is configured."""

    def __init__(self, limit: int, redis_url: str | None = None, metrics: Metrics | None = None):
        self.limit = limit
        self.metrics = metrics
        self._held: Counter[str] = Counter()  # slots taken in this process and not yet freed
        self._changed = asyncio.Condition()
        self._origin = uuid.uuid4().hex[:12]
        self._serial = 0
        self._leases: dict[str, str] = {}  # Redis member -> holder, for renewal
        self._tasks: set[asyncio.Task[None]] = set()
        self._renewer: asyncio.Task[None] | None = None
        self._redis = None
        if redis_url:
            import redis.asyncio as aioredis

            self._redis = aioredis.Redis.from_url(
                redis_url, socket_connect_timeout=2, socket_timeout=2
            )
            self._acquire_script = self._redis.register_script(_ACQUIRE)

    def held(self, holder: str) -> int:
        """Slots this process holds for `holder` (a release in progress still counts)."""
        return self._held[holder]

    async def wait_held(self, holder: str, count: int) -> None:
        """Return once this process holds at most `count` slots for `holder`."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._held[holder] <= count)

    async def start(self) -> None:
        if self._redis is not None and self._renewer is None:
            self._renewer = asyncio.create_task(self._renew(), name="inboxkit-stream-slots")

    async def close(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            await asyncio.gather(self._renewer, return_exceptions=True)
            self._renewer = None
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._redis is not None:
            await self._redis.aclose()

    # -- acquire -------------------------------------------------------------------------

    def limit_for(self, plan: Plan | None) -> int:
        """The most slots a holder on `plan` may hold: the server's limit, or the plan's
        `concurrent_waits` when that is lower."""
        if plan is not None and plan.concurrent_waits is not None:
            return min(plan.concurrent_waits, self.limit)
        return self.limit

    def _refuse(self, limit: int, plan: Plan | None) -> RateLimited:
        if self.metrics is not None:
            self.metrics.rate_limited.labels("waits").inc()
        if plan is not None and plan.concurrent_waits is not None and limit < self.limit:
            message = (
                f"Plan '{plan.name}' allows {limit} open waits and event streams at once per "
                "token; close one (or let a wait finish) and retry, or ask for a larger plan."
            )
        else:
            message = (
                f"This token already holds {limit} open waits and event streams, the most "
                "allowed at once; close one (or let a wait finish) and retry."
            )
        return RateLimited(message, retry_after=RETRY_AFTER_SECONDS)

    async def acquire(self, holder: str, plan: Plan | None = None) -> Slot:
        """Take a slot for `holder`, or raise RateLimited (429) when it holds its limit
        (`limit_for(plan)`)."""
        limit = self.limit_for(plan)
        if self._redis is None:
            return self._acquire_local(holder, limit, plan)
        self._serial += 1
        member = f"{self._origin}:{self._serial}"
        # Shielded: a caller cancelled mid-call (its client left) must not leave a slot
        # taken in Redis that nobody will release.
        attempt = asyncio.ensure_future(self._acquire_remote(holder, member, limit))
        try:
            admitted = await asyncio.shield(attempt)
        except asyncio.CancelledError:
            attempt.add_done_callback(self._undo_cancelled)
            raise
        if admitted is None:
            return self._acquire_local(holder, limit, plan)  # Redis unreachable: count here
        if not isinstance(admitted, Slot):
            raise self._refuse(limit, plan)
        return admitted

    def _undo_cancelled(self, attempt: asyncio.Future[Slot | bool | None]) -> None:
        if not attempt.cancelled() and attempt.exception() is None:
            slot = attempt.result()
            if isinstance(slot, Slot):
                slot.release()

    def _acquire_local(self, holder: str, limit: int, plan: Plan | None) -> Slot:
        if self._held[holder] >= limit:
            raise self._refuse(limit, plan)
        self._held[holder] += 1
        return Slot(self, holder, None)

    async def _acquire_remote(self, holder: str, member: str, limit: int) -> Slot | bool | None:
        now = time.time()
        try:
            admitted = await self._acquire_script(
                keys=[KEY_PREFIX + holder],
                args=[now, limit, now + LEASE_SECONDS, member, 2 * LEASE_SECONDS],
            )
        except Exception as exc:  # any Redis failure: fail open to the local count
            log.warning("stream slots: Redis unavailable (%s); counting per process", exc)
            return None
        if not admitted:
            return False
        self._held[holder] += 1
        self._leases[member] = holder
        return Slot(self, holder, member)

    # -- release -------------------------------------------------------------------------

    def _release(self, slot: Slot) -> None:
        if slot.member is None:
            self._forget(slot.holder)
            return
        self._leases.pop(slot.member, None)
        task = asyncio.get_running_loop().create_task(self._release_remote(slot))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _release_remote(self, slot: Slot) -> None:
        assert self._redis is not None and slot.member is not None
        try:
            await self._redis.zrem(KEY_PREFIX + slot.holder, slot.member)
        except Exception as exc:  # the lease runs out on its own
            log.warning("stream slots: could not release a slot (%s); its lease will expire", exc)
        finally:
            # Counted as held until Redis has it back, so `wait_held` means "free everywhere".
            self._forget(slot.holder)

    def _forget(self, holder: str) -> None:
        self._held[holder] -= 1
        if self._held[holder] <= 0:
            del self._held[holder]
        task = asyncio.get_running_loop().create_task(self._notify())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _renew(self) -> None:
        assert self._redis is not None
        while True:
            await asyncio.sleep(LEASE_SECONDS / 3)
            if not self._leases:
                continue
            expiry = time.time() + LEASE_SECONDS
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for member, holder in list(self._leases.items()):
                        pipe.zadd(KEY_PREFIX + holder, {member: expiry}, xx=True)
                        pipe.expire(KEY_PREFIX + holder, 2 * LEASE_SECONDS)
                    await pipe.execute()
            except Exception as exc:
                log.warning("stream slots: could not renew leases (%s)", exc)
