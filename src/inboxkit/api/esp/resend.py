"""Resend's send API (`POST /emails`, `POST /emails/batch`), captured.

The API key (`Authorization: Bearer …`) is an inboxkit API key with the `capture` scope.
Success is `200 {"id": "<uuid>"}` (a batch: `{"data": [{"id"}, …]}`); failures are
`{"statusCode", "name", "message"}` with Resend's names and statuses (`missing_api_key` 401,
`invalid_api_key` 403, `restricted_api_key` 401 for a key without the scope,
`validation_error` 400/422, `rate_limit_exceeded` / `monthly_quota_exceeded` 429), so the
`resend` SDK raises its own exception classes.

Tags are kept as `X-Resend-Tag: name=value` headers. `scheduled_at` does not delay anything:
the message is captured at once and the requested time kept in `X-Resend-Scheduled-At`.
Attachments given by `path` (a URL for Resend to fetch) are refused: capture fetches nothing.
A batch, as at Resend, takes neither attachments nor `scheduled_at`; with the
`x-batch-validation: permissive` header its valid messages are captured and the others listed
in `errors`, otherwise one invalid message refuses the whole batch.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from inboxkit.api.esp.answers import Problem, Refusal, Unreadable, each, read_json, refusal
from inboxkit.api.esp.common import capture_draft, capture_principal, formatted, mailbox
from inboxkit.api.esp.common import mailbox_list as addresses
from inboxkit.api.esp.fields import (
    ADDRESS_PATTERN,
    MAX_ATTACHMENTS,
    ONE_LINE_PATTERN,
    TEXT_PATTERN,
    AttachmentBudget,
    base64_bytes,
    body_text,
    headers_from_mapping,
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
)
from inboxkit.services.auth import Principal

__all__ = ["router"]

VIA = "esp:resend"
MAX_BATCH = 100
MAX_RECIPIENTS = 50  # Resend: at most 50 addresses in `to`
ATTACHMENT_BYTES = 40 * 1024 * 1024  # Resend: 40 MB per email
MAX_TAGS = 50
_TAG_PART = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # Resend: ASCII letters, digits, _ and -

_ANSWERS: dict[Problem, tuple[int, str]] = {
    Problem.MISSING_KEY: (401, "missing_api_key"),
    Problem.BAD_KEY: (403, "invalid_api_key"),
    Problem.NO_SCOPE: (401, "restricted_api_key"),
    Problem.UNREADABLE: (400, "validation_error"),
    Problem.INVALID: (422, "validation_error"),
    Problem.TOO_LARGE: (422, "validation_error"),
    Problem.OVER_QUOTA: (429, "monthly_quota_exceeded"),
    Problem.RATE_LIMITED: (429, "rate_limit_exceeded"),
    Problem.FAILED: (500, "application_error"),
}

_bearer = HTTPBearer(
    scheme_name="ResendApiKey",
    description="An inboxkit API key with the `capture` scope, as Resend's API key.",
    auto_error=False,
)
CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


class ResendSent(BaseModel):
    id: str


class ResendBatchError(BaseModel):
    index: int
    message: str


class ResendBatchSent(BaseModel):
    data: list[ResendSent]
    errors: list[ResendBatchError] | None = None


class ResendError(BaseModel):
    statusCode: int  # noqa: N815 (Resend's field name)
    name: str
    message: str


def _answer(refused: Refusal) -> JSONResponse:
    status, name = _ANSWERS[refused.problem]
    return JSONResponse(
        {"statusCode": status, "name": name, "message": refused.message},
        status_code=status,
        headers=refused.headers or None,
    )


def too_large(message: str) -> JSONResponse:
    """The answer to a request body over the server's limit (api/limits.py)."""
    return JSONResponse(
        {"statusCode": 413, "name": "validation_error", "message": message}, status_code=413
    )


def _attachments(value: object) -> list[OutgoingAttachment]:
    if value is None:
        return []
    budget = AttachmentBudget(ATTACHMENT_BYTES, "40 MB")
    files = []
    for index, item in enumerate(json_list(value, "attachments", limit=MAX_ATTACHMENTS)):
        where = f"attachments[{index}]"
        fields = json_object(item, where)
        if fields.get("path") is not None:
            raise ComposeError(
                f"{where}.path: capture does not fetch remote files; send the bytes in content."
            )
        filename = optional_line(fields.get("filename"), f"{where}.filename", 255)
        if not filename:
            raise ComposeError(f"{where}.filename is required.")
        content = fields.get("content")
        if isinstance(content, list):  # the SDKs' "array of bytes" form
            if not all(isinstance(b, int) and 0 <= b <= 255 for b in content):
                raise ComposeError(f"{where}.content must be base64 or an array of bytes.")
            data = bytes(content)
        else:
            data = base64_bytes(content, f"{where}.content")
        attachment = OutgoingAttachment(
            filename=filename,
            content_type=optional_line(fields.get("content_type"), f"{where}.content_type", 255)
            or "application/octet-stream",
            data=data,
            content_id=optional_line(fields.get("content_id"), f"{where}.content_id", 250),
        )
        files.append(budget.add(attachment, index))
    return files


def _tags(value: object) -> list[tuple[str, str]]:
    if value is None:
        return []
    headers = []
    for index, item in enumerate(json_list(value, "tags", limit=MAX_TAGS)):
        tag = json_object(item, f"tags[{index}]")
        name, text = tag.get("name"), tag.get("value", "")
        if not isinstance(name, str) or not _TAG_PART.match(name):
            raise ComposeError(
                f"tags[{index}].name must be 1-256 ASCII letters, digits, underscores or dashes."
            )
        if not isinstance(text, str) or (text and not _TAG_PART.match(text)):
            raise ComposeError(
                f"tags[{index}].value must be up to 256 ASCII letters, digits, underscores or "
                "dashes."
            )
        headers.append(("X-Resend-Tag", f"{name}={text}"))
    return headers


def _draft(body: object, *, batch: bool = False) -> tuple[Draft, list[str]]:
    fields = json_object(body, "The email")
    if fields.get("from") is None:
        raise ComposeError("Missing `from` field.")
    sender, sender_name = mailbox(fields.get("from"), "from")
    to = addresses(fields.get("to"), "to", limit=MAX_RECIPIENTS)
    if not to:
        raise ComposeError("Missing `to` field.")
    cc = addresses(fields.get("cc"), "cc", limit=MAX_RECIPIENTS)
    bcc = addresses(fields.get("bcc"), "bcc", limit=MAX_RECIPIENTS)
    subject = optional_line(fields.get("subject"), "subject", SUBJECT_CHARS)
    if subject is None:
        raise ComposeError("Missing `subject` field.")
    text = body_text(fields.get("text"), "text")
    html = body_text(fields.get("html"), "html")
    if text is None and html is None:
        raise ComposeError("Missing `html` or `text` field.")
    if batch and fields.get("attachments"):
        raise ComposeError("Attachments are not supported in batch emails.")
    if batch and fields.get("scheduled_at"):
        raise ComposeError("scheduled_at is not supported in batch emails.")
    headers = headers_from_mapping(fields.get("headers"), "headers")
    headers += _tags(fields.get("tags"))
    scheduled = optional_line(fields.get("scheduled_at"), "scheduled_at", 100)
    if scheduled:
        headers.append(("X-Resend-Scheduled-At", scheduled))
    if len(headers) > MAX_HEADERS:
        raise ComposeError(f"An email may carry at most {MAX_HEADERS} headers and tags.")
    draft = Draft(
        from_address=sender,
        from_name=sender_name,
        to=formatted(to),
        cc=formatted(cc),
        bcc=[address for address, _name in bcc],
        subject=subject,
        text=text,
        html=html,
        attachments=_attachments(fields.get("attachments")),
        reply_to=formatted(addresses(fields.get("reply_to"), "reply_to", limit=MAX_RECIPIENTS)),
        headers=headers,
    )
    return draft, [address for address, _name in to + cc + bcc]


async def _capture(request: Request, principal: Principal, draft: Draft, to: list[str]) -> str:
    email_id = str(uuid.uuid4())
    domain = request.app.state.runtime.settings.default_domain
    await capture_draft(
        request,
        principal,
        draft,
        envelope_from=draft.from_address,
        envelope_to=to,
        via=VIA,
        message_id=f"<{email_id}@{domain}>",
    )
    return email_id


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ResendError, "description": "The body is not JSON (`validation_error`)"},
    401: {
        "model": ResendError,
        "description": "No API key (`missing_api_key`), or one without the `capture` scope "
        "(`restricted_api_key`)",
    },
    403: {"model": ResendError, "description": "Invalid API key (`invalid_api_key`)"},
    413: {"model": ResendError, "description": "The request body is too large"},
    422: {"model": ResendError, "description": "Invalid email (`validation_error`)"},
    429: {
        "model": ResendError,
        "description": "Over a rate limit or a plan's ceiling (`rate_limit_exceeded`, "
        "`monthly_quota_exceeded`)",
    },
}

_ADDRESS_LIST: dict[str, Any] = {
    "type": "array",
    "maxItems": MAX_RECIPIENTS,
    "items": {"type": "string", "pattern": ADDRESS_PATTERN},
}
_ADDRESSES: dict[str, Any] = {
    "anyOf": [{"type": "string", "pattern": ADDRESS_PATTERN}, _ADDRESS_LIST | {"minItems": 1}]
}
_OPTIONAL_ADDRESSES: dict[str, Any] = {
    "anyOf": [{"type": "string", "pattern": ADDRESS_PATTERN}, _ADDRESS_LIST, {"enum": ["", None]}]
}
_EMAIL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["from", "to", "subject"],
    # At least one body that is not empty.
    "anyOf": [
        {"required": ["text"], "properties": {"text": {"type": "string", "minLength": 1}}},
        {"required": ["html"], "properties": {"html": {"type": "string", "minLength": 1}}},
    ],
    "properties": {
        "from": {"type": "string", "pattern": ADDRESS_PATTERN},
        "to": _ADDRESSES,
        "cc": _OPTIONAL_ADDRESSES,
        "bcc": _OPTIONAL_ADDRESSES,
        "reply_to": _OPTIONAL_ADDRESSES,
        "subject": {"type": "string", "maxLength": SUBJECT_CHARS, "pattern": ONE_LINE_PATTERN},
        "text": {"type": ["string", "null"], "pattern": TEXT_PATTERN},
        "html": {"type": ["string", "null"], "pattern": TEXT_PATTERN},
    },
}

router = APIRouter(tags=["capture"])


@router.post(
    "/emails",
    response_model=None,
    responses={200: {"model": ResendSent, "description": "Captured"}, **_ERRORS},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _EMAIL_SCHEMA}},
        }
    },
)
async def send_email(request: Request, credentials: CredentialsDep) -> JSONResponse:
    """Resend's `POST /emails`: the email is captured (never sent) in the key's account's
    capture mailbox."""
    key = credentials.credentials if credentials else None
    try:
        principal = await capture_principal(request, key)
        draft, recipients = _draft(await read_json(request))
        return JSONResponse({"id": await _capture(request, principal, draft, recipients)})
    except Exception as exc:
        return _answer(refusal(exc, key=key))


@router.post(
    "/emails/batch",
    response_model=None,
    responses={200: {"model": ResendBatchSent, "description": "Captured"}, **_ERRORS},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": MAX_BATCH,
                        "items": _EMAIL_SCHEMA,
                    }
                }
            },
        },
        "parameters": [
            {
                "name": "x-batch-validation",
                "in": "header",
                "required": False,
                "schema": {"enum": ["strict", "permissive"]},
                "description": "`strict` (default): one invalid email refuses the batch. "
                "`permissive`: valid emails are captured, the others listed in `errors`.",
            }
        ],
    },
)
async def send_batch(request: Request, credentials: CredentialsDep) -> JSONResponse:
    """Resend's `POST /emails/batch` (at most 100 emails, without attachments or
    `scheduled_at`)."""
    key = credentials.credentials if credentials else None
    mode = request.headers.get("x-batch-validation", "strict")
    permissive = mode == "permissive"
    try:
        principal = await capture_principal(request, key)
        if mode not in ("strict", "permissive"):
            raise ComposeError("x-batch-validation must be 'strict' or 'permissive'.")
        body = await read_json(request)
        if not isinstance(body, list):
            raise Unreadable("The batch must be a JSON array of emails.")
        if not body or len(body) > MAX_BATCH:
            raise ComposeError(f"A batch holds 1 to {MAX_BATCH} emails; this one has {len(body)}.")
        drafts: list[tuple[int, Draft, list[str]]] = []
        errors: list[dict[str, Any]] = []
        for index, email in enumerate(body):
            try:
                drafts.append((index, *_draft(email, batch=True)))
            except ComposeError as exc:
                if not permissive:
                    raise ComposeError(f"emails[{index}]: {exc}") from None
                errors.append({"index": index, "message": str(exc)})
        captured = await each(drafts, lambda item: _capture(request, principal, item[1], item[2]))
        failed = [result for result in captured if isinstance(result, Exception)]
        if failed:
            raise failed[0]
        data = [{"id": result} for result in captured]
    except Exception as exc:
        return _answer(refusal(exc, key=key))
    answer: dict[str, Any] = {"data": data}
    if permissive:
        answer["errors"] = errors
    return JSONResponse(answer)
