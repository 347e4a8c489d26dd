"""SendGrid's v3 Mail Send (`POST /v3/mail/send`), captured.

The API key (`Authorization: Bearer …`) is an inboxkit API key with the `capture` scope. As
SendGrid does, each personalization becomes a message of its own (its to/cc/bcc, its subject
and headers over the request's). Success is `202` with an empty body and `X-Message-Id`;
failures are `{"errors": [{"message", "field", "help"}]}` with SendGrid's statuses (400, 401,
403, 413, 429), so sendgrid-python raises its usual `HTTPError` subclass.

Categories and custom_args are kept as headers (`X-SendGrid-Category`,
`X-SendGrid-Custom-Arg: key=value`). A dynamic template is not rendered: its id is kept in
`X-SendGrid-Template-Id` and the message's text is its `dynamic_template_data` as JSON.
Substitutions, send_at, batch_id, asm, mail_settings and tracking_settings are ignored.
"""

from __future__ import annotations

import json
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from inboxkit.api.esp.answers import Problem, Refusal, each, read_json, refusal
from inboxkit.api.esp.common import capture_draft, capture_principal, mailbox
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
    check_header,
    format_address,
)
from inboxkit.services.auth import Principal

__all__ = ["router"]

VIA = "esp:sendgrid"
MAX_PERSONALIZATIONS = 1000
MAX_RECIPIENTS = 1000  # to, cc and bcc of every personalization together
ATTACHMENT_BYTES = 30 * 1024 * 1024  # SendGrid: 30 MB per request
MAX_CATEGORIES, CATEGORY_CHARS = 10, 255
MAX_CUSTOM_ARGS = 100
NAME_CHARS = 200

_ANSWERS: dict[Problem, tuple[int, str]] = {
    Problem.MISSING_KEY: (401, "Authorization header required: send 'Bearer <API key>'."),
    Problem.BAD_KEY: (401, "The provided authorization grant is invalid, expired, or revoked"),
    Problem.NO_SCOPE: (403, "access forbidden"),
    Problem.UNREADABLE: (400, ""),
    Problem.INVALID: (400, ""),
    Problem.TOO_LARGE: (413, ""),
    Problem.OVER_QUOTA: (429, ""),
    Problem.RATE_LIMITED: (429, ""),
    Problem.FAILED: (500, ""),
}

_bearer = HTTPBearer(
    scheme_name="SendGridApiKey",
    description="An inboxkit API key with the `capture` scope, as SendGrid's API key.",
    auto_error=False,
)
CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


class SendGridErrorItem(BaseModel):
    message: str
    field: str | None
    help: str | None


class SendGridError(BaseModel):
    errors: list[SendGridErrorItem]


def _answer(refused: Refusal, field: str | None = None) -> JSONResponse:
    status, fixed = _ANSWERS[refused.problem]
    # SendGrid's own words for credential refusals; ours (saying what to do) otherwise.
    message = refused.message if not fixed else f"{fixed} {refused.message}".strip()
    return JSONResponse(
        {"errors": [{"message": message, "field": field, "help": None}]},
        status_code=status,
        headers=refused.headers or None,
    )


def too_large(message: str) -> JSONResponse:
    """The answer to a request body over the server's limit (api/limits.py)."""
    return _answer(Refusal(Problem.TOO_LARGE, message))


class FieldError(ComposeError):
    """A refused value and the JSON path SendGrid would name in `field`."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def _email(value: object, where: str) -> str:
    """A `{email, name}` object as a header-ready address."""
    fields = json_object(value, where)
    address, _ = mailbox(fields.get("email"), f"{where}.email")
    name = optional_line(fields.get("name"), f"{where}.name", NAME_CHARS)
    return format_address(address, name)


def _emails(value: object, where: str) -> list[tuple[str, str]]:
    """(address, header form) of each `{email, name}` in a list."""
    if value is None:
        return []
    items = json_list(value, where, limit=MAX_RECIPIENTS)
    found = []
    for index, item in enumerate(items):
        fields = json_object(item, f"{where}[{index}]")
        address, _ = mailbox(fields.get("email"), f"{where}[{index}].email")
        name = optional_line(fields.get("name"), f"{where}[{index}].name", NAME_CHARS)
        found.append((address, format_address(address, name)))
    return found


def _content(body: dict[str, Any]) -> tuple[str | None, str | None]:
    text = html = None
    for index, item in enumerate(json_list(body.get("content") or [], "content", limit=10)):
        part = json_object(item, f"content[{index}]")
        kind = part.get("type")
        value = body_text(part.get("value"), f"content[{index}].value")
        if value is None:
            raise FieldError("The content value must be at least one character.", "content")
        # The first part of each type is used; SendGrid itself wants text/plain first.
        if kind == "text/plain":
            text = text if text is not None else value
        elif kind == "text/html":
            html = html if html is not None else value
        else:
            raise FieldError(
                "Capture takes content of type text/plain and text/html only.",
                f"content[{index}].type",
            )
    return text, html


def _attachments(value: object) -> list[OutgoingAttachment]:
    if value is None:
        return []
    budget = AttachmentBudget(ATTACHMENT_BYTES, "30 MB")
    files = []
    for index, item in enumerate(json_list(value, "attachments", limit=MAX_ATTACHMENTS)):
        where = f"attachments[{index}]"
        fields = json_object(item, where)
        filename = optional_line(fields.get("filename"), f"{where}.filename", 255)
        if not filename:
            raise FieldError("The attachment filename parameter is required.", where)
        disposition = fields.get("disposition") or "attachment"
        if disposition not in ("attachment", "inline"):
            raise FieldError("disposition must be 'attachment' or 'inline'.", where)
        content_id = optional_line(fields.get("content_id"), f"{where}.content_id", 250)
        if disposition == "inline" and not content_id:
            raise FieldError("An inline attachment needs a content_id.", where)
        attachment = OutgoingAttachment(
            filename=filename,
            content_type=optional_line(fields.get("type"), f"{where}.type", 255)
            or "application/octet-stream",
            data=base64_bytes(fields.get("content"), f"{where}.content"),
            content_id=content_id if disposition == "inline" else None,
        )
        files.append(budget.add(attachment, index))
    return files


def _tag_headers(body: dict[str, Any], personal: dict[str, Any]) -> list[tuple[str, str]]:
    headers = []
    categories = json_list(body.get("categories") or [], "categories", limit=MAX_CATEGORIES)
    for index, category in enumerate(categories):
        line = optional_line(category, f"categories[{index}]", CATEGORY_CHARS)
        if line:
            headers.append(("X-SendGrid-Category", line))
    args = json_object(body.get("custom_args") or {}, "custom_args")
    args = {**args, **json_object(personal.get("custom_args") or {}, "custom_args")}
    if len(args) > MAX_CUSTOM_ARGS:
        raise ComposeError(f"custom_args may hold at most {MAX_CUSTOM_ARGS} keys.")
    for key, value in args.items():
        if not isinstance(value, str):
            raise FieldError("custom_args values must be strings.", f"custom_args.{key[:80]}")
        headers.append(check_header("X-SendGrid-Custom-Arg", f"{key}={value}"))
    template_id = optional_line(body.get("template_id"), "template_id", 100)
    if template_id:
        headers.append(("X-SendGrid-Template-Id", template_id))
    return headers


def _drafts(body: object) -> list[tuple[Draft, list[str]]]:
    """One (draft, envelope recipients) per personalization, everything checked before
    anything is captured (SendGrid accepts or refuses the request as a whole)."""
    fields = json_object(body, "The request body")
    personalizations = fields.get("personalizations")
    if not personalizations:
        raise FieldError("The personalizations field is required.", "personalizations")
    personalizations = json_list(personalizations, "personalizations", limit=MAX_PERSONALIZATIONS)
    if fields.get("from") is None:
        raise FieldError("The from object must be provided for every email send.", "from")
    sender = json_object(fields["from"], "from")
    from_address, _ = mailbox(sender.get("email"), "from.email")
    from_name = optional_line(sender.get("name"), "from.name", NAME_CHARS)
    reply_to = [_email(fields["reply_to"], "reply_to")] if fields.get("reply_to") else []
    reply_to += [header for _a, header in _emails(fields.get("reply_to_list"), "reply_to_list")]
    text, html = _content(fields)
    template_id = fields.get("template_id")
    if text is None and html is None and not template_id:
        raise FieldError("Unless a template_id is given, content is required.", "content")
    subject = optional_line(fields.get("subject"), "subject", SUBJECT_CHARS)
    attachments = _attachments(fields.get("attachments"))
    shared_headers = headers_from_mapping(fields.get("headers"), "headers")
    drafts, total = [], 0
    for index, item in enumerate(personalizations):
        where = f"personalizations[{index}]"
        personal = json_object(item, where)
        to = _emails(personal.get("to"), f"{where}.to")
        if not to:
            raise FieldError("The to array is required for all personalization objects.", where)
        cc = _emails(personal.get("cc"), f"{where}.cc")
        bcc = _emails(personal.get("bcc"), f"{where}.bcc")
        total += len(to) + len(cc) + len(bcc)
        if total > MAX_RECIPIENTS:
            raise FieldError(
                f"A request may name at most {MAX_RECIPIENTS} recipients in all.",
                "personalizations",
            )
        own_subject = optional_line(personal.get("subject"), f"{where}.subject", SUBJECT_CHARS)
        if own_subject is None and subject is None and not template_id:
            raise FieldError(
                "The subject is required: give one for the request or for every personalization.",
                "subject",
            )
        own = dict(shared_headers)
        own.update(headers_from_mapping(personal.get("headers"), f"{where}.headers"))
        extra = _tag_headers(fields, personal)
        if len(own) + len(extra) > MAX_HEADERS:
            raise ComposeError(f"A message may carry at most {MAX_HEADERS} custom headers.")
        own_text = text
        if text is None and html is None:
            # A template is not rendered: its data (set per personalization) is the text.
            data = personal.get("dynamic_template_data", fields.get("dynamic_template_data"))
            own_text = json.dumps(data if data is not None else {}, indent=2, sort_keys=True)
        draft = Draft(
            from_address=from_address,
            from_name=from_name,
            to=[header for _a, header in to],
            cc=[header for _a, header in cc],
            bcc=[address for address, _h in bcc],
            subject=own_subject if own_subject is not None else (subject or ""),
            text=own_text,
            html=html,
            attachments=attachments,
            reply_to=reply_to,
            headers=list(own.items()) + extra,
            text_from_html=False,  # SendGrid sends the content it is given
        )
        drafts.append((draft, [address for address, _h in to + cc + bcc]))
    return drafts


async def _send(request: Request, principal: Principal, body: object) -> str:
    drafts = _drafts(body)
    message_id = secrets.token_urlsafe(16)[:22]

    async def capture(item: tuple[Draft, list[str]]) -> None:
        draft, recipients = item
        draft.headers.append(("X-SendGrid-Message-Id", message_id))
        await capture_draft(
            request,
            principal,
            draft,
            envelope_from=draft.from_address,
            envelope_to=recipients,
            via=VIA,
        )

    failed = [result for result in await each(drafts, capture) if isinstance(result, Exception)]
    if failed:
        raise failed[0]
    return message_id


_EMAIL_OBJECT: dict[str, Any] = {
    "type": "object",
    "required": ["email"],
    "properties": {
        "email": {"type": "string", "pattern": ADDRESS_PATTERN},
        "name": {"type": ["string", "null"], "maxLength": NAME_CHARS, "pattern": ONE_LINE_PATTERN},
    },
}

_REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["personalizations", "from", "content", "subject"],
    "properties": {
        "personalizations": {
            "type": "array",
            "minItems": 1,
            # Stated, not declared as maxItems: the recipients' bound (to, cc and bcc of every
            # personalization together) cannot be written in a schema, and both bounds only
            # matter together.
            "description": f"At most {MAX_PERSONALIZATIONS} personalizations and "
            f"{MAX_RECIPIENTS} recipients in all (to, cc and bcc)",
            "items": {
                "type": "object",
                "required": ["to"],
                "properties": {
                    "to": {
                        "type": "array",
                        "minItems": 1,
                        "items": _EMAIL_OBJECT,
                    },
                    "cc": {
                        "type": ["array", "null"],
                        "items": _EMAIL_OBJECT,
                    },
                    "bcc": {
                        "type": ["array", "null"],
                        "items": _EMAIL_OBJECT,
                    },
                },
            },
        },
        "from": _EMAIL_OBJECT,
        "subject": {
            "type": "string",
            "maxLength": SUBJECT_CHARS,
            "pattern": ONE_LINE_PATTERN,
        },
        "content": {
            "type": "array",
            "minItems": 1,
            "maxItems": 10,
            "items": {
                "type": "object",
                "required": ["type", "value"],
                "properties": {
                    "type": {"enum": ["text/plain", "text/html"]},
                    "value": {"type": "string", "minLength": 1, "pattern": TEXT_PATTERN},
                },
            },
        },
    },
}

router = APIRouter(tags=["capture"])


@router.post(
    "/v3/mail/send",
    status_code=202,
    response_class=Response,
    responses={
        202: {
            "description": "Captured; the body is empty",
            "headers": {"X-Message-Id": {"schema": {"type": "string"}}},
        },
        400: {"model": SendGridError, "description": "Invalid request"},
        401: {"model": SendGridError, "description": "Missing or invalid API key"},
        403: {"model": SendGridError, "description": "The key lacks the `capture` scope"},
        413: {"model": SendGridError, "description": "The request or message is too large"},
        429: {"model": SendGridError, "description": "Over a rate limit or a plan's ceiling"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _REQUEST_SCHEMA}},
        }
    },
)
async def send_mail(request: Request, credentials: CredentialsDep) -> Response:
    """SendGrid's `POST /v3/mail/send`: each personalization is captured as its own message
    (never sent) in the key's account's capture mailbox."""
    key = credentials.credentials if credentials else None
    try:
        principal = await capture_principal(request, key)
        message_id = await _send(request, principal, await read_json(request))
    except FieldError as exc:
        return _answer(refusal(exc, key=key), exc.field)
    except Exception as exc:
        return _answer(refusal(exc, key=key))
    return Response(status_code=202, headers={"X-Message-Id": message_id})
