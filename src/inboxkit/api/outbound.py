"""Sending routes: a new message, a reply to one in the mailbox, or a forward of one (DESIGN §3
Sending, §13 Forward)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from pydantic import Field

from inboxkit.api.deps import PrincipalDep, RuntimeDep
from inboxkit.api.schemas import Data, ErrorResponse, HeldForReview, MessageSummary, Strict
from inboxkit.services.outbound import (
    MAX_ADDRESS_CHARS,
    MAX_ATTACHMENTS,
    MAX_IDEMPOTENCY_KEY_CHARS,
    MAX_LISTED_ADDRESSES,
    MAX_SUBJECT_CHARS,
    Held,
)

router = APIRouter(tags=["sending"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=MAX_IDEMPOTENCY_KEY_CHARS,
        pattern=r"^[ -~]*[!-~][ -~]*$",
        description="Repeat a request safely: the same key and body within 24 hours return the "
        "first result (nothing is sent twice); the same key with another body is a 409.",
    ),
]

_RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorResponse, "description": "No `send` scope, or the inbox has no account"},
    409: {"model": ErrorResponse, "description": "Idempotency-Key reused with another body"},
    413: {"model": ErrorResponse, "description": "The composed message is over the size limit"},
    429: {"model": ErrorResponse, "description": "Send rate exceeded (see Retry-After)"},
}


Address = Annotated[str, Field(max_length=MAX_ADDRESS_CHARS)]
Addresses = Annotated[
    list[Address],
    Field(
        max_length=MAX_LISTED_ADDRESSES,
        description=f"Plain addresses, at most {MAX_LISTED_ADDRESSES}; repeats are sent once.",
    ),
]


# What mail/compose.py and services/outbound.py accept, so the document says it too.
# No controls (C0, DEL, C1) or Unicode line separators, and not blank.
_FILENAME = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*[^\x00-\x20\x7f-\x9f\u2028\u2029][^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"
_CONTENT_TYPE = (  # type/subtype; never multipart/* or message/* (listed as the allowed types)
    r"^(?:[Aa]pplication|[Aa]udio|[Ff]ont|[Ii]mage|[Mm]odel|[Tt]ext|[Vv]ideo)"
    r"/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$"
)
_BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
_CONTENT_ID = r"^[!-;=?-~]{1,250}$"  # printable ASCII, no spaces or angle brackets


class AttachmentIn(Strict):
    """A file to attach, base64-encoded; with `content_id` it becomes an inline part the HTML
    can show."""

    filename: str = Field(min_length=1, max_length=255, pattern=_FILENAME)
    content_type: str = Field(
        "application/octet-stream",
        max_length=255,
        pattern=_CONTENT_TYPE,
        description="e.g. application/pdf",
    )
    content: str = Field(pattern=_BASE64, description="The file's bytes, base64-encoded.")
    content_id: str | None = Field(
        None,
        max_length=252,
        pattern=_CONTENT_ID,
        description="Makes it an inline part the HTML can show as <img src='cid:…'>.",
    )


Attachments = Annotated[
    list[AttachmentIn],
    Field(max_length=MAX_ATTACHMENTS, description=f"At most {MAX_ATTACHMENTS} files."),
]


class SendRequest(Strict):
    """A new message to send from the mailbox's own address; give `text`, `html` or both."""

    to: Addresses | Address = Field(description="One address or a list (plain addresses only).")
    cc: Addresses = []
    bcc: Addresses = Field([], description="Receive the message without appearing in it.")
    subject: str = Field("", max_length=MAX_SUBJECT_CHARS)
    text: str | None = Field(None, description="Plain-text body.")
    html: str | None = Field(
        None, description="HTML body; without `text`, a text version is generated from it."
    )
    attachments: Attachments = []


class ReplyRequest(Strict):
    """A reply to a message in the mailbox, sent to its sender (or to everyone with `reply_all`)
    and threaded onto it."""

    text: str | None = None
    html: str | None = None
    attachments: Attachments = []
    reply_all: bool = Field(
        False, description="Also copy everyone else the original was addressed to."
    )


class ForwardRequest(Strict):
    """A forward of a message in the mailbox: the original inline below your own text, with
    its attachments."""

    to: Addresses | Address = Field(description="One address or a list (plain addresses only).")
    cc: Addresses = []
    bcc: Addresses = Field([], description="Receive the message without appearing in it.")
    text: str | None = Field(None, description="Your note, above the forwarded message.")
    html: str | None = Field(None, description="Your note as HTML (optional).")


class SentMessage(MessageSummary):
    """The sent message as stored in the mailbox; `delivery_status` goes from queued to sent or
    failed."""

    message_id: str = Field(description="The Message-ID header of the sent message.")


# A mailbox under review answers with the kept draft and a `review` note instead: tell them
# apart by `review` (present only then) or by `data.status` ("pending_review").
SendAnswer = Data[SentMessage] | HeldForReview


def _answer(result: dict[str, Any] | Held) -> dict[str, Any]:
    if isinstance(result, Held):
        return {"data": result.draft, "review": result.review}
    return {"data": result}


@router.post(
    "/mailboxes/{mailbox}/send",
    status_code=202,
    response_model=SendAnswer,
    responses=_RESPONSES,
)
async def send_message(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    mailbox: str,
    body: SendRequest,
    idempotency_key: IdempotencyKey = None,
):
    """Send from the mailbox's own address (needs the `send` scope, and an inbox that belongs
    to an account: an anonymous inbox's token cannot send). The message is stored in
    the mailbox as `outbound` with `delivery_status: "queued"`, which becomes `sent` or
    `failed` (with the reason in `delivery_error`) once delivered; `message.sent` /
    `message.failed` events and webhooks follow. From a mailbox under review
    (`outbound_review`) nothing is sent: the answer is the draft kept for approval, with a
    `review` note (and `data.status: "pending_review"`)."""
    request = body.model_dump()
    to = request.pop("to")
    sent = await runtime.outbound.send(
        principal,
        mailbox,
        to=[to] if isinstance(to, str) else to,
        idempotency_key=idempotency_key,
        **request,
    )
    return _answer(sent)


@router.post(
    "/mailboxes/{mailbox}/messages/{message_id}/reply",
    status_code=202,
    response_model=SendAnswer,
    responses=_RESPONSES,
)
async def reply_to_message(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    mailbox: str,
    message_id: str,
    body: ReplyRequest,
    idempotency_key: IdempotencyKey = None,
):
    """Reply to a message in the mailbox (needs the `send` scope): to its Reply-To or From,
    with `reply_all` also to its other recipients; threaded with In-Reply-To, References and
    a single "Re:". Queued and reported like `send`, or kept for review like it."""
    sent = await runtime.outbound.reply(
        principal, mailbox, message_id, idempotency_key=idempotency_key, **body.model_dump()
    )
    return _answer(sent)


@router.post(
    "/mailboxes/{mailbox}/messages/{message_id}/forward",
    status_code=202,
    response_model=SendAnswer,
    responses=_RESPONSES,
)
async def forward_message(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    mailbox: str,
    message_id: str,
    body: ForwardRequest,
    idempotency_key: IdempotencyKey = None,
):
    """Forward a message of the mailbox (needs the `send` scope) as mail clients do: subject
    "Fwd: …", your `text` (or `html`) first, then a "Forwarded message" block with the
    original's From, Date, Subject, To and Cc and its text (and HTML) body, and every
    attachment of the original attached again, byte for byte. References keeps the original's
    thread; there is no In-Reply-To. Queued and reported like `send`, or kept for review like
    it."""
    request = body.model_dump()
    to = request.pop("to")
    sent = await runtime.outbound.forward(
        principal,
        mailbox,
        message_id,
        to=[to] if isinstance(to, str) else to,
        idempotency_key=idempotency_key,
        **request,
    )
    return _answer(sent)
