"""The rate limiter on its own: which bucket a request counts in, whose count it is, counts shared
through Redis, and a Redis that cannot be reached failing open to a per-process count."""

from __future__ import annotations

import logging
import uuid

import pytest

from inboxkit.errors import RateLimited
from inboxkit.plan import Plan
from inboxkit.services.auth import Principal, PrincipalKind
from inboxkit.services.throttle import Bucket, RateLimiter, holder_of, request_bucket
from tests.conftest import REDIS_URL
from tests.realtime.processes import free_port


@pytest.mark.parametrize(
    ("method", "route", "bucket"),
    [
        ("POST", "/api/v1/mailboxes", Bucket.CREATE),
        ("POST", "/api/v1/mailboxes/{mailbox}/send", Bucket.SEND),
        ("POST", "/api/v1/mailboxes/{mailbox}/messages/{message_id}/reply", Bucket.SEND),
        ("POST", "/api/v1/mailboxes/{mailbox}/messages/{message_id}/forward", Bucket.SEND),
        ("POST", "/api/v1/mailboxes/{mailbox}/messages/batch", Bucket.WRITE),
        ("PATCH", "/api/v1/mailboxes/{mailbox}/messages/{message_id}", Bucket.WRITE),
        ("GET", "/api/v1/mailboxes/{mailbox}/messages", Bucket.READ),
        ("GET", "/api/v1/mailboxes/{mailbox}/events", Bucket.READ),
        ("HEAD", "/api/v1/mailboxes", Bucket.READ),
        ("PATCH", "/api/v1/mailboxes/{mailbox}", Bucket.WRITE),
        ("DELETE", "/api/v1/mailboxes/{mailbox}", Bucket.WRITE),
        ("POST", "/api/v1/webhooks", Bucket.WRITE),
        ("POST", "/api/v1/webhooks/{webhook_id}/test", Bucket.WRITE),
    ],
)
def test_requests_are_counted_in_the_bucket_of_what_they_do(method, route, bucket):
    assert request_bucket(method, route) is bucket


def test_callers_are_counted_by_account_mailbox_or_address():
    key = Principal(kind=PrincipalKind.API_KEY, account_id="A1", key_id="K1")
    token = Principal(kind=PrincipalKind.MAILBOX, mailbox_id="M1", owner_account_id="A1")
    v4 = Principal(kind=PrincipalKind.ANONYMOUS, client_ip="203.0.113.9")
    v6 = Principal(kind=PrincipalKind.ANONYMOUS, client_ip="2001:db8:1:2:aaaa::1")
    neighbour = Principal(kind=PrincipalKind.ANONYMOUS, client_ip="2001:db8:1:2:bbbb::7")

    assert holder_of(key) == "account:A1"
    assert holder_of(token) == "mailbox:M1"
    assert holder_of(v4) == "ip:203.0.113.9"
    # One IPv6 host normally holds a whole /64: it is one caller.
    assert holder_of(v6) == holder_of(neighbour) == "ip:2001:db8:1:2::/64"


async def test_a_plan_without_a_limit_for_the_bucket_is_not_counted():
    limiter = RateLimiter()
    unlimited = Principal(kind=PrincipalKind.API_KEY, account_id="A", plan=Plan(name="default"))
    admin = Principal(kind=PrincipalKind.API_KEY, account_id="0" * 26, plan=None)
    for _ in range(5):
        assert await limiter.admit(unlimited, Bucket.READ) is None
        assert await limiter.admit(admin, Bucket.READ) is None


async def test_unreachable_redis_fails_open_to_a_count_in_this_process(
    caplog: pytest.LogCaptureFixture,
):
    limiter = RateLimiter(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with caplog.at_level(logging.WARNING, logger="inboxkit.services.throttle"):
            verdicts = [await limiter.hit(Bucket.READ, "account:A", 2) for _ in range(2)]
            with pytest.raises(RateLimited) as refused:
                await limiter.hit(Bucket.READ, "account:A", 2)
    finally:
        await limiter.close()

    assert [v.remaining for v in verdicts] == [1, 0]
    assert refused.value.retry_after >= 1
    warnings = [r.getMessage() for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(warnings) == 1  # once per outage, not once per request


@pytest.mark.skipif(not REDIS_URL, reason="needs INBOXKIT_TEST_REDIS_URL")
async def test_limiters_on_one_redis_share_their_counts():
    assert REDIS_URL
    holder = f"account:{uuid.uuid4().hex}"
    one, two = RateLimiter(REDIS_URL), RateLimiter(REDIS_URL)
    try:
        assert one.shared and two.shared
        assert (await one.hit(Bucket.SEND, holder, 3)).remaining == 2
        assert (await two.hit(Bucket.SEND, holder, 3)).remaining == 1
        assert (await one.hit(Bucket.SEND, holder, 3)).remaining == 0
        with pytest.raises(RateLimited):
            await two.hit(Bucket.SEND, holder, 3)
    finally:
        await one.close()
        await two.close()
