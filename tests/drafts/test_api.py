"""Drafts over REST: keeping, editing, listing, sending, and every refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inboxkit.services import drafts as drafts_service
from tests.drafts.support import account
from tests.helpers import RunningServer, make_message
from tests.outbound.relay import RelaySink
from tests.outbound.waiting import wait_for_delivery


def _at(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def test_a_draft_is_kept_edited_listed_and_sent_through_the_relay(
    mail: RunningServer, relay: RelaySink
):
    acc = await account(mail)
    created = await acc.create(to="bob@example.com", subject="Plan", text="Draft one")
    assert created.status_code == 201, created.text
    draft = created.json()["data"]
    assert draft["status"] == "draft" and draft["to"] == ["bob@example.com"]
    assert draft["sent_message_id"] is None and created.json()["review"] is None

    patched = await mail.http.patch(
        f"{acc.path}/drafts/{draft['id']}", json={"text": "Final text"}, headers=acc.as_key()
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["text"] == "Final text"

    listed = await mail.http.get(f"{acc.path}/drafts", headers=acc.as_inbox())
    assert [d["id"] for d in listed.json()["data"]] == [draft["id"]]

    sent = await mail.http.post(f"{acc.path}/drafts/{draft['id']}/send", headers=acc.as_inbox())
    assert sent.status_code == 202, sent.text
    result = sent.json()["data"]
    assert result["status"] == "sent" and result["sent_message_id"]
    (relayed,) = await relay.wait_for(1)
    assert relayed.message["Subject"] == "Plan"
    assert relayed.message.get_body(("plain",)).get_content().strip() == "Final text"
    message = await wait_for_delivery(mail, acc.inbox, result["sent_message_id"])
    assert message["delivery_status"] == "sent"

    # Sent: neither edited nor sent again.
    again = await mail.http.post(f"{acc.path}/drafts/{draft['id']}/send", headers=acc.as_key())
    assert again.status_code == 409 and "already sent" in again.json()["error"]["message"]
    edit = await mail.http.patch(
        f"{acc.path}/drafts/{draft['id']}", json={"text": "x"}, headers=acc.as_key()
    )
    assert edit.status_code == 409
    only_sent = await mail.http.get(
        f"{acc.path}/drafts", params={"status": "sent"}, headers=acc.as_key()
    )
    assert [d["id"] for d in only_sent.json()["data"]] == [draft["id"]]
    none_left = await mail.http.get(
        f"{acc.path}/drafts", params={"status": "draft"}, headers=acc.as_key()
    )
    assert none_left.json()["data"] == []


async def test_sending_a_draft_without_recipients_is_a_400_naming_what_is_missing(
    mail: RunningServer, relay: RelaySink
):
    acc = await account(mail)
    draft = (await acc.create(subject="No one", text="hello")).json()["data"]
    response = await mail.http.post(f"{acc.path}/drafts/{draft['id']}/send", headers=acc.as_key())
    assert response.status_code == 400
    assert "recipient" in response.json()["error"]["message"]
    kept = await mail.http.get(f"{acc.path}/drafts/{draft['id']}", headers=acc.as_key())
    assert kept.json()["data"]["status"] == "draft"
    assert relay.received == []


async def test_send_at_in_the_past_or_over_a_year_ahead_is_refused(mail: RunningServer):
    acc = await account(mail)
    body = {"to": "bob@example.com", "text": "hi"}
    past = await acc.create(**body, send_at=_at(-600))
    assert past.status_code == 400
    assert past.json()["error"]["message"] == "send_at is in the past; omit it to send now."
    far = await acc.create(**body, send_at=_at(400 * 86400))
    assert far.status_code == 400 and "a year" in far.json()["error"]["message"]
    naive = await acc.create(**body, send_at="2031-01-01T10:00:00")
    assert naive.status_code == 422


async def test_scheduling_a_draft_without_recipients_is_refused_at_once(mail: RunningServer):
    acc = await account(mail)
    response = await acc.create(text="hi", send_at=_at(3600))
    assert response.status_code == 400
    assert "recipient" in response.json()["error"]["message"]


async def test_a_reply_draft_is_sent_threaded_onto_the_original(
    mail: RunningServer, relay: RelaySink
):
    acc = await account(mail)
    original = make_message(acc.inbox["address"], "Project plan", "Thoughts?", "alice@example.com")
    original["Message-ID"] = "<orig-1@example.com>"
    original["References"] = "<root-1@example.com>"
    await mail.send(acc.inbox["address"], original, mail_from="alice@example.com")
    listed = await mail.http.get(f"{acc.path}/messages", headers=acc.as_key())
    message_id = listed.json()["data"][0]["id"]

    draft = (await acc.create(in_reply_to=message_id, text="Agreed.")).json()["data"]
    assert draft["in_reply_to"] == message_id
    sent = await mail.http.post(f"{acc.path}/drafts/{draft['id']}/send", headers=acc.as_key())
    assert sent.status_code == 202, sent.text
    (relayed,) = await relay.wait_for(1)
    assert relayed.rcpt_tos == ["alice@example.com"]
    assert relayed.message["Subject"] == "Re: Project plan"
    assert relayed.message["In-Reply-To"] == "<orig-1@example.com>"
    assert relayed.message["References"] == "<root-1@example.com> <orig-1@example.com>"

    missing = await acc.create(in_reply_to="0" * 26, text="x")
    assert missing.status_code == 404


async def test_the_drafts_cap_is_a_409_saying_what_to_do(
    mail: RunningServer, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(drafts_service, "MAX_DRAFTS_PER_MAILBOX", 2)
    acc = await account(mail)
    for _ in range(2):
        assert (await acc.create(text="x")).status_code == 201
    third = await acc.create(text="x")
    assert third.status_code == 409
    assert "send or delete some" in third.json()["error"]["message"]


async def test_attachments_are_listed_by_name_type_and_size(mail: RunningServer):
    acc = await account(mail)
    created = await acc.create(
        to="bob@example.com",
        text="see file",
        attachments=[{"filename": "a.txt", "content_type": "text/plain", "content": "aGVsbG8="}],
    )
    (item,) = created.json()["data"]["attachments"]
    assert item == {
        "filename": "a.txt",
        "content_type": "text/plain",
        "size": 5,
        "content_id": None,
    }


async def test_another_accounts_drafts_are_404_on_every_route(mail: RunningServer):
    owner = await account(mail, "owner")
    other = await account(mail, "other")
    draft = (await owner.create(to="bob@example.com", text="x")).json()["data"]
    base = f"{owner.path}/drafts"
    for token in (other.key, other.inbox["token"]):
        headers = mail.auth(token)
        calls = [
            mail.http.post(base, json={"text": "x"}, headers=headers),
            mail.http.get(base, headers=headers),
            mail.http.get(f"{base}/{draft['id']}", headers=headers),
            mail.http.patch(f"{base}/{draft['id']}", json={"text": "y"}, headers=headers),
            mail.http.post(f"{base}/{draft['id']}/send", headers=headers),
            mail.http.post(f"{base}/{draft['id']}/approve", headers=headers),
            mail.http.delete(f"{base}/{draft['id']}", headers=headers),
        ]
        for call in calls:
            response = await call
            assert response.status_code == 404, response.text
    # Their own mailbox, the other's draft id: 404 too.
    own = f"{other.path}/drafts/{draft['id']}"
    assert (await mail.http.get(own, headers=other.as_key())).status_code == 404
    assert (await mail.http.delete(own, headers=other.as_key())).status_code == 404


async def test_scopes_are_enforced(mail: RunningServer):
    acc = await account(mail)
    account_id = (await mail.runtime.auth.authenticate(acc.key)).account_id

    async def key(*scopes: str) -> dict[str, str]:
        made = await mail.runtime.auth.create_key(
            name="limited", scopes=list(scopes), account_id=account_id
        )
        return mail.auth(made["token"])

    draft = (await acc.create(to="bob@example.com", text="x")).json()["data"]
    one = f"{acc.path}/drafts/{draft['id']}"
    reader = await key("mailboxes:read", "messages:read")
    refused = await mail.http.post(f"{acc.path}/drafts", json={"text": "x"}, headers=reader)
    assert refused.status_code == 403 and "'send'" in refused.json()["error"]["message"]
    assert (await mail.http.patch(one, json={"text": "y"}, headers=reader)).status_code == 403
    assert (await mail.http.post(f"{one}/send", headers=reader)).status_code == 403
    assert (await mail.http.delete(one, headers=reader)).status_code == 403
    assert (await mail.http.get(one, headers=reader)).status_code == 200
    assert (await mail.http.get(f"{acc.path}/drafts", headers=reader)).status_code == 200
    sender = await key("send")
    approve = await mail.http.post(f"{one}/approve", headers=sender)
    assert approve.status_code == 403 and "mailboxes:write" in approve.json()["error"]["message"]
    nothing = await key("webhooks")
    assert (await mail.http.get(one, headers=nothing)).status_code == 403


async def test_deleting_a_draft_removes_it(mail: RunningServer):
    acc = await account(mail)
    draft = (await acc.create(text="x")).json()["data"]
    deleted = await mail.http.delete(f"{acc.path}/drafts/{draft['id']}", headers=acc.as_inbox())
    assert deleted.status_code == 204
    again = await mail.http.get(f"{acc.path}/drafts/{draft['id']}", headers=acc.as_key())
    assert again.status_code == 404
