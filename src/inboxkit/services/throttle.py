"""Rate limits: how many requests of each kind a caller may make a minute (DESIGN §8).

Every REST request under `/api/v1` and every MCP tool call whose caller has a plan counts in
one bucket (`create`, `read`, `write` or `send`), against the plan's `<bucket>_per_minute`;
SMTP counts new sessions per peer (`smtp_connect`). Callers are counted by who they are: an API
key by its account, a mailbox token by its mailbox, a caller without a token by its address
(an IPv6 address by its /64, `netaddr.peer_key`).

The counting is the `limits` library's **moving window**: each admitted request is a
timestamp, and a request is admitted when fewer than `limit` of them fall in the last minute.
We chose it over the cheaper sliding-window counter because it is exact:

- a refusal's `Retry-After` is when the oldest counted request leaves the window, and waiting
  that long is always enough (the counter only estimates, from a weighted previous window);
- the small limits of the anonymous plan (3 creations a minute) hold exactly, also at a window
  boundary, where the counter can let a fourth one through.

Its cost is one entry per admitted request in the window, so at most `limit` per caller and
bucket, trimmed as it goes: a list in Redis, a Python list in memory. bench/ratelimit.py
measures what it adds to a request.

Where the counts live: in Redis when `INBOXKIT_REDIS_URL` is set, so every API and SMTP process
shares them (the check and the count are one Lua script, so two processes cannot both take the
last slot); otherwise in this process's memory. A Redis that cannot be reached fails open to a
per-process count, like the stream slots (`slots.py`): an outage must not turn every request
into an error, and an anonymous caller is still held to its limit by each process.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from inboxkit.errors import RateLimited
from inboxkit.netaddr import peer_key
from inboxkit.plan import Plan
from inboxkit.services.auth import Principal, PrincipalKind

if TYPE_CHECKING:
    from inboxkit.metrics import Metrics

__all__ = [
    "Bucket",
    "RateLimiter",
    "Verdict",
    "holder_of",
    "request_bucket",
    "WINDOW_SECONDS",
]

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60  # plans count per minute
KEY_PREFIX = "inboxkit:rate"
# After Redis fails, count in this process for this long before trying Redis again, so an
# unreachable Redis costs one connection timeout per interval, not one per request.
REDIS_RETRY_SECONDS = 5.0


class Bucket(StrEnum):
    """What a request is counted as; each plan bucket has its `<bucket>_per_minute` limit."""

    CREATE = "create"
    READ = "read"
    WRITE = "write"
    SEND = "send"
    # Counted elsewhere, named here so the metric has one label set: open waits and streams
    # (`slots.py`) and new SMTP sessions per peer.
    WAITS = "waits"
    SMTP_CONNECT = "smtp_connect"
    # Failed capture sign-ins (SMTP AUTH, the emulated send APIs) per client address: a
    # password guesser is slowed to a few tries a minute.
    CAPTURE_AUTH = "capture_auth"


# How a refusal names what was counted, and per whom.
_WHAT = {
    Bucket.CREATE: "inbox creations",
    Bucket.READ: "reads",
    Bucket.WRITE: "changes",
    Bucket.SEND: "sends",
    Bucket.SMTP_CONNECT: "new SMTP connections",
    Bucket.CAPTURE_AUTH: "failed sign-ins",
}
_PER = {"ip": "address", "account": "account", "mailbox": "mailbox"}
PLAN_BUCKETS = (Bucket.CREATE, Bucket.READ, Bucket.WRITE, Bucket.SEND)


# Routes outside the REST API that create a mailbox (the web UI's "New inbox").
CREATE_ROUTES = frozenset({"/ui/inboxes"})


def request_bucket(method: str, route: str) -> Bucket:
    """The bucket of a REST request, by its method and its route's path template
    (`/api/v1/mailboxes/{mailbox}/send`): creating a mailbox, sending (send, reply, forward),
    reading (GET, HEAD), or any other change."""
    method = method.upper()
    if method in ("GET", "HEAD"):
        return Bucket.READ
    if method == "POST":
        last = route.rstrip("/").rsplit("/", 1)[-1]
        if route.rstrip("/") in CREATE_ROUTES or (
            route.rstrip("/").endswith("/mailboxes") and "{" not in route
        ):
            return Bucket.CREATE
        if last in ("send", "reply", "forward"):
            return Bucket.SEND
    return Bucket.WRITE


def holder_of(principal: Principal) -> str:
    """Whose count a request goes to: `account:<id>` for an API key, `mailbox:<id>` for a
    mailbox token, `ip:<address>` (IPv6: its /64) for a caller without a token."""
    if principal.kind is PrincipalKind.MAILBOX:
        return f"mailbox:{principal.mailbox_id}"
    if principal.kind is PrincipalKind.API_KEY:
        return f"account:{principal.account_id}"
    return f"ip:{peer_key(principal.client_ip) if principal.client_ip else 'unknown'}"


@dataclass(frozen=True, slots=True)
class Verdict:
    """A counted request: the limit, what is left of it, and the seconds until the oldest
    counted request leaves the window (and one more is allowed)."""

    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        """The `RateLimit-*` response headers (IETF draft "RateLimit header fields for HTTP")."""
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }


def _storage_url(redis_url: str) -> str:
    """The `limits` storage URL for a redis-py URL (`redis://…` -> `async+redis://…`)."""
    if redis_url.startswith("unix://"):
        return "async+redis+unix://" + redis_url.removeprefix("unix://")
    return "async+" + redis_url


class RateLimiter:
    """Counts requests per bucket and holder over a moving window; built once per process.

    `window` is the window's length in seconds: 60 in the service (every plan limit is per
    minute); a test may shorten it to see a window pass."""

    def __init__(self, redis_url: str | None = None, metrics: Metrics | None = None):
        self.window = WINDOW_SECONDS
        self.metrics = metrics
        self._local = MovingWindowRateLimiter(MemoryStorage())
        self._shared: MovingWindowRateLimiter | None = None
        self._pool = None
        self._redis_down_until = 0.0
        self._degraded = False
        if redis_url:
            import redis.asyncio as aioredis

            # Our own pool, so `close()` can release its connections (the library has no close).
            # `connection_pool` is a documented option of the storage, though its annotation
            # only lists scalar options.
            self._pool = aioredis.ConnectionPool.from_url(
                redis_url, socket_connect_timeout=2, socket_timeout=2
            )
            storage: Storage = RedisStorage(
                _storage_url(redis_url),
                implementation="redispy",
                key_prefix=KEY_PREFIX,
                connection_pool=self._pool,  # type: ignore[arg-type]
            )
            self._shared = MovingWindowRateLimiter(storage)

    @property
    def shared(self) -> bool:
        """Whether the counts are kept in Redis (shared by every process)."""
        return self._shared is not None

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()

    # -- counting ------------------------------------------------------------------------

    async def hit(
        self, bucket: Bucket, holder: str, per_minute: int, *, plan: str | None = None
    ) -> Verdict:
        """Count one request of `holder` in `bucket`, at most `per_minute` per window; raise
        RateLimited (429, with `Retry-After` and the `RateLimit-*` headers) when it is over.
        `plan` names the plan the limit comes from, for the refusal's message."""
        if per_minute <= 0:
            raise self._refuse(bucket, holder, Verdict(0, 0, self.window), plan, used=0)
        item = RateLimitItemPerSecond(per_minute, self.window)
        admitted, verdict = await self._count(item, bucket, holder)
        if not admitted:
            raise self._refuse(bucket, holder, verdict, plan, used=per_minute - verdict.remaining)
        return verdict

    async def check(self, bucket: Bucket, holder: str, per_minute: int) -> None:
        """Raise RateLimited if `holder` has already used its `per_minute` in `bucket`,
        counting nothing (a failed sign-in is counted with `hit` only once it has failed)."""
        item = RateLimitItemPerSecond(per_minute, self.window)
        keys = (bucket.value, holder)
        limiter = self._local
        if self._shared is not None and time.monotonic() >= self._redis_down_until:
            limiter = self._shared
        try:
            allowed = await limiter.test(item, *keys)
            if allowed:
                return
            verdict = await self._verdict(limiter, item, keys)
        except Exception:  # Redis failing: `hit` degrades to this process; so does the check
            return
        raise self._refuse(bucket, holder, verdict, None, used=per_minute)

    async def admit(self, principal: Principal, bucket: Bucket) -> Verdict | None:
        """Count a request of `principal` against its plan's limit for `bucket`. None when
        nothing limits it (the bootstrap admin, or a plan without that limit): no headers."""
        plan = principal.plan
        if plan is None:
            return None
        limit = plan_limit(plan, bucket)
        if limit is None:
            return None
        return await self.hit(bucket, holder_of(principal), limit, plan=plan.name)

    async def _count(
        self, item: RateLimitItem, bucket: Bucket, holder: str
    ) -> tuple[bool, Verdict]:
        keys = (bucket.value, holder)
        if self._shared is not None and time.monotonic() >= self._redis_down_until:
            try:
                admitted = await self._shared.hit(item, *keys)
                verdict = await self._verdict(self._shared, item, keys)
            except Exception as exc:  # any Redis failure: fail open to this process's count
                if not self._degraded:
                    log.warning("rate limits: Redis unavailable (%s); counting per process", exc)
                self._degraded = True
                self._redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
            else:
                if self._degraded:
                    log.warning("rate limits: Redis is back; counting across processes again")
                    self._degraded = False
                return admitted, verdict
        admitted = await self._local.hit(item, *keys)
        return admitted, await self._verdict(self._local, item, keys)

    async def _verdict(
        self, limiter: MovingWindowRateLimiter, item: RateLimitItem, keys: tuple[str, str]
    ) -> Verdict:
        stats = await limiter.get_window_stats(item, *keys)
        reset = max(1, math.ceil(stats.reset_time - time.time()))
        return Verdict(item.amount, max(0, stats.remaining), min(reset, self.window))

    def _refuse(
        self, bucket: Bucket, holder: str, verdict: Verdict, plan: str | None, *, used: int
    ) -> RateLimited:
        if self.metrics is not None:
            self.metrics.rate_limited.labels(bucket.value).inc()
        by_address = holder.startswith("ip:")
        per = _PER.get(holder.partition(":")[0], "caller")
        what = _WHAT.get(bucket, "requests")
        retry = verdict.reset_seconds
        if plan is None:
            message = (
                f"At most {verdict.limit} {what} {_window(self.window)} are allowed per {per}; "
                f"retry in {retry} s."
            )
        else:
            advice = "use an API key" if by_address else "ask for a larger plan"
            if verdict.limit == 0:
                message = f"Plan '{plan}' allows no {what}; {advice}."
            else:
                message = (
                    f"Plan '{plan}' allows {verdict.limit} {what} {_window(self.window)} per "
                    f"{per}; retry in {retry} s or {advice}."
                )
        details: dict[str, object] = {"allowed": verdict.limit, "used": used}
        if bucket in PLAN_BUCKETS:
            details = {"limit": f"{bucket.value}_per_minute", **details}
        return RateLimited(
            message,
            retry_after=retry,
            headers={**verdict.headers(), "RateLimit-Remaining": "0"},
            details=details,
        )


def plan_limit(plan: Plan, bucket: Bucket) -> int | None:
    """The plan's per-minute limit for a request bucket (None: unlimited)."""
    if bucket not in PLAN_BUCKETS:
        return None
    limit: int | None = getattr(plan, f"{bucket.value}_per_minute")
    return limit


def _window(seconds: int) -> str:
    return "a minute" if seconds == WINDOW_SECONDS else f"every {seconds} s"
