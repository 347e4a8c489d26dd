"""What keeps drafts from being a way around review or a way to fill the disk: approval binds
the version the reviewer saw, turning review on holds what was scheduled, drafts end with
their mailbox, a mailbox that may not send keeps none, and a mailbox's drafts are bounded."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from inboxkit.config import Settings
from inboxkit.ids import new_id
from inboxkit.services.drafts import DRAFT_SPACE_SENDS
from inboxkit.store import drafts as draft_rows
from inboxkit.store.tables import DraftStatus, drafts
from tests.drafts.support import Account, account, draft_settings
from tests.helpers import RunningServer, start_server
from tests.outbound.relay import RelaySink
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import register


async def _draft(acc: Account, draft_id: str) -> dict[str, Any]:
    response = await acc.server.http.get(f"{acc.path}/drafts/{draft_id}", headers=acc.as_key())
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def _until(acc: Account, draft_id: str, status: str) -> dict[str, Any]:
    for _ in range(200):
        draft = await _draft(acc, draft_id)
        if draft["status"] == status:
            return draft
        await asyncio.sleep(0.1)
    raise AssertionError(f"draft {draft_id} never became {status}: {draft}")


async def test_approval_names_the_version_reviewed_and_an_edit_since_is_refused_not_sent(
    mail: RunningServer, relay: RelaySink, receiver: Receiver
):
    acc = await account(mail)
    await register(mail, acc.key, receiver.url(), events=["draft.created", "draft.updated"])
    await acc.review(True)
    held = await mail.http.post(
        f"{acc.path}/send",
        json={"to": "bob@example.com", "subject": "Invoice", "text": "Please pay 10 EUR."},
        headers=acc.as_inbox(),
    )
    assert held.status_code == 202, held.text
    seen = held.json()["data"]

    # The agent edits the held draft after the reviewer read it.
    edited = await mail.http.patch(
        f"{acc.path}/drafts/{seen['id']}",
        json={"to": ["mallory@example.com"], "text": "Please pay 10,000 EUR."},
        headers=acc.as_inbox(),
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["data"]["status"] == "pending_review"

    stale = await mail.http.post(
        f"{acc.path}/drafts/{seen['id']}/approve",
        json={"updated_at": seen["updated_at"]},
        headers=acc.as_key(),
    )
    assert stale.status_code == 409, stale.text
    assert "changed after you read it" in stale.json()["error"]["message"]
    assert (await _draft(acc, seen["id"]))["status"] == "pending_review"

    # The reviewer heard of the edit, in a summary that carries no bodies.
    hits = await receiver.wait_for_count(2)
    events = {e["type"]: e["data"]["draft"] for e in (json.loads(h.body) for h in hits)}
    assert set(events) == {"draft.created", "draft.updated"}
    assert events["draft.updated"]["to"] == ["mallory@example.com"]
    assert events["draft.updated"]["preview"] == "Please pay 10,000 EUR."
    assert "text" not in events["draft.updated"] and "html" not in events["draft.created"]

    # Approving what is there now, having read it, sends exactly that.
    current = await _draft(acc, seen["id"])
    approved = await mail.http.post(
        f"{acc.path}/drafts/{seen['id']}/approve",
        json={"updated_at": current["updated_at"]},
        headers=acc.as_key(),
    )
    assert approved.status_code == 202, approved.text
    assert approved.json()["data"]["status"] == "sent"
    (relayed,) = await relay.wait_for(1)
    assert relayed.rcpt_tos == ["mallory@example.com"]


async def test_turning_review_on_holds_drafts_already_scheduled_until_approved(
    mail: RunningServer, relay: RelaySink, receiver: Receiver
):
    acc = await account(mail)
    await register(mail, acc.key, receiver.url(), events=["draft.created"])
    soon = datetime.now(UTC) + timedelta(seconds=2)
    scheduled = await acc.create(
        acc.inbox["token"], to="bob@example.com", text="unreviewed", send_at=soon.isoformat()
    )
    assert scheduled.json()["data"]["status"] == "scheduled"
    draft_id = scheduled.json()["data"]["id"]

    await acc.review(True)
    assert (await _draft(acc, draft_id))["status"] == "pending_review"
    (hit,) = await receiver.wait_for_count(1)
    assert json.loads(hit.body)["data"]["draft"]["id"] == draft_id

    # Past its time, still nothing: a later scheduled draft that is approved goes out first.
    later = await acc.create(to="carol@example.com", text="reviewed", send_at=soon.isoformat())
    later_id = later.json()["data"]["id"]
    await mail.http.post(f"{acc.path}/drafts/{later_id}/approve", headers=acc.as_key())
    (relayed,) = await relay.wait_for(1, timeout=30)
    assert relayed.rcpt_tos == ["carol@example.com"]
    assert (await _draft(acc, draft_id))["status"] == "pending_review"

    approved = await mail.http.post(f"{acc.path}/drafts/{draft_id}/approve", headers=acc.as_key())
    assert approved.json()["data"]["status"] == "sent"
    assert len(await relay.wait_for(2)) == 2


async def test_a_draft_claimed_before_review_came_on_is_held_when_its_send_comes(
    mail: RunningServer, relay: RelaySink
):
    acc = await account(mail)
    later = datetime.now(UTC) + timedelta(hours=1)
    created = await acc.create(
        acc.inbox["token"], to="bob@example.com", text="in flight", send_at=later.isoformat()
    )
    draft_id = created.json()["data"]["id"]
    # A sender (a worker, or a request) holds its lease when review is turned on: turning
    # review on cannot take a held draft back, so the send itself must look again.
    token = new_id()
    async with mail.runtime.db.write() as conn:
        taken = await draft_rows.take(
            conn,
            acc.inbox["id"],
            draft_id,
            [DraftStatus.SCHEDULED],
            token=token,
            lease_seconds=60,
            values={},
        )
    assert taken is not None
    await acc.review(True)
    assert (await _draft(acc, draft_id))["status"] == "sending"

    held = await mail.runtime.drafts.send_leased(taken, token)
    assert held is not None and held.status == DraftStatus.PENDING_REVIEW
    assert (await _draft(acc, draft_id))["status"] == "pending_review"
    await asyncio.sleep(1)
    assert relay.received == []


async def test_an_edit_of_a_failed_draft_does_not_send_it_on_its_old_time(
    mail: RunningServer, relay: RelaySink
):
    acc = await account(mail)
    await mail.send(acc.inbox["address"], subject="Question", mail_from="carol@example.com")
    listed = await mail.http.get(f"{acc.path}/messages", headers=acc.as_key())
    (question,) = listed.json()["data"]
    at = datetime.now(UTC) + timedelta(seconds=1)
    reply = await acc.create(in_reply_to=question["id"], text="Answer", send_at=at.isoformat())
    draft_id = reply.json()["data"]["id"]
    # The message it answers goes before its time: the send fails, saying why.
    gone = await mail.http.delete(f"{acc.path}/messages/{question['id']}", headers=acc.as_key())
    assert gone.status_code == 204
    failed = await _until(acc, draft_id, "failed")
    assert failed["error"]

    edited = await mail.http.patch(
        f"{acc.path}/drafts/{draft_id}",
        json={"in_reply_to": None, "to": ["carol@example.com"], "subject": "Re: Question"},
        headers=acc.as_key(),
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["data"]["status"] == "draft"
    assert edited.json()["data"]["send_at"] is None
    await asyncio.sleep(2)  # two worker polls: nothing goes out on the old time
    assert relay.received == []
    assert (await _draft(acc, draft_id))["status"] == "draft"


async def test_a_deleted_mailbox_takes_its_drafts_and_its_scheduled_ones_never_go(
    mail: RunningServer, relay: RelaySink
):
    acc = await account(mail)
    at = datetime.now(UTC) + timedelta(seconds=1)
    await acc.create(to="bob@example.com", text="scheduled", send_at=at.isoformat())
    await acc.create(to="bob@example.com", text="kept")
    other = await account(mail, "neighbour")
    await other.create(to="bob@example.com", text="stays")

    deleted = await mail.http.delete(acc.path, headers=acc.as_key())
    assert deleted.status_code == 204
    async with mail.runtime.db.read() as conn:
        left = (
            await conn.execute(sa.select(drafts.c.mailbox_id, drafts.c.text).order_by(drafts.c.id))
        ).all()
    assert [(row.mailbox_id, row.text) for row in left] == [(other.inbox["id"], "stays")]
    await asyncio.sleep(2)
    assert relay.received == []


async def test_an_inbox_that_may_not_send_keeps_no_drafts(mail: RunningServer):
    anonymous = await mail.create_inbox()
    refused = await mail.http.post(
        f"/mailboxes/{anonymous['id']}/drafts",
        json={"to": "bob@example.com", "text": "x" * 1000},
        headers=mail.auth(anonymous["token"]),
    )
    assert refused.status_code == 403, refused.text
    assert "cannot send" in refused.json()["error"]["message"]


async def test_a_mailboxs_drafts_together_hold_a_bounded_amount(
    settings: Settings, relay: RelaySink
):
    configured = draft_settings(settings, relay).model_copy(update={"max_send_bytes": 4096})
    async with start_server(configured) as server:
        acc = await account(server)
        text = "y" * 4090  # eight of them leave less room than one small attachment takes
        for _ in range(DRAFT_SPACE_SENDS):
            kept = await acc.create(to="bob@example.com", text=text)
            assert kept.status_code == 201, kept.text
        over = await acc.create(to="bob@example.com", text=text)
        assert over.status_code == 409, over.text
        assert "send or delete some drafts" in over.json()["error"]["message"]
        # Growing one kept draft past the room is refused the same way; shrinking is fine.
        first = (await server.http.get(f"{acc.path}/drafts", headers=acc.as_key())).json()
        draft_id = first["data"][0]["id"]
        grown = await server.http.patch(
            f"{acc.path}/drafts/{draft_id}",
            json={"attachments": [{"filename": "a.bin", "content": "QUJD"}]},
            headers=acc.as_key(),
        )
        assert grown.status_code == 409, grown.text
        shrunk = await server.http.patch(
            f"{acc.path}/drafts/{draft_id}", json={"text": "short"}, headers=acc.as_key()
        )
        assert shrunk.status_code == 200, shrunk.text
        room = await acc.create(to="bob@example.com", text="fits now")
        assert room.status_code == 201, room.text
