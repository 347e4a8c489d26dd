"""Webhook delivery to a real HTTP receiver: signatures, payloads, retries, 410, events."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from inboxkit.bus import Channel
from inboxkit.store.tables import mailboxes
from tests.helpers import RunningServer, make_message, start_server
from tests.webhooks.receiver import Receiver, serve_receiver
from tests.webhooks.support import attempts, hook_settings, register


async def test_received_mail_is_posted_signed_per_standard_webhooks(
    hooks: RunningServer, receiver: Receiver
):
    key = await hooks.create_key("tenant")
    inbox = await hooks.create_inbox(token=key)
    hook = await register(hooks, key, receiver.url())
    assert hook["secret"].startswith("whsec_")
    await hooks.send(
        inbox["address"],
        subject="Confirm your account",
        body="Your code is 482913.\nOr click https://app.example.com/verify?token=abc",
    )
    (hit,) = await receiver.wait_for_count(1)
    payload = Webhook(hook["secret"]).verify(hit.body, hit.headers)
    assert hit.headers["content-type"] == "application/json"
    assert payload["type"] == "message.received"
    assert payload["data"]["mailbox"] == {"id": inbox["id"], "address": inbox["address"]}
    message = payload["data"]["message"]
    assert message["subject"] == "Confirm your account"
    assert message["codes"][0] == "482913"
    assert message["links"][0]["url"] == "https://app.example.com/verify?token=abc"
    assert message["url"].endswith(f"/api/v1/mailboxes/{inbox['id']}/messages/{message['id']}")
    assert "text" not in message and "html" not in message  # summaries only, never bodies
    other_secret = (await register(hooks, key, receiver.url("/other")))["secret"]
    with pytest.raises(WebhookVerificationError):
        Webhook(other_secret).verify(hit.body, hit.headers)
    tampered = hit.body.replace(b"482913", b"000000")
    with pytest.raises(WebhookVerificationError):
        Webhook(hook["secret"]).verify(tampered, hit.headers)


async def test_failed_attempts_are_retried_with_the_same_webhook_id_and_logged(settings):
    receiver = Receiver(respond=lambda number, path: 500 if number <= 2 else 200)
    async with serve_receiver(receiver), start_server(hook_settings(settings)) as server:
        key = await server.create_key("tenant")
        inbox = await server.create_inbox(token=key)
        hook = await register(server, key, receiver.url())
        with server.runtime.bus.subscribe(hook["id"], channel=Channel.WEBHOOK) as reports:
            await server.send(inbox["address"])
            reported = await attempts(reports, 3)
        hits = receiver.hits
        assert [hit.status for hit in hits] == [500, 500, 200]
        assert len({hit.webhook_id for hit in hits}) == 1
        for hit in hits:
            Webhook(hook["secret"]).verify(hit.body, hit.headers)
        assert [r["status_code"] for r in reported] == [500, 500, 200]
        assert reported[-1]["final"] is True
        log = await server.http.get(f"/webhooks/{hook['id']}/deliveries", headers=server.auth(key))
        (delivery,) = log.json()["data"]
        assert delivery["id"] == hits[0].webhook_id
        assert delivery["status"] == "delivered"
        assert delivery["attempts"] == 3
        assert [a["status_code"] for a in delivery["attempt_log"]] == [500, 500, 200]
        assert all(a["latency_ms"] >= 0 for a in delivery["attempt_log"])
        assert delivery["attempt_log"][0]["error"] == "HTTP 500"


async def test_redirects_count_as_failures_and_the_schedule_ends_in_failed(settings):
    receiver = Receiver(respond=lambda number, path: 302)
    configured = hook_settings(settings, webhook_retry_schedule=[0, 0.1])
    async with serve_receiver(receiver), start_server(configured) as server:
        key = await server.create_key("tenant")
        inbox = await server.create_inbox(token=key)
        hook = await register(server, key, receiver.url())
        with server.runtime.bus.subscribe(hook["id"], channel=Channel.WEBHOOK) as reports:
            await server.send(inbox["address"])
            reported = await attempts(reports, 2)
        assert [r["final"] for r in reported] == [False, True]
        log = await server.http.get(f"/webhooks/{hook['id']}/deliveries", headers=server.auth(key))
        (delivery,) = log.json()["data"]
        assert delivery["status"] == "failed"
        assert "redirects are not followed" in delivery["last_error"]


async def test_410_gone_disables_the_endpoint_and_stops_queueing_for_it(settings):
    receiver = Receiver(respond=lambda number, path: 410)
    async with serve_receiver(receiver), start_server(hook_settings(settings)) as server:
        key = await server.create_key("tenant")
        inbox = await server.create_inbox(token=key)
        hook = await register(server, key, receiver.url())
        with server.runtime.bus.subscribe(hook["id"], channel=Channel.WEBHOOK) as reports:
            await server.send(inbox["address"])
            (report,) = await attempts(reports, 1)
        assert report["status_code"] == 410 and report["final"]
        state = (await server.http.get(f"/webhooks/{hook['id']}", headers=server.auth(key))).json()
        assert state["data"]["enabled"] is False
        assert "410" in state["data"]["disabled_reason"]
        await server.send(inbox["address"])  # queued in the SMTP transaction, or not at all
        log = await server.http.get(f"/webhooks/{hook['id']}/deliveries", headers=server.auth(key))
        assert len(log.json()["data"]) == 1
        assert len(receiver.hits) == 1


async def test_test_endpoint_sends_a_signed_test_event_and_reports_the_attempt(
    hooks: RunningServer, receiver: Receiver
):
    key = await hooks.create_key("tenant")
    hook = await register(hooks, key, receiver.url())
    response = await hooks.http.post(f"/webhooks/{hook['id']}/test", headers=hooks.auth(key))
    assert response.status_code == 200, response.text
    delivery = response.json()["data"]
    assert delivery["status"] == "delivered"
    assert delivery["attempt_log"][0]["status_code"] == 200
    (hit,) = receiver.hits
    assert Webhook(hook["secret"]).verify(hit.body, hit.headers)["type"] == "webhook.test"
    assert hit.webhook_id == delivery["id"]


async def test_mailbox_filter_and_event_list_select_what_is_sent(
    hooks: RunningServer, receiver: Receiver
):
    key = await hooks.create_key("tenant")
    watched, ignored = await hooks.create_inbox(token=key), await hooks.create_inbox(token=key)
    await register(
        hooks,
        key,
        receiver.url("/watched"),
        mailbox=watched["address"],
        events=["message.received"],
    )
    await register(hooks, key, receiver.url("/deletions"), events=["mailbox.deleted"])
    await hooks.send(ignored["address"], subject="not for the watcher")
    await hooks.send(watched["address"], subject="for the watcher")
    deleted = await hooks.http.delete(f"/mailboxes/{ignored['id']}", headers=hooks.auth(key))
    assert deleted.status_code == 204
    hits = await receiver.wait_for_count(2)
    by_path = {hit.path: json.loads(hit.body) for hit in hits}
    assert by_path["/watched"]["data"]["message"]["subject"] == "for the watcher"
    assert by_path["/deletions"]["type"] == "mailbox.deleted"
    assert by_path["/deletions"]["data"]["mailbox"]["address"] == ignored["address"]
    assert len(hits) == 2


async def test_expired_mailbox_is_announced(hooks: RunningServer, receiver: Receiver):
    key = await hooks.create_key("tenant")
    inbox = await hooks.create_inbox(token=key)
    await register(hooks, key, receiver.url(), events=["mailbox.expired"])
    async with hooks.runtime.db.write() as conn:
        await conn.execute(
            mailboxes.update()
            .where(mailboxes.c.id == inbox["id"])
            .values(expires_at=sa.func.current_timestamp())
        )
    assert await hooks.runtime.mailboxes.sweep_expired() == 1
    (hit,) = await receiver.wait_for_count(1)
    payload = json.loads(hit.body)
    assert payload["type"] == "mailbox.expired"
    assert payload["data"]["mailbox"]["id"] == inbox["id"]


async def test_sent_and_failed_messages_are_announced(hooks: RunningServer, receiver: Receiver):
    key = await hooks.create_key("tenant")
    sender, other = await hooks.create_inbox(token=key), await hooks.create_inbox()
    await register(hooks, key, receiver.url(), events=["message.sent", "message.failed"])
    for to in (other["address"], "someone@example.com"):  # no relay: the second one fails
        response = await hooks.http.post(
            f"/mailboxes/{sender['id']}/send",
            headers=hooks.auth(key),
            json={"to": to, "subject": f"to {to}", "text": "hi"},
        )
        assert response.status_code == 202
    hits = await receiver.wait_for_count(2)
    events = {json.loads(h.body)["type"]: json.loads(h.body)["data"] for h in hits}
    assert events["message.sent"]["message"]["delivery_status"] == "sent"
    assert events["message.failed"]["message"]["delivery_status"] == "failed"
    assert "No SMTP relay" in events["message.failed"]["message"]["delivery_error"]


async def test_anonymous_mailboxes_and_other_accounts_get_no_deliveries(
    hooks: RunningServer, receiver: Receiver
):
    key = await hooks.create_key("tenant")
    hook = await register(hooks, key, receiver.url())
    stranger_inbox = await hooks.create_inbox(token=await hooks.create_key("stranger"))
    anonymous_inbox = await hooks.create_inbox()
    mine = await hooks.create_inbox(token=key)
    for inbox in (stranger_inbox, anonymous_inbox, mine):
        await hooks.send(inbox["address"], make_message(inbox["address"], inbox["id"], "x"))
    (hit,) = await receiver.wait_for_count(1)
    assert json.loads(hit.body)["data"]["mailbox"]["id"] == mine["id"]
    # Deliveries are queued in the SMTP transaction: had any other been due, it would be here.
    log = await hooks.http.get(f"/webhooks/{hook['id']}/deliveries", headers=hooks.auth(key))
    assert len(log.json()["data"]) == 1
