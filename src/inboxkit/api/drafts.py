"""Draft routes: keep, schedule, review and send messages (DESIGN §13 Drafts and review).

Each route is one call on `DraftService` (services/drafts.py), which holds the rules: who may
approve, what a sent or in-flight draft refuses, how `send_at` is read.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import Field, StrictBool

from inboxkit.api.deps import ID_PATTERN, CursorQuery, PrincipalDep, RuntimeDep
from inboxkit.api.outbound import Address, Addresses, Attachments
from inboxkit.api.schemas import DateTime, Draft, DraftAnswer, ErrorResponse, Page, Strict
from inboxkit.services.drafts import MAX_DRAFTS_PER_MAILBOX
from inboxkit.services.outbound import MAX_SUBJECT_CHARS, DraftFields

__all__ = ["router"]

router = APIRouter(tags=["drafts"])

DraftId = Annotated[str, Field(pattern=ID_PATTERN)]
SendAt = Annotated[
    DateTime | None,
    Field(
        description="When to send (RFC 3339 with a time zone), within a year. Up to 60 s in "
        "the past means now; further back is refused."
    ),
]

_NOT_FOUND = {"model": ErrorResponse, "description": "No such mailbox or draft (or not yours)"}
_FORBIDDEN = {"model": ErrorResponse, "description": "The token lacks the scope"}
_RESPONSES: dict[int | str, dict[str, Any]] = {403: _FORBIDDEN, 404: _NOT_FOUND}
_EDIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **_RESPONSES,
    400: {
        "model": ErrorResponse,
        "description": "send_at in the past or over a year ahead, or a scheduled draft that "
        "could not be sent (what is missing)",
    },
    409: {
        "model": ErrorResponse,
        "description": f"Sent already, being sent right now, or {MAX_DRAFTS_PER_MAILBOX} "
        "unsent drafts held",
    },
    413: {"model": ErrorResponse, "description": "Bodies and attachments over the send limit"},
}
_SEND_RESPONSES: dict[int | str, dict[str, Any]] = {
    **_RESPONSES,
    400: {"model": ErrorResponse, "description": "The draft cannot be sent: what is missing"},
    409: {"model": ErrorResponse, "description": "Sent already, or being sent right now"},
    413: {"model": ErrorResponse, "description": "The composed message is over the size limit"},
    429: {"model": ErrorResponse, "description": "Monthly send quota used"},
}


class DraftIn(Strict):
    """A draft: the fields of a send, all optional while it is a draft, plus `in_reply_to` (a
    message of this mailbox: sending the draft replies to it) and `send_at` (schedules it)."""

    to: Addresses | Address = []
    cc: Addresses = []
    bcc: Addresses = []
    subject: str = Field("", max_length=MAX_SUBJECT_CHARS)
    text: str | None = None
    html: str | None = None
    attachments: Attachments = []
    in_reply_to: DraftId | None = Field(
        None,
        description="Id of a message in this mailbox: the draft is sent as a reply to it "
        "(In-Reply-To, References, `Re:`; to its sender when `to` is empty).",
    )
    reply_all: StrictBool = Field(
        False, description="With `in_reply_to` and no `to`: reply to all."
    )
    send_at: SendAt = None


class DraftUpdate(Strict):
    """Changes to a draft; fields left out stay. `send_at: null` unschedules it."""

    to: Addresses | Address | None = None
    cc: Addresses | None = None
    bcc: Addresses | None = None
    subject: str | None = Field(None, max_length=MAX_SUBJECT_CHARS)
    text: str | None = None
    html: str | None = None
    attachments: Attachments | None = None
    in_reply_to: DraftId | None = None
    reply_all: StrictBool | None = None
    send_at: SendAt = None


class ApproveIn(Strict):
    """What the reviewer approves (the body is optional)."""

    updated_at: DateTime | None = Field(
        None,
        description="The draft's `updated_at` as the reviewer read it: if the draft was edited "
        "since, nothing is approved (409), so what is sent is what was reviewed.",
    )


def _fields(body: DraftIn) -> DraftFields:
    return DraftFields(
        to=[body.to] if isinstance(body.to, str) else list(body.to),
        cc=list(body.cc),
        bcc=list(body.bcc),
        subject=body.subject,
        text=body.text,
        html=body.html,
        attachments=[item.model_dump() for item in body.attachments],
        in_reply_to=body.in_reply_to,
        reply_all=body.reply_all,
    )


def _answer(draft: dict[str, Any], review: dict[str, Any] | None) -> dict[str, Any]:
    return {"data": draft, "review": review} if review else {"data": draft}


@router.post(
    "/mailboxes/{mailbox}/drafts",
    status_code=201,
    response_model=DraftAnswer,
    responses=_EDIT_RESPONSES,
)
async def create_draft(runtime: RuntimeDep, principal: PrincipalDep, mailbox: str, body: DraftIn):
    """Keep a message to send later (needs the `send` scope). With `send_at` it is scheduled,
    and checked as a send would be; in a mailbox under review it then awaits approval first
    (`review` says so)."""
    draft, review = await runtime.drafts.create(
        principal, mailbox, _fields(body), send_at=body.send_at
    )
    return _answer(draft, review)


@router.get("/mailboxes/{mailbox}/drafts", response_model=Page[Draft], responses=_RESPONSES)
async def list_drafts(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    mailbox: str,
    status: Annotated[
        Literal["draft", "pending_review", "scheduled", "sent", "failed"] | None,
        Query(description="Only drafts in this status (one being sent is `scheduled`)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: CursorQuery = None,
):
    """The mailbox's drafts, newest first."""
    items, next_cursor = await runtime.drafts.list(
        principal, mailbox, status=status, limit=limit, cursor=cursor
    )
    return {"data": items, "meta": {"next_cursor": next_cursor}}


@router.get(
    "/mailboxes/{mailbox}/drafts/{draft_id}", response_model=DraftAnswer, responses=_RESPONSES
)
async def get_draft(runtime: RuntimeDep, principal: PrincipalDep, mailbox: str, draft_id: str):
    """One draft."""
    return {"data": await runtime.drafts.get(principal, mailbox, draft_id)}


@router.patch(
    "/mailboxes/{mailbox}/drafts/{draft_id}",
    response_model=DraftAnswer,
    responses=_EDIT_RESPONSES,
)
async def update_draft(
    runtime: RuntimeDep, principal: PrincipalDep, mailbox: str, draft_id: str, body: DraftUpdate
):
    """Change a draft that is not sent or being sent (409). `send_at` schedules it and `null`
    unschedules it. An edit takes back an approval: under review it awaits one again."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    if isinstance(changes.get("to"), str):
        changes["to"] = [changes["to"]]
    if "attachments" in changes:
        changes["attachments"] = [item.model_dump() for item in body.attachments or []]
    for name in ("to", "cc", "bcc", "attachments"):
        if name in changes and changes[name] is None:
            changes[name] = []
    if "subject" in changes and changes["subject"] is None:
        changes["subject"] = ""
    if "reply_all" in changes and changes["reply_all"] is None:
        changes["reply_all"] = False
    draft, review = await runtime.drafts.update(principal, mailbox, draft_id, changes)
    return _answer(draft, review)


@router.delete(
    "/mailboxes/{mailbox}/drafts/{draft_id}",
    status_code=204,
    response_class=Response,
    responses={**_RESPONSES, 409: {"model": ErrorResponse, "description": "Being sent now"}},
)
async def delete_draft(runtime: RuntimeDep, principal: PrincipalDep, mailbox: str, draft_id: str):
    """Discard a draft (needs `send` or `mailboxes:write`). A scheduled draft deleted is never
    sent; one being sent right now can no longer be cancelled (409)."""
    await runtime.drafts.delete(principal, mailbox, draft_id)
    return Response(status_code=204)


@router.post(
    "/mailboxes/{mailbox}/drafts/{draft_id}/send",
    status_code=202,
    response_model=DraftAnswer,
    responses=_SEND_RESPONSES,
)
async def send_draft(runtime: RuntimeDep, principal: PrincipalDep, mailbox: str, draft_id: str):
    """Send a draft now (needs `send`), checked and sent as `POST …/send` would; its
    `sent_message_id` is the stored message. In a mailbox under review it is submitted for
    approval instead (`status: "pending_review"`, and `review` says so)."""
    draft, review = await runtime.drafts.send(principal, mailbox, draft_id)
    return _answer(draft, review)


@router.post(
    "/mailboxes/{mailbox}/drafts/{draft_id}/approve",
    status_code=202,
    response_model=DraftAnswer,
    responses={
        **_SEND_RESPONSES,
        403: {
            "model": ErrorResponse,
            "description": "Not an account's API key with `mailboxes:write` (a mailbox's own "
            "token may not approve)",
        },
        409: {
            "model": ErrorResponse,
            "description": "Not awaiting review, sent already, or edited since `updated_at`",
        },
    },
)
async def approve_draft(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    mailbox: str,
    draft_id: str,
    body: ApproveIn | None = None,
):
    """Approve a draft awaiting review: sent now, or at its `send_at` if that is ahead. Needs an
    account's API key with `mailboxes:write`: the mailbox's own token cannot approve, since
    review is there to keep the agent holding it from sending alone. Give the draft's
    `updated_at` as you read it, and an edit made since is refused (409) instead of sent."""
    version = body.updated_at if body is not None else None
    return {"data": await runtime.drafts.approve(principal, mailbox, draft_id, version=version)}
