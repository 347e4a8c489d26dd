"""RCPT-time decisions and SMTP limits, over a real socket (DESIGN §4)."""

from __future__ import annotations

import asyncio
import smtplib

import aiosmtplib
import pytest
import sqlalchemy as sa

from inboxkit.store.tables import contents, messages
from tests.helpers import RunningServer, make_message


async def test_mail_to_a_live_mailbox_is_accepted_and_listed(server: RunningServer):
    inbox = await server.create_inbox()
    errors, reply = await server.send(inbox["address"], subject="welcome")
    assert errors == {}
    assert reply.startswith("2.0.0 OK")
    listing = await server.http.get(
        f"/mailboxes/{inbox['address']}/messages", headers=server.auth(inbox["token"])
    )
    assert [m["subject"] for m in listing.json()["data"]] == ["welcome"]


async def test_rcpt_to_unknown_mailbox_is_refused_550_5_1_1(server: RunningServer):
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await server.send("nobody-here@inboxkit.localhost")
    (error,) = refused.value.recipients
    assert error.code == 550 and error.message.startswith("5.1.1")


async def test_rcpt_to_foreign_domain_is_refused_550_5_7_1(server: RunningServer):
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await server.send("someone@gmail.example")
    (error,) = refused.value.recipients
    assert error.code == 550 and error.message.startswith("5.7.1")


async def test_rcpt_to_deleted_mailbox_is_refused_550_5_1_1(server: RunningServer):
    inbox = await server.create_inbox()
    deleted = await server.http.delete(
        f"/mailboxes/{inbox['id']}", headers=server.auth(inbox["token"])
    )
    assert deleted.status_code == 204
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await server.send(inbox["address"])
    (error,) = refused.value.recipients
    assert error.code == 550 and error.message.startswith("5.1.1")


async def test_plus_tag_routes_to_base_mailbox_and_tag_is_kept(server: RunningServer):
    inbox = await server.create_inbox()
    local, domain = inbox["address"].split("@")
    await server.send(f"{local.upper()}+Signup-42@{domain.upper()}")
    listing = await server.http.get(
        f"/mailboxes/{inbox['id']}/messages", headers=server.auth(inbox["token"])
    )
    (message,) = listing.json()["data"]
    assert message["tags"] == ["Signup-42"]


async def test_more_than_100_recipients_get_452(server: RunningServer):
    inbox = await server.create_inbox()

    def talk() -> list[int]:
        with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
            client.ehlo()
            client.mail("sender@example.com")
            return [client.rcpt(inbox["address"])[0] for _ in range(101)]

    codes = await asyncio.to_thread(talk)
    assert codes[:100] == [250] * 100
    assert codes[100] == 452


async def test_declared_size_over_limit_is_refused_552_at_mail_from(server: RunningServer):
    limit = server.settings.max_message_bytes

    def talk() -> tuple[str, int]:
        with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
            client.ehlo()
            advertised = client.esmtp_features.get("size", "")
            return advertised, client.mail("sender@example.com", [f"SIZE={limit + 1}"])[0]

    advertised, code = await asyncio.to_thread(talk)
    assert int(advertised) == limit
    assert code == 552


async def test_oversized_data_without_size_is_refused_552_after_data(
    server: RunningServer, settings
):
    inbox = await server.create_inbox()
    big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * (
        settings.max_message_bytes // 1000 + 10
    )

    def talk() -> int:
        with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=60) as client:
            client.ehlo()
            client.mail("sender@example.com")
            client.rcpt(inbox["address"])
            return client.data(big)[0]

    assert await asyncio.to_thread(talk) == 552
    listing = await server.http.get(
        f"/mailboxes/{inbox['id']}/messages", headers=server.auth(inbox["token"])
    )
    assert listing.json()["data"] == []


async def test_no_auth_is_offered_on_the_receiving_port(server: RunningServer):
    def features() -> dict[str, str]:
        with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
            client.ehlo()
            return dict(client.esmtp_features)

    assert "auth" not in await asyncio.to_thread(features)


async def test_envelope_is_recorded_on_the_message(server: RunningServer):
    inbox = await server.create_inbox()
    await server.send(inbox["address"], mail_from="bounce@sender.example")
    headers = server.auth(inbox["token"])
    (summary,) = (
        await server.http.get(f"/mailboxes/{inbox['id']}/messages", headers=headers)
    ).json()["data"]
    full = (
        await server.http.get(f"/mailboxes/{inbox['id']}/messages/{summary['id']}", headers=headers)
    ).json()["data"]
    assert full["envelope"]["mail_from"] == "bounce@sender.example"
    assert full["envelope"]["rcpt_to"] == [inbox["address"]]
    assert full["envelope"]["remote_addr"] == "127.0.0.1"
    assert full["envelope"]["helo"]


async def test_one_message_to_two_mailboxes_is_stored_once_and_listed_in_both(
    server: RunningServer,
):
    first, second = await server.create_inbox(), await server.create_inbox()
    await server.send(
        [first["address"], second["address"]], make_message(first["address"], "both", "x")
    )
    for inbox in (first, second):
        listing = await server.http.get(
            f"/mailboxes/{inbox['id']}/messages", headers=server.auth(inbox["token"])
        )
        assert [m["subject"] for m in listing.json()["data"]] == ["both"]
    async with server.runtime.db.read() as conn:
        stored_raw_copies = await conn.scalar(sa.select(sa.func.count()).select_from(contents))
    assert stored_raw_copies == 1


async def test_mailbox_that_just_received_mail_is_refused_at_once_after_deletion(
    server: RunningServer,
):
    inbox = await server.create_inbox()
    await server.send(inbox["address"], subject="first")  # the address is now resolved recently
    deleted = await server.http.delete(
        f"/mailboxes/{inbox['id']}", headers=server.auth(inbox["token"])
    )
    assert deleted.status_code == 204
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await server.send(inbox["address"], subject="second")
    (error,) = refused.value.recipients
    assert error.code == 550 and error.message.startswith("5.1.1")
    async with server.runtime.db.read() as conn:
        subjects = (await conn.execute(sa.select(messages.c.subject))).scalars().all()
    assert "second" not in subjects  # the refused mail was not stored anywhere
