"""Delivery from the outbox: threading, DKIM, relay retries and failures, local delivery, and
what survives a crash between queueing and sending."""

from __future__ import annotations

import base64
import socket
from email.message import EmailMessage

import dkim
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from inboxkit.store.queue import claim
from inboxkit.store.tables import outbox
from tests.helpers import RunningServer, start_server
from tests.outbound.inboxes import sending_inbox
from tests.outbound.relay import RelaySink, relay_settings, relay_tls
from tests.outbound.waiting import wait_for_delivery


async def _receive(server: RunningServer, inbox: dict, message: EmailMessage) -> dict:
    """Deliver `message` to `inbox` over SMTP and return it as the API lists it."""
    await server.send(inbox["address"], message, mail_from="alice@example.com")
    listing = await server.http.get(
        f"/mailboxes/{inbox['id']}/messages",
        headers=server.auth(inbox["token"]),
        params={"direction": "inbound"},
    )
    return listing.json()["data"][0]


def _original(to: str, **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Alice <alice@example.com>"
    message["To"] = to
    message["Subject"] = "Re: Project plan"
    message["Message-ID"] = "<original-2@example.com>"
    message["References"] = "<root-1@example.com>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("What do you think?")
    return message


async def test_reply_is_threaded_with_in_reply_to_references_and_a_single_re(
    mail: RunningServer, relay: RelaySink
):
    inbox = await sending_inbox(mail)
    original = await _receive(mail, inbox, _original(inbox["address"]))
    response = await mail.http.post(
        f"/mailboxes/{inbox['id']}/messages/{original['id']}/reply",
        headers=mail.auth(inbox["token"]),
        json={"text": "Looks good."},
    )
    assert response.status_code == 202, response.text
    (relayed,) = await relay.wait_for(1)
    reply = relayed.message
    assert relayed.rcpt_tos == ["alice@example.com"]
    assert reply["To"] == "alice@example.com"
    assert reply["From"] == inbox["address"]
    assert reply["Subject"] == "Re: Project plan"
    assert reply["In-Reply-To"] == "<original-2@example.com>"
    assert reply["References"] == "<root-1@example.com> <original-2@example.com>"
    assert reply.get_body(("plain",)).get_content().strip() == "Looks good."
    sent = await wait_for_delivery(mail, inbox, response.json()["data"]["id"])
    assert sent["in_reply_to"] == "<original-2@example.com>"


async def test_reply_goes_to_reply_to_and_reply_all_copies_the_others_but_not_us(
    mail: RunningServer, relay: RelaySink
):
    inbox = await sending_inbox(mail)
    original = await _receive(
        mail,
        inbox,
        _original(
            f"{inbox['address']}, bob@example.com",
            Cc="carol@example.org, ALICE@example.com",
            Reply_To="team@example.com",
        ),
    )
    headers = mail.auth(inbox["token"])
    url = f"/mailboxes/{inbox['id']}/messages/{original['id']}/reply"
    only_sender = await mail.http.post(url, headers=headers, json={"text": "one"})
    everyone = await mail.http.post(url, headers=headers, json={"text": "all", "reply_all": True})
    assert only_sender.status_code == everyone.status_code == 202
    first, second = sorted(await relay.wait_for(2), key=lambda r: len(r.rcpt_tos))
    assert first.rcpt_tos == ["team@example.com"]
    assert second.message["To"] == "team@example.com"
    assert sorted(r.lower() for r in second.rcpt_tos) == sorted(
        ["team@example.com", "bob@example.com", "carol@example.org", "alice@example.com"]
    )
    assert inbox["address"] not in second.message["Cc"]


async def test_reply_to_a_message_of_another_mailbox_is_404(mail: RunningServer):
    first, second = await sending_inbox(mail), await sending_inbox(mail)
    original = await _receive(mail, first, _original(first["address"]))
    response = await mail.http.post(
        f"/mailboxes/{second['id']}/messages/{original['id']}/reply",
        headers=mail.auth(second["token"]),
        json={"text": "hi"},
    )
    assert response.status_code == 404


async def test_dkim_signature_verifies_with_the_published_key(settings, relay: RelaySink, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_path = tmp_path / "dkim.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    configured = relay_settings(
        settings, relay, dkim_selector="mail2024", dkim_private_key_path=key_path
    )
    async with start_server(configured) as server:
        inbox = await sending_inbox(server)
        response = await server.http.post(
            f"/mailboxes/{inbox['id']}/send",
            headers=server.auth(inbox["token"]),
            json={"to": "bob@example.com", "subject": "signed ✓", "html": "<p>Grüße</p>"},
        )
        assert response.status_code == 202
        (relayed,) = await relay.wait_for(1)
    domain = inbox["address"].split("@")[1]
    published = {
        f"mail2024._domainkey.{domain}.".encode(): b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    }

    def dns(name: bytes, timeout: int = 5) -> bytes | None:
        return published.get(name)

    assert relayed.data.startswith(b"DKIM-Signature:")
    assert dkim.verify(relayed.data, dnsfunc=dns)
    assert not dkim.verify(relayed.data.replace(b"signed", b"forged", 1), dnsfunc=dns)


async def test_relay_451_is_retried_and_then_sent(mail: RunningServer, relay: RelaySink):
    relay.data_replies = ["451 4.3.0 Greylisted, try again later"]
    inbox = await sending_inbox(mail)
    response = await mail.http.post(
        f"/mailboxes/{inbox['id']}/send",
        headers=mail.auth(inbox["token"]),
        json={"to": "bob@example.com", "text": "second time lucky"},
    )
    (relayed,) = await relay.wait_for(1)
    assert relay.data_attempts == 2
    sent = await wait_for_delivery(mail, inbox, response.json()["data"]["id"])
    assert sent["delivery_status"] == "sent"
    assert sent["delivery_error"] is None


async def test_relay_550_fails_the_message_with_the_reply_recorded(
    mail: RunningServer, relay: RelaySink
):
    relay.rcpt_replies["nobody@example.com"] = "550 5.1.1 <nobody@example.com>: user unknown"
    inbox = await sending_inbox(mail)
    with mail.runtime.bus.subscribe(inbox["id"]) as events:
        response = await mail.http.post(
            f"/mailboxes/{inbox['id']}/send",
            headers=mail.auth(inbox["token"]),
            json={"to": "nobody@example.com", "text": "hello?"},
        )
        failed = await wait_for_delivery(mail, inbox, response.json()["data"]["id"])
        seen = []
        while (event := await events.next(5)) is not None:
            seen.append(event["event"])
            if event["event"] == "message.failed":
                break
    assert failed["delivery_status"] == "failed"
    assert "550 5.1.1 <nobody@example.com>: user unknown" in failed["delivery_error"]
    assert "message.failed" in seen
    assert relay.received == []


async def test_consecutive_messages_reuse_one_relay_session(mail: RunningServer, relay: RelaySink):
    inbox = await sending_inbox(mail)
    for number in range(3):
        response = await mail.http.post(
            f"/mailboxes/{inbox['id']}/send",
            headers=mail.auth(inbox["token"]),
            json={"to": "bob@example.com", "subject": f"n{number}", "text": "x"},
        )
        await wait_for_delivery(mail, inbox, response.json()["data"]["id"])
    assert len(relay.received) == 3
    assert relay.sessions == 1


async def test_relay_credentials_are_sent_only_after_starttls(settings, tmp_path):
    tls, ca_bundle = relay_tls(tmp_path)
    relay = RelaySink(credentials=("mailer", "s3cret"), tls=tls)
    await relay.start()
    try:
        configured = relay_settings(settings, relay, smtp_relay_ca_bundle=ca_bundle)
        async with start_server(configured) as server:
            inbox = await sending_inbox(server)
            response = await server.http.post(
                f"/mailboxes/{inbox['id']}/send",
                headers=server.auth(inbox["token"]),
                json={"to": "bob@example.com", "text": "authenticated"},
            )
            (relayed,) = await relay.wait_for(1)
            sent = await wait_for_delivery(server, inbox, response.json()["data"]["id"])
        # The relay takes AUTH only over TLS (aiosmtpd's auth_require_tls), so a login
        # recorded on the message means STARTTLS came first.
        assert relayed.login == "mailer"
        assert relay.auth_attempts == 1
        assert sent["delivery_status"] == "sent"
    finally:
        await relay.stop()


async def test_relay_without_starttls_never_receives_the_credentials(settings):
    # A relay (or a man in the middle) that offers AUTH but no STARTTLS.
    relay = RelaySink(credentials=("mailer", "s3cret"))
    await relay.start()
    try:
        async with start_server(relay_settings(settings, relay)) as server:
            inbox = await sending_inbox(server)
            response = await server.http.post(
                f"/mailboxes/{inbox['id']}/send",
                headers=server.auth(inbox["token"]),
                json={"to": "bob@example.com", "text": "must not go out"},
            )
            failed = await wait_for_delivery(server, inbox, response.json()["data"]["id"])
        assert failed["delivery_status"] == "failed"
        assert "did not offer TLS" in failed["delivery_error"]
        assert "never sent in clear" in failed["delivery_error"]
        assert "s3cret" not in failed["delivery_error"]
        assert relay.auth_attempts == 0
        assert relay.received == [] and relay.data_attempts == 0
    finally:
        await relay.stop()


async def test_an_unreachable_relay_is_reported_without_its_address(settings):
    # A port nothing listens on: the connection is refused at once.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"smtp://127.0.0.1:{port}"
    update = {"smtp_relay_url": url, "outbox_retry_schedule": [0], "outbox_poll_interval": 1.0}
    async with start_server(settings.model_copy(update=update)) as server:
        inbox = await sending_inbox(server)
        response = await server.http.post(
            f"/mailboxes/{inbox['id']}/send",
            headers=server.auth(inbox["token"]),
            json={"to": "bob@example.com", "text": "nobody is there"},
        )
        assert response.status_code == 202, response.text
        failed = await wait_for_delivery(server, inbox, response.json()["data"]["id"])
    assert failed["delivery_status"] == "failed"
    assert "could not be reached" in failed["delivery_error"]
    assert str(port) not in failed["delivery_error"]
    assert "127.0.0.1" not in failed["delivery_error"]


async def test_two_mailboxes_on_one_server_converse_without_a_relay(settings):
    async with start_server(relay_settings(settings, None)) as server:
        ada, bob = await sending_inbox(server), await sending_inbox(server)
        sent = await server.http.post(
            f"/mailboxes/{ada['id']}/send",
            headers=server.auth(ada["token"]),
            json={"to": bob["address"], "subject": "ping", "text": "are you there?"},
        )
        assert sent.status_code == 202
        arrived = await server.http.get(
            f"/mailboxes/{bob['id']}/wait",
            headers=server.auth(bob["token"]),
            params={"timeout": 20},
        )
        message = arrived.json()["data"]["message"]
        assert message["direction"] == "inbound"
        assert message["from"] == ada["address"] and message["subject"] == "ping"
        assert (await wait_for_delivery(server, ada, sent.json()["data"]["id"]))[
            "delivery_status"
        ] == "sent"

        answer = await server.http.post(
            f"/mailboxes/{bob['id']}/messages/{message['id']}/reply",
            headers=server.auth(bob["token"]),
            json={"text": "yes!"},
        )
        assert answer.status_code == 202
        back = await server.http.get(
            f"/mailboxes/{ada['id']}/wait",
            headers=server.auth(ada["token"]),
            params={"timeout": 20},
        )
        reply = back.json()["data"]["message"]
        assert reply["subject"] == "Re: ping"
        full = await server.http.get(
            f"/mailboxes/{ada['id']}/messages/{reply['id']}", headers=server.auth(ada["token"])
        )
        assert full.json()["data"]["in_reply_to"] == sent.json()["data"]["message_id"]


async def test_bcc_recipient_on_this_server_is_not_revealed_to_the_others(settings):
    async with start_server(relay_settings(settings, None)) as server:
        ada, bob, eve = [await sending_inbox(server) for _ in range(3)]
        await server.http.post(
            f"/mailboxes/{ada['id']}/send",
            headers=server.auth(ada["token"]),
            json={"to": bob["address"], "bcc": [eve["address"]], "text": "psst"},
        )
        for inbox in (bob, eve):
            got = await server.http.get(
                f"/mailboxes/{inbox['id']}/wait",
                headers=server.auth(inbox["token"]),
                params={"timeout": 20},
            )
            assert got.json()["data"]["message"] is not None
        bob_listing = await server.http.get(
            f"/mailboxes/{bob['id']}/messages", headers=server.auth(bob["token"])
        )
        bob_copy = await server.http.get(
            f"/mailboxes/{bob['id']}/messages/{bob_listing.json()['data'][0]['id']}",
            headers=server.auth(bob["token"]),
        )
        assert eve["address"] not in str(bob_copy.json()["data"])


async def test_external_recipient_without_a_relay_fails_with_a_clear_reason(settings):
    async with start_server(relay_settings(settings, None)) as server:
        inbox = await sending_inbox(server)
        response = await server.http.post(
            f"/mailboxes/{inbox['id']}/send",
            headers=server.auth(inbox["token"]),
            json={"to": "bob@example.com", "text": "x"},
        )
        failed = await wait_for_delivery(server, inbox, response.json()["data"]["id"])
    assert failed["delivery_status"] == "failed"
    assert "No SMTP relay is configured" in failed["delivery_error"]


async def test_unknown_local_recipient_fails_550_and_live_ones_still_get_it(settings):
    async with start_server(relay_settings(settings, None)) as server:
        ada, bob = await sending_inbox(server), await sending_inbox(server)
        domain = bob["address"].split("@")[1]
        response = await server.http.post(
            f"/mailboxes/{ada['id']}/send",
            headers=server.auth(ada["token"]),
            json={"to": [bob["address"], f"ghost-0000@{domain}"], "text": "x"},
        )
        failed = await wait_for_delivery(server, ada, response.json()["data"]["id"])
        listing = await server.http.get(
            f"/mailboxes/{bob['id']}/messages", headers=server.auth(bob["token"])
        )
    assert failed["delivery_status"] == "failed"
    assert f"ghost-0000@{domain}: 550 5.1.1" in failed["delivery_error"]
    assert len(listing.json()["data"]) == 1


async def test_mail_queued_while_no_worker_runs_is_sent_once_a_worker_starts(
    settings, relay: RelaySink
):
    configured = relay_settings(settings, relay)
    async with start_server(configured, role="api") as api:
        inbox = await sending_inbox(api)
        response = await api.http.post(
            f"/mailboxes/{inbox['id']}/send",
            headers=api.auth(inbox["token"]),
            json={"to": "bob@example.com", "text": "queued before any worker"},
        )
        assert response.json()["data"]["delivery_status"] == "queued"
    assert relay.received == []
    async with start_server(configured, role="all") as server:
        await relay.wait_for(1)
        sent = await wait_for_delivery(server, inbox, response.json()["data"]["id"])
    assert sent["delivery_status"] == "sent"
    assert len(relay.received) == 1


async def test_a_claim_whose_worker_died_is_sent_once_after_its_lease_runs_out(
    settings, relay: RelaySink
):
    configured = relay_settings(settings, relay, outbox_lease_seconds=1.0)
    async with start_server(configured, role="api") as api:
        inbox = await sending_inbox(api)
        response = await api.http.post(
            f"/mailboxes/{inbox['id']}/send",
            headers=api.auth(inbox["token"]),
            json={"to": "bob@example.com", "text": "x"},
        )
        # A worker claims the row and dies before sending: only its lease remains.
        dead = await claim(api.runtime.db, outbox, "queued", 10, lease_seconds=1.0)
        assert len(dead.rows) == 1
    async with start_server(configured, role="all") as server:
        sent = await wait_for_delivery(server, inbox, response.json()["data"]["id"])
        async with server.runtime.db.read() as conn:
            attempts = await conn.scalar(sa.select(outbox.c.attempts))
    assert sent["delivery_status"] == "sent"
    assert len(relay.received) == 1
    assert attempts == 2
