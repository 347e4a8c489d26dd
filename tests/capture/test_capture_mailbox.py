"""The capture mailbox itself (`GET /capture`, DESIGN §11): one per account, made on first use,
never expiring, reachable only by its account, counted against its plan."""

from __future__ import annotations

import asyncio

import aiosmtplib

from inboxkit.services.auth import SCOPES
from tests.capture.support import app_key, capture_mailbox, captured
from tests.helpers import RunningServer, make_message, update_plan
from tests.plans.support import tenant_on_plan


async def _capture(server: RunningServer, key: str, to: str, subject: str) -> None:
    await aiosmtplib.send(
        make_message(to, subject, "hello"),
        hostname="127.0.0.1",
        port=server.smtp_port,
        username="app",
        password=key,
        timeout=30,
    )


async def test_first_use_makes_one_capture_mailbox_even_when_asked_at_once(
    server: RunningServer,
):
    key = await app_key(server)
    boxes = await asyncio.gather(*(capture_mailbox(server, key) for _ in range(6)))
    assert len({box["id"] for box in boxes}) == 1
    box = boxes[0]
    assert box["mode"] == "capture" and box["expires_at"] is None
    assert "token" not in box
    again = await capture_mailbox(server, key)
    assert again["id"] == box["id"]
    listed = await server.http.get("/mailboxes", headers=server.auth(key))
    assert [m["id"] for m in listed.json()["data"] if m["mode"] == "capture"] == [box["id"]]


async def test_each_account_has_its_own_capture_mailbox_and_cannot_reach_anothers(
    server: RunningServer,
):
    first, second = await app_key(server), await app_key(server, "second suite")
    mine, theirs = await capture_mailbox(server, first), await capture_mailbox(server, second)
    assert mine["id"] != theirs["id"]
    for path in (f"/mailboxes/{mine['id']}", f"/mailboxes/{mine['address']}/messages"):
        response = await server.http.get(path, headers=server.auth(second))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


async def test_capture_mailbox_needs_an_account_key_with_a_reading_or_capture_scope(
    server: RunningServer,
):
    inbox = await server.create_inbox()
    anonymous = await server.http.get("/capture")
    assert anonymous.status_code == 401
    token = await server.http.get("/capture", headers=server.auth(inbox["token"]))
    assert token.status_code == 403 and "API key" in token.json()["error"]["message"]
    sender = await server.create_key("sender only", scopes=["send"])
    refused = await server.http.get("/capture", headers=server.auth(sender))
    assert refused.status_code == 403
    capture_only = await server.create_key("capture only", scopes=["capture"])
    assert (await server.http.get("/capture", headers=server.auth(capture_only))).status_code == 200


async def test_a_mode_limited_key_still_reaches_its_capture_mailbox(server: RunningServer):
    created = await server.runtime.auth.create_key(
        name="test-mode key", scopes=["capture", "mailboxes:read", "messages:read"], modes=["test"]
    )
    box = await capture_mailbox(server, created["token"])
    listed = await server.http.get(
        f"/mailboxes/{box['id']}/messages", headers=server.auth(created["token"])
    )
    assert listed.status_code == 200


async def test_capture_mailbox_cannot_be_given_a_lifetime(server: RunningServer):
    key = await app_key(server)
    box = await capture_mailbox(server, key)
    response = await server.http.patch(
        f"/mailboxes/{box['id']}", json={"ttl_minutes": 5}, headers=server.auth(key)
    )
    assert response.status_code == 409
    assert "never expires" in response.json()["error"]["message"]


async def test_deleting_the_capture_mailbox_purges_it_and_the_next_capture_starts_afresh(
    capturing: RunningServer,
):
    key = await app_key(capturing, "suite")
    await _capture(capturing, key, "alice@example.com", "before")
    old = await capture_mailbox(capturing, key)
    deleted = await capturing.http.delete(f"/mailboxes/{old['id']}", headers=capturing.auth(key))
    assert deleted.status_code == 204
    await _capture(capturing, key, "alice@example.com", "after")
    new = await capture_mailbox(capturing, key)
    assert new["id"] != old["id"] and new["address"] != old["address"]
    assert [m["subject"] for m in await captured(capturing, key)] == ["after"]


async def test_captured_mail_counts_against_the_plans_messages_per_mailbox(
    capturing: RunningServer,
):
    admin = await capturing.create_key("operator", scopes=list(SCOPES))
    _account, key = await tenant_on_plan(
        capturing.http, admin, "tiny-capture", {"max_messages_per_mailbox": 1}
    )
    await _capture(capturing, key, "alice@example.com", "first")
    try:
        await _capture(capturing, key, "bob@example.com", "second")
    except aiosmtplib.SMTPRecipientsRefused as refused:
        (error,) = refused.recipients
        assert error.code == 452 and error.message.startswith("4.2.2")
    else:
        raise AssertionError("the second captured message was accepted over the ceiling")
    assert [m["subject"] for m in await captured(capturing, key)] == ["first"]


async def test_capture_is_made_even_when_the_account_holds_its_plans_mailboxes(
    server: RunningServer,
):
    key = await app_key(server, "full account")
    await update_plan(server.runtime, "default", max_mailboxes=1)
    try:
        await server.create_inbox(key)
        box = await capture_mailbox(server, key)
        assert box["mode"] == "capture"
        usage = await server.http.get("/usage", headers=server.auth(key))
        assert usage.json()["data"]["usage"]["mailboxes"] == 2
    finally:
        await update_plan(server.runtime, "default", max_mailboxes=None)
