"""Reading a provider's JSON request and sorting what went wrong into the kinds every
provider answers differently.

A provider route must never answer in inboxkit's own error envelope: the provider's SDK would
not recognise it (postmarker, for one, fails with a KeyError instead of its ClientError). So
routes read their body here rather than through a pydantic parameter (whose failure would go to
our generic handler), and turn every refusal into a `Refusal` that their module renders in the
provider's shape and status.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from fastapi import Request
from starlette.exceptions import HTTPException

from inboxkit.errors import (
    Forbidden,
    InboxKitError,
    MessageTooLarge,
    PayloadTooLarge,
    QuotaExceeded,
    RateLimited,
    Unauthorized,
)
from inboxkit.mail.compose import ComposeError

__all__ = ["Problem", "Refusal", "Unreadable", "each", "read_json", "refusal", "key_problem"]

T = TypeVar("T")
R = TypeVar("R")
# Messages of one batch request captured at once. Concurrent deliveries share commits (the
# store's group commit), so a batch of a hundred costs a few fsyncs rather than a hundred.
BATCH_CONCURRENCY = 32

log = logging.getLogger(__name__)


class Problem(StrEnum):
    """What went wrong, in the terms every provider distinguishes."""

    MISSING_KEY = "missing_key"  # no credential at all
    BAD_KEY = "bad_key"  # a credential that is not a valid API key
    NO_SCOPE = "no_scope"  # a valid key without the `capture` scope
    UNREADABLE = "unreadable"  # the body is not JSON (or not the JSON shape expected)
    INVALID = "invalid"  # a field's value is refused
    TOO_LARGE = "too_large"  # the request or the composed message is over a size limit
    OVER_QUOTA = "over_quota"  # a plan's ceiling (messages stored, received this month)
    RATE_LIMITED = "rate_limited"  # too many requests (or failed sign-ins) for now
    FAILED = "failed"  # our fault; nothing internal is said


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refusal to render in a provider's shape: what went wrong, a sentence saying what to
    do, and headers to send with it (Retry-After)."""

    problem: Problem
    message: str
    headers: dict[str, str] = field(default_factory=dict)


class Unreadable(Exception):
    """The request body cannot be read as the JSON the provider expects."""


async def read_json(request: Request) -> Any:
    """The request body parsed as JSON. Raises Unreadable for anything else, and
    PayloadTooLarge when a body without Content-Length outgrows the request limit
    (the body limit middleware stops it while it is read)."""
    try:
        body = await request.body()
    except HTTPException as exc:
        if exc.status_code == 413:
            raise PayloadTooLarge(str(exc.detail)) from None
        raise
    if not body.strip():
        raise Unreadable("The request body is empty; send the message as a JSON object.")
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise Unreadable("The request body is not valid JSON.") from None


def key_problem(key: str | None) -> Problem:
    """MISSING_KEY for no credential, else BAD_KEY: what an Unauthorized from the capture
    check means for the credential the request carried."""
    return Problem.MISSING_KEY if not key or not key.strip() else Problem.BAD_KEY


def refusal(exc: BaseException, *, key: str | None = None) -> Refusal:
    """The provider-neutral form of an exception raised while capturing. `key` is the
    credential the request carried (to tell a missing one from a wrong one)."""
    if isinstance(exc, Unauthorized):
        return Refusal(key_problem(key), exc.message)
    if isinstance(exc, Forbidden):
        return Refusal(Problem.NO_SCOPE, exc.message)
    if isinstance(exc, Unreadable):
        return Refusal(Problem.UNREADABLE, str(exc))
    if isinstance(exc, ComposeError):
        return Refusal(Problem.INVALID, str(exc))
    if isinstance(exc, MessageTooLarge | PayloadTooLarge):
        return Refusal(Problem.TOO_LARGE, exc.message)
    if isinstance(exc, RateLimited):
        return Refusal(Problem.RATE_LIMITED, exc.message, dict(exc.headers))
    if isinstance(exc, QuotaExceeded):
        return Refusal(Problem.OVER_QUOTA, exc.message, dict(exc.headers))
    if isinstance(exc, InboxKitError) and 400 <= exc.status < 500:
        return Refusal(Problem.INVALID, exc.message, dict(exc.headers))
    log.exception("capture through a provider API failed", exc_info=exc)
    return Refusal(Problem.FAILED, "Something went wrong on the server; try again.")


async def each(items: Sequence[T], capture: Callable[[T], Awaitable[R]]) -> list[R | Exception]:
    """`capture(item)` for every item, BATCH_CONCURRENCY at a time, results in order; an
    item that failed has its exception in its place (the others are still captured).

    The first item is captured alone: an account's first capture makes its capture mailbox,
    and a crowd of first captures would all race to make it."""
    gate = asyncio.Semaphore(BATCH_CONCURRENCY)

    async def one(item: T) -> R | Exception:
        async with gate:
            try:
                return await capture(item)
            except Exception as exc:
                return exc

    if not items:
        return []
    first = await one(items[0])
    return [first, *await asyncio.gather(*(one(item) for item in items[1:]))]
