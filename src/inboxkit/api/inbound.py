"""Mail over HTTP (DESIGN §10): raw ingest by an operator's system, and Amazon SES through an
SNS subscription. Both deliver through the one pipeline (`services/ingest.py`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from inboxkit.api.deps import PrincipalDep, RuntimeDep, client_ip
from inboxkit.api.schemas import PRINTABLE, Data, ErrorResponse
from inboxkit.errors import PayloadTooLarge, UnsupportedMediaType
from inboxkit.services.admission import RefusalReason
from inboxkit.services.ingest import ADDRESS_PATTERN, MAX_ADDRESS_CHARS
from inboxkit.services.sns import MAX_BODY_BYTES

router = APIRouter(tags=["inbound"])

RAW_TYPE = "message/rfc822"

_RAW_RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorResponse, "description": "The token lacks the `ingest` scope"},
    413: {"model": ErrorResponse, "description": "Over INBOXKIT_MAX_MESSAGE_BYTES"},
    415: {"model": ErrorResponse, "description": f"The body is not `{RAW_TYPE}`"},
    422: {
        "model": ErrorResponse,
        "description": "No recipient, more than the server's recipient limit, or one that is "
        "not an address",
    },
    503: {
        "model": ErrorResponse,
        "description": "The message could not be stored; nothing was delivered, send it again",
    },
}
_RAW_BODY = {
    "required": True,
    "description": "The message exactly as it should be stored (headers and body, CRLF).",
    "content": {RAW_TYPE: {"schema": {"type": "string", "format": "binary"}}},
}
_SNS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {"schema": {}}}},
    400: {"model": ErrorResponse, "description": "Not an SNS message, or not an SES receipt"},
    403: {
        "model": ErrorResponse,
        "description": "Unsigned or badly signed, a certificate URL outside the pattern, or a "
        "topic not in INBOXKIT_SNS_TOPICS (also when none is): nothing stored",
    },
    413: {"model": ErrorResponse, "description": "Over the largest SNS message"},
    422: {"model": ErrorResponse, "description": "An SES receipt with too many recipients"},
    503: {
        "model": ErrorResponse,
        "description": "The certificate or SubscribeURL could not be fetched, or the message "
        "could not be stored: SNS sends it again",
    },
}
_SNS_BODY = {
    "required": True,
    "description": "An SNS message as SNS posts it: JSON, sent as `text/plain`.",
    "content": {
        "text/plain": {"schema": {"type": "string"}},
        "application/json": {"schema": {"type": "object"}},
    },
}


class DeliveredTo(BaseModel):
    """A recipient that received the message."""

    address: str = Field(description="The recipient as given in `to`.")
    message_id: str = Field(description="The id of the message in its mailbox.")


class RefusedTo(BaseModel):
    """A recipient that did not receive the message: SMTP's answer for it, as a stable code."""

    address: str = Field(description="The recipient as given in `to`.")
    reason: Literal["foreign_domain", "unknown_mailbox", "mailbox_full", "message_too_large"] = (
        Field(
            description="`foreign_domain`: not a domain of this server; `unknown_mailbox`: no "
            "live mailbox has the address; `mailbox_full`: the mailbox or its account is at its "
            "plan's ceiling (retry later); `message_too_large`: over the plan's "
            "`max_message_bytes`."
        )
    )
    message: str = Field(description="What happened and what to do, for a human.")
    smtp: str = Field(description="The SMTP reply code SMTP would give (`550 5.1.1`).")


assert set(RefusedTo.model_fields["reason"].annotation.__args__) == {  # type: ignore[union-attr]
    reason.value for reason in RefusalReason
}


class Ingested(BaseModel):
    """What became of every recipient of an ingested message."""

    delivered: list[DeliveredTo]
    refused: list[RefusedTo]


class SnsAnswer(BaseModel):
    """What a verified SNS request came to."""

    outcome: Literal["delivered", "refused", "duplicate", "no_content", "ignored", "confirmed"]


Recipients = Annotated[
    list[
        Annotated[str, Field(min_length=3, max_length=MAX_ADDRESS_CHARS, pattern=ADDRESS_PATTERN)]
    ],
    Query(
        min_length=1,
        description="A recipient; repeat for more (at most INBOXKIT_MAX_RECIPIENTS, 100 by "
        "default). Each is answered as SMTP's RCPT would be.",
    ),
]
MailFrom = Annotated[
    str | None,
    Query(
        max_length=MAX_ADDRESS_CHARS,
        pattern=PRINTABLE,
        description="The envelope sender to record (default: the address in the From header).",
    ),
]


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise PayloadTooLarge(f"Messages may be at most {limit} bytes; send a smaller one.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"Messages may be at most {limit} bytes; send a smaller one.")
    return bytes(body)


@router.post(
    "/inbound/raw",
    status_code=202,
    response_model=Data[Ingested],
    responses=_RAW_RESPONSES,
    openapi_extra={"requestBody": _RAW_BODY},
)
async def ingest_raw(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    to: Recipients,
    mail_from: MailFrom = None,
):
    """Deliver a message, byte for byte, to the hosted mailboxes it names, through the same
    pipeline and rules as SMTP (any account's mailboxes: an `ingest` key stands for an MTA).
    Needs the `ingest` scope, which only an admin grants. Answers 202 with every recipient
    delivered or refused (also when all are refused); 503 when nothing could be stored."""
    principal.require("ingest")
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != RAW_TYPE:
        raise UnsupportedMediaType(
            f"Send the message itself as the body, with Content-Type: {RAW_TYPE}."
        )
    raw = await _body(request, runtime.settings.max_message_bytes)
    result = await runtime.ingest.ingest_raw(
        principal, raw, to, mail_from=mail_from, remote_addr=client_ip(request)
    )
    return {"data": result.to_dict()}


@router.post(
    "/inbound/ses",
    response_model=Data[SnsAnswer],
    responses=_SNS_RESPONSES,
    openapi_extra={"requestBody": _SNS_BODY, "security": []},
)
async def inbound_ses(request: Request, runtime: RuntimeDep) -> JSONResponse:
    """The HTTPS subscription endpoint of an SNS topic that an SES receipt rule publishes to.
    No token: each request is trusted by its SNS signature alone (SignatureVersion 1 or 2,
    the certificate at a SigningCertURL matching INBOXKIT_SNS_CERT_URL_PATTERN) and its topic
    (INBOXKIT_SNS_TOPICS). Confirms subscriptions; delivers SES receipts that carry the
    message (`content`); a redelivered MessageId is stored once."""
    body = await _body(request, MAX_BODY_BYTES)
    outcome = await runtime.ses_inbound.receive(body)
    return JSONResponse({"data": {"outcome": outcome.value}})
