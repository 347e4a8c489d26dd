"""One exception tree for the whole service.

Services raise these; each surface maps them once: the REST API to `{"error": {...}}` with the
status below, SMTP to a reply line, MCP to a tool error the model can act on.

An error may name the kind of thing it is about (`resource`: the mailbox, message, attachment…
that was not found), set where it is raised. Surfaces that advise what to do next choose by
`code` and `resource`, never by reading the message. The REST envelope does not carry it (its
shape is the API's contract).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "Resource",
    "InboxKitError",
    "BadRequest",
    "Unauthorized",
    "SignatureMismatch",
    "Forbidden",
    "NotFound",
    "Conflict",
    "HandleTaken",
    "PayloadTooLarge",
    "ValidationFailed",
    "QuotaExceeded",
    "MailboxFull",
    "MessageTooLarge",
    "RateLimited",
    "UnsupportedMediaType",
    "Unavailable",
    "error_class",
]


class Resource(StrEnum):
    """What an error is about."""

    MAILBOX = "mailbox"
    MESSAGE = "message"
    ATTACHMENT = "attachment"
    WEBHOOK = "webhook"
    KEY = "key"
    ACCOUNT = "account"
    HANDLE = "handle"
    PLAN = "plan"
    FAULT = "fault"
    LIST_ENTRY = "list_entry"
    DOMAIN = "domain"
    THREAD = "thread"
    DRAFT = "draft"


class InboxKitError(Exception):
    """Base of the service's errors: a stable `code`, an HTTP `status` and a sentence for the
    caller, which each surface (REST, SMTP, MCP) maps once."""

    code = "internal_error"
    status = 500
    default_message = "Something went wrong on the server."
    resource: Resource | None = None
    # Machine-readable facts about the refusal, sent as `error.details` (a quota's limit, what
    # is allowed and what is used); None for most errors.
    details: dict[str, object] | None = None

    def __init__(
        self,
        message: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        resource: Resource | None = None,
        details: dict[str, object] | None = None,
    ):
        self.message = message or self.default_message
        self.headers = headers or {}
        if resource is not None:
            self.resource = resource
        if details is not None:
            self.details = details
        super().__init__(self.message)


class BadRequest(InboxKitError):
    """The request cannot be read (400), e.g. a cursor that was not passed back unchanged."""

    code, status, default_message = "bad_request", 400, "The request is malformed."


class Unauthorized(InboxKitError):
    """No token, or one that is not valid (401)."""

    code, status = "unauthorized", 401
    default_message = "A valid token is required: send 'Authorization: Bearer <token>'."


class SignatureMismatch(Unauthorized):
    """A request signed with a known key (AWS SigV4 with an API key's id) whose signature is
    not the one that key makes: a class of its own because the emulated AWS API answers it
    with another error type than an unknown key."""

    default_message = "The request signature does not match the one the key makes."


class Forbidden(InboxKitError):
    """The token is valid but may not do this (403), e.g. it lacks the scope."""

    code, status, default_message = "forbidden", 403, "This token is not allowed to do that."


class NotFound(InboxKitError):
    """The thing asked for does not exist, or not for this caller (404): another tenant's look
    the same."""

    code, status, default_message = "not_found", 404, "No such resource."


class Conflict(InboxKitError):
    """The request clashes with what is stored (409), e.g. an Idempotency-Key reused with
    another body."""

    code, status, default_message = "conflict", 409, "The request conflicts with current state."


class HandleTaken(Conflict):
    """The agent handle asked for is held by another mailbox; a code of its own so a caller
    knows to pick another."""

    code = "handle_taken"
    resource = Resource.HANDLE
    default_message = "That address is taken; choose another handle."


class PayloadTooLarge(InboxKitError):
    """A request body or composed message over the size limit (413)."""

    code, status, default_message = "payload_too_large", 413, "The request body is too large."


class UnsupportedMediaType(InboxKitError):
    """A request body of a type the route does not take (415); the message names the one it
    does."""

    code, status, default_message = (
        "unsupported_media_type",
        415,
        "The request body's Content-Type is not one this route accepts.",
    )


class ValidationFailed(InboxKitError):
    """A value in the request is not acceptable (422); the message says which and why."""

    code, status, default_message = "validation_error", 422, "The request is not valid."


class QuotaExceeded(InboxKitError):
    """A plan's ceiling is reached: 403 for a standing one (mailboxes, TTL, webhooks, agent
    mode, API/MCP access), where waiting does not help; 429 with `Retry-After` for a period's
    (sends this month), which lifts when the period ends. `details` names the limit."""

    code, status, default_message = "quota_exceeded", 403, "A quota has been reached."

    def __init__(
        self,
        message: str | None = None,
        *,
        limit: str | None = None,
        allowed: int | bool | str | None = None,
        used: int | None = None,
        retry_after: int | None = None,
        resource: Resource | None = None,
    ):
        headers = None
        if retry_after is not None:
            self.status = 429
            headers = {"Retry-After": str(max(1, int(retry_after)))}
        details: dict[str, object] | None = None
        if limit is not None:
            details = {"limit": limit, "allowed": allowed}
            if used is not None:
                details["used"] = used
        super().__init__(message, headers=headers, resource=resource, details=details)
        self.limit = limit
        self.retry_after = retry_after


class MailboxFull(QuotaExceeded):
    """Mail refused because a mailbox holds its plan's most messages, or its account received
    its plan's most this month: SMTP answers `452 4.2.2` so the sender retries later; nothing
    is stored."""

    status = 429
    default_message = "The mailbox is full."


class MessageTooLarge(QuotaExceeded):
    """A message over its recipient's plan's `max_message_bytes`: SMTP answers `552 5.3.4`."""

    default_message = "The message is larger than the recipient's plan allows."


class RateLimited(InboxKitError):
    """Too many actions in a time window (429); `Retry-After` says when to try again."""

    code, status, default_message = "rate_limited", 429, "Too many requests; retry later."

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after: int = 1,
        resource: Resource | None = None,
        headers: dict[str, str] | None = None,
        details: dict[str, object] | None = None,
    ):
        super().__init__(
            message,
            headers={**(headers or {}), "Retry-After": str(max(1, int(retry_after)))},
            resource=resource,
            details=details,
        )
        self.retry_after = retry_after


class Unavailable(InboxKitError):
    """The work could not be done now (storage failed) and nothing was kept (503): retrying
    later is safe. Never carries internal detail."""

    code, status, default_message = (
        "unavailable",
        503,
        "The message could not be stored just now; nothing was kept. Try again later.",
    )


_BY_CODE: dict[str, type[InboxKitError]] = {
    cls.code: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        HandleTaken,
        PayloadTooLarge,
        ValidationFailed,
        QuotaExceeded,
        RateLimited,
        UnsupportedMediaType,
        Unavailable,
    )
}


def error_class(code: str) -> type[InboxKitError] | None:
    """The class of this tree for a stable error code (as the REST envelope carries it), or
    None for a code the tree has no class of its own for."""
    return _BY_CODE.get(code)
