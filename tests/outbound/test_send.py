"""Sending through a real relay: headers, bodies, attachments, limits, idempotency, injection."""

from __future__ import annotations

import base64
import json

import pytest

from tests.helpers import RunningServer, start_server
from tests.outbound.inboxes import sending_inbox
from tests.outbound.relay import RelaySink, relay_settings
from tests.outbound.waiting import wait_for_delivery


async def test_send_reaches_the_relay_with_our_headers_bodies_and_attachments(
    mail: RunningServer, relay: RelaySink
):
    inbox = await sending_inbox(mail)
    pdf = b"%PDF-1.4 fake \x00\x01\x02 bytes"
    response = await mail.http.post(
        f"/mailboxes/{inbox['id']}/send",
        headers=mail.auth(inbox["token"]),
        json={
            "to": ["alice@example.com"],
            "cc": ["carol@example.org"],
            "bcc": ["hidden@example.net"],
            "subject": "Quarterly numbers ✓",
            "text": "See the attached report.",
            "html": "<p>See the <b>attached</b> report.</p>",
            "attachments": [
                {
                    "filename": "report.pdf",
                    "content_type": "application/pdf",
                    "content": base64.b64encode(pdf).decode(),
                }
            ],
        },
    )
    assert response.status_code == 202, response.text
    queued = response.json()["data"]
    assert queued["direction"] == "outbound"
    assert queued["delivery_status"] == "queued"

    (relayed,) = await relay.wait_for(1)
    assert relayed.mail_from == inbox["address"]
    assert sorted(relayed.rcpt_tos) == [
        "alice@example.com",
        "carol@example.org",
        "hidden@example.net",
    ]
    message = relayed.message
    assert message["From"] == inbox["address"]
    assert message["To"] == "alice@example.com"
    assert message["Cc"] == "carol@example.org"
    assert message["Bcc"] is None and b"hidden@example.net" not in relayed.data
    assert message["Subject"] == "Quarterly numbers ✓"
    assert message["Date"] is not None
    assert message["Message-ID"] == queued["message_id"]
    assert message["Message-ID"].endswith("@" + inbox["address"].split("@")[1] + ">")
    assert message.get_body(("plain",)).get_content().strip() == "See the attached report."
    assert "<b>attached</b>" in message.get_body(("html",)).get_content()
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "report.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == pdf

    sent = await wait_for_delivery(mail, inbox, queued["id"])
    assert sent["delivery_status"] == "sent"
    assert sent["delivery_error"] is None
    assert sent["message_id"] == queued["message_id"]
    assert sorted(sent["envelope"]["rcpt_to"]) == sorted(relayed.rcpt_tos)  # Bcc kept here


async def test_html_only_message_gets_a_generated_text_alternative(
    mail: RunningServer, relay: RelaySink
):
    inbox = await sending_inbox(mail)
    response = await mail.http.post(
        f"/mailboxes/{inbox['id']}/send",
        headers=mail.auth(inbox["token"]),
        json={"to": "bob@example.com", "subject": "hi", "html": "<h1>Welcome</h1><p>Code 4821</p>"},
    )
    assert response.status_code == 202, response.text
    (relayed,) = await relay.wait_for(1)
    message = relayed.message
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    assert "Welcome" in text and "4821" in text and "<h1>" not in text
    assert "<h1>Welcome</h1>" in message.get_body(("html",)).get_content()


async def test_send_and_reply_need_the_send_scope(mail: RunningServer):
    reader = await mail.create_key("reader", ["mailboxes:read", "mailboxes:write", "messages:read"])
    inbox = await mail.create_inbox(token=reader)
    response = await mail.http.post(
        f"/mailboxes/{inbox['id']}/send",
        headers=mail.auth(reader),
        json={"to": "bob@example.com", "text": "x"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    anonymous = await mail.http.post(
        f"/mailboxes/{inbox['id']}/send", json={"to": "bob@example.com", "text": "x"}
    )
    assert anonymous.status_code == 401
    listing = await mail.http.get(f"/mailboxes/{inbox['id']}/messages", headers=mail.auth(reader))
    assert listing.json()["data"] == []  # nothing was queued for sending


async def test_another_tenants_mailbox_cannot_send_and_looks_absent(mail: RunningServer):
    owner = await mail.create_key("owner")
    stranger = await mail.create_key("stranger")
    inbox = await mail.create_inbox(token=owner)
    response = await mail.http.post(
        f"/mailboxes/{inbox['id']}/send",
        headers=mail.auth(stranger),
        json={"to": "bob@example.com", "text": "x"},
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    listing = await mail.http.get(f"/mailboxes/{inbox['id']}/messages", headers=mail.auth(owner))
    assert listing.json()["data"] == []  # nothing was queued for sending


INJECTIONS = [
    {"to": "bob@example.com", "subject": "hi\r\nBcc: victim@example.com", "text": "x"},
    {"to": "bob@example.com", "subject": "hi\nX-Evil: 1", "text": "x"},
    {"to": "bob@example.com", "subject": "hi\x00there", "text": "x"},
    {"to": "bob@example.com\r\nBcc: victim@example.com", "text": "x"},
    {"to": "Bob <bob@example.com>", "text": "x"},
    {"to": "bob@example.com, victim@example.com", "text": "x"},
    {"to": "bob@example", "text": "x"},
    {"to": "bob", "text": "x"},
    {"to": "bob@example.com", "cc": ["carol@example.com\nBcc: v@example.com"], "text": "x"},
    {"to": "bob@example.com", "bcc": ['"quoted"@example.com'], "text": "x"},
    {"to": "bob@example.com", "text": "nul \x00 in body"},
    {
        "to": "bob@example.com",
        "text": "x",
        "attachments": [{"filename": "a\r\nX-Evil: 1.txt", "content": "eA=="}],
    },
    {
        "to": "bob@example.com",
        "text": "x",
        "attachments": [
            {"filename": "a.txt", "content_type": "text/plain\r\nX-Evil: 1", "content": "eA=="}
        ],
    },
    {
        "to": "bob@example.com",
        "text": "x",
        "attachments": [{"filename": "a.txt", "content": "%%%"}],
    },
    {"to": "bob@example.com", "subject": "no body"},
    {"to": [], "text": "nobody to send to"},
]


@pytest.mark.parametrize("body", INJECTIONS, ids=range(len(INJECTIONS)))
async def test_header_injection_and_malformed_fields_are_refused_422(
    mail: RunningServer, relay: RelaySink, body: dict
):
    inbox = await sending_inbox(mail)
    headers = mail.auth(inbox["token"])
    response = await mail.http.post(f"/mailboxes/{inbox['id']}/send", headers=headers, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    listing = await mail.http.get(f"/mailboxes/{inbox['id']}/messages", headers=headers)
    assert listing.json()["data"] == []
    assert relay.data_attempts == 0


async def test_too_many_recipients_is_422(mail: RunningServer):
    inbox = await sending_inbox(mail)
    limit = mail.settings.max_send_recipients
    response = await mail.http.post(
        f"/mailboxes/{inbox['id']}/send",
        headers=mail.auth(inbox["token"]),
        json={"to": [f"r{i}@example.com" for i in range(limit + 1)], "text": "x"},
    )
    assert response.status_code == 422
    assert str(limit) in response.json()["error"]["message"]


async def test_idempotency_key_replays_the_first_result_and_sends_once(
    mail: RunningServer, relay: RelaySink
):
    inbox = await sending_inbox(mail)
    headers = {**mail.auth(inbox["token"]), "Idempotency-Key": "order-42-receipt"}
    body = {"to": "bob@example.com", "subject": "receipt", "text": "thanks"}
    first = await mail.http.post(f"/mailboxes/{inbox['id']}/send", headers=headers, json=body)
    again = await mail.http.post(f"/mailboxes/{inbox['id']}/send", headers=headers, json=body)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    await wait_for_delivery(mail, inbox, first.json()["data"]["id"])
    listing = await mail.http.get(
        f"/mailboxes/{inbox['id']}/messages", headers=mail.auth(inbox["token"])
    )
    assert len(listing.json()["data"]) == 1
    assert len(relay.received) == 1

    changed = await mail.http.post(
        f"/mailboxes/{inbox['id']}/send", headers=headers, json={**body, "text": "other"}
    )
    assert changed.status_code == 409
    assert changed.json()["error"]["code"] == "conflict"


async def test_per_mailbox_send_rate_is_429_with_retry_after(settings, relay: RelaySink):
    limited = relay_settings(settings, relay, send_rate_limit=2, send_rate_window=3600.0)
    async with start_server(limited) as server:
        inbox = await sending_inbox(server)
        other = await sending_inbox(server)
        for _ in range(2):
            ok = await server.http.post(
                f"/mailboxes/{inbox['id']}/send",
                headers=server.auth(inbox["token"]),
                json={"to": "bob@example.com", "text": "x"},
            )
            assert ok.status_code == 202
        refused = await server.http.post(
            f"/mailboxes/{inbox['id']}/send",
            headers=server.auth(inbox["token"]),
            json={"to": "bob@example.com", "text": "x"},
        )
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        assert 3500 <= int(refused.headers["Retry-After"]) <= 3600
        elsewhere = await server.http.post(
            f"/mailboxes/{other['id']}/send",
            headers=server.auth(other["token"]),
            json={"to": "bob@example.com", "text": "x"},
        )
        assert elsewhere.status_code == 202


async def test_message_over_the_size_limit_is_413(settings, relay: RelaySink):
    async with start_server(relay_settings(settings, relay, max_send_bytes=4096)) as server:
        inbox = await sending_inbox(server)
        response = await server.http.post(
            f"/mailboxes/{inbox['id']}/send",
            headers=server.auth(inbox["token"]),
            json={
                "to": "bob@example.com",
                "text": "x",
                "attachments": [
                    {"filename": "big.bin", "content": base64.b64encode(b"\xff" * 8000).decode()}
                ],
            },
        )
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"


async def _nothing_queued(server: RunningServer, inbox: dict, relay: RelaySink) -> None:
    listing = await server.http.get(
        f"/mailboxes/{inbox['id']}/messages", headers=server.auth(inbox["token"])
    )
    assert listing.json()["data"] == []
    assert relay.data_attempts == 0


async def test_a_million_recipients_are_refused_before_any_work(
    mail: RunningServer, relay: RelaySink
):
    inbox = await sending_inbox(mail)
    response = await mail.http.post(
        f"/mailboxes/{inbox['id']}/send",
        headers=mail.auth(inbox["token"]),
        json={"to": ["bob@example.com"] * 1_000_000, "text": "x"},
    )
    # Under the request size limit the schema refuses it; above, the size limit does first.
    assert (response.status_code, response.json()["error"]["code"]) in (
        (422, "validation_error"),
        (413, "payload_too_large"),
    ), response.text[:300]
    await _nothing_queued(mail, inbox, relay)


@pytest.mark.parametrize("field", ["to", "cc", "bcc"])
async def test_ten_thousand_addresses_in_a_field_are_refused_422_by_the_schema(
    mail: RunningServer, relay: RelaySink, field: str
):
    inbox = await sending_inbox(mail)
    body: dict = {"to": "bob@example.com", "text": "x"}
    # One address repeated: deduplicated, it would pass every later check.
    body[field] = ["carol@example.org"] * 10_000
    response = await mail.http.post(
        f"/mailboxes/{inbox['id']}/send", headers=mail.auth(inbox["token"]), json=body
    )
    assert response.status_code == 422, response.text[:300]
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["message"] and "1000" in error["message"], error["message"]
    assert len(error["message"]) < 1000  # one sentence, not the 10,000 addresses echoed
    await _nothing_queued(mail, inbox, relay)


OVERSIZED = [
    {"to": "b" * 250 + "@example.com", "text": "x"},
    {"to": "bob@example.com", "cc": ["c" * 250 + "@example.com"], "text": "x"},
    {"to": "bob@example.com", "subject": "s" * 999, "text": "x"},
    {
        "to": "bob@example.com",
        "text": "x",
        "attachments": [{"filename": f"{n}.txt", "content": "eA=="} for n in range(101)],
    },
]


@pytest.mark.parametrize("body", OVERSIZED, ids=["address", "cc", "subject", "attachments"])
async def test_oversized_fields_are_refused_422(mail: RunningServer, relay: RelaySink, body: dict):
    inbox = await sending_inbox(mail)
    response = await mail.http.post(
        f"/mailboxes/{inbox['id']}/send", headers=mail.auth(inbox["token"]), json=body
    )
    assert response.status_code == 422, response.text[:300]
    assert response.json()["error"]["code"] == "validation_error"
    await _nothing_queued(mail, inbox, relay)


async def test_repeated_addresses_are_sent_once_each(mail: RunningServer, relay: RelaySink):
    inbox = await sending_inbox(mail)
    response = await mail.http.post(
        f"/mailboxes/{inbox['id']}/send",
        headers=mail.auth(inbox["token"]),
        json={
            # A thousand copies (the most a field may list) in two spellings of one address.
            "to": ["bob@example.com", "BOB@Example.COM"] * 500,
            "cc": ["Bob@example.com", "carol@example.org", "carol@EXAMPLE.org"],
            "bcc": ["CAROL@example.org", "dave@example.net", "dave@example.net"],
            "text": "once each",
        },
    )
    assert response.status_code == 202, response.text
    (relayed,) = await relay.wait_for(1)
    # One RCPT per distinct address, each in the first field that named it.
    assert relayed.rcpt_tos == ["bob@example.com", "carol@example.org", "dave@example.net"]
    assert relayed.message["To"] == "bob@example.com"
    assert relayed.message["Cc"] == "carol@example.org"
    assert b"dave@example.net" not in relayed.data
    sent = await wait_for_delivery(mail, inbox, response.json()["data"]["id"])
    assert sent["delivery_status"] == "sent"
    assert sent["to"] == ["bob@example.com"]


LINE_BREAKS = ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"]


@pytest.mark.parametrize("char", LINE_BREAKS, ids=[f"U+{ord(c):04X}" for c in LINE_BREAKS])
@pytest.mark.parametrize("where", ["subject", "filename"])
async def test_unicode_line_breaks_in_header_values_are_refused_422(
    mail: RunningServer, relay: RelaySink, char: str, where: str
):
    inbox = await sending_inbox(mail)
    body: dict = {"to": "bob@example.com", "subject": "hello", "text": "x"}
    if where == "subject":
        body["subject"] = f"hello{char}Bcc: victim@example.com"
    else:
        body["attachments"] = [{"filename": f"a{char}b.txt", "content": "eA=="}]
    response = await mail.http.post(
        f"/mailboxes/{inbox['id']}/send", headers=mail.auth(inbox["token"]), json=body
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error" and where in error["message"]
    await _nothing_queued(mail, inbox, relay)


@pytest.mark.parametrize("field", ["subject", "text", "html"])
async def test_unpaired_surrogates_are_refused_422(
    mail: RunningServer, relay: RelaySink, field: str
):
    inbox = await sending_inbox(mail)
    body = {"to": "bob@example.com", "text": "x", field: "broken \ud800 unicode"}
    response = await mail.http.post(
        f"/mailboxes/{inbox['id']}/send",
        headers={**mail.auth(inbox["token"]), "Content-Type": "application/json"},
        content=json.dumps(body).encode(),  # JSON escapes the surrogate as \\ud800
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    await _nothing_queued(mail, inbox, relay)


async def test_reply_to_a_subject_holding_line_separators_is_sent_with_spaces(
    mail: RunningServer, relay: RelaySink
):
    inbox = await sending_inbox(mail, name="Ops\u2028Team\x85Desk")
    # An encoded word carries the separators past SMTP, as a sender's mail client would.
    subject = base64.b64encode("Invoice\u2028due\u2029now\x85please".encode()).decode()
    original = (
        f"From: alice@example.com\r\nTo: {inbox['address']}\r\n"
        f"Subject: =?utf-8?b?{subject}?=\r\n\r\nPay up.\r\n"
    ).encode()
    await mail.send(inbox["address"], original, mail_from="alice@example.com")
    (received,) = (
        await mail.http.get(f"/mailboxes/{inbox['id']}/messages", headers=mail.auth(inbox["token"]))
    ).json()["data"]
    response = await mail.http.post(
        f"/mailboxes/{inbox['id']}/messages/{received['id']}/reply",
        headers=mail.auth(inbox["token"]),
        json={"text": "Paid."},
    )
    assert response.status_code == 202, response.text
    (relayed,) = await relay.wait_for(1)
    assert relayed.message["Subject"] == "Re: Invoice due now please"
    assert relayed.message["From"].addresses[0].display_name == "Ops Team Desk"
