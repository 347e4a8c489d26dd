"""429 handling. No server here answers 429 on demand, so a scripted transport plays the
server: it replays the given responses in order and records the requests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from inboxkit.client import AsyncInboxKit, InboxKit, QuotaExceeded, RateLimited, ServerError
from inboxkit.client.errors import retry_after_seconds

MAILBOX = {
    "id": "01JABCDEFGHJKMNPQRSTVWXYZ0",
    "address": "quiet-otter-11@inboxkit.localhost",
    "mode": "test",
    "name": None,
    "created_at": "2026-01-01T00:00:00Z",
    "expires_at": None,
    "message_count": 0,
    "unread_count": 0,
}


def rate_limited(retry_after: str | None = "0", code: str = "rate_limited") -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    body = {"error": {"code": code, "message": "Slow down."}}
    return httpx.Response(429, json=body, headers=headers)


class Scripted:
    def __init__(self, *responses: httpx.Response):
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.responses.pop(0)


def run(kind: str, script: Scripted, **options: object) -> object:
    """get_mailbox through a client of `kind` whose transport is `script`."""
    if kind == "sync":
        with InboxKit(
            "http://inboxkit.test",
            "ik_test",
            http_client=httpx.Client(transport=httpx.MockTransport(script)),
            **options,
        ) as client:
            return client.get_mailbox(MAILBOX["address"])

    async def main() -> object:
        async with AsyncInboxKit(
            "http://inboxkit.test",
            "ik_test",
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(script)),
            **options,
        ) as client:
            return await client.get_mailbox(MAILBOX["address"])

    return asyncio.run(main())


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_429_is_retried_after_retry_after_and_then_succeeds(kind: str) -> None:
    script = Scripted(
        rate_limited("0"), rate_limited("0"), httpx.Response(200, json={"data": MAILBOX})
    )
    mailbox = run(kind, script)
    assert mailbox.address == MAILBOX["address"]  # type: ignore[attr-defined]
    assert len(script.requests) == 3
    assert script.requests[0].headers["authorization"] == "Bearer ik_test"
    assert (
        script.requests[0].url.raw_path == b"/api/v1/mailboxes/quiet-otter-11%40inboxkit.localhost"
    )


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_429_retries_are_bounded(kind: str) -> None:
    script = Scripted(rate_limited("0"), rate_limited("0"), rate_limited("7"))
    with pytest.raises(RateLimited) as caught:
        run(kind, script, max_retries=2)
    assert len(script.requests) == 3
    assert caught.value.retry_after == 7 and caught.value.status == 429


def test_a_retry_after_beyond_the_limit_is_not_waited_for() -> None:
    script = Scripted(rate_limited("3600"))
    with pytest.raises(RateLimited):
        run("sync", script, max_retry_wait=30)
    assert len(script.requests) == 1


def test_quota_exceeded_without_retry_after_is_not_retried() -> None:
    script = Scripted(rate_limited(None, code="quota_exceeded"))
    with pytest.raises(QuotaExceeded) as caught:
        run("sync", script)
    assert caught.value.code == "quota_exceeded" and caught.value.retry_after is None
    assert len(script.requests) == 1


def test_quota_exceeded_with_retry_after_is_retried_when_the_period_ends_soon() -> None:
    script = Scripted(
        rate_limited("0", code="quota_exceeded"), httpx.Response(200, json={"data": MAILBOX})
    )
    assert run("sync", script).address == MAILBOX["address"]  # type: ignore[attr-defined]
    assert len(script.requests) == 2


def test_an_error_without_our_body_still_maps_by_status() -> None:
    script = Scripted(httpx.Response(502, text="Bad gateway"))
    with pytest.raises(ServerError) as caught:
        run("sync", script)
    assert caught.value.status == 502 and "Bad gateway" in caught.value.message


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    request = httpx.Request("GET", "http://inboxkit.test/")
    assert (
        retry_after_seconds(httpx.Response(429, headers={"Retry-After": "12"}, request=request))
        == 12
    )
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    seconds = retry_after_seconds(
        httpx.Response(429, headers={"Retry-After": later}, request=request)
    )
    assert seconds is not None and 20 < seconds <= 30
    assert retry_after_seconds(httpx.Response(429, request=request)) is None


SENT = {
    "id": "01JABCDEFGHJKMNPQRSTVWXYZ1",
    "mailbox_id": MAILBOX["id"],
    "direction": "outbound",
    "from": MAILBOX["address"],
    "to": ["friend@example.com"],
    "subject": "hi",
    "received_at": "2026-01-01T00:00:00Z",
    "delivery_status": "queued",
}


def send(script: Scripted, **options: object) -> object:
    """A send through a sync client whose transport is `script`."""
    with InboxKit(
        "http://inboxkit.test",
        "ik_test",
        http_client=httpx.Client(transport=httpx.MockTransport(script)),
    ) as client:
        return client.send(MAILBOX["address"], to="friend@example.com", text="hi", **options)


def test_a_post_without_an_idempotency_key_is_never_sent_twice() -> None:
    script = Scripted(rate_limited("0"), httpx.Response(201, json={"data": SENT}))
    with pytest.raises(RateLimited) as caught:
        send(script)
    assert caught.value.retry_after == 0
    assert len(script.requests) == 1


def test_a_post_with_an_idempotency_key_is_retried_after_retry_after() -> None:
    script = Scripted(rate_limited("0"), httpx.Response(201, json={"data": SENT}))
    sent = send(script, idempotency_key="order-42")
    assert sent.delivery_status == "queued"  # type: ignore[attr-defined]
    assert [r.headers["idempotency-key"] for r in script.requests] == ["order-42", "order-42"]


def test_quota_exceeded_carries_the_limit_the_allowance_and_the_use() -> None:
    body = {
        "error": {
            "code": "quota_exceeded",
            "message": "This account may send 2 messages a month on plan 'free'.",
            "details": {"limit": "sent_per_month", "allowed": 2, "used": 2},
        }
    }
    script = Scripted(httpx.Response(429, json=body, headers={"Retry-After": "777600"}))
    with pytest.raises(QuotaExceeded) as caught:
        send(script, idempotency_key="k")
    error = caught.value
    assert (error.limit, error.allowed, error.used) == ("sent_per_month", 2, 2)
    assert error.retry_after == 777600 and error.status == 429
    assert error.details == {"limit": "sent_per_month", "allowed": 2, "used": 2}
    assert len(script.requests) == 1  # the month ends after the longest pause allowed
