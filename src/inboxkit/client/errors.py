"""The SDK's exception tree: one class per kind of failure, each carrying the server's `code`.

Catch `InboxKitError` for anything the SDK raises; catch a subclass to handle one case. The
server's stable error code (`not_found`, `handle_taken`, …) is on `.code`, its human sentence on
`.message`, the HTTP status (when there was a response) on `.status` and the machine-readable
facts some refusals carry (`error.details`, e.g. a quota's limit) on `.details`.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from inboxkit.client.models import MessageSummary

__all__ = [
    "InboxKitError",
    "ConnectionFailed",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "Conflict",
    "HandleTaken",
    "PayloadTooLarge",
    "ValidationError",
    "QuotaExceeded",
    "RateLimited",
    "ServerError",
    "WaitTimeout",
    "error_from_response",
    "retry_after_seconds",
]


class InboxKitError(Exception):
    """Base of every error the SDK raises."""

    code: str = "error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.status = status
        self.details: dict[str, Any] = details or {}

    def __str__(self) -> str:
        return f"{self.message} ({self.code})" if self.status else self.message


class ConnectionFailed(InboxKitError):
    """The server could not be reached (refused, timed out, DNS): nothing was answered.
    `transport_error` is the httpx exception behind it, when there was one."""

    code = "connection_failed"

    def __init__(self, message: str, *, transport_error: Exception | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.transport_error = transport_error


class BadRequest(InboxKitError):
    """The server could not read the request (400), e.g. a cursor that was not passed back
    unchanged."""

    code = "bad_request"


class Unauthorized(InboxKitError):
    """The token is missing or not valid (401): unknown, revoked, or its mailbox is gone."""

    code = "unauthorized"


class Forbidden(InboxKitError):
    """The token may not do this (403), e.g. it lacks the scope, or an anonymous inbox tried to
    send."""

    code = "forbidden"


class NotFound(InboxKitError):
    """No such mailbox, message, attachment or webhook (404); another tenant's look the same."""

    code = "not_found"


class Conflict(InboxKitError):
    """The request clashes with what the server holds (409), e.g. an Idempotency-Key reused with
    another body."""

    code = "conflict"


class HandleTaken(Conflict):
    """The handle asked for belongs to another mailbox; choose another one."""

    code = "handle_taken"


class PayloadTooLarge(InboxKitError):
    """The request, or the message it would send, is over the server's size limit (413)."""

    code = "payload_too_large"


class ValidationError(InboxKitError):
    """The server refused a value in the request (422); the message says which and why."""

    code = "validation_error"


class QuotaExceeded(InboxKitError):
    """A plan's ceiling is reached. `limit` names the plan field (`max_mailboxes`,
    `sent_per_month`, …), `allowed` is the plan's value and `used` how much is in use.

    A standing ceiling (403: mailboxes, TTL, agent mode…) lifts only when something is deleted
    or the plan changes: `retry_after` is None. A period's ceiling (429: sends this month) lifts
    when the period ends: `retry_after` is the seconds until then."""

    code = "quota_exceeded"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.limit: str | None = self.details.get("limit")
        self.allowed: int | bool | str | None = self.details.get("allowed")
        self.used: int | None = self.details.get("used")


class RateLimited(InboxKitError):
    """Too many requests; still refused after the client's bounded retries (or not retried: a
    POST without an Idempotency-Key is never sent twice). `retry_after` is the seconds the
    server asked to wait, when it said."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(InboxKitError):
    """The server failed (5xx) rather than refusing the request; trying again later may work."""

    code = "internal_error"


class WaitTimeout(InboxKitError, TimeoutError):
    """No matching message arrived in time. The message lists what the inbox did receive, so a
    failing test says "a mail came, with the wrong subject" rather than just "timed out"."""

    code = "wait_timeout"

    def __init__(
        self,
        *,
        mailbox: str,
        timeout: float,
        looking_for: str,
        started_at: datetime,
        recent: Sequence[MessageSummary] | None,
        skips_read: bool = True,
    ):
        self.mailbox = mailbox
        self.timeout = timeout
        self.looking_for = looking_for
        self.started_at = started_at
        self.skips_read = skips_read
        self.recent = list(recent) if recent is not None else None
        self.arrived = [m for m in self.recent or [] if m.received_at >= started_at]
        super().__init__(self._describe())

    def _describe(self) -> str:
        lines = [f"No {self.looking_for} arrived at {self.mailbox} within {self.timeout:g}s."]
        if self.recent is None:
            lines.append("(The inbox could not be listed to show what it holds.)")
            return "\n".join(lines)
        if not self.recent:
            lines.append("The inbox is empty: no mail reached it at all.")
            return "\n".join(lines)
        shown = "newest first" + (", the last 10" if len(self.recent) >= 10 else "")
        lines.append(
            f"It holds {len(self.recent)} message(s) ({shown}; * = arrived during the wait):"
        )
        for message in self.recent:
            mark = "*" if message in self.arrived else " "
            when = message.received_at.astimezone(UTC).strftime("%H:%M:%S")
            details = ""
            if message.codes:
                details += f"  codes: {', '.join(message.codes)}"
            if message.links:
                details += (
                    f"  links: {', '.join(dict.fromkeys(link.kind for link in message.links))}"
                )
            if message.is_read:
                details += "  (read)"
            lines.append(
                f"  {mark} {when}Z from {message.from_ or '?'}: {message.subject!r}{details}"
            )
        if self.skips_read and any(message.is_read for message in self.recent):
            lines.append(
                "Waits skip read messages (each wait marks the one it returns read); "
                "pass since= or after= to include them."
            )
        return "\n".join(lines)


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
        ValidationError,
        QuotaExceeded,
        RateLimited,
        ServerError,
    )
}
_BY_STATUS: dict[int, type[InboxKitError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: ValidationError,
    429: RateLimited,
}


def retry_after_seconds(response: httpx.Response) -> float | None:
    """`Retry-After` as seconds: either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_from_response(response: httpx.Response) -> InboxKitError:
    """The exception for an error response, whether or not it has our `{"error": …}` body."""
    status = response.status_code
    code = message = None
    details: dict[str, Any] | None = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = body["error"].get("code")
        message = body["error"].get("message")
        if isinstance(body["error"].get("details"), dict):
            details = body["error"]["details"]
    if not message:
        text = response.text.strip()[:200] if response.content else ""
        message = f"HTTP {status} from {response.request.url}" + (f": {text}" if text else "")
    cls = _BY_CODE.get(code or "") or _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else InboxKitError
    code = code or cls.code
    if issubclass(cls, RateLimited | QuotaExceeded):
        return cls(
            message,
            code=code,
            status=status,
            details=details,
            retry_after=retry_after_seconds(response),
        )
    return cls(message, code=code, status=status, details=details)
