"""Message routes: list, read, raw, attachments, mark read, label (one message or a batch),
delete, and the long-poll wait."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from inboxkit.api.deps import PrincipalDep, RuntimeDep
from inboxkit.api.disconnect import unless_disconnected
from inboxkit.api.downloads import download
from inboxkit.api.schemas import (
    LABEL_PATTERN,
    STREAMS_EXCEEDED,
    BatchResult,
    Data,
    DateTime,
    ErrorResponse,
    Message,
    MessageBatch,
    MessageSummary,
    MessageUpdate,
    Page,
    WaitResult,
)
from inboxkit.api.search import QUERY_REFUSED, SearchCursorQuery
from inboxkit.labels import MAX_LABEL_CHARS
from inboxkit.services.messages import MessageChange, MessageFilter
from inboxkit.services.wait import MAX_WAIT_SECONDS, TIMED_OUT

router = APIRouter(tags=["messages"])

_CHANGE_REFUSED: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "A system label (sent, spam, draft) named"},
    403: {"model": ErrorResponse, "description": "No `messages:write` scope"},
    404: {"model": ErrorResponse, "description": "No such mailbox, or no such message in it"},
    422: {
        "model": ErrorResponse,
        "description": "Nothing to change, a malformed label, or a message would carry more "
        "than 32 labels",
    },
}


def _change(body: MessageUpdate) -> MessageChange:
    return MessageChange(
        is_read=body.is_read,
        add_labels=body.add_labels or (),
        remove_labels=body.remove_labels or (),
    )


@router.get(
    "/mailboxes/{mailbox}/messages",
    response_model=Page[MessageSummary],
    responses={400: {"model": ErrorResponse, "description": QUERY_REFUSED}},
)
async def list_messages(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    mailbox: str,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    # With `q` the cursor is the search's (opaque); without it, a message id.
    cursor: SearchCursorQuery = None,
    unread: bool | None = None,
    since: DateTime | None = None,
    from_: Annotated[str | None, Query(alias="from")] = None,
    subject: str | None = None,
    to: Annotated[
        str | None,
        Query(
            max_length=320,
            description="A recipient contains this: To, Cc or the envelope's recipients (the "
            "address an application sent captured mail to).",
        ),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            description="The search query language over sender, subject, recipients and body: "
            'words, "phrases", from:, to:, subject:, has:, is:, after:, before:, larger:, '
            "smaller:, - to negate (docs/search.md); at most 500 characters and 20 terms.",
        ),
    ] = None,
    direction: Literal["inbound", "outbound"] | None = None,
    spam: Annotated[
        bool,
        Query(
            description="true: only the mail hidden from this list, `wait`, streams, webhooks "
            "and unread counts — spam and blocked senders in an agent mailbox (the spam "
            "folder). Test and capture mailboxes hide nothing."
        ),
    ] = False,
    label: Annotated[
        str | None,
        Query(
            max_length=MAX_LABEL_CHARS,
            pattern=LABEL_PATTERN,
            description="Only messages carrying this label (case-insensitive): a user label, "
            "or a system label — `sent` (mail sent from the mailbox) or `spam` (the spam "
            "folder, as `spam=true`).",
        ),
    ] = None,
):
    """Messages newest first. String filters are case-insensitive substring matches. Mail
    judged spam, or from a blocked sender, is left out in agent mailboxes; `spam=true` lists
    only that."""
    flt = MessageFilter(
        unread=unread,
        since=since,
        from_contains=from_,
        subject_contains=subject,
        to_contains=to,
        q=q,
        direction=direction,
        spam=spam,
        label=label,
    )
    items, next_cursor = await runtime.messages.list(
        principal, mailbox, flt, limit=limit, cursor=cursor
    )
    return {"data": items, "meta": {"next_cursor": next_cursor}}


@router.get(
    "/mailboxes/{mailbox}/wait",
    response_model=Data[WaitResult],
    responses={429: {"model": ErrorResponse, "description": STREAMS_EXCEEDED}},
)
async def wait_for_message(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    mailbox: str,
    timeout: Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS)] = 30.0,
    from_contains: str | None = None,
    subject_contains: str | None = None,
    to_contains: str | None = None,
    has_code: bool | None = None,
    since: DateTime | None = None,
    after: str | None = None,
    thread_id: Annotated[
        str | None,
        Query(
            max_length=26,
            description="Only a message of this thread (the next reply in a conversation); "
            "a thread that is not this mailbox's is a 404.",
        ),
    ] = None,
    mark_read: bool = True,
):
    """Long-poll: the oldest unread matching message (or, with `since`/`after`, the oldest
    matching one after that point), waiting up to `timeout` seconds (max 60) for one to land.
    Always 200: `timed_out` is true and `message` null when nothing came."""
    flt = MessageFilter(
        since=since,
        after=after,
        from_contains=from_contains,
        subject_contains=subject_contains,
        to_contains=to_contains,
        has_code=has_code,
        thread_id=thread_id,
    )
    result = await unless_disconnected(
        request.receive,
        runtime.waits.wait(principal, mailbox, flt, timeout=timeout, mark_read=mark_read),
        gone=TIMED_OUT,  # nobody will read it; the wait was cancelled and released its hold
    )
    return {"data": result}


@router.get("/mailboxes/{mailbox}/messages/{message_id}", response_model=Data[Message])
async def get_message(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    mailbox: str,
    message_id: str,
    mark_read: bool = True,
):
    """The whole message: headers, text, HTML, attachments, envelope, codes and links.
    Marks it read unless `mark_read=false`."""
    return {"data": await runtime.messages.get(principal, mailbox, message_id, mark_read=mark_read)}


@router.get(
    "/mailboxes/{mailbox}/messages/{message_id}/raw",
    response_class=Response,
    responses={200: {"content": {"message/rfc822": {}}, "description": "The bytes as received."}},
)
async def get_raw(runtime: RuntimeDep, principal: PrincipalDep, mailbox: str, message_id: str):
    """The exact bytes received over SMTP, as a download (`Content-Disposition: attachment`,
    `X-Content-Type-Options: nosniff`, `Content-Security-Policy: sandbox`)."""
    raw = await runtime.messages.raw(principal, mailbox, message_id)
    name = f"{message_id}.eml"
    return download(raw, content_type="message/rfc822", filename=name, fallback=name)


@router.get(
    "/mailboxes/{mailbox}/messages/{message_id}/attachments/{attachment_id}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "Decoded bytes."}},
)
async def get_attachment(
    runtime: RuntimeDep, principal: PrincipalDep, mailbox: str, message_id: str, attachment_id: str
):
    """An attachment's decoded bytes, always as a download (never rendered inline): the file
    name is cleaned of control characters and sent RFC 6266-encoded, and types a browser
    could execute or render (HTML, SVG, XML, JavaScript, …) are sent as
    application/octet-stream, with `nosniff` and `Content-Security-Policy: sandbox`."""
    data, meta = await runtime.messages.attachment(principal, mailbox, message_id, attachment_id)
    fallback = f"attachment-{attachment_id}"
    return download(
        data,
        content_type=meta.get("content_type"),
        filename=meta.get("filename") or fallback,
        fallback=fallback,
    )


@router.patch(
    "/mailboxes/{mailbox}/messages/{message_id}",
    response_model=Data[Message],
    responses=_CHANGE_REFUSED,
)
async def update_message(
    runtime: RuntimeDep, principal: PrincipalDep, mailbox: str, message_id: str, body: MessageUpdate
):
    """Mark a message read or unread, and add or remove its labels (`add_labels`,
    `remove_labels`: at most 32 each, a message carrying at most 32). Labels are trimmed and
    matched case-insensitively (stored lower-case); removing one the message does not carry
    changes nothing, and removals apply after additions. Answers the whole message as it is
    now."""
    message = await runtime.messages.update(principal, mailbox, message_id, _change(body))
    return {"data": message}


@router.post(
    "/mailboxes/{mailbox}/messages/batch",
    response_model=Data[BatchResult],
    responses=_CHANGE_REFUSED,
)
async def update_messages(
    runtime: RuntimeDep, principal: PrincipalDep, mailbox: str, body: MessageBatch
):
    """Apply one change (`is_read`, `add_labels`, `remove_labels`) to up to 100 messages of the
    mailbox, in one transaction: if any id is not a message of this mailbox, the answer is a
    404 naming it and no message changes."""
    result = await runtime.messages.update_many(principal, mailbox, body.ids, _change(body))
    return {"data": result}


@router.delete(
    "/mailboxes/{mailbox}/messages/{message_id}", status_code=204, response_class=Response
)
async def delete_message(
    runtime: RuntimeDep, principal: PrincipalDep, mailbox: str, message_id: str
):
    """Delete a message; its content is purged."""
    await runtime.messages.delete(principal, mailbox, message_id)
    return Response(status_code=204)
