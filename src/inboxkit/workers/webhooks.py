"""The webhook dispatcher: claims due deliveries, POSTs them signed, records and retries.

Deliveries are queued by `services/webhooks.py` in the transaction that made the change they
announce; workers in any number of processes claim due rows (see `store/queue.py`) and POST
them, signed per the Standard Webhooks specification:

    webhook-id:        the delivery's id, the same on every retry (receivers dedupe on it)
    webhook-timestamp: Unix seconds of this attempt
    webhook-signature: v1,<base64 HMAC-SHA256 over "{id}.{timestamp}.{body}">

keyed with the endpoint's secret (`whsec_<base64>`, shown once). A 2xx answer is success;
anything else, a redirect included, is retried on `webhook_retry_schedule`; 410 Gone disables
the endpoint. Every attempt is logged with its status and latency.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit import __version__
from inboxkit.bus import Bus
from inboxkit.config import Settings
from inboxkit.services.egress import Destination, UnsafeDestination
from inboxkit.services.webhooks import EVENTS
from inboxkit.store import webhooks as rows
from inboxkit.store.batch import CommitBatcher
from inboxkit.store.db import Database
from inboxkit.store.dialect import Dialect
from inboxkit.store.tables import WebhookDeliveryStatus, utcnow, webhook_deliveries
from inboxkit.workers.queue import Dispatcher, Waker, retry_at

__all__ = ["WebhookDispatcher", "sign", "USER_AGENT"]

log = logging.getLogger(__name__)

USER_AGENT = f"inboxkit-webhooks/{__version__}"


def sign(secret: str, webhook_id: str, timestamp: int, body: str) -> str:
    """The `webhook-signature` header value for one attempt (Standard Webhooks, v1)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{webhook_id}.{timestamp}.{body}".encode()
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class WebhookDispatcher:
    """Makes delivery attempts: `step` is one pass of the worker loop, `attempt` one attempt
    now (the test endpoint of `WebhookService` makes its first attempt here too)."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        dialect: Dialect,
        bus: Bus,
        batcher: CommitBatcher,
        vet: Callable[[str], Awaitable[Destination]],
    ):
        self.settings = settings
        self.db = db
        self.bus = bus
        self.batcher = batcher
        # The endpoint URL check, which also picks the address to connect to; given by the
        # service, whose resolver (replaceable in tests) it uses.
        self.vet = vet
        self.listening = True  # an enabled endpoint existed at the last look
        self._looked_at = float("-inf")
        self.dispatcher = Dispatcher(
            db,
            webhook_deliveries,
            WebhookDeliveryStatus.PENDING,
            # Woken by the commits that queue deliveries, but only while an endpoint exists:
            # otherwise every received message would cost the dispatcher a query for nothing.
            Waker(bus, wake_on=frozenset(EVENTS), gate=lambda: self.listening),
            concurrency=settings.webhook_concurrency,
            poll_interval=settings.webhook_poll_interval,
            lease_seconds=settings.webhook_lease_seconds,
            dialect=dialect,
            jobs=self._attempts,
            prune=self._prune,
            name="webhook",
            job="webhook attempt",
        )
        timeout = httpx.Timeout(settings.webhook_timeout)
        verify: ssl.SSLContext | bool = True
        if settings.webhook_ca_bundle is not None:
            verify = ssl.create_default_context(cafile=str(settings.webhook_ca_bundle))
        common: dict[str, Any] = {
            "timeout": timeout,
            "verify": verify,
            "follow_redirects": False,
            "trust_env": False,  # a proxy from the environment would bypass the address check
            "headers": {"User-Agent": USER_AGENT},
        }
        self._http = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=settings.webhook_concurrency), **common
        )
        # Connections are pooled by address; with TLS a pooled connection was verified for
        # one host name, so HTTPS connections are never reused for another request.
        self._https = httpx.AsyncClient(
            limits=httpx.Limits(
                max_connections=settings.webhook_concurrency, max_keepalive_connections=0
            ),
            **common,
        )
        self.attempts_made = 0  # by this process, since start

    def listen(self) -> None:
        """An endpoint was just created here: events may queue deliveries from now on."""
        self.listening = True

    async def step(self) -> int:
        """One pass of the dispatcher: start attempts for due deliveries (up to the concurrency
        limit), or sleep until there may be some. Returns how many attempts it started."""
        await self._look_for_endpoints()
        return await self.dispatcher.step()

    async def _look_for_endpoints(self) -> None:
        """Refresh `listening` at most once per poll interval (an endpoint created in another
        process is noticed within one interval; until then polling delivers its events)."""
        moment = time.monotonic()
        if moment - self._looked_at < self.settings.webhook_poll_interval:
            return
        self._looked_at = moment
        self.listening = await rows.any_enabled(self.db)

    async def _attempts(
        self, claimed: Sequence[Any], token: str
    ) -> Sequence[Coroutine[Any, Any, None]]:
        hooks = await rows.endpoints(self.db, {row.webhook_id for row in claimed})
        return [
            self.attempt(row.id, token, row.attempts, row.payload, hooks.get(row.webhook_id))
            for row in claimed
        ]

    async def _post(self, hook: Any, delivery_id: str, body: str) -> tuple[int | None, str | None]:
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": delivery_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(hook.secret, delivery_id, timestamp, body),
        }
        try:
            async with asyncio.timeout(self.settings.webhook_timeout):
                dest = await self.vet(hook.url)
                headers["host"] = dest.host_header
                extensions: dict[str, Any] = {}
                if dest.scheme == "https" and dest.sni_hostname:
                    extensions["sni_hostname"] = dest.sni_hostname
                client = self._https if dest.scheme == "https" else self._http
                # Connect to the vetted address; the body of the answer is never read.
                async with client.stream(
                    "POST",
                    dest.connect_url,
                    content=body.encode(),
                    headers=headers,
                    extensions=extensions,
                ) as response:
                    status = response.status_code
        except UnsafeDestination as exc:
            return None, exc.message
        except TimeoutError:
            return None, f"no answer within {self.settings.webhook_timeout:g} s"
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
        if 200 <= status < 300:
            return status, None
        if 300 <= status < 400:
            return status, f"HTTP {status}: redirects are not followed"
        return status, f"HTTP {status}"

    async def attempt(
        self, delivery_id: str, token: str, attempts: int, body: str, hook: Any
    ) -> None:
        """Make one attempt and record it; only the holder of `token` may change the row."""
        enabled = hook is not None and hook.enabled
        status: int | None
        error: str | None
        if not enabled:
            status, error, latency_ms = None, "the endpoint is disabled", 0
        else:
            started = time.perf_counter()
            self.attempts_made += 1
            status, error = await self._post(hook, delivery_id, body)
            latency_ms = int((time.perf_counter() - started) * 1000)
        now = utcnow()
        done = {
            "locked_until": None,
            "lock_token": None,
            "last_status": status,
            "last_error": error,
        }
        if error is None:
            values = {**done, "status": WebhookDeliveryStatus.DELIVERED, "finished_at": now}
        elif status == 410 or not enabled:
            values = {**done, "status": WebhookDeliveryStatus.FAILED, "finished_at": now}
        else:
            retry = retry_at(self.settings.webhook_retry_schedule, attempts, now)
            if retry is None:
                values = {**done, "status": WebhookDeliveryStatus.FAILED, "finished_at": now}
            else:
                values = {**done, "next_attempt_at": retry}

        async def record(conn: AsyncConnection) -> None:
            if enabled:
                ours = await rows.record_attempt(
                    conn,
                    delivery_id,
                    token,
                    values,
                    attempted_at=now,
                    status_code=status,
                    error=error,
                    latency_ms=latency_ms,
                )
            else:
                ours = await rows.update_delivery(conn, delivery_id, token, values)
            if not ours:
                log.info("webhook delivery %s was taken over by another worker", delivery_id)
            if status == 410 and hook is not None:
                reason = f"The endpoint answered 410 Gone at {now.isoformat()}."
                await rows.disable_endpoint(conn, hook.id, reason, now, but=delivery_id)

        # Attempts finishing together share one commit (and one fsync on SQLite).
        await self.batcher.submit(record)
        if hook is not None:
            # Attempt reports go to the endpoint's own bus channel (the delivery log, live).
            await self.bus.publish(
                {
                    "event": "webhook.attempt",
                    "webhook_id": hook.id,
                    "delivery_id": delivery_id,
                    "status_code": status,
                    "error": error,
                    "final": values.get("status")
                    in (WebhookDeliveryStatus.DELIVERED, WebhookDeliveryStatus.FAILED),
                }
            )

    async def _prune(self) -> None:
        """Forget finished deliveries older than the retention period."""
        await rows.prune(self.db, utcnow() - timedelta(days=self.settings.webhook_retention_days))

    async def close(self) -> None:
        """Stop in-flight attempts and hand their rows back, so a restart resumes at once."""
        await self.dispatcher.close()
        await self._http.aclose()
        await self._https.aclose()
