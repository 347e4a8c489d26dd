"""What every emulated provider API shares: the capture key, addresses, composing and storing.

A provider module (one per provider) reads its own request format, builds a `Draft` and calls
`capture_draft`; it answers in its provider's own success and error shapes, so the provider's
official SDK, pointed at inboxkit, succeeds or raises its usual exception. Nothing here is
relayed: the message lands in the key's account's capture mailbox (services/capture.py).
"""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from email import utils as email_utils

from fastapi import Request

from inboxkit.api.deps import client_ip
from inboxkit.ids import new_id
from inboxkit.mail.compose import ComposeError, Draft, check_address, compose, format_address
from inboxkit.records import MessageSummary
from inboxkit.runtime import Runtime
from inboxkit.services.auth import Principal

__all__ = ["capture_draft", "capture_principal", "mailbox", "mailbox_list", "runtime_of"]

# A provider's own limit on recipients per message is 50 (Postmark, Resend, SES) to 1000
# (SendGrid); the capture service caps a message at 1000 envelope recipients.


# Python releases before 3.11.10 / 3.12.6 parse some malformed address lists leniently and
# have no `strict` switch (CVE-2023-27043); there the result is checked against the input
# below instead, and the address itself always passes `check_address`.
_STRICT = "strict" in inspect.signature(email_utils.getaddresses).parameters


def _parseaddr(value: str) -> tuple[str, str]:
    if _STRICT:
        return email_utils.parseaddr(value, strict=True)  # type: ignore[call-arg,unused-ignore]
    name, address = email_utils.parseaddr(value)
    # Without `strict`, "a@x.example)<b@y.example>" reads as b@y.example; an address must
    # be the whole value or stand in its closing angle brackets.
    stripped = value.strip()
    if address and stripped != address and not stripped.endswith(f"<{address}>"):
        return "", ""
    return name, address


def _getaddresses(values: list[str]) -> list[tuple[str, str]]:
    if _STRICT:
        return email_utils.getaddresses(values, strict=True)  # type: ignore[call-arg,unused-ignore]
    return email_utils.getaddresses(values)


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def capture_principal(request: Request, key: str | None) -> Principal:
    """The account whose capture mailbox `key` (an API key with the `capture` scope) writes
    to. Raises Unauthorized (bad or missing key; counted per client address against
    `capture_auth_failures_per_minute`), Forbidden (no `capture` scope) or RateLimited."""
    runtime = runtime_of(request)
    return await runtime.capture.authenticate(key, client_ip=client_ip(request))


def mailbox(value: object, field_name: str) -> tuple[str, str | None]:
    """(`address`, display name or None) from `"Name <a@b.example>"` or `"a@b.example"`;
    ComposeError naming `field_name` when it is not one address."""
    if not isinstance(value, str) or not value.strip():
        raise ComposeError(f"{field_name} must be an email address.")
    if len(value) > 1000:
        raise ComposeError(f"{field_name} is longer than 1000 characters.")
    name, address = _parseaddr(value)
    if not address:
        raise ComposeError(f"{field_name} {value[:100]!r} is not an email address.")
    return check_address(address, field_name), (name or None)


def mailbox_list(
    value: object, field_name: str, *, limit: int = 1000
) -> list[tuple[str, str | None]]:
    """Addresses from a comma-separated string or a list of strings (each possibly with a
    display name), at most `limit`."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        if len(value) > 100_000:
            raise ComposeError(f"{field_name} is too long.")
        parts = [f"{n} <{a}>" if n else a for n, a in _getaddresses([value]) if a]
        if not parts and value.strip():
            raise ComposeError(f"{field_name} {value[:100]!r} holds no email address.")
    elif isinstance(value, list):
        parts = value
    else:
        raise ComposeError(f"{field_name} must be a string or a list of strings.")
    if len(parts) > limit:
        raise ComposeError(f"{field_name} may name at most {limit} addresses.")
    return [mailbox(part, f"{field_name}[{i}]") for i, part in enumerate(parts)]


def formatted(addresses: list[tuple[str, str | None]]) -> list[str]:
    """Header-ready forms of `mailbox_list` results, for a Draft's to/cc/reply_to."""
    return [format_address(address, name) for address, name in addresses]


async def capture_draft(
    request: Request,
    principal: Principal,
    draft: Draft,
    *,
    envelope_from: str,
    envelope_to: list[str],
    via: str,
    message_id: str | None = None,
) -> tuple[str, MessageSummary]:
    """Compose `draft` as the provider would send it and store it in the capture mailbox.

    `envelope_to` is every recipient (To, Cc and Bcc addresses); `via` names the provider
    (`esp:postmark`). `message_id` is the Message-ID header to use (angle brackets included);
    a new one is made when None. Returns (the Message-ID, the stored message's summary).
    Raises ComposeError (bad input), QuotaExceeded / MailboxFull / MessageTooLarge (plan
    ceilings), RateLimited, ValidationFailed (no or too many recipients).
    """
    runtime = runtime_of(request)
    chosen = message_id or f"<{new_id().lower()}@{runtime.settings.default_domain}>"
    raw = compose(draft, message_id=chosen, date=datetime.now(UTC))
    stored = await runtime.capture.capture(
        principal,
        raw,
        mail_from=envelope_from,
        rcpt_to=envelope_to,
        via=via,
        remote_addr=client_ip(request),
    )
    return chosen, stored
