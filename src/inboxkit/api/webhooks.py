"""Webhook routes: endpoints of the caller's account, their delivery log, a test event."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from inboxkit.api.deps import CursorQuery, PrincipalDep, RuntimeDep
from inboxkit.api.schemas import URL_PATTERN, Data, ErrorResponse, Page, Strict
from inboxkit.services.egress import MAX_URL_CHARS
from inboxkit.services.webhooks import EVENTS

router = APIRouter(tags=["webhooks"])

EventName = Literal[
    "message.received",
    "message.sent",
    "message.failed",
    "mailbox.expired",
    "mailbox.deleted",
    "domain.unverified",
    "draft.created",
    "draft.updated",
    "draft.approved",
    "draft.sent",
]
assert set(EventName.__args__) == set(EVENTS)  # type: ignore[attr-defined]


class WebhookCreate(Strict):
    """An endpoint to register for events: the account's, or one mailbox's only."""

    url: str = Field(
        pattern=URL_PATTERN,
        max_length=MAX_URL_CHARS,
        description="Where events are POSTed (http or https), on port 80 or 443 or one the "
        "operator allows (INBOXKIT_WEBHOOK_ALLOWED_PORTS). Private, loopback and link-local "
        "destinations are refused unless INBOXKIT_WEBHOOK_ALLOW_PRIVATE=true.",
    )
    mailbox: str | None = Field(None, description="Only this mailbox's events (id or address).")
    events: list[EventName] | None = Field(None, min_length=1, description="Default: every event.")
    description: str | None = Field(None, max_length=200)


class Webhook(BaseModel):
    """An endpoint that receives the account's events (or one mailbox's) as signed POST
    requests."""

    id: str
    url: str
    mailbox_id: str | None
    events: list[str]
    description: str | None
    enabled: bool = Field(description="False once the endpoint answered 410 Gone.")
    disabled_reason: str | None
    created_at: datetime


class WebhookCreated(Webhook):
    """An endpoint just registered, with its signing secret (shown only in this response)."""

    secret: str = Field(
        description="whsec_… signing secret for verifying `webhook-signature`; shown once."
    )


class WebhookAttempt(BaseModel):
    """One POST of a delivery to its endpoint, and how the endpoint answered."""

    attempted_at: datetime
    status_code: int | None = Field(description="The HTTP status, null if none came back.")
    error: str | None
    latency_ms: int


class WebhookDelivery(BaseModel):
    """One event sent to an endpoint: its payload, its status, and every attempt so far (failed
    ones are retried until `next_attempt_at` is null)."""

    id: str = Field(description="Sent as the `webhook-id` header, the same on every retry.")
    webhook_id: str
    event: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None
    payload: dict[str, Any] = Field(description="The JSON body that is POSTed.")
    attempt_log: list[WebhookAttempt]


@router.post("/webhooks", status_code=201, response_model=Data[WebhookCreated])
async def create_webhook(runtime: RuntimeDep, principal: PrincipalDep, body: WebhookCreate):
    """Register an endpoint for the account's events (needs the `webhooks` scope). Requests
    are signed per Standard Webhooks with the returned secret, which is shown only here."""
    created = await runtime.webhooks.create(
        principal,
        url=body.url,
        mailbox=body.mailbox,
        events=None if body.events is None else list(body.events),
        description=body.description,
    )
    return {"data": created}


@router.get("/webhooks", response_model=Page[Webhook])
async def list_webhooks(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: CursorQuery = None,
):
    """The account's webhook endpoints, newest first (secrets are never shown again)."""
    items, next_cursor = await runtime.webhooks.list(principal, limit=limit, cursor=cursor)
    return {"data": items, "meta": {"next_cursor": next_cursor}}


@router.get("/webhooks/{webhook_id}", response_model=Data[Webhook])
async def get_webhook(runtime: RuntimeDep, principal: PrincipalDep, webhook_id: str):
    """One endpoint."""
    return {"data": await runtime.webhooks.get(principal, webhook_id)}


@router.delete("/webhooks/{webhook_id}", status_code=204, response_class=Response)
async def delete_webhook(runtime: RuntimeDep, principal: PrincipalDep, webhook_id: str):
    """Remove an endpoint; deliveries still queued for it are dropped."""
    await runtime.webhooks.delete(principal, webhook_id)
    return Response(status_code=204)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=Page[WebhookDelivery])
async def list_deliveries(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    webhook_id: str,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: CursorQuery = None,
    status: Literal["pending", "delivered", "failed"] | None = None,
):
    """Deliveries to this endpoint newest first, each with every attempt's status and latency."""
    items, next_cursor = await runtime.webhooks.deliveries(
        principal, webhook_id, limit=limit, cursor=cursor, status=status
    )
    return {"data": items, "meta": {"next_cursor": next_cursor}}


@router.post(
    "/webhooks/{webhook_id}/test",
    response_model=Data[WebhookDelivery],
    responses={
        429: {"model": ErrorResponse, "description": "Too many tests (see Retry-After)"},
    },
)
async def test_webhook(runtime: RuntimeDep, principal: PrincipalDep, webhook_id: str):
    """Send a signed `webhook.test` event now; the result shows the first attempt's outcome
    (a failed test is retried like any delivery). Limited per account (default 10 a minute):
    over the limit, `429 rate_limited` with `Retry-After`."""
    return {"data": await runtime.webhooks.test(principal, webhook_id)}
