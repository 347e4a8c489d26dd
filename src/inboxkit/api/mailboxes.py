"""Mailbox and handle routes: each translates HTTP into one service call."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from inboxkit.api.deps import CursorQuery, PrincipalDep, RuntimeDep
from inboxkit.api.schemas import (
    Data,
    ErrorResponse,
    HandleAvailability,
    Mailbox,
    MailboxCreate,
    MailboxCreated,
    MailboxUpdate,
    Page,
)

router = APIRouter(tags=["mailboxes"])


@router.post(
    "/mailboxes",
    status_code=201,
    response_model=Data[MailboxCreated],
    responses={409: {"model": ErrorResponse, "description": "Handle taken or reserved"}},
    # A token is optional here: without one (where anonymous creation is allowed) a test
    # inbox is created and its mailbox token returned.
    openapi_extra={"security": [{}]},
)
async def create_mailbox(
    runtime: RuntimeDep, principal: PrincipalDep, body: MailboxCreate | None = None
):
    """Create an inbox. Test mode (default) gets a random address that expires; agent mode is a
    persistent identity that may claim a handle. The mailbox token is shown only here."""
    body = body or MailboxCreate()
    created = await runtime.mailboxes.create(principal, **body.model_dump())
    return {"data": created}


@router.get("/mailboxes", response_model=Page[Mailbox])
async def list_mailboxes(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: CursorQuery = None,
):
    """The caller's live mailboxes, newest first."""
    items, next_cursor = await runtime.mailboxes.list(principal, limit=limit, cursor=cursor)
    return {"data": items, "meta": {"next_cursor": next_cursor}}


@router.get("/mailboxes/{mailbox}", response_model=Data[Mailbox])
async def get_mailbox(runtime: RuntimeDep, principal: PrincipalDep, mailbox: str):
    """One mailbox, by id or full address, with message and unread counts."""
    return {"data": await runtime.mailboxes.get(principal, mailbox)}


@router.patch(
    "/mailboxes/{mailbox}",
    response_model=Data[Mailbox],
    responses={
        403: {
            "model": ErrorResponse,
            "description": "No `mailboxes:write` scope, or a mailbox token changing "
            "`outbound_review`",
        },
        409: {"model": ErrorResponse, "description": "The capture mailbox takes no TTL"},
    },
)
async def update_mailbox(
    runtime: RuntimeDep, principal: PrincipalDep, mailbox: str, body: MailboxUpdate
):
    """Rename a mailbox, extend its life (`ttl_minutes` from now), or turn reviewed sending
    on or off (`outbound_review`: an account's API key only, never the mailbox's own token)."""
    fields = body.model_fields_set
    updated = await runtime.mailboxes.update(
        principal,
        mailbox,
        name=body.name,
        ttl_minutes=body.ttl_minutes,
        outbound_review=body.outbound_review,
        fields=set(fields),
    )
    return {"data": updated}


@router.delete("/mailboxes/{mailbox}", status_code=204, response_class=Response)
async def delete_mailbox(runtime: RuntimeDep, principal: PrincipalDep, mailbox: str):
    """Delete a mailbox and purge its contents; its address then refuses mail for good."""
    await runtime.mailboxes.delete(principal, mailbox)
    return Response(status_code=204)


@router.get("/capture", response_model=Data[Mailbox], tags=["capture"])
async def get_capture_mailbox(runtime: RuntimeDep, principal: PrincipalDep):
    """The account's capture mailbox (`mode: "capture"`), made on first use: every message an
    application hands over with this account's key (SMTP AUTH, or a provider's send API under
    `/esp/…`), to any address, lands here. Use its id or address with every message route."""
    return {"data": await runtime.capture.mailbox(principal)}


@router.get("/handles/{handle}", response_model=Data[HandleAvailability])
async def handle_availability(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    handle: str,
    domain: Annotated[
        str | None, Query(min_length=1, description="One of the server's domains.")
    ] = None,
):
    """Whether an agent-mode handle can still be claimed, and if not, why (needs a token)."""
    return {"data": await runtime.mailboxes.handle_availability(principal, handle, domain)}
