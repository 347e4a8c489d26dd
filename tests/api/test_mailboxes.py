"""Mailboxes over REST: creation modes, handle rules, availability, listing, changes, deletion."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiosmtplib
import pytest
import sqlalchemy as sa

from inboxkit.config import Settings
from inboxkit.store.tables import contents, messages
from tests.helpers import RunningServer, start_server


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _close_to(value: str, expected: datetime) -> bool:
    return abs(_at(value) - expected) < timedelta(minutes=2)


async def test_test_mode_mailbox_gets_a_random_readable_address_that_expires(
    server: RunningServer,
):
    created = await server.create_inbox()
    assert created["mode"] == "test"
    local, domain = created["address"].split("@")
    assert domain == "inboxkit.localhost"
    assert re.fullmatch(r"[a-z]+-[a-z]+-\d{4}", local)
    assert created["token"].startswith("ikm_") and len(created["token"]) >= 26
    expected = datetime.now(UTC) + timedelta(minutes=server.settings.default_ttl_minutes)
    assert _close_to(created["expires_at"], expected)
    addresses = {created["address"]} | {(await server.create_inbox())["address"] for _ in range(20)}
    assert len(addresses) == 21


async def test_test_mode_ttl_and_name_are_honoured(server: RunningServer):
    created = await server.create_inbox(ttl_minutes=5, name="signup flow")
    assert created["name"] == "signup flow"
    assert _close_to(created["expires_at"], datetime.now(UTC) + timedelta(minutes=5))


async def test_agent_mode_claims_a_handle_and_never_expires(server: RunningServer):
    key = await server.create_key()
    created = await server.create_inbox(key, mode="agent", handle="Support.Bot-1")
    assert created["address"] == "support.bot-1@inboxkit.localhost"
    assert created["mode"] == "agent" and created["expires_at"] is None
    fetched = await server.http.get(f"/mailboxes/{created['address']}", headers=server.auth(key))
    assert fetched.json()["data"]["id"] == created["id"]


async def test_agent_mode_without_a_handle_gets_a_random_address(server: RunningServer):
    key = await server.create_key()
    created = await server.create_inbox(key, mode="agent")
    assert re.fullmatch(r"[a-z]+-[a-z]+-\d{4}@inboxkit\.localhost", created["address"])


async def test_a_handle_in_test_mode_is_refused_422(server: RunningServer):
    response = await server.http.post("/mailboxes", json={"mode": "test", "handle": "alice"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize(
    "handle", ["", "Bad Handle", "-alice", "alice-", "a..b", "x" * 65, "émile", "a@b", "a+b"]
)
async def test_an_invalid_handle_is_refused_422(server: RunningServer, handle: str):
    key = await server.create_key()
    response = await server.http.post(
        "/mailboxes", json={"mode": "agent", "handle": handle}, headers=server.auth(key)
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


async def test_reserved_and_taken_handles_are_refused_409_handle_taken(server: RunningServer):
    key = await server.create_key()
    for reserved in ("postmaster", "Abuse", "admin", "mailer-daemon"):
        response = await server.http.post(
            "/mailboxes", json={"mode": "agent", "handle": reserved}, headers=server.auth(key)
        )
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "handle_taken"
    await server.create_inbox(key, mode="agent", handle="alice")
    for again in ("alice", "ALICE", " alice "):
        response = await server.http.post(
            "/mailboxes", json={"mode": "agent", "handle": again}, headers=server.auth(key)
        )
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "handle_taken"


async def test_handle_availability_says_available_taken_reserved_or_invalid(
    server: RunningServer,
):
    key = await server.create_key()
    await server.create_inbox(key, mode="agent", handle="bob")

    async def check(handle: str, **params: str) -> dict:
        response = await server.http.get(
            f"/handles/{handle}", params=params, headers=server.auth(key)
        )
        assert response.status_code == 200, response.text
        return response.json()["data"]

    assert await check("carol") == {
        "available": True,
        "address": "carol@inboxkit.localhost",
        "reason": None,
    }
    assert await check("bob") == {
        "available": False,
        "address": "bob@inboxkit.localhost",
        "reason": "taken",
    }
    assert (await check("Bob"))["reason"] == "taken"
    assert (await check("postmaster"))["reason"] == "reserved"
    assert (await check("no..dots"))["reason"] == "invalid"
    assert (await check("-dash"))["available"] is False


async def test_handle_availability_agrees_with_creation(server: RunningServer):
    headers = server.auth(await server.create_key())
    for handle in ("dave", "postmaster", "bad handle", "x" * 65):
        availability = (await server.http.get(f"/handles/{handle}", headers=headers)).json()
        availability = availability["data"]
        created = await server.http.post(
            "/mailboxes", json={"mode": "agent", "handle": handle}, headers=headers
        )
        assert (created.status_code == 201) is availability["available"], handle
        expected = {"taken": 409, "reserved": 409, "invalid": 422, None: 201}
        assert created.status_code == expected[availability["reason"]]


async def test_an_unknown_domain_is_refused_422(server: RunningServer):
    response = await server.http.post("/mailboxes", json={"domain": "gmail.com"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    key = await server.create_key()
    availability = await server.http.get(
        "/handles/alice", params={"domain": "gmail.com"}, headers=server.auth(key)
    )
    assert availability.status_code == 422


@pytest.fixture
async def two_domain_server(settings: Settings) -> AsyncIterator[RunningServer]:
    update = {"domains": ["inboxkit.localhost", "agents.example"]}
    async with start_server(settings.model_copy(update=update)) as running:
        yield running


async def test_a_second_configured_domain_can_be_chosen(two_domain_server: RunningServer):
    server = two_domain_server
    key = await server.create_key()
    created = await server.create_inbox(key, mode="agent", handle="eve", domain="Agents.Example")
    assert created["address"] == "eve@agents.example"
    other = await server.create_inbox(key, mode="agent", handle="eve")
    assert other["address"] == "eve@inboxkit.localhost"
    availability = await server.http.get(
        "/handles/eve", params={"domain": "agents.example"}, headers=server.auth(key)
    )
    assert availability.json()["data"]["reason"] == "taken"


async def test_listing_is_newest_first_with_cursor_pagination(server: RunningServer):
    key = await server.create_key()
    created = [await server.create_inbox(key, name=f"box {n}") for n in range(5)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        response = await server.http.get("/mailboxes", params=params, headers=server.auth(key))
        assert response.status_code == 200
        body = response.json()
        assert len(body["data"]) <= 2
        seen += [item["id"] for item in body["data"]]
        pages += 1
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [box["id"] for box in reversed(created)]


async def test_get_mailbox_reports_message_and_unread_counts(server: RunningServer):
    inbox = await server.create_inbox()
    headers = server.auth(inbox["token"])
    for n in range(3):
        await server.send(inbox["address"], subject=f"m{n}")
    listing = await server.http.get(f"/mailboxes/{inbox['id']}/messages", headers=headers)
    first = listing.json()["data"][0]["id"]
    await server.http.get(f"/mailboxes/{inbox['id']}/messages/{first}", headers=headers)
    data = (await server.http.get(f"/mailboxes/{inbox['id']}", headers=headers)).json()["data"]
    assert (data["message_count"], data["unread_count"]) == (3, 2)


async def test_patch_renames_and_extends_the_ttl(server: RunningServer):
    inbox = await server.create_inbox(ttl_minutes=5, name="before")
    headers = server.auth(inbox["token"])
    response = await server.http.patch(
        f"/mailboxes/{inbox['address']}", json={"name": "after"}, headers=headers
    )
    assert response.status_code == 200
    assert response.json()["data"]["name"] == "after"
    assert response.json()["data"]["expires_at"] == inbox["expires_at"]
    response = await server.http.patch(
        f"/mailboxes/{inbox['id']}", json={"ttl_minutes": 55}, headers=headers
    )
    data = response.json()["data"]
    assert data["name"] == "after"
    assert _close_to(data["expires_at"], datetime.now(UTC) + timedelta(minutes=55))
    response = await server.http.patch(
        f"/mailboxes/{inbox['id']}", json={"name": None}, headers=headers
    )
    assert response.json()["data"]["name"] is None


async def test_patch_beyond_the_maximum_ttl_is_refused_422(server: RunningServer):
    inbox = await server.create_inbox()
    response = await server.http.patch(
        f"/mailboxes/{inbox['id']}",
        json={"ttl_minutes": server.settings.max_ttl_minutes + 1},
        headers=server.auth(inbox["token"]),
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    refused = await server.http.post(
        "/mailboxes", json={"ttl_minutes": server.settings.max_ttl_minutes + 1}
    )
    assert refused.status_code == 422


async def test_delete_purges_contents_and_the_address_is_never_handed_out_again(
    server: RunningServer,
):
    key = await server.create_key()
    inbox = await server.create_inbox(key, mode="agent", handle="frank")
    keeper = await server.create_inbox(key)
    await server.send([inbox["address"], keeper["address"]], subject="shared")
    await server.send(inbox["address"], subject="only frank")
    async with server.runtime.db.read() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(contents)) == 2

    response = await server.http.delete(f"/mailboxes/{inbox['id']}", headers=server.auth(key))
    assert response.status_code == 204 and response.content == b""

    async with server.runtime.db.read() as conn:
        left = (await conn.execute(sa.select(messages.c.mailbox_id, messages.c.subject))).all()
        content_count = await conn.scalar(sa.select(sa.func.count()).select_from(contents))
    assert [(row.mailbox_id, row.subject) for row in left] == [(keeper["id"], "shared")]
    assert content_count == 1  # the shared content stays for the other mailbox
    gone = await server.http.get(f"/mailboxes/{inbox['id']}", headers=server.auth(key))
    assert gone.status_code == 404
    stale_token = await server.http.get(
        f"/mailboxes/{inbox['id']}", headers=server.auth(inbox["token"])
    )
    assert stale_token.status_code == 401
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await server.send(inbox["address"])
    again = await server.http.post(
        "/mailboxes", json={"mode": "agent", "handle": "frank"}, headers=server.auth(key)
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "handle_taken"
    availability = await server.http.get("/handles/frank", headers=server.auth(key))
    assert availability.json()["data"]["reason"] == "taken"


async def test_a_mailbox_token_cannot_create_mailboxes(server: RunningServer):
    inbox = await server.create_inbox()
    response = await server.http.post("/mailboxes", json={}, headers=server.auth(inbox["token"]))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


async def test_creating_with_an_empty_body_or_none_at_all_works(server: RunningServer):
    assert (await server.http.post("/mailboxes")).status_code == 201
    assert (await server.http.post("/mailboxes", json={})).status_code == 201


@pytest.fixture
async def closed_server(settings: Settings) -> AsyncIterator[RunningServer]:
    async with start_server(settings.model_copy(update={"allow_anonymous": False})) as running:
        yield running


async def test_anonymous_creation_disabled_is_403_but_an_api_key_still_works(
    closed_server: RunningServer,
):
    server = closed_server
    response = await server.http.post("/mailboxes", json={})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    key = await server.create_key()
    assert (await server.create_inbox(key))["mode"] == "test"
    read_only = await server.create_key(scopes=["mailboxes:read"])
    response = await server.http.post("/mailboxes", json={}, headers=server.auth(read_only))
    assert response.status_code == 403


async def test_mail_in_flight_when_its_mailbox_is_deleted_is_not_kept(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
):
    inbox = await server.create_inbox()
    parse = server.runtime.parser.parse

    async def parse_then_delete(raw: bytes) -> Any:
        parsed = await parse(raw)
        # The mailbox goes away after RCPT accepted it but before the message is stored.
        response = await server.http.delete(
            f"/mailboxes/{inbox['id']}", headers=server.auth(inbox["token"])
        )
        assert response.status_code == 204
        return parsed

    monkeypatch.setattr(server.runtime.parser, "parse", parse_then_delete)
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await server.send(inbox["address"], subject="too late")
    assert refused.value.code == 550
    async with server.runtime.db.read() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(messages)) == 0
        assert await conn.scalar(sa.select(sa.func.count()).select_from(contents)) == 0


async def test_mail_in_flight_is_kept_for_the_recipients_still_live(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
):
    doomed, live = await server.create_inbox(), await server.create_inbox()
    parse = server.runtime.parser.parse

    async def parse_then_delete(raw: bytes) -> Any:
        parsed = await parse(raw)
        await server.http.delete(f"/mailboxes/{doomed['id']}", headers=server.auth(doomed["token"]))
        return parsed

    monkeypatch.setattr(server.runtime.parser, "parse", parse_then_delete)
    with server.runtime.bus.subscribe(doomed["id"]) as events:
        errors, reply = await server.send([doomed["address"], live["address"]], subject="split")
        assert errors == {} and reply.startswith("2.0.0")
        assert all(e.get("event") != "message.received" for e in events.drain())
    async with server.runtime.db.read() as conn:
        rows = (await conn.execute(sa.select(messages.c.mailbox_id))).scalars().all()
    assert rows == [live["id"]]


async def test_anonymous_caller_cannot_create_an_agent_mailbox_403(server: RunningServer):
    for body in ({"mode": "agent", "handle": "brand-x"}, {"mode": "agent"}):
        response = await server.http.post("/mailboxes", json=body)
        assert response.status_code == 403, response.text
        error = response.json()["error"]
        assert error["code"] == "forbidden" and "API key" in error["message"]
    # Nothing was claimed: an account can still take the handle.
    key = await server.create_key()
    availability = await server.http.get("/handles/brand-x", headers=server.auth(key))
    assert availability.json()["data"] == {
        "available": True,
        "address": "brand-x@inboxkit.localhost",
        "reason": None,
    }
    claimed = await server.create_inbox(key, mode="agent", handle="brand-x")
    assert claimed["address"] == "brand-x@inboxkit.localhost"


async def test_anonymous_caller_still_creates_test_mailboxes(server: RunningServer):
    created = await server.create_inbox()
    assert created["mode"] == "test" and created["expires_at"] is not None


async def test_handle_availability_needs_a_token_401(server: RunningServer):
    response = await server.http.get("/handles/brand-x")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    inbox = await server.create_inbox()
    answered = await server.http.get("/handles/brand-x", headers=server.auth(inbox["token"]))
    assert answered.status_code == 200 and answered.json()["data"]["available"] is True
