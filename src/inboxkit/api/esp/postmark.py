"""Postmark's send API (`POST /email`, `POST /email/batch`), captured.

The server token (`X-Postmark-Server-Token`) is an inboxkit API key with the `capture` scope.
Answers have Postmark's shapes: `{"To", "SubmittedAt", "MessageID", "ErrorCode": 0,
"Message": "OK"}` on success, `{"ErrorCode", "Message"}` with Postmark's codes on failure (401
for a bad token, 422 for a refused request, 413 and 429), so postmarker's `ClientError` carries
the code an application would see from Postmark. A batch answers 200 with one result per
message, failures included, as Postmark does.

Tag, Metadata and MessageStream are kept as the headers Postmark's own SMTP service reads them
from (`X-PM-Tag`, `X-PM-Metadata-<key>`, `X-PM-Message-Stream`); TrackOpens and TrackLinks are
accepted and ignored.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import IntEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from pydantic import BaseModel

from inboxkit.api.esp.answers import Problem, Refusal, each, read_json, refusal
from inboxkit.api.esp.common import (
    capture_draft,
    capture_principal,
    formatted,
    mailbox,
    mailbox_list,
    runtime_of,
)
from inboxkit.api.esp.fields import (
    ADDRESS_PATTERN,
    BASE64_PATTERN,
    CONTENT_TYPE_PATTERN,
    FIELD_NAME_PATTERN,
    FILENAME_PATTERN,
    MAX_ATTACHMENTS,
    ONE_LINE_PATTERN,
    TEXT_PATTERN,
    AttachmentBudget,
    base64_bytes,
    body_text,
    json_list,
    json_object,
    optional_line,
)
from inboxkit.mail.compose import (
    MAX_HEADERS,
    SUBJECT_CHARS,
    ComposeError,
    Draft,
    OutgoingAttachment,
    check_header,
)
from inboxkit.services.auth import Principal

__all__ = ["router", "TOKEN_HEADER"]

TOKEN_HEADER = "X-Postmark-Server-Token"
VIA = "esp:postmark"
MAX_BATCH = 500  # messages per /email/batch request
MAX_RECIPIENTS = 50  # addresses in each of To, Cc and Bcc
ATTACHMENT_BYTES = 10 * 1024 * 1024  # Postmark: 10 MB of attachments per message
TAG_CHARS = 1000
# Postmark's metadata limits: field names up to 20 characters, values up to 80.
METADATA_FIELDS, METADATA_NAME_CHARS, METADATA_VALUE_CHARS = 10, 20, 80
STREAM_CHARS = 100


class ErrorCode(IntEnum):
    """Postmark's API error codes (its documented table) that capture can answer."""

    BAD_TOKEN = 10
    MAINTENANCE = 100
    INVALID_EMAIL_REQUEST = 300
    INVALID_JSON = 402
    INCOMPATIBLE_JSON = 403
    TOO_MANY_BATCH_MESSAGES = 410
    RATE_LIMIT_EXCEEDED = 429


_ANSWERS: dict[Problem, tuple[int, ErrorCode]] = {
    Problem.MISSING_KEY: (401, ErrorCode.BAD_TOKEN),
    Problem.BAD_KEY: (401, ErrorCode.BAD_TOKEN),
    # Postmark answers a token that may not use an endpoint like a wrong one.
    Problem.NO_SCOPE: (401, ErrorCode.BAD_TOKEN),
    Problem.UNREADABLE: (422, ErrorCode.INVALID_JSON),
    Problem.INVALID: (422, ErrorCode.INVALID_EMAIL_REQUEST),
    Problem.TOO_LARGE: (413, ErrorCode.INVALID_EMAIL_REQUEST),
    Problem.OVER_QUOTA: (429, ErrorCode.RATE_LIMIT_EXCEEDED),
    Problem.RATE_LIMITED: (429, ErrorCode.RATE_LIMIT_EXCEEDED),
    Problem.FAILED: (500, ErrorCode.MAINTENANCE),
}

_token = APIKeyHeader(
    name=TOKEN_HEADER,
    scheme_name="PostmarkServerToken",
    description="An inboxkit API key with the `capture` scope, as Postmark's server token.",
    auto_error=False,
)
TokenDep = Annotated[str | None, Depends(_token)]


class PostmarkSent(BaseModel):
    To: str
    SubmittedAt: str
    MessageID: str
    ErrorCode: int
    Message: str


class PostmarkError(BaseModel):
    ErrorCode: int
    Message: str


def _answer(refused: Refusal) -> JSONResponse:
    status, code = _ANSWERS[refused.problem]
    return JSONResponse(
        {"ErrorCode": int(code), "Message": refused.message},
        status_code=status,
        headers=refused.headers or None,
    )


def too_large(message: str) -> JSONResponse:
    """The answer to a request body over the server's limit (api/limits.py)."""
    return _answer(Refusal(Problem.TOO_LARGE, message))


def _fields(value: object, name: str) -> dict[str, str | Any]:
    # Postmark reads its JSON field names without regard to case.
    return {str(key).lower(): item for key, item in json_object(value, name).items()}


def _attachments(value: object) -> list[OutgoingAttachment]:
    if value is None:
        return []
    budget = AttachmentBudget(ATTACHMENT_BYTES, "10 MB")
    files = []
    for index, item in enumerate(json_list(value, "Attachments", limit=MAX_ATTACHMENTS)):
        where = f"Attachments[{index}]"
        fields = _fields(item, where)
        name = optional_line(fields.get("name"), f"{where}.Name", 255)
        if not name:
            raise ComposeError(f"{where}.Name is required.")
        content_type = optional_line(fields.get("contenttype"), f"{where}.ContentType", 255)
        content_id = optional_line(fields.get("contentid"), f"{where}.ContentID", 250)
        if content_id and content_id.lower().startswith("cid:"):
            content_id = content_id[4:]  # how HTML refers to it: <img src="cid:…">
        attachment = OutgoingAttachment(
            filename=name,
            content_type=content_type or "application/octet-stream",
            data=base64_bytes(fields.get("content"), f"{where}.Content"),
            content_id=content_id or None,
        )
        files.append(budget.add(attachment, index))
    return files


def _headers(fields: dict[str, Any]) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    given = fields.get("headers")
    for index, item in enumerate(
        json_list([] if given is None else given, "Headers", limit=MAX_HEADERS)
    ):
        header = _fields(item, f"Headers[{index}]")
        name, value = header.get("name"), header.get("value")
        if not isinstance(name, str) or not isinstance(value, str):
            raise ComposeError(f"Headers[{index}] needs a string Name and a string Value.")
        headers.append(check_header(name, value))
    tag = optional_line(fields.get("tag"), "Tag", TAG_CHARS)
    if tag:
        headers.append(("X-PM-Tag", tag))
    metadata = fields.get("metadata")
    if metadata is not None:
        metadata = json_object(metadata, "Metadata")
        if len(metadata) > METADATA_FIELDS:
            raise ComposeError(f"Metadata may hold at most {METADATA_FIELDS} fields.")
        for key, value in metadata.items():
            if len(key) > METADATA_NAME_CHARS:
                raise ComposeError(f"Metadata field names are at most {METADATA_NAME_CHARS} chars.")
            if not isinstance(value, str):
                raise ComposeError(f"Metadata.{key[:20]} must be a string.")
            text = value
            if len(text) > METADATA_VALUE_CHARS:
                raise ComposeError(f"Metadata values are at most {METADATA_VALUE_CHARS} chars.")
            headers.append(check_header(f"X-PM-Metadata-{key}", text))
    stream = optional_line(fields.get("messagestream"), "MessageStream", STREAM_CHARS)
    if stream:
        headers.append(("X-PM-Message-Stream", stream))
    return headers


def _draft(body: object) -> tuple[Draft, list[str], str]:
    """(the draft, its envelope recipients, the To field as given) from one message."""
    fields = _fields(body, "The message")
    sender, sender_name = mailbox(fields.get("from"), "From")
    to = mailbox_list(fields.get("to"), "To", limit=MAX_RECIPIENTS)
    cc = mailbox_list(fields.get("cc"), "Cc", limit=MAX_RECIPIENTS)
    bcc = mailbox_list(fields.get("bcc"), "Bcc", limit=MAX_RECIPIENTS)
    if not to:
        raise ComposeError("Zero recipients specified: To needs at least one address.")
    text = body_text(fields.get("textbody"), "TextBody")
    html = body_text(fields.get("htmlbody"), "HtmlBody")
    if text is None and html is None:
        raise ComposeError("Provide either email TextBody or HtmlBody or both.")
    draft = Draft(
        from_address=sender,
        from_name=sender_name,
        to=formatted(to),
        cc=formatted(cc),
        bcc=[address for address, _name in bcc],
        subject=optional_line(fields.get("subject"), "Subject", SUBJECT_CHARS) or "",
        text=text,
        html=html,
        attachments=_attachments(fields.get("attachments")),
        reply_to=formatted(mailbox_list(fields.get("replyto"), "ReplyTo", limit=MAX_RECIPIENTS)),
        headers=_headers(fields),
        # Postmark sends an HTML-only message as HTML alone.
        text_from_html=False,
    )
    to_given = fields.get("to")
    to_text = to_given if isinstance(to_given, str) else ", ".join(formatted(to))
    return draft, [address for address, _name in to + cc + bcc], to_text


async def _send(request: Request, principal: Principal, body: object) -> dict[str, Any]:
    draft, recipients, to_text = _draft(body)
    message_id = str(uuid.uuid4())
    draft.headers.append(("X-PM-Message-Id", message_id))
    domain = runtime_of(request).settings.default_domain
    await capture_draft(
        request,
        principal,
        draft,
        envelope_from=draft.from_address,
        envelope_to=recipients,
        via=VIA,
        message_id=f"<{message_id}@{domain}>",
    )
    return {
        "To": to_text,
        "SubmittedAt": datetime.now(UTC).isoformat(),
        "MessageID": message_id,
        "ErrorCode": 0,
        "Message": "OK",
    }


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": PostmarkError, "description": "Bad or missing server token (ErrorCode 10)"},
    413: {"model": PostmarkError, "description": "The request or message is too large"},
    422: {
        "model": PostmarkError,
        "description": "Invalid request (ErrorCode 300; 402 for a body that is not JSON)",
    },
    429: {"model": PostmarkError, "description": "Over a rate limit or a plan's ceiling"},
}

_STRING_OR_NULL: dict[str, Any] = {"type": ["string", "null"], "pattern": ONE_LINE_PATTERN}
_ADDRESSES_OR_EMPTY: dict[str, Any] = {
    "anyOf": [{"type": "string", "pattern": ADDRESS_PATTERN}, {"enum": ["", None]}],
    "description": "Comma-separated addresses, at most 50",
}
_MESSAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["From", "To"],
    # At least one body that is not empty.
    "anyOf": [
        {"required": ["TextBody"], "properties": {"TextBody": {"type": "string", "minLength": 1}}},
        {"required": ["HtmlBody"], "properties": {"HtmlBody": {"type": "string", "minLength": 1}}},
    ],
    "properties": {
        "From": {
            "type": "string",
            "pattern": ADDRESS_PATTERN,
            "description": "Or `Name <address>`",
        },
        "To": {
            "type": "string",
            "pattern": ADDRESS_PATTERN,
            "description": "Comma-separated, at most 50",
        },
        "Cc": _ADDRESSES_OR_EMPTY,
        "Bcc": _ADDRESSES_OR_EMPTY,
        "ReplyTo": _ADDRESSES_OR_EMPTY,
        "Subject": _STRING_OR_NULL | {"maxLength": SUBJECT_CHARS},
        "HtmlBody": {"type": ["string", "null"], "pattern": TEXT_PATTERN},
        "TextBody": {"type": ["string", "null"], "pattern": TEXT_PATTERN},
        "Headers": {
            "type": ["array", "null"],
            "maxItems": MAX_HEADERS,
            "items": {
                "type": "object",
                "required": ["Name", "Value"],
                "properties": {
                    "Name": {"type": "string", "pattern": FIELD_NAME_PATTERN},
                    "Value": {
                        "type": "string",
                        "pattern": ONE_LINE_PATTERN,
                        "maxLength": SUBJECT_CHARS,
                    },
                },
            },
        },
        "Tag": _STRING_OR_NULL | {"maxLength": TAG_CHARS},
        "Metadata": {
            "type": ["object", "null"],
            "maxProperties": METADATA_FIELDS,
            "propertyNames": {"pattern": f"^[!-9;-~]{{0,{METADATA_NAME_CHARS}}}$"},
            "additionalProperties": {
                "type": "string",
                "pattern": ONE_LINE_PATTERN,
                "maxLength": METADATA_VALUE_CHARS,
            },
        },
        "MessageStream": _STRING_OR_NULL | {"maxLength": STREAM_CHARS},
        "TrackOpens": {"description": "Accepted and ignored"},
        "TrackLinks": {"description": "Accepted and ignored"},
        "Attachments": {
            "type": ["array", "null"],
            "maxItems": MAX_ATTACHMENTS,
            "items": {
                "type": "object",
                "required": ["Name", "Content"],
                "properties": {
                    "Name": {"type": "string", "pattern": FILENAME_PATTERN, "maxLength": 255},
                    "Content": {"type": "string", "pattern": BASE64_PATTERN},
                    "ContentType": {
                        "anyOf": [
                            {"type": "string", "pattern": CONTENT_TYPE_PATTERN},
                            {"enum": ["", None]},
                        ]
                    },
                    "ContentID": {
                        "type": ["string", "null"],
                        "pattern": "^(?:[Cc][Ii][Dd]:)?[!-;=?-~]{0,246}$",
                    },
                },
            },
        },
    },
}

router = APIRouter(tags=["capture"])


@router.post(
    "/email",
    response_model=None,
    responses={200: {"model": PostmarkSent, "description": "Captured"}, **_ERRORS},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _MESSAGE_SCHEMA}},
        }
    },
)
async def send_email(request: Request, token: TokenDep) -> JSONResponse:
    """Postmark's `POST /email`: the message is captured (never sent) in the token's
    account's capture mailbox. Point postmarker at the server's root URL."""
    try:
        principal = await capture_principal(request, token)
        return JSONResponse(await _send(request, principal, await read_json(request)))
    except Exception as exc:
        return _answer(refusal(exc, key=token))


@router.post(
    "/email/batch",
    response_model=None,
    responses={
        200: {"model": list[PostmarkSent | PostmarkError], "description": "One result each"},
        **_ERRORS,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "maxItems": MAX_BATCH,
                        # Each message is checked on its own: a refused one gets its own
                        # ErrorCode in the 200 answer (the fields are those of /email).
                        "items": {"type": "object"},
                    }
                }
            },
        }
    },
)
async def send_batch(request: Request, token: TokenDep) -> JSONResponse:
    """Postmark's `POST /email/batch` (at most 500 messages): 200 with a result per message,
    in order; a refused message has its own `ErrorCode` and the others are still captured."""
    try:
        principal = await capture_principal(request, token)
        body = await read_json(request)
        if not isinstance(body, list) or not all(isinstance(m, dict) for m in body):
            return JSONResponse(
                {
                    "ErrorCode": int(ErrorCode.INCOMPATIBLE_JSON),
                    "Message": "The batch must be a JSON array of message objects.",
                },
                status_code=422,
            )
        if len(body) > MAX_BATCH:
            return JSONResponse(
                {
                    "ErrorCode": int(ErrorCode.TOO_MANY_BATCH_MESSAGES),
                    "Message": f"A batch holds at most {MAX_BATCH} messages; this one has "
                    f"{len(body)}.",
                },
                status_code=422,
            )
    except Exception as exc:
        return _answer(refusal(exc, key=token))
    results: list[dict[str, Any]] = []
    for result in await each(body, lambda message: _send(request, principal, message)):
        if isinstance(result, Exception):
            refused = refusal(result, key=token)
            code = _ANSWERS[refused.problem][1]
            result = {"ErrorCode": int(code), "Message": refused.message}
        results.append(result)
    return JSONResponse(results)
