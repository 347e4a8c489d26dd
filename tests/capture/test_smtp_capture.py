"""SMTP AUTH capture (DESIGN §11): an application signs in with an API key and everything it
sends, to any address, lands in that key's account's capture mailbox."""

from __future__ import annotations

import asyncio
import base64
import smtplib
from email.message import EmailMessage

import aiosmtplib
import pytest

from inboxkit.config import Settings
from tests.capture.support import app_key, capture_mailbox, captured
from tests.helpers import RunningServer, start_server

EXTERNAL = ["alice@example.com", "bob@shop.example.org", "carol@mail.example.net"]


def _message(subject: str, to: list[str], body: str = "Your code is 482913.") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Shop <no-reply@shop.example>"
    message["To"] = ", ".join(to[:2])
    if len(to) > 2:
        message["Cc"] = ", ".join(to[2:])
    message["Subject"] = subject
    message.set_content(body)
    return message


def _send_with_smtplib(port: int, key: str, message: EmailMessage, to: list[str]) -> None:
    """What an application's mail settings do: connect, EHLO, log in, send."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.login("my-app", key)
        smtp.send_message(message, to_addrs=to)


async def test_app_mail_to_external_addresses_lands_in_its_own_capture_mailbox_only(
    capturing: RunningServer,
):
    key, other = await app_key(capturing), await app_key(capturing, "another suite")
    await asyncio.to_thread(
        _send_with_smtplib, capturing.smtp_port, key, _message("Welcome", EXTERNAL), EXTERNAL
    )
    await aiosmtplib.send(
        _message("Receipt", EXTERNAL[:1]),
        hostname="127.0.0.1",
        port=capturing.smtp_port,
        username="anything",
        password=key,
        timeout=30,
    )
    mine = await captured(capturing, key)
    assert [m["subject"] for m in mine] == ["Receipt", "Welcome"]
    welcome = await capturing.http.get(
        f"/mailboxes/{mine[1]['mailbox_id']}/messages/{mine[1]['id']}",
        headers=capturing.auth(key),
    )
    full = welcome.json()["data"]
    assert full["envelope"]["rcpt_to"] == EXTERNAL
    assert full["envelope"]["via"] == "smtp"
    assert full["envelope"]["mail_from"] == "no-reply@shop.example"
    assert full["codes"][0] == "482913"
    # The other account's capture mailbox is its own and empty; it cannot read this one's.
    assert await captured(capturing, other) == []
    foreign = await capturing.http.get(
        f"/mailboxes/{mine[0]['mailbox_id']}/messages", headers=capturing.auth(other)
    )
    assert foreign.status_code == 404


async def test_wait_with_to_contains_finds_captured_mail_by_any_envelope_recipient(
    capturing: RunningServer,
):
    key = await app_key(capturing)
    box = await capture_mailbox(capturing, key)
    # An older unread message to others first: a wait that ignored the filter would take it.
    await asyncio.to_thread(
        _send_with_smtplib, capturing.smtp_port, key, _message("Not for dave", EXTERNAL), EXTERNAL
    )
    # dave is only Bcc'd: he is in the envelope, not in any header.
    to = [*EXTERNAL[:2], "dave@bcc.example"]
    message = _message("Bcc'd code", to[:2], body="Code: 771204")
    waiting = asyncio.create_task(
        capturing.http.get(
            f"/mailboxes/{box['id']}/wait",
            params={"to_contains": "dave@bcc.example", "timeout": 30},
            headers=capturing.auth(key),
        )
    )
    await asyncio.sleep(0.2)
    await asyncio.to_thread(_send_with_smtplib, capturing.smtp_port, key, message, to)
    found = (await waiting).json()["data"]
    assert found["timed_out"] is False
    assert found["message"]["subject"] == "Bcc'd code"
    assert found["message"]["codes"] == ["771204"]


async def test_wrong_key_gets_535_and_nothing_is_captured(capturing: RunningServer):
    key = await app_key(capturing)
    inbox = await capturing.create_inbox()

    def sign_in_with(password: str) -> None:
        with smtplib.SMTP("127.0.0.1", capturing.smtp_port, timeout=30) as smtp:
            smtp.ehlo()
            with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
                smtp.login("app", password)
            assert refused.value.smtp_code == 535
            assert refused.value.smtp_error.startswith(b"5.7.8")
            # Not authenticated: mail to an outside address is still refused as relaying.
            smtp.mail("no-reply@shop.example")
            code, text = smtp.rcpt("alice@example.com")
            assert (code, text[:5]) == (550, b"5.7.1")

    for password in ("ik_not-a-real-key", inbox["token"], ""):
        await asyncio.to_thread(sign_in_with, password)
    assert await captured(capturing, key) == []


async def test_key_without_the_capture_scope_is_refused_with_a_reason(capturing: RunningServer):
    reader = await capturing.create_key("reader", scopes=["mailboxes:read"])

    def sign_in() -> smtplib.SMTPAuthenticationError:
        with smtplib.SMTP("127.0.0.1", capturing.smtp_port, timeout=30) as smtp:
            with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
                smtp.login("app", reader)
            return refused.value

    refused = await asyncio.to_thread(sign_in)
    assert refused.smtp_code == 535
    assert b"'capture' scope" in refused.smtp_error


async def test_auth_login_and_plain_with_challenges_both_work(capturing: RunningServer):
    key = await app_key(capturing)
    for mechanism in ("LOGIN", "PLAIN"):
        reader, writer = await asyncio.open_connection("127.0.0.1", capturing.smtp_port)

        async def say(
            line: str, reader: asyncio.StreamReader = reader, writer: asyncio.StreamWriter = writer
        ) -> bytes:
            writer.write(line.encode() + b"\r\n")
            await writer.drain()
            return await reader.readline()

        await reader.readline()  # greeting
        writer.write(b"EHLO app.example\r\n")
        lines = []
        while not (line := await reader.readline()).startswith(b"250 "):
            lines.append(line)
        assert b"250-AUTH LOGIN PLAIN\r\n" in lines
        assert (await say(f"AUTH {mechanism}")).startswith(b"334 ")
        if mechanism == "LOGIN":
            assert (await say(base64.b64encode(b"app").decode())).startswith(b"334 ")
            reply = await say(base64.b64encode(key.encode()).decode())
        else:
            reply = await say(base64.b64encode(b"\x00app\x00" + key.encode()).decode())
        assert reply.startswith(b"235 2.7.0")
        assert (await say("AUTH PLAIN")).startswith(b"503")
        writer.close()


async def test_malformed_auth_exchanges_get_clear_501_and_504_replies(capturing: RunningServer):
    def exchange() -> list[tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", capturing.smtp_port, timeout=30) as smtp:
            smtp.ehlo()
            return [
                smtp.docmd("AUTH CRAM-MD5"),
                smtp.docmd("AUTH PLAIN not-base64!"),
                smtp.docmd("AUTH PLAIN " + base64.b64encode(b"no separators").decode()),
                smtp.docmd("AUTH"),
            ]

    mechanism, base64_error, separators, bare = await asyncio.to_thread(exchange)
    assert mechanism[0] == 504 and b"PLAIN or LOGIN" in mechanism[1]
    assert base64_error[0] == 501
    assert separators[0] == 501 and b"NUL" in separators[1]
    assert bare[0] == 501


async def test_no_auth_is_advertised_or_accepted_when_capture_is_off(server: RunningServer):
    key = await app_key(server)
    payload = base64.b64encode(b"\x00a\x00" + key.encode()).decode()

    def exchange() -> tuple[bool, tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as smtp:
            smtp.ehlo()
            return smtp.has_extn("auth"), smtp.docmd("AUTH PLAIN " + payload)

    advertised, (code, text) = await asyncio.to_thread(exchange)
    assert not advertised
    assert code == 502 and b"not offered" in text


async def test_capture_mailbox_takes_no_mail_by_its_own_address(capturing: RunningServer):
    key = await app_key(capturing)
    box = await capture_mailbox(capturing, key)
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await capturing.send(box["address"])
    (error,) = refused.value.recipients
    assert error.code == 550 and error.message.startswith("5.1.1")


async def test_repeated_failed_sign_ins_from_one_address_are_refused_with_421(settings: Settings):
    update = {"smtp_capture": True, "capture_auth_failures_per_minute": 2}
    async with start_server(settings.model_copy(update=update)) as server:
        key = await app_key(server)
        replies = [
            await _auth_plain_reply(server.smtp_port, password)
            for password in ("ik_wrong-1", "ik_wrong-2", "ik_wrong-3", key)
        ]
        # Two failures are allowed a minute; after them even the right key waits.
        assert [reply[:3] for reply in replies] == [b"535", b"535", b"421", b"421"]
        assert b"failed sign-ins" in replies[2]


async def _auth_plain_reply(port: int, password: str) -> bytes:
    """The reply to AUTH PLAIN with `password` on a new connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await reader.readline()
        writer.write(b"EHLO app.example\r\n")
        while not (await reader.readline()).startswith(b"250 "):
            pass
        payload = base64.b64encode(b"\x00app\x00" + password.encode())
        writer.write(b"AUTH PLAIN " + payload + b"\r\n")
        return await reader.readline()
    finally:
        writer.close()


async def test_plain_text_auth_is_refused_off_loopback_unless_allowed(settings: Settings):
    outside = _non_loopback_address()
    for allow, expected in ((False, 538), (True, 235)):
        update = {"smtp_capture": True, "smtp_host": "0.0.0.0", "smtp_auth_allow_plain": allow}
        async with start_server(settings.model_copy(update=update)) as server:
            key = await app_key(server)
            payload = base64.b64encode(b"\x00app\x00" + key.encode()).decode()

            def exchange(port: int = server.smtp_port, payload: str = payload) -> tuple[bool, int]:
                with smtplib.SMTP(outside, port, timeout=30) as smtp:
                    smtp.ehlo()
                    return smtp.has_extn("auth"), smtp.docmd("AUTH PLAIN " + payload)[0]

            assert await asyncio.to_thread(exchange) == (allow, expected)


def _non_loopback_address() -> str:
    """An address of this machine that is not loopback (a connection from it is "remote")."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.123", 9))  # no packet is sent: this only picks a route
        address = probe.getsockname()[0]
    assert not address.startswith("127."), "this machine has no non-loopback IPv4 address"
    return address
