"""Forwarding (DESIGN §13): mail from outside with two attachments (one binary) arrives over
real SMTP, is forwarded to another mailbox here and to the relay, and each copy has the
`Fwd:` subject, the original inline, the attachments byte for byte and the original's
References chain; another tenant's message is 404 and an anonymous inbox cannot forward."""

from __future__ import annotations

import os
from email.message import EmailMessage
from typing import Any

from tests.helpers import RunningServer, make_message
from tests.outbound.inboxes import sending_inbox
from tests.outbound.relay import RelaySink
from tests.outbound.waiting import wait_for_delivery

BINARY = bytes(range(256)) * 40 + os.urandom(1000)
CSV = b"name,amount\nalice,12\nbob,7\n"
ORIGINAL_ID = "<original-0001@shop.example>"
EARLIER_ID = "<earlier-0000@shop.example>"


def _original(to: str) -> EmailMessage:
    message = make_message(
        to,
        "Invoice 42",
        "Please find the invoice attached.\nCode 123456.",
        "Shop Billing <billing@shop.example>",
    )
    message["Cc"] = "audit@shop.example"
    message["Message-ID"] = ORIGINAL_ID
    message["References"] = EARLIER_ID
    message.add_alternative("<p>Please find the <b>invoice</b> attached.</p>", subtype="html")
    message.add_attachment(BINARY, maintype="application", subtype="pdf", filename="invoice.pdf")
    message.add_attachment(CSV, maintype="text", subtype="csv", filename="lines.csv")
    return message


async def _received(server: RunningServer, inbox: dict[str, Any]) -> dict[str, Any]:
    await server.send(
        inbox["address"], _original(inbox["address"]), mail_from="billing@shop.example"
    )
    listing = await server.http.get(
        f"/mailboxes/{inbox['id']}/messages", headers=server.auth(inbox["token"])
    )
    (received,) = listing.json()["data"]
    return dict(received)


def _attachments(message: EmailMessage) -> list[tuple[str | None, str, bytes]]:
    return [
        (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
        for part in message.iter_attachments()
    ]


async def test_a_forward_reaches_a_local_mailbox_and_the_relay_with_the_original_inline(
    mail: RunningServer, relay: RelaySink
):
    ada = await sending_inbox(mail)
    bob = await sending_inbox(mail)
    received = await _received(mail, ada)

    response = await mail.http.post(
        f"/mailboxes/{ada['id']}/messages/{received['id']}/forward",
        headers=mail.auth(ada["token"]),
        json={"to": ["carol@example.com", bob["address"]], "text": "FYI, see below."},
    )
    assert response.status_code == 202, response.text
    sent = response.json()["data"]
    assert sent["subject"] == "Fwd: Invoice 42"
    assert sent["direction"] == "outbound" and sent["labels"] == ["sent"]
    assert sent["has_attachments"] is True
    settled = await wait_for_delivery(mail, ada, sent["id"])
    assert settled["delivery_status"] == "sent", settled

    # Over the relay: the message as the outside recipient gets it.
    (relayed,) = await relay.wait_for(1)
    assert relayed.rcpt_tos == ["carol@example.com"]
    message = relayed.message
    assert message["Subject"] == "Fwd: Invoice 42"
    assert message["In-Reply-To"] is None
    assert message["References"].split() == [EARLIER_ID, ORIGINAL_ID]
    text = message.get_body(("plain",)).get_content()
    assert text.index("FYI, see below.") < text.index("---------- Forwarded message ---------")
    for line in (
        "From: Shop Billing <billing@shop.example>",
        "Subject: Invoice 42",
        f"To: {ada['address']}",
        "Cc: audit@shop.example",
        "Please find the invoice attached.",
    ):
        assert line in text, text
    html = message.get_body(("html",)).get_content()
    assert "Forwarded message" in html and "<b>invoice</b>" in html
    assert _attachments(message) == [
        ("invoice.pdf", "application/pdf", BINARY),
        ("lines.csv", "text/csv", CSV),
    ]

    # Locally: bob's copy, read through the API, with its attachments downloaded.
    listing = await mail.http.get(
        f"/mailboxes/{bob['id']}/messages", headers=mail.auth(bob["token"])
    )
    (copy,) = listing.json()["data"]
    assert copy["subject"] == "Fwd: Invoice 42"
    assert "123456" in copy["codes"]  # extraction reads the inline original
    full = (
        await mail.http.get(
            f"/mailboxes/{bob['id']}/messages/{copy['id']}", headers=mail.auth(bob["token"])
        )
    ).json()["data"]
    assert ORIGINAL_ID in full["references"] and full["in_reply_to"] is None
    assert "Please find the invoice attached." in full["text"]
    got = []
    for attachment in full["attachments"]:
        data = await mail.http.get(
            f"/mailboxes/{bob['id']}/messages/{copy['id']}/attachments/{attachment['id']}",
            headers=mail.auth(bob["token"]),
        )
        got.append((attachment["filename"], attachment["content_type"], data.content))
    assert got == [("invoice.pdf", "application/pdf", BINARY), ("lines.csv", "text/csv", CSV)]


async def test_a_forward_of_a_forward_is_not_prefixed_twice_and_html_notes_work(
    mail: RunningServer, relay: RelaySink
):
    ada = await sending_inbox(mail)
    original = make_message(ada["address"], "Fwd: minutes", "The minutes.", "x@shop.example")
    await mail.send(ada["address"], original, mail_from="x@shop.example")
    (received,) = (
        await mail.http.get(f"/mailboxes/{ada['id']}/messages", headers=mail.auth(ada["token"]))
    ).json()["data"]
    response = await mail.http.post(
        f"/mailboxes/{ada['id']}/messages/{received['id']}/forward",
        headers=mail.auth(ada["token"]),
        json={"to": "dan@example.com", "html": "<p>Look <i>here</i></p>"},
    )
    assert response.status_code == 202, response.text
    (relayed,) = await relay.wait_for(1)
    message = relayed.message
    assert message["Subject"] == "Fwd: minutes"
    assert "<i>here</i>" in message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "Look here" in text and "The minutes." in text


async def test_forwarding_another_tenants_message_is_404_and_sends_nothing(
    mail: RunningServer, relay: RelaySink
):
    ada = await sending_inbox(mail)
    eve = await sending_inbox(mail)
    received = await _received(mail, ada)
    for mailbox, token in ((ada["id"], eve["token"]), (eve["id"], eve["token"])):
        response = await mail.http.post(
            f"/mailboxes/{mailbox}/messages/{received['id']}/forward",
            headers=mail.auth(token),
            json={"to": "eve@example.com"},
        )
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"
        assert "Invoice" not in response.text
    listing = await mail.http.get(
        f"/mailboxes/{eve['id']}/messages", headers=mail.auth(eve["token"])
    )
    assert listing.json()["data"] == []
    assert relay.data_attempts == 0


async def test_an_anonymous_inbox_cannot_forward(mail: RunningServer, relay: RelaySink):
    inbox = await mail.create_inbox()
    received = await _received(mail, inbox)
    response = await mail.http.post(
        f"/mailboxes/{inbox['id']}/messages/{received['id']}/forward",
        headers=mail.auth(inbox["token"]),
        json={"to": "bob@example.com", "text": "x"},
    )
    assert response.status_code == 403, response.text
    assert "cannot send" in response.json()["error"]["message"]
    assert relay.data_attempts == 0


async def test_a_forward_over_the_size_limit_is_refused_413(mail: RunningServer, relay: RelaySink):
    ada = await sending_inbox(mail)
    received = await _received(mail, ada)
    mail.runtime.outbound.settings = mail.settings.model_copy(update={"max_send_bytes": 8000})
    response = await mail.http.post(
        f"/mailboxes/{ada['id']}/messages/{received['id']}/forward",
        headers=mail.auth(ada["token"]),
        json={"to": "bob@example.com"},
    )
    assert response.status_code == 413, response.text
    assert "limit" in response.json()["error"]["message"]
    assert relay.data_attempts == 0


async def test_the_same_idempotency_key_forwards_once(mail: RunningServer, relay: RelaySink):
    ada = await sending_inbox(mail)
    received = await _received(mail, ada)
    answers = []
    for _ in range(2):
        response = await mail.http.post(
            f"/mailboxes/{ada['id']}/messages/{received['id']}/forward",
            headers={**mail.auth(ada["token"]), "Idempotency-Key": "fwd-1"},
            json={"to": "bob@example.com"},
        )
        assert response.status_code == 202, response.text
        answers.append(response.json()["data"]["id"])
    assert answers[0] == answers[1]
    await relay.wait_for(1)
    assert len(relay.received) == 1


async def test_a_forward_from_a_mailbox_under_review_is_held_then_sent_on_approval(
    mail: RunningServer, relay: RelaySink
):
    key = await mail.create_key("reviewed")
    inbox = await mail.create_inbox(token=key)
    received = await _received(mail, inbox)
    path = f"/mailboxes/{inbox['id']}"
    review = await mail.http.patch(path, json={"outbound_review": True}, headers=mail.auth(key))
    assert review.status_code == 200, review.text

    held = await mail.http.post(
        f"{path}/messages/{received['id']}/forward",
        headers=mail.auth(inbox["token"]),
        json={"to": "bob@example.com", "text": "Please check."},
    )
    assert held.status_code == 202, held.text
    draft = held.json()["data"]
    assert held.json()["review"]["state"] == "pending"
    assert draft["status"] == "pending_review" and draft["forward_of"] == received["id"]
    assert relay.data_attempts == 0

    approved = await mail.http.post(f"{path}/drafts/{draft['id']}/approve", headers=mail.auth(key))
    assert approved.status_code == 202, approved.text
    (relayed,) = await relay.wait_for(1)
    message = relayed.message
    assert message["Subject"] == "Fwd: Invoice 42"
    assert "Please check." in message.get_body(("plain",)).get_content()
    assert _attachments(message)[0] == ("invoice.pdf", "application/pdf", BINARY)
