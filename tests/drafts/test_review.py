"""Reviewed sending: an agent's sends become drafts that only its account can approve."""

from __future__ import annotations

import json

from tests.drafts.support import account
from tests.helpers import RunningServer
from tests.mcp.conftest import call, http_client
from tests.outbound.relay import RelaySink
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import register


async def test_an_mcp_send_under_review_waits_for_the_account_to_approve_it(
    mail: RunningServer, relay: RelaySink, receiver: Receiver
):
    acc = await account(mail)
    await register(mail, acc.key, receiver.url(), events=["draft.created", "draft.approved"])
    await acc.review(True)

    async with http_client(f"{mail.base_url}/mcp", acc.as_inbox()) as client:
        result = await call(
            client,
            "send_email",
            inbox=acc.inbox["address"],
            to=["bob@example.com"],
            subject="Quarterly numbers",
            text="Here they are.",
        )
    assert result["sent"] is False and result["pending_review"] is True
    assert "NOT SENT" in result["note"]
    draft_id = result["draft"]["id"]
    assert result["draft"]["status"] == "pending_review"

    # The agent's own token can neither approve nor lift the gate.
    own = await mail.http.post(f"{acc.path}/drafts/{draft_id}/approve", headers=acc.as_inbox())
    assert own.status_code == 403
    assert "account's API key" in own.json()["error"]["message"]
    lift = await mail.http.patch(acc.path, json={"outbound_review": False}, headers=acc.as_inbox())
    assert lift.status_code == 403
    assert relay.received == []

    approved = await mail.http.post(f"{acc.path}/drafts/{draft_id}/approve", headers=acc.as_key())
    assert approved.status_code == 202, approved.text
    assert approved.json()["data"]["status"] == "sent"
    assert approved.json()["data"]["review"]["state"] == "approved"
    (relayed,) = await relay.wait_for(1)
    assert relayed.message["Subject"] == "Quarterly numbers"

    hits = await receiver.wait_for_count(2)
    events = [json.loads(hit.body) for hit in hits]
    assert sorted(e["type"] for e in events) == ["draft.approved", "draft.created"]
    assert all(e["data"]["draft"]["id"] == draft_id for e in events)


async def test_a_rest_send_under_review_answers_202_with_the_draft_and_replays_it(
    mail: RunningServer, relay: RelaySink
):
    acc = await account(mail)
    await acc.review(True)
    body = {"to": "bob@example.com", "subject": "Hi", "text": "hello"}
    headers = {**acc.as_inbox(), "Idempotency-Key": "once"}
    first = await mail.http.post(f"{acc.path}/send", json=body, headers=headers)
    assert first.status_code == 202, first.text
    answer = first.json()
    assert answer["data"]["status"] == "pending_review"
    assert answer["review"]["sent"] is False and "approve" in answer["review"]["message"]
    again = await mail.http.post(f"{acc.path}/send", json=body, headers=headers)
    assert again.json()["data"]["id"] == answer["data"]["id"]
    pending = await mail.http.get(
        f"{acc.path}/drafts", params={"status": "pending_review"}, headers=acc.as_key()
    )
    assert [d["id"] for d in pending.json()["data"]] == [answer["data"]["id"]]

    # A plain draft sent under review is submitted for approval instead.
    draft = (await acc.create(acc.inbox["token"], to="carol@example.com", text="x")).json()
    submitted = await mail.http.post(
        f"{acc.path}/drafts/{draft['data']['id']}/send", headers=acc.as_inbox()
    )
    assert submitted.status_code == 202
    assert submitted.json()["data"]["status"] == "pending_review"
    assert submitted.json()["review"]["sent"] is False
    assert relay.received == []

    # Approving something not awaiting review is a 409; discarding works for the account.
    discarded = await mail.http.delete(
        f"{acc.path}/drafts/{answer['data']['id']}", headers=acc.as_key()
    )
    assert discarded.status_code == 204
    await acc.review(False)
    sent = await mail.http.post(f"{acc.path}/send", json=body, headers=acc.as_inbox())
    assert sent.status_code == 202 and "review" not in sent.json()
    await relay.wait_for(1)


async def test_a_scheduled_draft_under_review_is_sent_at_its_time_once_approved(
    mail: RunningServer, relay: RelaySink
):
    from datetime import UTC, datetime, timedelta

    acc = await account(mail)
    await acc.review(True)
    at = datetime.now(UTC) + timedelta(seconds=2)
    made = await acc.create(
        acc.inbox["token"], to="bob@example.com", text="later", send_at=at.isoformat()
    )
    assert made.status_code == 201
    assert made.json()["data"]["status"] == "pending_review"
    approved = await mail.http.post(
        f"{acc.path}/drafts/{made.json()['data']['id']}/approve", headers=acc.as_key()
    )
    assert approved.json()["data"]["status"] == "scheduled"
    assert relay.received == []
    (relayed,) = await relay.wait_for(1, timeout=30)
    assert datetime.now(UTC) >= at
    assert relayed.rcpt_tos == ["bob@example.com"]
