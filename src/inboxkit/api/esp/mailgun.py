"""Mailgun's sending API (`POST /v3/{domain}/messages` and `/messages.mime`), captured.

An application using Mailgun's SDK (or plain HTTP) with its API URL pointed here and an
inboxkit API key (scope `capture`) as the password of user `api` has its mail captured, for any
`{domain}`. Fields are Mailgun's: `from`, `to`/`cc`/`bcc` (repeated and/or comma-separated),
`subject`, `text`, `html`, `attachment` and `inline` files (an inline file's content id is its
file name, as `cid:<name>` refers to it in Mailgun's HTML), `h:<Header>` headers (`h:Reply-To`
becomes the Reply-To; `h:Message-Id` the Message-ID), `v:<name>` variables (kept, as Mailgun
keeps them, as one `X-Mailgun-Variables` JSON header), `o:tag` (each an `X-Mailgun-Tag`
header); other `o:` and `t:` options are accepted and ignored. `recipient-variables` makes a
batch send as Mailgun does: one message per `to` recipient, its `%recipient.<name>%`
placeholders filled from that recipient's variables.

Answers are Mailgun's: 200 `{"id": "<…@domain>", "message": "Queued. Thank you."}`, and errors
as `{"message": …}` with 400 (malformed), 401 (no or wrong key), 403 (a key without the
`capture` scope), 404 (a path domain that is not a domain name), 413 (too large) or 429 (a
rate limit or ceiling of the account's plan).
"""

from __future__ import annotations

import json
import mimetypes
import re
import secrets
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from inboxkit.api.deps import client_ip
from inboxkit.api.esp.common import (
    capture_draft,
    capture_principal,
    formatted,
    mailbox,
    mailbox_list,
    runtime_of,
)
from inboxkit.errors import Forbidden, InboxKitError, MessageTooLarge, Unauthorized
from inboxkit.mail.compose import (
    MAX_HEADERS,
    ComposeError,
    Draft,
    OutgoingAttachment,
    check_body,
    check_header,
    check_line,
    message_id_ok,
)
from inboxkit.services.auth import Principal

__all__ = ["PATHS", "router", "too_large"]

VIA = "esp:mailgun"
QUEUED = "Queued. Thank you."
# Mailgun's own limits: 1000 recipients a message, 3 tags, 4 KB of variables, 25 MB messages.
MAX_RECIPIENTS = 1000
MAX_TAGS = 3
MAX_VARIABLES_CHARS = 4000
MAX_PART_BYTES = 25 * 1024 * 1024
MAX_FILES = 100
MAX_FIELDS = 1000
_DOMAIN = re.compile(
    r"^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_PLACEHOLDER = re.compile(r"%recipient\.([A-Za-z0-9_.-]{1,100})%")

router = APIRouter(tags=["capture"])
# Where this router is served (app.py): under /esp/mailgun and from the root.
PATHS = re.compile(r"^(?:/esp/mailgun)?/v3/[^/]+/messages(?:\.mime)?$")

_basic = HTTPBasic(
    auto_error=False,
    scheme_name="mailgunBasic",
    description="HTTP basic auth: user `api`, password an inboxkit API key with the "
    "`capture` scope.",
)


class MailgunError(Exception):
    """An answer in Mailgun's error shape."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return JSONResponse({"message": self.message}, self.status, headers=self.headers)


def too_large(message: str) -> JSONResponse:
    """A request body over the server's limit, refused before it is read."""
    return MailgunError(413, message).response()


class Queued(BaseModel):
    """Mailgun's answer to an accepted message."""

    id: str
    message: str


class MailgunErrorBody(BaseModel):
    """Mailgun's error body."""

    message: str


_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": MailgunErrorBody, "description": description}
    for status, description in {
        400: "Malformed request: a missing or invalid field",
        401: "No or wrong API key",
        403: "The key lacks the `capture` scope",
        404: "The domain in the path is not a domain name",
        413: "The request or message is too large",
        429: "Over a rate limit or ceiling of the account's plan (see Retry-After)",
    }.items()
}

_ADDRESS_FIELD = {"type": "string", "maxLength": 100_000}
_FILES = {"type": "array", "maxItems": MAX_FILES, "items": {"type": "string", "format": "binary"}}
_FORM_FIELDS: dict[str, Any] = {
    "from": {"type": "string", "maxLength": 1000},
    "to": _ADDRESS_FIELD,
    "cc": _ADDRESS_FIELD,
    "bcc": _ADDRESS_FIELD,
    "subject": {"type": "string", "maxLength": 998},
    "text": {"type": "string"},
    "html": {"type": "string"},
    "o:tag": {"type": "array", "maxItems": MAX_TAGS, "items": {"type": "string"}},
    "recipient-variables": {"type": "string", "description": "JSON object: address → variables"},
}


def _form_schema(fields: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "required": required, "properties": fields}
    return {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": schema},
            "application/x-www-form-urlencoded": {"schema": schema},
        },
    }


_MESSAGES_BODY = _form_schema(
    {**_FORM_FIELDS, "attachment": _FILES, "inline": _FILES}, ["from", "to"]
)
_MIME_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["to", "message"],
                "properties": {
                    "to": _ADDRESS_FIELD,
                    "message": {"type": "string", "format": "binary"},
                },
            }
        }
    },
}

Credentials = Annotated[HTTPBasicCredentials | None, Depends(_basic)]


@router.post(
    "/v3/{domain}/messages",
    response_model=Queued,
    responses=_RESPONSES,
    openapi_extra={"requestBody": _MESSAGES_BODY},
    summary="Mailgun: send a message, captured",
)
async def send_message(request: Request, domain: str, credentials: Credentials) -> Response:
    """Capture a message sent through Mailgun's `messages` API (form fields, files) into the
    key's account's capture mailbox. Never relayed."""
    try:
        principal = await _principal(request, credentials)
        _check_domain(domain)
        form = await _form(request)
        try:
            message_id = await _capture_form(request, principal, domain, form)
        finally:
            await form.close()  # uploaded files spool to temporary files
    except MailgunError as exc:
        return exc.response()
    except InboxKitError as exc:
        return _from_inboxkit(exc).response()
    except ComposeError as exc:
        return MailgunError(400, str(exc)).response()
    return JSONResponse({"id": message_id, "message": QUEUED})


@router.post(
    "/v3/{domain}/messages.mime",
    response_model=Queued,
    responses=_RESPONSES,
    openapi_extra={"requestBody": _MIME_BODY},
    summary="Mailgun: send a MIME message, captured",
)
async def send_mime(request: Request, domain: str, credentials: Credentials) -> Response:
    """Capture a ready-made MIME message (`message` file) for the `to` recipients, stored as
    given. Never relayed."""
    try:
        principal = await _principal(request, credentials)
        _check_domain(domain)
        form = await _form(request)
        try:
            message_id = await _capture_mime(request, principal, domain, form)
        finally:
            await form.close()  # uploaded files spool to temporary files
    except MailgunError as exc:
        return exc.response()
    except InboxKitError as exc:
        return _from_inboxkit(exc).response()
    except ComposeError as exc:
        return MailgunError(400, str(exc)).response()
    return JSONResponse({"id": message_id, "message": QUEUED})


# -- who, and what was sent ---------------------------------------------------------------------


async def _principal(request: Request, credentials: HTTPBasicCredentials | None) -> Principal:
    if credentials is None or credentials.username != "api":
        # Not counted as a failed sign-in: no key was tried.
        raise MailgunError(
            401,
            "Forbidden: authenticate with HTTP basic auth, user 'api' and an inboxkit API key "
            "with the 'capture' scope as the password.",
            {"WWW-Authenticate": 'Basic realm="MG API"'},
        )
    try:
        return await capture_principal(request, credentials.password)
    except Unauthorized:
        raise MailgunError(
            401,
            "Invalid private key: use an inboxkit API key with the 'capture' scope.",
            {"WWW-Authenticate": 'Basic realm="MG API"'},
        ) from None
    except Forbidden as exc:
        raise MailgunError(403, exc.message) from None


def _check_domain(domain: str) -> None:
    if not _DOMAIN.match(domain):
        raise MailgunError(404, f"Domain not found: {domain[:100]} is not a domain name.")


async def _form(request: Request) -> FormData:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise MailgunError(
            400, "Send the message as multipart/form-data or application/x-www-form-urlencoded."
        )
    try:
        return await request.form(
            max_files=MAX_FILES, max_fields=MAX_FIELDS, max_part_size=MAX_PART_BYTES
        )
    except StarletteHTTPException as exc:  # a malformed form, or BodySizeLimit's 413
        raise MailgunError(exc.status_code, str(exc.detail)) from None


def _from_inboxkit(exc: InboxKitError) -> MailgunError:
    if isinstance(exc, MessageTooLarge):
        return MailgunError(413, exc.message)
    if exc.status == 429:
        return MailgunError(429, exc.message, exc.headers)
    if exc.status < 500:
        return MailgunError(400, exc.message)
    raise exc


def _one(form: FormData, name: str) -> str | None:
    """A field given at most once, as text."""
    values = form.getlist(name)
    if len(values) > 1:
        raise MailgunError(400, f"'{name}' may be given only once.")
    if not values:
        return None
    if not isinstance(values[0], str):
        raise MailgunError(400, f"'{name}' must be a text field, not a file.")
    return values[0]


def _addresses(form: FormData, name: str) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    for value in form.getlist(name):
        if not isinstance(value, str):
            raise MailgunError(400, f"'{name}' must be a text field, not a file.")
        found.extend(mailbox_list(value, name, limit=MAX_RECIPIENTS))
        if len(found) > MAX_RECIPIENTS:
            raise MailgunError(400, f"'{name}' may name at most {MAX_RECIPIENTS} addresses.")
    return found


async def _files(form: FormData, name: str, *, inline: bool) -> list[OutgoingAttachment]:
    attachments = []
    for value in form.getlist(name):
        if isinstance(value, str):
            raise MailgunError(
                400, f"'{name}' must be a file, sent in a multipart/form-data request."
            )
        filename = value.filename or "attachment"
        content_type = (value.content_type or "").split(";")[0].strip()
        if not content_type or content_type == "application/octet-stream":
            content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        attachments.append(
            OutgoingAttachment(
                filename=filename,
                content_type=content_type,
                data=await value.read(),
                content_id=filename if inline else None,
            )
        )
    return attachments


def _custom_headers(form: FormData) -> tuple[list[tuple[str, str]], list[str], str | None]:
    """(`h:` headers in order, the Reply-To addresses, the Message-ID chosen), then the
    `v:` variables and `o:tag` tags as Mailgun keeps them."""
    headers: list[tuple[str, str]] = []
    reply_to: list[str] = []
    message_id = None
    variables: dict[str, str] = {}
    tags: list[str] = []
    for key, value in form.multi_items():
        if not key.startswith(("h:", "v:", "o:")):
            continue
        if not isinstance(value, str):
            raise MailgunError(400, f"'{key[:80]}' must be a text field, not a file.")
        prefix, name = key[:2], key[2:]
        if prefix == "h:":
            if name.lower() == "reply-to":
                reply_to.extend(formatted(mailbox_list(value, "h:Reply-To", limit=50)))
            elif name.lower() == "message-id":
                candidate = value.strip()
                if not candidate.startswith("<"):
                    candidate = f"<{candidate}>"
                if not message_id_ok(candidate):
                    raise MailgunError(400, "h:Message-Id is not a valid Message-ID.")
                message_id = candidate
            else:
                headers.append(check_header(name, value))
        elif prefix == "v:":
            variables[check_line("variable name", name, 200)] = value
        elif name == "tag":
            tags.append(check_line("o:tag", value, 128))
    if len(tags) > MAX_TAGS:
        raise MailgunError(400, f"A message may have at most {MAX_TAGS} tags (o:tag).")
    headers.extend(("X-Mailgun-Tag", tag) for tag in tags)
    if variables:
        encoded = json.dumps(variables, ensure_ascii=False)
        if len(encoded) > MAX_VARIABLES_CHARS:
            raise MailgunError(
                400, f"The v: variables may hold at most {MAX_VARIABLES_CHARS} characters."
            )
        headers.append(("X-Mailgun-Variables", check_line("v: variables", encoded, 4000)))
    if len(headers) > MAX_HEADERS:
        raise MailgunError(400, f"A message may carry at most {MAX_HEADERS} custom headers.")
    return headers, reply_to, message_id


def _new_message_id(domain: str) -> str:
    """A Message-ID on the sending domain, shaped like Mailgun's."""
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    return f"<{stamp}.{secrets.token_hex(8)}@{domain.lower()}>"


# -- capturing ----------------------------------------------------------------------------------


async def _capture_form(request: Request, principal: Principal, domain: str, form: FormData) -> str:
    sender = _one(form, "from")
    if sender is None:
        raise MailgunError(400, "'from' parameter is missing")
    from_address, from_name = mailbox(sender, "from")
    to = _addresses(form, "to")
    if not to:
        raise MailgunError(400, "'to' parameter is missing")
    cc, bcc = _addresses(form, "cc"), _addresses(form, "bcc")
    if len(to) + len(cc) + len(bcc) > MAX_RECIPIENTS:
        raise MailgunError(400, f"A message may have at most {MAX_RECIPIENTS} recipients.")
    for unsupported in ("template", "amp-html"):
        if form.get(unsupported) is not None:
            raise MailgunError(
                400,
                f"'{unsupported}' is not supported by this server (no stored templates, no AMP "
                "part); send 'text' and/or 'html'.",
            )
    text, html = _one(form, "text"), _one(form, "html")
    if text is None and html is None:
        raise MailgunError(400, "Need at least one of 'text' or 'html' parameters specified")
    subject = _one(form, "subject") or ""
    headers, reply_to, chosen_id = _custom_headers(form)
    attachments = await _files(form, "attachment", inline=False)
    attachments += await _files(form, "inline", inline=True)
    for i, attachment in enumerate(attachments):
        attachment.check(i)
    message_id = chosen_id or _new_message_id(domain)
    batch = _recipient_variables(form, [address for address, _name in to])

    def draft(to_header: list[str], fill: dict[str, Any] | None) -> Draft:
        def render(value: str | None) -> str | None:
            return value if value is None or fill is None else _fill(value, fill)

        return Draft(
            from_address=from_address,
            from_name=from_name,
            to=to_header,
            cc=formatted(cc),
            bcc=[address for address, _name in bcc],
            subject=check_line("subject", render(subject) or ""),
            text=check_body("text", render(text)),
            html=check_body("html", render(html)),
            attachments=attachments,
            reply_to=reply_to,
            headers=headers,
            text_from_html=False,
        )

    copies = [address for address, _name in cc + bcc]
    if batch is None:
        await capture_draft(
            request,
            principal,
            draft(formatted(to), None),
            envelope_from=from_address,
            envelope_to=[address for address, _name in to] + copies,
            via=VIA,
            message_id=message_id,
        )
        return message_id
    # A batch send: each `to` recipient gets a message of its own, which names only them.
    for index, (address, name) in enumerate(to):
        own_id = message_id if index == 0 else _new_message_id(domain)
        await capture_draft(
            request,
            principal,
            draft(formatted([(address, name)]), batch.get(address.lower(), {})),
            envelope_from=from_address,
            envelope_to=[address, *copies],
            via=VIA,
            message_id=own_id,
        )
    return message_id


def _recipient_variables(form: FormData, to: list[str]) -> dict[str, dict[str, Any]] | None:
    """`recipient-variables` (a JSON object: address → object of variables), keyed by
    lower-cased address; None when the field is absent (not a batch send)."""
    raw = _one(form, "recipient-variables")
    if raw is None:
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise MailgunError(400, "'recipient-variables' is not valid JSON.") from None
    if not isinstance(parsed, dict) or not all(isinstance(v, dict) for v in parsed.values()):
        raise MailgunError(
            400, "'recipient-variables' must be a JSON object of objects, one per recipient."
        )
    return {str(key).lower(): value for key, value in parsed.items()}


def _fill(value: str, variables: dict[str, Any]) -> str:
    """`%recipient.name%` replaced by the recipient's variable (empty when it has none, as
    Mailgun leaves it)."""

    def one(match: re.Match[str]) -> str:
        found = variables.get(match.group(1))
        return "" if found is None or isinstance(found, dict | list) else str(found)

    return _PLACEHOLDER.sub(one, value)


async def _capture_mime(request: Request, principal: Principal, domain: str, form: FormData) -> str:
    to = _addresses(form, "to")
    if not to:
        raise MailgunError(400, "'to' parameter is missing")
    files = form.getlist("message")
    if len(files) != 1 or isinstance(files[0], str):
        raise MailgunError(400, "'message' parameter is missing: send the MIME message as a file.")
    upload: UploadFile = files[0]
    raw = await upload.read()
    head_end = re.search(rb"\r?\n\r?\n", raw)
    if head_end is None:
        raise MailgunError(400, "'message' must be a MIME message: headers, a blank line, a body.")
    head = BytesHeaderParser(policy=compat32).parsebytes(raw[: head_end.end()])
    senders = [address for _n, address in getaddresses([str(v) for v in head.get_all("From", [])])]
    if not senders or not senders[0]:
        raise MailgunError(400, "The MIME message has no From header.")
    sender = mailbox(senders[0], "From")[0]
    message_id = str(head.get("Message-ID") or "").strip()
    if not message_id_ok(message_id):
        message_id = _new_message_id(domain)
    runtime = runtime_of(request)
    await runtime.capture.capture(
        principal,
        raw,
        mail_from=sender,
        rcpt_to=[address for address, _name in to],
        via=VIA,
        remote_addr=client_ip(request),
    )
    return message_id
