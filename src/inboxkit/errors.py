"""One exception tree for the whole service.

Services raise these; each surface maps them once: the REST API to `{"error": {...}}` with the
status below, SMTP to a reply line, MCP to a tool error the model can act on.
"""

from __future__ import annotations

__all__ = [
    "InboxKitError",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "Conflict",
    "HandleTaken",
    "PayloadTooLarge",
    "ValidationFailed",
    "QuotaExceeded",
    "RateLimited",
]


class InboxKitError(Exception):
    code = "internal_error"
    status = 500
    default_message = "Something went wrong on the server."

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None):
        self.message = message or self.default_message
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(InboxKitError):
    code, status, default_message = "bad_request", 400, "The request is malformed."


class Unauthorized(InboxKitError):
    code, status = "unauthorized", 401
    default_message = "A valid token is required: send 'Authorization: Bearer <token>'."


class Forbidden(InboxKitError):
    code, status, default_message = "forbidden", 403, "This token is not allowed to do that."


class NotFound(InboxKitError):
    code, status, default_message = "not_found", 404, "No such resource."


class Conflict(InboxKitError):
    code, status, default_message = "conflict", 409, "The request conflicts with current state."


class HandleTaken(Conflict):
    code = "handle_taken"
    default_message = "That address is taken; choose another handle."


class PayloadTooLarge(InboxKitError):
    code, status, default_message = "payload_too_large", 413, "The request body is too large."


class ValidationFailed(InboxKitError):
    code, status, default_message = "validation_error", 422, "The request is not valid."


class QuotaExceeded(InboxKitError):
    code, status, default_message = "quota_exceeded", 429, "A quota has been reached."


class RateLimited(InboxKitError):
    code, status, default_message = "rate_limited", 429, "Too many requests; retry later."

    def __init__(self, message: str | None = None, *, retry_after: int = 1):
        super().__init__(message, headers={"Retry-After": str(max(1, int(retry_after)))})
        self.retry_after = retry_after
