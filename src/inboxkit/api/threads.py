"""Thread routes: a mailbox's conversations by activity, and one conversation's messages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from inboxkit.api.deps import PrincipalDep, RuntimeDep
from inboxkit.api.schemas import Page, Thread, ThreadPage
from inboxkit.services.threads import MAX_THREAD_MESSAGES

router = APIRouter(tags=["threads"])

SpamQuery = Annotated[
    bool,
    Query(
        description="true: the threads of the mail hidden as spam (the spam folder), counted, "
        "dated and ordered by that mail; false (default) leaves it out, as message lists do."
    ),
]
CursorQuery = Annotated[
    str | None,
    Query(max_length=26, description="`meta.next_cursor` of the previous page, unchanged."),
]


@router.get("/mailboxes/{mailbox}/threads", response_model=Page[Thread])
async def list_threads(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    mailbox: str,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: CursorQuery = None,
    spam: SpamQuery = False,
):
    """Conversations, newest activity first (by their newest message in the view, so in the
    order of `last_message_at`), each with its message and unread counts, its participants
    and its newest message's preview."""
    items, next_cursor = await runtime.threads.list(
        principal, mailbox, spam=spam, limit=limit, cursor=cursor
    )
    return {"data": items, "meta": {"next_cursor": next_cursor}}


@router.get("/mailboxes/{mailbox}/threads/{thread_id}", response_model=ThreadPage)
async def get_thread(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    mailbox: str,
    thread_id: str,
    limit: Annotated[int, Query(ge=1, le=MAX_THREAD_MESSAGES)] = MAX_THREAD_MESSAGES,
    cursor: CursorQuery = None,
    spam: SpamQuery = False,
):
    """A conversation and its messages, oldest first, at most `limit` (500) per page; another
    mailbox's thread is a 404. Reading a thread marks nothing read."""
    view, next_cursor = await runtime.threads.get(
        principal, mailbox, thread_id, spam=spam, limit=limit, cursor=cursor
    )
    return {"data": view, "meta": {"next_cursor": next_cursor}}
