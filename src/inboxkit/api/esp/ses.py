"""Amazon SES v2 `SendEmail` (`POST /v2/email/outbound-emails`) and `SendBulkEmail`
(`POST /v2/email/outbound-bulk-emails`), captured.

An application using the AWS SDK's `sesv2` client with `endpoint_url` pointed here, the
access key id set to an inboxkit API key's id and the secret to the key itself, has its mail
captured. Every request is verified as AWS verifies it (SigV4, see `sigv4.py`) before its body
is even parsed; unsigned or mis-signed requests are refused with AWS's own error types.

Errors follow SES v2's REST-JSON shape: the type in the `x-amzn-ErrorType` header, the text in
`{"message": …}`, so botocore raises `ClientError` with that code (and the `sesv2` client's
modelled exceptions, such as `client.exceptions.BadRequestException`, match it).

Content: `Simple` (subject, text and/or HTML, up to 15 headers, attachments), `Raw` (the
message stored as given, after the signature; SES's own additions when missing: Message-ID
and Date) and `Template` when its content is given inline (`TemplateContent` with
`{{name}}` placeholders filled from `TemplateData`); a stored template (`TemplateName` /
`TemplateArn`) does not exist here (NotFoundException). `EmailTags` are kept as one
`X-SES-Message-Tags: name=value, …` header (the header SES reads tags from in raw mail);
`ConfigurationSetName` and the other sending options are accepted and ignored.

`SendBulkEmail` sends its inline default template once per entry (at most 50), with the
entry's replacement data (or the default data), tags (or the default tags) and headers; each
entry is captured or refused on its own and reported as SES reports it (`SUCCESS` with a
MessageId, or `INVALID_PARAMETER`, `MESSAGE_REJECTED`, `ACCOUNT_THROTTLED` … with the reason).
"""

from __future__ import annotations

import base64
import binascii
import json
import mimetypes
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import format_datetime, getaddresses
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from inboxkit.api.deps import client_ip
from inboxkit.api.esp.common import capture_draft, formatted, mailbox, mailbox_list, runtime_of
from inboxkit.api.esp.sigv4 import SignatureProblem, SigV4Error, parse_signed_request
from inboxkit.errors import (
    Forbidden,
    InboxKitError,
    MessageTooLarge,
    RateLimited,
    SignatureMismatch,
    Unauthorized,
)
from inboxkit.mail.compose import (
    ComposeError,
    Draft,
    OutgoingAttachment,
    check_body,
    check_header,
    check_line,
)
from inboxkit.services.auth import Principal

__all__ = ["PATHS", "router", "too_large"]

VIA = "esp:ses"
# The header SES reads a raw message's tags from; captured mail keeps `EmailTags` in it.
TAGS_HEADER = "X-SES-Message-Tags"
SIGNING_SERVICE = "ses"
# SES v2's own limits: 50 recipients a message (To, Cc and Bcc together), 15 added headers.
MAX_RECIPIENTS = 50
MAX_HEADERS = 15
# SES documents no count for these; a message this server captures stays within them.
MAX_ATTACHMENTS = 100
MAX_TAGS = 50
MAX_REPLY_TO = 50
MAX_TEMPLATE_VARIABLES = 1000
MAX_BULK_ENTRIES = 50  # SES v2's limit per SendBulkEmail call
_TAG_PART = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.-]{1,256})\s*\}\}")

router = APIRouter(tags=["capture"])
# Where this router is served (app.py): under /esp/ses and from the root.
PATHS = re.compile(r"^(?:/esp/ses)?/v2/email/outbound-(?:bulk-)?emails$")


class SesError(Exception):
    """An answer in SES v2's error shape: HTTP status, error type (botocore's error code)
    and message."""

    def __init__(
        self, status: int, error_type: str, message: str, headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        headers = {
            "x-amzn-ErrorType": self.error_type,
            "x-amzn-RequestId": str(uuid.uuid4()),
            **self.headers,
        }
        return JSONResponse({"message": self.message}, status_code=self.status, headers=headers)


def too_large(message: str) -> JSONResponse:
    """A request body over the server's limit, refused before it is read."""
    return SesError(413, "MessageRejected", message).response()


def _bad(message: str) -> SesError:
    return SesError(400, "BadRequestException", message)


class SendEmailResponse(BaseModel):
    """SES v2's answer to a message it accepted."""

    MessageId: str


class SesErrorBody(BaseModel):
    """SES v2's error body; the error type is in the `x-amzn-ErrorType` header."""

    message: str


_ERROR_TYPE_HEADER = {
    "x-amzn-ErrorType": {
        "description": "The error type, e.g. BadRequestException.",
        "schema": {"type": "string"},
    }
}


def _documented(description: str) -> dict[str, Any]:
    return {"model": SesErrorBody, "description": description, "headers": _ERROR_TYPE_HEADER}


_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _documented(
        "BadRequestException (malformed request or message), LimitExceededException (a "
        "standing ceiling of the account's plan)"
    ),
    403: _documented(
        "MissingAuthenticationTokenException (unsigned), IncompleteSignatureException (not a "
        "SigV4 Authorization header), UnrecognizedClientException (unknown "
        "key id), InvalidSignatureException (wrong signature, expired, wrong scope), "
        "AccessDeniedException (the key lacks the `capture` scope)"
    ),
    404: _documented("NotFoundException: a stored template (none exist here)"),
    413: _documented("MessageRejected: the request or the message is too large"),
    429: _documented("TooManyRequestsException: a rate limit or ceiling of the account's plan"),
}

_CONTENT = {"type": "object", "description": "SES v2 `Content` (Simple, Raw or Template)."}
_ADDRESSES = {"type": "array", "items": {"type": "string", "maxLength": 1000}, "maxItems": 50}
_REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["Content"],
                "properties": {
                    "FromEmailAddress": {"type": "string", "maxLength": 1000},
                    "Destination": {
                        "type": "object",
                        "properties": {
                            "ToAddresses": _ADDRESSES,
                            "CcAddresses": _ADDRESSES,
                            "BccAddresses": _ADDRESSES,
                        },
                    },
                    "ReplyToAddresses": _ADDRESSES,
                    "Content": _CONTENT,
                    "EmailTags": {
                        "type": "array",
                        "maxItems": MAX_TAGS,
                        "items": {
                            "type": "object",
                            "required": ["Name", "Value"],
                            "properties": {
                                "Name": {"type": "string"},
                                "Value": {"type": "string"},
                            },
                        },
                    },
                    "ConfigurationSetName": {"type": "string"},
                },
            }
        }
    },
}


@router.post(
    "/v2/email/outbound-emails",
    response_model=SendEmailResponse,
    responses=_RESPONSES,
    # No security scheme: OpenAPI has none for SigV4; the description says how to sign.
    openapi_extra={"requestBody": _REQUEST_BODY, "security": []},
    summary="Amazon SES v2 SendEmail, captured",
)
async def send_email(request: Request) -> Response:
    """Capture a message sent with the AWS SDK's `sesv2` `send_email` (Simple, Raw, or an
    inline Template) into the signing key's account's capture mailbox. Never relayed.

    Authentication is AWS Signature Version 4 (`Authorization: AWS4-HMAC-SHA256
    Credential=<API key id>/<date>/<region>/ses/aws4_request, SignedHeaders=…, Signature=…`)
    made with an inboxkit API key (scope `capture`) as the secret access key and its id as
    the access key id; a request without it is refused with 403, as AWS refuses it."""
    try:
        body = await _body(request)
        principal = await _signer(request, body)
        message_id = await _capture(request, principal, _payload(body))
    except SesError as exc:
        return exc.response()
    except InboxKitError as exc:
        return _from_inboxkit(exc).response()
    except ComposeError as exc:
        return _bad(str(exc)).response()
    return JSONResponse({"MessageId": message_id}, headers={"x-amzn-RequestId": str(uuid.uuid4())})


_BULK_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["DefaultContent", "BulkEmailEntries"],
                "properties": {
                    "FromEmailAddress": {"type": "string", "maxLength": 1000},
                    "ReplyToAddresses": _ADDRESSES,
                    "DefaultContent": {
                        "type": "object",
                        "description": '`{"Template": …}` with the template given inline.',
                    },
                    "BulkEmailEntries": {
                        "type": "array",
                        "maxItems": MAX_BULK_ENTRIES,
                        "items": {"type": "object", "required": ["Destination"]},
                    },
                    "DefaultEmailTags": {"type": "array", "maxItems": MAX_TAGS},
                },
            }
        }
    },
}


class BulkEntryResult(BaseModel):
    """One entry's outcome: `SUCCESS` with its MessageId, or why it was refused."""

    Status: str
    MessageId: str | None = None
    Error: str | None = None


class SendBulkEmailResponse(BaseModel):
    """SES v2's answer to a bulk send: one result per entry, in order."""

    BulkEmailEntryResults: list[BulkEntryResult]


@router.post(
    "/v2/email/outbound-bulk-emails",
    response_model=SendBulkEmailResponse,
    responses=_RESPONSES,
    openapi_extra={"requestBody": _BULK_BODY, "security": []},
    summary="Amazon SES v2 SendBulkEmail, captured",
)
async def send_bulk_email(request: Request) -> Response:
    """Capture a bulk send (`sesv2` `send_bulk_email`): one message per entry, from the
    inline default template with the entry's replacement data, tags and headers. Signed as
    `SendEmail` is; each entry succeeds or fails on its own, as SES reports it."""
    try:
        body = await _body(request)
        principal = await _signer(request, body)
        results = await _capture_bulk(request, principal, _payload(body))
    except SesError as exc:
        return exc.response()
    except InboxKitError as exc:
        return _from_inboxkit(exc).response()
    except ComposeError as exc:
        return _bad(str(exc)).response()
    return JSONResponse(
        {"BulkEmailEntryResults": results}, headers={"x-amzn-RequestId": str(uuid.uuid4())}
    )


async def _body(request: Request) -> bytes:
    try:
        return await request.body()
    except StarletteHTTPException as exc:  # BodySizeLimit counting a streamed body
        raise SesError(413, "MessageRejected", str(exc.detail)) from None


async def _signer(request: Request, body: bytes) -> Principal:
    """The principal whose key signed this request (SigV4), if it may capture."""
    scope = request.scope
    try:
        signed = parse_signed_request(
            method=request.method,
            raw_path=scope.get("raw_path") or scope["path"].encode(),
            query_string=scope.get("query_string", b""),
            headers=list(scope["headers"]),
            body=body,
            service=SIGNING_SERVICE,
        )
    except SigV4Error as exc:
        raise SesError(*_SIGNATURE_ERRORS[exc.problem], exc.message) from None
    runtime = runtime_of(request)
    try:
        return await runtime.capture.authenticate_signed(
            signed.key_id, signed.matches, client_ip=client_ip(request)
        )
    except SignatureMismatch as exc:
        raise SesError(403, "InvalidSignatureException", exc.message) from None
    except Unauthorized:
        raise SesError(
            403,
            "UnrecognizedClientException",
            "The security token included in the request is invalid: no live inboxkit API key "
            "has this access key id.",
        ) from None
    except Forbidden:
        raise SesError(
            403,
            "AccessDeniedException",
            "This key is not authorized to perform ses:SendEmail: it lacks the 'capture' "
            "scope; create a key with it (inboxkit keys create --scope capture).",
        ) from None


# AWS's answers to a request it cannot verify (status, error type).
_SIGNATURE_ERRORS: dict[SignatureProblem, tuple[int, str]] = {
    SignatureProblem.MISSING: (403, "MissingAuthenticationTokenException"),
    SignatureProblem.INCOMPLETE: (403, "IncompleteSignatureException"),
    SignatureProblem.EXPIRED: (403, "InvalidSignatureException"),
    SignatureProblem.SCOPE: (403, "InvalidSignatureException"),
    SignatureProblem.PAYLOAD: (403, "InvalidSignatureException"),
    SignatureProblem.TOKEN: (403, "UnrecognizedClientException"),
}


def _from_inboxkit(exc: InboxKitError) -> SesError:
    """Our refusals as SES would give them: over a rate or a ceiling, too large, malformed."""
    if isinstance(exc, MessageTooLarge):
        return SesError(413, "MessageRejected", exc.message)
    if exc.status == 429 or isinstance(exc, RateLimited):
        return SesError(429, "TooManyRequestsException", exc.message, exc.headers)
    if exc.status == 403:
        return SesError(400, "LimitExceededException", exc.message)
    if exc.status < 500:
        return _bad(exc.message)
    raise exc


# -- reading the request ------------------------------------------------------------------------


def _payload(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise _bad("The request body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise _bad("The request body must be a JSON object.")
    return payload


def _object(value: object, where: str, *, required: bool = False) -> dict[str, Any]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise _bad(f"{where} must be an object.")
    return value


def _list(value: object, where: str, limit: int) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(f"{where} must be a list.")
    if len(value) > limit:
        raise _bad(f"{where} may hold at most {limit} items.")
    return value


def _text(value: object, where: str, *, required: bool = False) -> str | None:
    """`Content.Data` of a Subject, Text or Html object."""
    content = _object(value, where, required=required)
    if not content:
        return None
    data = content.get("Data")
    if not isinstance(data, str):
        raise _bad(f"{where}.Data must be a string.")
    return data


def _blob(value: object, where: str) -> bytes:
    """A blob member: botocore sends it base64-encoded in JSON."""
    if not isinstance(value, str):
        raise _bad(f"{where} must be base64 text.")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _bad(f"{where} is not valid base64.") from None


def _tags(payload: dict[str, Any]) -> list[str]:
    """`EmailTags` as `name=value` items of the `X-SES-Message-Tags` header."""
    pairs = []
    for i, tag in enumerate(_list(payload.get("EmailTags"), "EmailTags", MAX_TAGS)):
        tag = _object(tag, f"EmailTags[{i}]", required=True)
        name, value = tag.get("Name"), tag.get("Value")
        for part, what in ((name, "Name"), (value, "Value")):
            if not isinstance(part, str) or not _TAG_PART.match(part):
                raise _bad(
                    f"EmailTags[{i}].{what} must be 1-256 ASCII letters, digits, '_' or '-'."
                )
        pairs.append(f"{name}={value}")
    return pairs


def _destination(payload: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """(To, Cc, Bcc) of `Destination`, formatted for headers; at most 50 together."""
    destination = _object(payload.get("Destination"), "Destination")
    found = []
    for field in ("ToAddresses", "CcAddresses", "BccAddresses"):
        value = _list(destination.get(field), f"Destination.{field}", MAX_RECIPIENTS)
        found.append(formatted(mailbox_list(value, f"Destination.{field}")))
    to, cc, bcc = found
    if len(to) + len(cc) + len(bcc) > MAX_RECIPIENTS:
        raise _bad(f"A message may have at most {MAX_RECIPIENTS} recipients (To, Cc and Bcc).")
    return to, cc, bcc


def _plain(addresses: list[str]) -> list[str]:
    return [address for _name, address in getaddresses(addresses) if address]


def _new_message_id() -> str:
    """An id shaped like SES's own: milliseconds in hex, a UUID, a sequence."""
    return f"{int(time.time() * 1000):016x}-{uuid.uuid4()}-000000"


# -- composing and capturing --------------------------------------------------------------------


async def _capture(request: Request, principal: Principal, payload: dict[str, Any]) -> str:
    content = _object(payload.get("Content"), "Content", required=True)
    kinds = [kind for kind in ("Simple", "Raw", "Template") if content.get(kind) is not None]
    if len(kinds) != 1:
        raise _bad("Content must hold exactly one of Simple, Raw or Template.")
    message_id = _new_message_id()
    if kinds[0] == "Raw":
        await _capture_raw(request, principal, payload, content["Raw"], message_id)
        return message_id
    if kinds[0] == "Simple":
        simple = _object(content["Simple"], "Content.Simple", required=True)
        subject = _text(simple.get("Subject"), "Content.Simple.Subject", required=True) or ""
        body = _object(simple.get("Body"), "Content.Simple.Body", required=True)
        text = _text(body.get("Text"), "Content.Simple.Body.Text")
        html = _text(body.get("Html"), "Content.Simple.Body.Html")
        parts = simple
    else:
        parts = _object(content["Template"], "Content.Template", required=True)
        subject, text, html = _template(parts)
    draft = _draft(payload, subject, text, html, parts)
    recipients = _plain(draft.to) + _plain(draft.cc) + draft.bcc
    if not recipients:
        raise _bad("Destination must name at least one recipient.")
    await capture_draft(
        request,
        principal,
        draft,
        envelope_from=draft.from_address,
        envelope_to=recipients,
        via=VIA,
        message_id=f"<{message_id}@email.amazonses.com>",
    )
    return message_id


def _draft(
    payload: dict[str, Any],
    subject: str,
    text: str | None,
    html: str | None,
    parts: dict[str, Any],
) -> Draft:
    """The Simple (or rendered Template) message: SES sends HTML alone when only HTML is
    given."""
    where = "Content"
    address, name = mailbox(payload.get("FromEmailAddress"), "FromEmailAddress")
    to, cc, bcc = _destination(payload)
    reply_to = formatted(
        mailbox_list(
            _list(payload.get("ReplyToAddresses"), "ReplyToAddresses", MAX_REPLY_TO),
            "ReplyToAddresses",
        )
    )
    headers = []
    for i, header in enumerate(_list(parts.get("Headers"), f"{where}.Headers", MAX_HEADERS)):
        header = _object(header, f"{where}.Headers[{i}]", required=True)
        name_, value = header.get("Name"), header.get("Value")
        if not isinstance(name_, str) or not isinstance(value, str):
            raise _bad(f"{where}.Headers[{i}] needs a Name and a Value, both strings.")
        headers.append(check_header(name_, value))
    tags = _tags(payload)
    if tags:
        headers.append((TAGS_HEADER, ", ".join(tags)))
    attachments = [
        _attachment(item, i)
        for i, item in enumerate(
            _list(parts.get("Attachments"), f"{where}.Attachments", MAX_ATTACHMENTS)
        )
    ]
    return Draft(
        from_address=address,
        from_name=name,
        to=to,
        cc=cc,
        bcc=_plain(bcc),
        subject=check_line("Subject", subject),
        text=check_body("Text", text),
        html=check_body("Html", html),
        attachments=attachments,
        reply_to=reply_to,
        headers=headers,
        text_from_html=False,
    )


def _attachment(value: object, index: int) -> OutgoingAttachment:
    where = f"Attachments[{index}]"
    item = _object(value, where, required=True)
    filename = item.get("FileName")
    if not isinstance(filename, str):
        raise _bad(f"{where}.FileName must be a string.")
    content_type = item.get("ContentType") or (
        mimetypes.guess_type(filename)[0] or "application/octet-stream"
    )
    if not isinstance(content_type, str):
        raise _bad(f"{where}.ContentType must be a string.")
    disposition = item.get("ContentDisposition", "ATTACHMENT")
    if disposition not in ("ATTACHMENT", "INLINE"):
        raise _bad(f"{where}.ContentDisposition must be ATTACHMENT or INLINE.")
    content_id = item.get("ContentId")
    if content_id is not None and not isinstance(content_id, str):
        raise _bad(f"{where}.ContentId must be a string.")
    if disposition == "INLINE" and not content_id:
        content_id = filename
    attachment = OutgoingAttachment(
        filename=filename,
        content_type=content_type,
        data=_blob(item.get("RawContent"), f"{where}.RawContent"),
        content_id=content_id if disposition == "INLINE" else None,
    )
    attachment.check(index)
    return attachment


def _template(template: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """(subject, text, HTML) of an inline template, `{{name}}` filled from TemplateData."""
    if template.get("TemplateName") is not None or template.get("TemplateArn") is not None:
        name = template.get("TemplateName") or template.get("TemplateArn")
        raise SesError(
            404,
            "NotFoundException",
            f"Template {str(name)[:200]} does not exist: this server keeps no stored templates; "
            "give the template inline in Content.Template.TemplateContent, or send Simple "
            "content.",
        )
    content = _object(
        template.get("TemplateContent"), "Content.Template.TemplateContent", required=True
    )
    raw_data = template.get("TemplateData", "{}")
    if not isinstance(raw_data, str):
        raise _bad("Content.Template.TemplateData must be a JSON object, as a string.")
    try:
        data = json.loads(raw_data)
    except ValueError:
        raise _bad("Content.Template.TemplateData is not valid JSON.") from None
    if not isinstance(data, dict) or len(data) > MAX_TEMPLATE_VARIABLES:
        raise _bad(
            "Content.Template.TemplateData must be a JSON object of at most "
            f"{MAX_TEMPLATE_VARIABLES} variables."
        )
    fill = _filler(data)
    rendered = []
    for field in ("Subject", "Text", "Html"):
        value = content.get(field)
        if value is not None and not isinstance(value, str):
            raise _bad(f"Content.Template.TemplateContent.{field} must be a string.")
        rendered.append(None if value is None else _PLACEHOLDER.sub(fill, value))
    subject, text, html = rendered
    return subject or "", text, html


def _filler(data: dict[str, Any]) -> Callable[[re.Match[str]], str]:
    """Replaces `{{name}}` (or `{{a.b}}` for nested objects) with its value; a missing one is
    refused, where SES would fail the send after accepting it."""

    def fill(match: re.Match[str]) -> str:
        value: Any = data
        for part in match.group(1).split("."):
            if not isinstance(value, dict) or part not in value:
                raise _bad(f"TemplateData has no value for {{{{{match.group(1)}}}}}.")
            value = value[part]
        if isinstance(value, dict | list):
            raise _bad(f"TemplateData's {match.group(1)} is not a plain value.")
        return "" if value is None else str(value)

    return fill


async def _capture_raw(
    request: Request,
    principal: Principal,
    payload: dict[str, Any],
    raw_content: object,
    message_id: str,
) -> None:
    """A Raw message: kept as given. Its recipients are Destination's, or else its To, Cc
    and Bcc headers'; its sender FromEmailAddress, or else its From header."""
    raw = _blob(_object(raw_content, "Content.Raw", required=True).get("Data"), "Content.Raw.Data")
    head_end = re.search(rb"\r?\n\r?\n", raw)
    if not raw.strip() or head_end is None:
        raise _bad("Content.Raw.Data must be a MIME message: headers, a blank line, a body.")
    parsed = BytesHeaderParser(policy=compat32).parsebytes(raw[: head_end.end()])
    if payload.get("FromEmailAddress") is not None:
        sender = mailbox(payload["FromEmailAddress"], "FromEmailAddress")[0]
    else:
        froms = _plain([str(value) for value in parsed.get_all("From", [])])
        if not froms:
            raise _bad("Missing required header 'From'.")
        sender = mailbox(froms[0], "From")[0]
    if payload.get("Destination") is not None:
        to, cc, bcc = _destination(payload)
        recipients = _plain(to + cc + bcc)
    else:
        recipients = _plain(
            [str(v) for field in ("To", "Cc", "Bcc") for v in parsed.get_all(field, [])]
        )
        if len(recipients) > MAX_RECIPIENTS:
            raise _bad(f"A message may have at most {MAX_RECIPIENTS} recipients.")
        recipients = [mailbox(address, "recipient")[0] for address in recipients]
    if not recipients:
        raise _bad("The message names no recipient: give Destination or To/Cc/Bcc headers.")
    # What SES adds to a raw message that lacks them, and the tags; written with the
    # message's own line ending, before its first header.
    newline = b"\r\n" if raw[: head_end.end()].find(b"\r\n") != -1 else b"\n"
    added = []
    if parsed.get("Message-ID") is None:
        added.append(("Message-ID", f"<{message_id}@email.amazonses.com>"))
    if parsed.get("Date") is None:
        added.append(("Date", format_datetime(datetime.now(UTC))))
    tags = _tags(payload)
    if tags:  # folded after each tag: a line stays within RFC 5322's 998 characters
        added.append((TAGS_HEADER, ("," + newline.decode() + " ").join(tags)))
    prefix = b"".join(f"{name}: {value}".encode("ascii") + newline for name, value in added)
    runtime = runtime_of(request)
    await runtime.capture.capture(
        principal,
        prefix + raw,
        mail_from=sender,
        rcpt_to=recipients,
        via=VIA,
        remote_addr=client_ip(request),
    )


async def _capture_bulk(
    request: Request, principal: Principal, payload: dict[str, Any]
) -> list[dict[str, str]]:
    """Each entry as a templated SendEmail of its own; its result as SES reports it."""
    default = _object(payload.get("DefaultContent"), "DefaultContent", required=True)
    template = _object(default.get("Template"), "DefaultContent.Template", required=True)
    if template.get("TemplateName") is not None or template.get("TemplateArn") is not None:
        _template(template)  # raises NotFoundException: no stored templates here
    entries = _list(payload.get("BulkEmailEntries"), "BulkEmailEntries", MAX_BULK_ENTRIES)
    if not entries:
        raise _bad("BulkEmailEntries must hold at least one entry.")
    headers = _list(template.get("Headers"), "DefaultContent.Template.Headers", MAX_HEADERS)
    results: list[dict[str, str]] = []
    for i, value in enumerate(entries):
        where = f"BulkEmailEntries[{i}]"
        try:
            entry = _object(value, where, required=True)
            replacement = _object(
                _object(
                    entry.get("ReplacementEmailContent"), f"{where}.ReplacementEmailContent"
                ).get("ReplacementTemplate"),
                f"{where}.ReplacementEmailContent.ReplacementTemplate",
            )
            extra = _list(
                entry.get("ReplacementHeaders"), f"{where}.ReplacementHeaders", MAX_HEADERS
            )
            one = {
                "FromEmailAddress": payload.get("FromEmailAddress"),
                "ReplyToAddresses": payload.get("ReplyToAddresses"),
                "Destination": entry.get("Destination"),
                "EmailTags": entry.get("ReplacementTags") or payload.get("DefaultEmailTags"),
                "Content": {
                    "Template": {
                        **template,
                        "TemplateData": replacement.get(
                            "ReplacementTemplateData", template.get("TemplateData", "{}")
                        ),
                        "Headers": (headers + extra)[:MAX_HEADERS] if extra else headers,
                    }
                },
            }
            message_id = await _capture(request, principal, one)
        except SesError as exc:
            results.append(
                {"Status": _BULK_STATUS.get(exc.error_type, "FAILED"), "Error": exc.message}
            )
        except ComposeError as exc:
            results.append({"Status": "INVALID_PARAMETER", "Error": str(exc)})
        except InboxKitError as exc:
            refused = _from_inboxkit(exc)
            results.append(
                {"Status": _BULK_STATUS.get(refused.error_type, "FAILED"), "Error": refused.message}
            )
        else:
            results.append({"Status": "SUCCESS", "MessageId": message_id})
    return results


# An entry's refusal as SendBulkEmail reports it (BulkEmailStatus).
_BULK_STATUS = {
    "BadRequestException": "INVALID_PARAMETER",
    "MessageRejected": "MESSAGE_REJECTED",
    "TooManyRequestsException": "ACCOUNT_THROTTLED",
    "LimitExceededException": "ACCOUNT_DAILY_QUOTA_EXCEEDED",
    "NotFoundException": "TEMPLATE_NOT_FOUND",
}
