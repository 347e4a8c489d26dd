"""Webhooks: endpoints per account, a durable delivery queue, signed and retried delivery.

Events are queued as rows in the same transaction as the change they announce (a stored
message, a deleted or expired mailbox, a sent or failed message), so a crash can never commit
the change and lose its notification. Workers in any number of processes claim due rows (see
`queue.py`) and POST them, signed per the Standard Webhooks specification:

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
import json
import logging
import secrets
import ssl
import time
from collections.abc import Coroutine, Sequence
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit import __version__
from inboxkit.bus import Bus
from inboxkit.config import Settings
from inboxkit.errors import NotFound, QuotaExceeded, Resource, ValidationFailed
from inboxkit.ids import new_id
from inboxkit.records import jsonable
from inboxkit.services.auth import Principal
from inboxkit.services.egress import (
    Destination,
    Resolver,
    UnsafeDestination,
    system_resolver,
    vet,
)
from inboxkit.services.mailboxes import MailboxService, decode_cursor, encode_cursor
from inboxkit.services.queue import Dispatcher, Waker, retry_at
from inboxkit.services.ratelimit import SlidingWindow
from inboxkit.store.batch import CommitBatcher, WriteFn
from inboxkit.store.db import Database
from inboxkit.store.tables import (
    mailboxes,
    utcnow,
    webhook_attempts,
    webhook_deliveries,
    webhooks,
)

__all__ = ["EVENTS", "TEST_EVENT", "WebhookService", "sign"]

log = logging.getLogger(__name__)

EVENTS = (
    "message.received",
    "message.sent",
    "message.failed",
    "mailbox.expired",
    "mailbox.deleted",
)
TEST_EVENT = "webhook.test"
MAX_WEBHOOKS_PER_ACCOUNT = 100
USER_AGENT = f"inboxkit-webhooks/{__version__}"


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, webhook_id: str, timestamp: int, body: str) -> str:
    """The `webhook-signature` header value for one attempt (Standard Webhooks, v1)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{webhook_id}.{timestamp}.{body}".encode()
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def _body(event: str, data: dict[str, Any]) -> str:
    payload = {"type": event, "timestamp": jsonable(utcnow()), "data": jsonable(data)}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def _public(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "url": row.url,
        "mailbox_id": row.mailbox_id,
        "events": row.events,
        "description": row.description,
        "enabled": row.enabled,
        "disabled_reason": row.disabled_reason,
        "created_at": row.created_at,
    }


def _delivery(row: Any, attempts: list[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "webhook_id": row.webhook_id,
        "event": row.event,
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at if row.status == "pending" else None,
        "last_status": row.last_status,
        "last_error": row.last_error,
        "created_at": row.created_at,
        "finished_at": row.finished_at,
        "payload": json.loads(row.payload),
        "attempt_log": [
            {
                "attempted_at": a.attempted_at,
                "status_code": a.status_code,
                "error": a.error,
                "latency_ms": a.latency_ms,
            }
            for a in attempts
        ],
    }


class WebhookService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        bus: Bus,
        mailboxes: MailboxService,
        batcher: CommitBatcher | None = None,
        resolver: Resolver = system_resolver,
    ):
        self.settings = settings
        self.db = db
        self.batcher = batcher
        self.bus = bus
        self.mailboxes = mailboxes
        self.resolver = resolver
        self._listening = True  # an enabled endpoint existed at the last look
        self._looked_at = float("-inf")
        self.dispatcher = Dispatcher(
            db,
            webhook_deliveries,
            "pending",
            # Woken by the commits that queue deliveries, but only while an endpoint exists:
            # otherwise every received message would cost the dispatcher a query for nothing.
            Waker(bus, wake_on=frozenset(EVENTS), gate=lambda: self._listening),
            concurrency=settings.webhook_concurrency,
            poll_interval=settings.webhook_poll_interval,
            lease_seconds=settings.webhook_lease_seconds,
            batcher=batcher,
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
        self.test_limit = SlidingWindow(
            db,
            limit=settings.webhook_test_rate_limit,
            window=settings.webhook_test_rate_window,
            what="webhook tests",
            per="account",
        )

    async def _write(self, write: WriteFn) -> Any:
        if self.batcher is not None:
            return await self.batcher.submit(write)
        async with self.db.write() as conn:
            return await write(conn)

    async def _vet(self, url: str) -> Destination:
        return await vet(
            url,
            allow_private=self.settings.webhook_allow_private,
            allowed_ports=frozenset(self.settings.webhook_allowed_ports),
            resolver=self.resolver,
        )

    # -- endpoints ---------------------------------------------------------------------------

    async def create(
        self,
        principal: Principal,
        *,
        url: str,
        mailbox: str | None = None,
        events: list[str] | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        """Register an endpoint. The signing secret is in the result and never shown again."""
        principal.require("webhooks")
        if events is not None and not events:
            raise ValidationFailed("Choose at least one event, or leave `events` out for all.")
        chosen = list(dict.fromkeys(events or EVENTS))
        unknown = [event for event in chosen if event not in EVENTS]
        if unknown:
            raise ValidationFailed(
                f"Unknown event(s): {', '.join(unknown)}. Choose from: {', '.join(EVENTS)}."
            )
        mailbox_id = (await self.mailboxes.find(principal, mailbox)).id if mailbox else None
        await self._vet(url)
        row = {
            "id": new_id(),
            "account_id": principal.account_id,
            "mailbox_id": mailbox_id,
            "url": url,
            "events": chosen,
            "secret": new_secret(),
            "description": description,
            "enabled": True,
            "disabled_reason": None,
            "created_at": utcnow(),
        }
        async with self.db.write() as conn:
            count = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(webhooks)
                .where(webhooks.c.account_id == principal.account_id)
            )
            if count >= MAX_WEBHOOKS_PER_ACCOUNT:
                raise QuotaExceeded(
                    f"An account may have at most {MAX_WEBHOOKS_PER_ACCOUNT} webhooks; delete one first."
                )
            await conn.execute(webhooks.insert().values(**row))
        self._listening = True
        return {**_public(SimpleNamespace(**row)), "secret": row["secret"]}

    async def _find(self, conn: AsyncConnection, principal: Principal, webhook_id: str) -> Any:
        principal.require("webhooks")
        row = (
            await conn.execute(
                sa.select(webhooks).where(
                    webhooks.c.id == webhook_id, webhooks.c.account_id == principal.account_id
                )
            )
        ).first()
        if row is None:  # another account's endpoint is indistinguishable from none
            raise NotFound("No such webhook.", resource=Resource.WEBHOOK)
        return row

    async def get(self, principal: Principal, webhook_id: str) -> dict[str, Any]:
        async with self.db.read() as conn:
            return _public(await self._find(conn, principal, webhook_id))

    async def list(
        self, principal: Principal, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        principal.require("webhooks")
        query = sa.select(webhooks).where(webhooks.c.account_id == principal.account_id)
        if cursor:
            query = query.where(webhooks.c.id < decode_cursor(cursor))
        async with self.db.read() as conn:
            rows = (await conn.execute(query.order_by(webhooks.c.id.desc()).limit(limit + 1))).all()
        page = rows[:limit]
        next_cursor = encode_cursor(page[-1].id) if len(rows) > limit else None
        return [_public(row) for row in page], next_cursor

    async def delete(self, principal: Principal, webhook_id: str) -> None:
        """Remove an endpoint; its queued deliveries and their log go with it."""
        async with self.db.write() as conn:
            row = await self._find(conn, principal, webhook_id)
            await conn.execute(webhooks.delete().where(webhooks.c.id == row.id))

    async def deliveries(
        self,
        principal: Principal,
        webhook_id: str,
        *,
        limit: int = 50,
        cursor: str | None = None,
        status: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The endpoint's deliveries newest first, each with its attempt log."""
        d = webhook_deliveries.c
        async with self.db.read() as conn:
            row = await self._find(conn, principal, webhook_id)
            query = sa.select(webhook_deliveries).where(d.webhook_id == row.id)
            if status:
                query = query.where(d.status == status)
            if cursor:
                query = query.where(d.id < decode_cursor(cursor))
            rows = (await conn.execute(query.order_by(d.id.desc()).limit(limit + 1))).all()
            page = rows[:limit]
            attempts: dict[str, list[Any]] = {r.id: [] for r in page}
            if page:
                for attempt in await conn.execute(
                    sa.select(webhook_attempts)
                    .where(webhook_attempts.c.delivery_id.in_(list(attempts)))
                    .order_by(webhook_attempts.c.id)
                ):
                    attempts[attempt.delivery_id].append(attempt)
        next_cursor = encode_cursor(page[-1].id) if len(rows) > limit else None
        return [_delivery(r, attempts[r.id]) for r in page], next_cursor

    async def _delivery_by_id(self, delivery_id: str) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id)
                )
            ).one()
            attempts = (
                await conn.execute(
                    sa.select(webhook_attempts)
                    .where(webhook_attempts.c.delivery_id == delivery_id)
                    .order_by(webhook_attempts.c.id)
                )
            ).all()
        return _delivery(row, list(attempts))

    async def test(self, principal: Principal, webhook_id: str) -> dict[str, Any]:
        """Send a `webhook.test` event now and return the delivery with this first attempt.
        It is queued like any event, so a failed test is retried on the usual schedule."""
        now = utcnow()
        token = new_id()
        delivery_id = new_id()
        async with self.db.write() as conn:
            hook = await self._find(conn, principal, webhook_id)
            # Each test is an outbound request on demand: limited per account, in the database
            # so the limit holds however many API processes there are.
            await self.test_limit.take(conn, f"webhook-test:{hook.account_id}")
            body = _body(
                TEST_EVENT,
                {"webhook_id": hook.id, "message": "A test event sent from inboxkit."},
            )
            await conn.execute(
                webhook_deliveries.insert().values(
                    id=delivery_id,
                    webhook_id=hook.id,
                    event=TEST_EVENT,
                    payload=body,
                    status="pending",
                    attempts=1,
                    next_attempt_at=now,
                    locked_until=now + timedelta(seconds=self.settings.webhook_lease_seconds),
                    lock_token=token,
                    created_at=now,
                )
            )
        await self._attempt(delivery_id, token, 1, body, hook)
        return await self._delivery_by_id(delivery_id)

    # -- queueing (inside the transaction that made the change) --------------------------------

    async def _endpoints(self, conn: AsyncConnection, mailbox_ids: list[str]) -> list[Any]:
        """Enabled endpoints listening to any of these mailboxes, one row per pair."""
        if not mailbox_ids:
            return []
        w = webhooks.c
        return (
            await conn.execute(
                sa.select(w.id, w.events, mailboxes.c.id.label("mailbox_id"), mailboxes.c.address)
                .select_from(webhooks.join(mailboxes, mailboxes.c.account_id == w.account_id))
                .where(
                    mailboxes.c.id.in_(mailbox_ids),
                    w.enabled.is_(True),
                    sa.or_(w.mailbox_id.is_(None), w.mailbox_id == mailboxes.c.id),
                )
            )
        ).all()

    async def _queue(
        self, conn: AsyncConnection, event: str, per_mailbox: dict[str, list[dict[str, Any]]]
    ) -> int:
        """Queue `event` for every listening endpoint. `per_mailbox` maps a mailbox id to the
        payloads about it (one per message, or one for the mailbox itself)."""
        rows = []
        now = utcnow()
        first = now + timedelta(seconds=self.settings.webhook_retry_schedule[0])
        for endpoint in await self._endpoints(conn, list(per_mailbox)):
            if event not in endpoint.events:
                continue
            for data in per_mailbox[endpoint.mailbox_id]:
                data = {"mailbox": {"id": endpoint.mailbox_id, "address": endpoint.address}, **data}
                rows.append(
                    {
                        "id": new_id(),
                        "webhook_id": endpoint.id,
                        "event": event,
                        "payload": _body(event, data),
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": first,
                        "created_at": now,
                    }
                )
        if rows:
            await conn.execute(webhook_deliveries.insert(), rows)
        return len(rows)

    def _message_data(self, item: dict[str, Any]) -> dict[str, Any]:
        url = (
            f"{self.settings.base_url}/api/v1/mailboxes/{item['mailbox_id']}/messages/{item['id']}"
        )
        return {"message": {**item, "url": url}}

    async def on_store(self, conn: AsyncConnection, stored: list[dict[str, Any]]) -> None:
        """Pipeline store hook: queue `message.received` for inbound messages."""
        per_mailbox: dict[str, list[dict[str, Any]]] = {}
        for item in stored:
            if item["direction"] == "inbound":
                per_mailbox.setdefault(item["mailbox_id"], []).append(self._message_data(item))
        if per_mailbox:
            await self._queue(conn, "message.received", per_mailbox)

    async def on_mailbox_end(self, conn: AsyncConnection, event: str, rows: list[Any]) -> None:
        """Mailbox hook: queue `mailbox.deleted` / `mailbox.expired`."""
        await self._queue(conn, event, {row.id: [{}] for row in rows})

    async def on_delivery_status(
        self, conn: AsyncConnection, event: str, item: dict[str, Any]
    ) -> None:
        """Outbox hook: queue `message.sent` / `message.failed` for the sender's mailbox."""
        await self._queue(conn, event, {item["mailbox_id"]: [self._message_data(item)]})

    # -- delivery (the worker) -----------------------------------------------------------------

    async def dispatch_step(self) -> int:
        """One pass of the dispatcher: start attempts for due deliveries (up to the concurrency
        limit), or sleep until there may be some. Returns how many attempts it started."""
        await self._look_for_endpoints()
        return await self.dispatcher.step()

    async def _look_for_endpoints(self) -> None:
        """Refresh `_listening` at most once per poll interval (an endpoint created in another
        process is noticed within one interval; until then polling delivers its events)."""
        moment = time.monotonic()
        if moment - self._looked_at < self.settings.webhook_poll_interval:
            return
        self._looked_at = moment
        async with self.db.read() as conn:
            self._listening = bool(
                await conn.scalar(sa.select(sa.exists().where(webhooks.c.enabled.is_(True))))
            )

    async def _attempts(
        self, rows: Sequence[Any], token: str
    ) -> Sequence[Coroutine[Any, Any, None]]:
        async with self.db.read() as conn:
            ids = {row.webhook_id for row in rows}
            hooks = {
                hook.id: hook
                for hook in await conn.execute(sa.select(webhooks).where(webhooks.c.id.in_(ids)))
            }
        return [
            self._attempt(row.id, token, row.attempts, row.payload, hooks.get(row.webhook_id))
            for row in rows
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
                dest = await self._vet(hook.url)
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

    async def _attempt(
        self, delivery_id: str, token: str, attempts: int, body: str, hook: Any
    ) -> None:
        """Make one attempt and record it; only the holder of `token` may change the row."""
        if hook is None or not hook.enabled:
            status, error, latency_ms = None, "the endpoint is disabled", 0
        else:
            started = time.perf_counter()
            self.attempts_made += 1
            status, error = await self._post(hook, delivery_id, body)
            latency_ms = int((time.perf_counter() - started) * 1000)
        now = utcnow()
        d = webhook_deliveries.c
        done = {
            "locked_until": None,
            "lock_token": None,
            "last_status": status,
            "last_error": error,
        }
        if error is None:
            values = {**done, "status": "delivered", "finished_at": now}
        elif status == 410 or hook is None or not hook.enabled:
            values = {**done, "status": "failed", "finished_at": now}
        else:
            retry = retry_at(self.settings.webhook_retry_schedule, attempts, now)
            if retry is None:
                values = {**done, "status": "failed", "finished_at": now}
            else:
                values = {**done, "next_attempt_at": retry}

        async def record(conn: AsyncConnection) -> None:
            if hook is not None and hook.enabled:
                await conn.execute(
                    webhook_attempts.insert().values(
                        id=new_id(),
                        delivery_id=delivery_id,
                        attempted_at=now,
                        status_code=status,
                        error=error,
                        latency_ms=latency_ms,
                    )
                )
            result = await conn.execute(
                webhook_deliveries.update()
                .where(d.id == delivery_id, d.lock_token == token)
                .values(**values)
            )
            if result.rowcount == 0:
                log.info("webhook delivery %s was taken over by another worker", delivery_id)
            if status == 410 and hook is not None:
                reason = f"The endpoint answered 410 Gone at {now.isoformat()}."
                await conn.execute(
                    webhooks.update()
                    .where(webhooks.c.id == hook.id)
                    .values(enabled=False, disabled_reason=reason)
                )
                await conn.execute(
                    webhook_deliveries.update()
                    .where(d.webhook_id == hook.id, d.status == "pending", d.id != delivery_id)
                    .values(
                        status="failed",
                        last_error="the endpoint was disabled (410 Gone)",
                        finished_at=now,
                        locked_until=None,
                        lock_token=None,
                    )
                )

        # Attempts finishing together share one commit (and one fsync on SQLite).
        await self._write(record)
        if hook is not None:
            # Attempt reports go to the endpoint's own bus channel (the delivery log, live).
            await self.bus.publish(
                {
                    "event": "webhook.attempt",
                    "mailbox_id": f"webhook:{hook.id}",
                    "webhook_id": hook.id,
                    "delivery_id": delivery_id,
                    "status_code": status,
                    "error": error,
                    "final": values.get("status") in ("delivered", "failed"),
                }
            )

    async def _prune(self) -> None:
        """Forget finished deliveries older than the retention period."""
        cutoff = utcnow() - timedelta(days=self.settings.webhook_retention_days)
        d = webhook_deliveries.c
        async with self.db.write() as conn:
            await conn.execute(
                webhook_deliveries.delete().where(d.status != "pending", d.finished_at < cutoff)
            )

    async def close(self) -> None:
        """Stop in-flight attempts and hand their rows back, so a restart resumes at once."""
        await self.dispatcher.close()
        await self._http.aclose()
        await self._https.aclose()
