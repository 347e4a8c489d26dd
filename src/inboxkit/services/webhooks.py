"""Webhooks: endpoints per account, and the durable queue of deliveries to them.

Events are queued as rows in the same transaction as the change they announce (a stored
message, a deleted or expired mailbox, a sent or failed message), so a crash can never commit
the change and lose its notification. The dispatcher (`workers/webhooks.py`) claims due rows
in any number of processes and POSTs them, signed and retried.
"""

from __future__ import annotations

import base64
import builtins
import json
import logging
import secrets
from collections.abc import Mapping, Sequence
from datetime import timedelta
from types import SimpleNamespace
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.config import Settings
from inboxkit.errors import NotFound, QuotaExceeded, Resource, ValidationFailed
from inboxkit.ids import is_id, new_id
from inboxkit.records import MessageSummary, jsonable
from inboxkit.services.auth import Principal
from inboxkit.services.egress import Destination, Resolver, system_resolver, vet
from inboxkit.services.mailboxes import MailboxService, decode_cursor, encode_cursor
from inboxkit.services.ratelimit import SlidingWindow
from inboxkit.store.db import Database, retryable
from inboxkit.store.dialect import Dialect
from inboxkit.store.tables import (
    WebhookDeliveryStatus,
    mailboxes,
    utcnow,
    webhook_attempts,
    webhook_deliveries,
    webhooks,
)

__all__ = ["EVENTS", "TEST_EVENT", "Deliverer", "WebhookService"]

log = logging.getLogger(__name__)

# Tries of a webhook deletion that PostgreSQL aborts as a deadlock (see `delete`).
DELETE_ATTEMPTS = 3

EVENTS = (
    "message.received",
    "message.sent",
    "message.failed",
    "mailbox.expired",
    "mailbox.deleted",
    "domain.unverified",
    # Drafts (services/drafts.py): one entered pending_review, was edited while awaiting it,
    # was approved, was sent.
    "draft.created",
    "draft.updated",
    "draft.approved",
    "draft.sent",
)
# Events about the account rather than one mailbox: only account-wide endpoints (no
# `mailbox`) receive them.
ACCOUNT_EVENTS = frozenset({"domain.unverified"})
TEST_EVENT = "webhook.test"
MAX_WEBHOOKS_PER_ACCOUNT = 100


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


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
        "next_attempt_at": row.next_attempt_at
        if row.status == WebhookDeliveryStatus.PENDING
        else None,
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


class Deliverer(Protocol):
    """Makes delivery attempts: the webhook dispatcher (`workers/webhooks.py`)."""

    attempts_made: int

    def listen(self) -> None:
        """An endpoint was just created: events may queue deliveries from now on."""

    async def attempt(
        self, delivery_id: str, token: str, attempts: int, body: str, hook: Any
    ) -> None:
        """Make one attempt now and record it; `token` is the delivery's lease."""


class WebhookService:
    """Webhook endpoints of an account: create, list, delete, test, and the delivery rows
    written in the same transaction as the event they announce."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        dialect: Dialect,
        mailboxes: MailboxService,
        resolver: Resolver = system_resolver,
    ):
        self.settings = settings
        self.db = db
        self.dialect = dialect
        self.mailboxes = mailboxes
        self.resolver = resolver
        # Set by the runtime once the dispatcher is built (it checks URLs with `vet` here).
        self.deliverer: Deliverer | None = None
        self.test_limit = SlidingWindow(
            dialect,
            limit=settings.webhook_test_rate_limit,
            window=settings.webhook_test_rate_window,
            what="webhook tests",
            per="account",
        )

    @property
    def attempts_made(self) -> int:
        """Delivery attempts made by this process since it started."""
        return self.deliverer.attempts_made if self.deliverer is not None else 0

    async def vet(self, url: str) -> Destination:
        """Check an endpoint URL (and resolve it) against the egress rules; the dispatcher
        checks again before every attempt."""
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
        await self.vet(url)
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
            # Count and insert as one step per account, in every process.
            await self.dialect.serialise(conn, f"webhooks:{principal.account_id}")
            count = (
                await conn.execute(
                    sa.select(sa.func.count())
                    .select_from(webhooks)
                    .where(webhooks.c.account_id == principal.account_id)
                )
            ).scalar_one()
            plan = principal.plan
            if plan is not None and plan.max_webhooks is not None and count >= plan.max_webhooks:
                raise QuotaExceeded(
                    f"This account may have {plan.max_webhooks} webhooks on plan "
                    f"'{plan.name}'; delete one or ask for a larger plan.",
                    limit="max_webhooks",
                    allowed=plan.max_webhooks,
                    used=count,
                )
            if count >= MAX_WEBHOOKS_PER_ACCOUNT:
                raise QuotaExceeded(
                    f"An account may have at most {MAX_WEBHOOKS_PER_ACCOUNT} webhooks; delete one first.",
                    limit="max_webhooks",
                    allowed=MAX_WEBHOOKS_PER_ACCOUNT,
                    used=count,
                )
            await conn.execute(webhooks.insert().values(**row))
        if self.deliverer is not None:
            self.deliverer.listen()
        return {**_public(SimpleNamespace(**row)), "secret": row["secret"]}

    async def _find(self, conn: AsyncConnection, principal: Principal, webhook_id: str) -> Any:
        principal.require("webhooks")
        if not is_id(webhook_id):
            raise NotFound("No such webhook.", resource=Resource.WEBHOOK)
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
    ) -> tuple[builtins.list[dict[str, Any]], str | None]:
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
        # The cascade locks the endpoint's deliveries while dispatchers finishing deliveries
        # lock them too, in their own order; PostgreSQL then aborts one side as a deadlock,
        # and doing the delete again is all it takes.
        for attempt in range(DELETE_ATTEMPTS):
            try:
                async with self.db.write() as conn:
                    row = await self._find(conn, principal, webhook_id)
                    await conn.execute(webhooks.delete().where(webhooks.c.id == row.id))
                return
            except Exception as exc:
                if not retryable(exc) or attempt == DELETE_ATTEMPTS - 1:
                    raise
                log.info("deleting webhook %s met a deadlock; trying again", webhook_id)

    async def deliveries(
        self,
        principal: Principal,
        webhook_id: str,
        *,
        limit: int = 50,
        cursor: str | None = None,
        status: str | None = None,
    ) -> tuple[builtins.list[dict[str, Any]], str | None]:
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
            attempts: dict[str, builtins.list[Any]] = {r.id: [] for r in page}
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
                    status=WebhookDeliveryStatus.PENDING,
                    attempts=1,
                    next_attempt_at=now,
                    locked_until=now + timedelta(seconds=self.settings.webhook_lease_seconds),
                    lock_token=token,
                    created_at=now,
                )
            )
        assert self.deliverer is not None, "the runtime attaches the dispatcher"
        await self.deliverer.attempt(delivery_id, token, 1, body, hook)
        return await self._delivery_by_id(delivery_id)

    # -- queueing (inside the transaction that made the change) --------------------------------

    async def _endpoints(
        self, conn: AsyncConnection, mailbox_ids: builtins.list[str]
    ) -> Sequence[Any]:
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
        self,
        conn: AsyncConnection,
        event: str,
        per_mailbox: dict[str, builtins.list[dict[str, Any]]],
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
                        "status": WebhookDeliveryStatus.PENDING,
                        "attempts": 0,
                        "next_attempt_at": first,
                        "created_at": now,
                    }
                )
        if rows:
            await conn.execute(webhook_deliveries.insert(), rows)
        return len(rows)

    def _message_data(self, item: Mapping[str, Any]) -> dict[str, Any]:
        url = (
            f"{self.settings.base_url}/api/v1/mailboxes/{item['mailbox_id']}/messages/{item['id']}"
        )
        return {"message": {**item, "url": url}}

    async def on_store(self, conn: AsyncConnection, stored: builtins.list[MessageSummary]) -> None:
        """Pipeline store hook: queue `message.received` for inbound messages. Hidden mail
        (spam in an agent mailbox, DESIGN §9) never reaches this hook: `insert_deliveries`
        passes the hooks only the rows a mailbox shows."""
        per_mailbox: dict[str, builtins.list[dict[str, Any]]] = {}
        for item in stored:
            if item["direction"] == "inbound":
                per_mailbox.setdefault(item["mailbox_id"], []).append(self._message_data(item))
        if per_mailbox:
            await self._queue(conn, "message.received", per_mailbox)

    async def on_mailbox_end(
        self, conn: AsyncConnection, event: str, rows: builtins.list[Any]
    ) -> None:
        """Mailbox hook: queue `mailbox.deleted` / `mailbox.expired`."""
        await self._queue(conn, event, {row.id: [{}] for row in rows})

    async def on_account_event(
        self, conn: AsyncConnection, account_id: str, event: str, data: dict[str, Any]
    ) -> None:
        """Domain hook: queue an account event (`domain.unverified`) for the account's enabled
        endpoints that are not limited to one mailbox and listen to it."""
        w = webhooks.c
        endpoints = (
            await conn.execute(
                sa.select(w.id, w.events).where(
                    w.account_id == account_id, w.enabled.is_(True), w.mailbox_id.is_(None)
                )
            )
        ).all()
        now = utcnow()
        first = now + timedelta(seconds=self.settings.webhook_retry_schedule[0])
        queued = [
            {
                "id": new_id(),
                "webhook_id": endpoint.id,
                "event": event,
                "payload": _body(event, data),
                "status": WebhookDeliveryStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": first,
                "created_at": now,
            }
            for endpoint in endpoints
            if event in endpoint.events
        ]
        if queued:
            await conn.execute(webhook_deliveries.insert(), queued)

    async def on_draft_event(
        self, conn: AsyncConnection, event: str, mailbox_id: str, draft: dict[str, Any]
    ) -> None:
        """Drafts hook: queue `draft.created` / `draft.approved` / `draft.sent` with the draft,
        in the transaction that changed it."""
        await self._queue(conn, event, {mailbox_id: [{"draft": draft}]})

    async def on_delivery_status(
        self, conn: AsyncConnection, event: str, item: dict[str, Any]
    ) -> None:
        """Outbox hook: queue `message.sent` / `message.failed` for the sender's mailbox."""
        await self._queue(conn, event, {item["mailbox_id"]: [self._message_data(item)]})
