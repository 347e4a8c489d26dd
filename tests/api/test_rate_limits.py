"""Rate limits per plan (DESIGN §8): REST requests count in the buckets create, read, write and
send against the caller's plan, per account, per mailbox token or per client address; a refusal
is `429 rate_limited` with an honest `Retry-After`, and every limited response carries
`RateLimit-*`. The bootstrap admin is never limited."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from ipaddress import ip_network

import httpx
import pytest
from httpx_sse import aconnect_sse

from inboxkit.config import Settings
from inboxkit.services.slots import slot_holder
from tests.helpers import RunningServer, start_server, update_plan
from tests.realtime.support import eventually

ADMIN_KEY = "ik_admin_for_rate_limit_tests_0123456789"
LIMIT_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


def limits_of(response: httpx.Response) -> tuple[int, int, int]:
    limit, remaining, reset = (int(response.headers[name]) for name in LIMIT_HEADERS)
    return limit, remaining, reset


async def rate_limited_metric(server: RunningServer, bucket: str) -> float:
    text = (await server.http.get(f"{server.base_url}/metrics")).text
    match = re.search(rf'^inboxkit_rate_limited_total{{bucket="{bucket}"}} (\S+)$', text, re.M)
    assert match, f"no inboxkit_rate_limited_total for {bucket}"
    return float(match.group(1))


@pytest.mark.plan_defaults
async def test_fourth_anonymous_creation_in_a_minute_is_refused_429_with_retry_after(
    server: RunningServer,
):
    for remaining in (2, 1, 0):
        created = await server.http.post("/mailboxes", json={})
        assert created.status_code == 201, created.text
        limit, left, reset = limits_of(created)
        assert (limit, left) == (3, remaining)
        assert 1 <= reset <= 60

    refused = await server.http.post("/mailboxes", json={})

    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "rate_limited"
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert error["message"] == (
        "Plan 'anonymous' allows 3 inbox creations a minute per address; "
        f"retry in {retry_after} s or use an API key."
    )
    assert error["details"] == {"limit": "create_per_minute", "allowed": 3, "used": 3}
    assert limits_of(refused) == (3, 0, retry_after)
    assert await rate_limited_metric(server, "create") == 1


async def test_waiting_the_retry_after_is_enough_for_the_next_request(server: RunningServer):
    # The window is shortened so that it passes within the test; plans count per minute.
    server.runtime.throttle.window = 2
    await update_plan(server.runtime, "anonymous", create_per_minute=2)
    for _ in range(2):
        assert (await server.http.post("/mailboxes", json={})).status_code == 201
    refused = await server.http.post("/mailboxes", json={})
    assert refused.status_code == 429
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 2
    assert "allows 2 inbox creations every 2 s per address" in refused.json()["error"]["message"]

    # The promise under test is about the clock: after Retry-After seconds there is room.
    await asyncio.sleep(retry_after)

    again = await server.http.post("/mailboxes", json={})
    assert again.status_code == 201, again.text
    assert limits_of(again)[:2] == (2, 1)


async def test_one_account_over_its_reads_does_not_limit_another_account(server: RunningServer):
    await update_plan(server.runtime, "default", read_per_minute=2)
    first = await server.runtime.auth.create_key(name="first")
    second = await server.create_key("second")
    # A second key of the first account shares the account's count.
    first_again = await server.runtime.auth.create_key(
        name="first, again", account_id=first["account_id"]
    )

    for _ in range(2):
        listed = await server.http.get("/mailboxes", headers=server.auth(first["token"]))
        assert listed.status_code == 200
    refused = await server.http.get("/mailboxes", headers=server.auth(first_again["token"]))

    assert refused.status_code == 429
    assert refused.json()["error"]["message"].startswith(
        "Plan 'default' allows 2 reads a minute per account; retry in "
    )
    assert refused.json()["error"]["message"].endswith(" or ask for a larger plan.")
    other = await server.http.get("/mailboxes", headers=server.auth(second))
    assert other.status_code == 200
    assert limits_of(other)[:2] == (2, 1)
    # Other buckets are counted apart, and a bucket without a limit sends no headers.
    created = await server.http.post("/mailboxes", json={}, headers=server.auth(first["token"]))
    assert created.status_code == 201
    assert not any(name in created.headers for name in LIMIT_HEADERS)


async def test_each_kind_of_request_counts_in_its_own_bucket(server: RunningServer):
    await update_plan(
        server.runtime, "default", send_per_minute=0, write_per_minute=1, read_per_minute=100
    )
    key = await server.create_key()
    auth = server.auth(key)
    box = await server.create_inbox(key)

    sent = await server.http.post(
        f"/mailboxes/{box['id']}/send",
        json={"to": [box["address"]], "subject": "hi", "text": "hello"},
        headers=auth,
    )
    assert sent.status_code == 429
    assert sent.json()["error"]["message"] == (
        "Plan 'default' allows no sends; ask for a larger plan."
    )
    renamed = await server.http.patch(f"/mailboxes/{box['id']}", json={"name": "a"}, headers=auth)
    assert renamed.status_code == 200 and limits_of(renamed)[:2] == (1, 0)
    deleted = await server.http.delete(f"/mailboxes/{box['id']}", headers=auth)
    assert deleted.status_code == 429
    assert "allows 1 changes a minute per account" in deleted.json()["error"]["message"]
    read = await server.http.get(f"/mailboxes/{box['id']}", headers=auth)
    assert read.status_code == 200 and limits_of(read)[:2] == (100, 99)


async def test_downloads_and_event_streams_carry_ratelimit_headers(server: RunningServer):
    box = await server.create_inbox()  # anonymous: its token is on the anonymous plan
    await update_plan(server.runtime, "anonymous", read_per_minute=50)
    auth = server.auth(box["token"])
    await server.send(box["address"], subject="a download")
    listed = await server.http.get(f"/mailboxes/{box['id']}/messages", headers=auth)
    message_id = listed.json()["data"][0]["id"]

    raw = await server.http.get(f"/mailboxes/{box['id']}/messages/{message_id}/raw", headers=auth)

    assert raw.status_code == 200 and raw.headers["content-type"] == "message/rfc822"
    assert limits_of(raw)[:2] == (50, 48)
    async with aconnect_sse(
        server.http, "GET", f"/mailboxes/{box['id']}/events", headers=auth
    ) as events:
        assert events.response.status_code == 200
        assert limits_of(events.response)[:2] == (50, 47)


@pytest.fixture
async def proxied(settings: Settings) -> AsyncIterator[RunningServer]:
    """A server that believes X-Forwarded-For from 127.0.0.1 (the tests' reverse proxy)."""
    trusted = {"trusted_proxies": [ip_network("127.0.0.1/32"), ip_network("10.0.0.0/8")]}
    async with start_server(settings.model_copy(update=trusted), plan_defaults=True) as running:
        yield running


@pytest.mark.plan_defaults
async def test_forwarded_for_is_ignored_when_the_peer_is_not_a_trusted_proxy(
    server: RunningServer,
):
    for n in range(3):
        forwarded = {"X-Forwarded-For": f"203.0.113.{n + 1}"}
        assert (await server.http.post("/mailboxes", headers=forwarded)).status_code == 201

    refused = await server.http.post("/mailboxes", headers={"X-Forwarded-For": "203.0.113.9"})

    assert refused.status_code == 429


async def test_forwarded_for_from_a_trusted_proxy_names_the_client_counted(
    proxied: RunningServer,
):
    # The left-most hop is the client's own word; the right-most untrusted one is the client.
    for spoofed in ("198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"):
        forwarded = {"X-Forwarded-For": f"{spoofed}, 203.0.113.7, 10.1.2.3"}
        response = await proxied.http.post("/mailboxes", headers=forwarded)
        if spoofed != "198.51.100.4":
            assert response.status_code == 201, response.text
    assert response.status_code == 429

    another_client = await proxied.http.post(
        "/mailboxes", headers={"X-Forwarded-For": "203.0.113.8"}
    )
    assert another_client.status_code == 201
    assert limits_of(another_client)[:2] == (3, 2)
    the_proxy_itself = await proxied.http.post("/mailboxes")
    assert the_proxy_itself.status_code == 201


async def test_plan_concurrent_waits_caps_open_waits_and_streams(server: RunningServer):
    await update_plan(server.runtime, "default", concurrent_waits=1)
    key = await server.create_key()
    auth = server.auth(key)
    box = await server.create_inbox(key)
    holder = slot_holder(await server.runtime.auth.authenticate(key))
    slots = server.runtime.waits.slots
    waiting = asyncio.create_task(
        server.http.get(f"/mailboxes/{box['id']}/wait", params={"timeout": 30}, headers=auth)
    )
    try:
        await eventually(lambda: slots.held(holder) == 1, what="the first wait holding its slot")

        second = await server.http.get(
            f"/mailboxes/{box['id']}/wait", params={"timeout": 30}, headers=auth
        )
        stream = await server.http.get(f"/mailboxes/{box['id']}/events", headers=auth)

        for refused in (second, stream):
            assert refused.status_code == 429
            assert "Retry-After" in refused.headers
            assert refused.json()["error"]["message"].startswith(
                "Plan 'default' allows 1 open waits and event streams at once per token;"
            )
        assert await rate_limited_metric(server, "waits") == 2
        await server.send(box["address"], subject="ends the first wait")
        answered = await asyncio.wait_for(waiting, 30)
        assert answered.json()["data"]["message"]["subject"] == "ends the first wait"
    finally:
        waiting.cancel()


@pytest.fixture
async def admin_server(settings: Settings) -> AsyncIterator[RunningServer]:
    async with start_server(settings.model_copy(update={"admin_key": ADMIN_KEY})) as running:
        yield running


async def test_admin_is_never_limited_and_gets_no_ratelimit_headers(admin_server: RunningServer):
    server = admin_server
    for plan in ("anonymous", "default"):
        await update_plan(
            server.runtime, plan, create_per_minute=1, read_per_minute=1, write_per_minute=1
        )
    auth = server.auth(ADMIN_KEY)

    responses = []
    for n in range(3):
        created = await server.http.post("/mailboxes", json={}, headers=auth)
        responses.append(created)
        box = created.json()["data"]
        responses.append(await server.http.get(f"/mailboxes/{box['id']}", headers=auth))
        responses.append(
            await server.http.patch(f"/mailboxes/{box['id']}", json={"name": f"{n}"}, headers=auth)
        )

    assert [r.status_code for r in responses] == [201, 200, 200] * 3
    assert not any(name in r.headers for r in responses for name in LIMIT_HEADERS)
