"""STARTTLS on the SMTP listener (DESIGN §9): offered only with a certificate, verifiable by a
client that trusts it, required before MAIL when configured, a fresh session afterwards, the
certificate reloaded when its files change, and the TLS recorded in the envelope."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import smtplib
import ssl
from pathlib import Path

import pytest

from inboxkit.config import Settings
from inboxkit.smtp import tls
from tests.capture.support import app_key, captured
from tests.certificates import self_signed
from tests.helpers import RunningServer, make_message, start_server


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed(tmp_path, "localhost", "smtp")


def _trusting(cert: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cert))
    return context


def _with_tls(settings: Settings, certificate: tuple[Path, Path], **more: object) -> Settings:
    cert, key = certificate
    return settings.model_copy(update={"smtp_tls_cert": cert, "smtp_tls_key": key, **more})


async def test_starttls_verifies_against_the_certificate_and_is_recorded_in_the_envelope(
    settings: Settings, certificate: tuple[Path, Path]
):
    async with start_server(_with_tls(settings, certificate)) as server:
        inbox = await server.create_inbox()

        def send() -> None:
            with smtplib.SMTP("localhost", server.smtp_port, timeout=30) as smtp:
                smtp.ehlo()
                assert smtp.has_extn("starttls")
                smtp.starttls(context=_trusting(certificate[0]))
                smtp.ehlo()
                assert not smtp.has_extn("starttls")
                smtp.send_message(make_message(inbox["address"], "over TLS", "secret"))

        await asyncio.to_thread(send)
        listed = await server.http.get(
            f"/mailboxes/{inbox['id']}/messages", headers=server.auth(inbox["token"])
        )
        (summary,) = listed.json()["data"]
        full = await server.http.get(
            f"/mailboxes/{inbox['id']}/messages/{summary['id']}",
            headers=server.auth(inbox["token"]),
        )
        recorded = full.json()["data"]["envelope"]["tls"]
        assert recorded["version"] in ("TLSv1.2", "TLSv1.3")
        assert recorded["cipher"]


async def test_no_starttls_is_offered_without_a_certificate(server: RunningServer):
    def exchange() -> tuple[bool, int]:
        with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as smtp:
            smtp.ehlo()
            return smtp.has_extn("starttls"), smtp.docmd("STARTTLS")[0]

    offered, code = await asyncio.to_thread(exchange)
    assert not offered and code == 454


async def test_mail_before_starttls_gets_530_when_tls_is_required(
    settings: Settings, certificate: tuple[Path, Path]
):
    async with start_server(_with_tls(settings, certificate, smtp_require_tls=True)) as server:
        inbox = await server.create_inbox()

        def exchange() -> tuple[tuple[int, bytes], tuple[int, bytes]]:
            with smtplib.SMTP("localhost", server.smtp_port, timeout=30) as smtp:
                smtp.ehlo()
                before = smtp.mail("sender@example.com")
                smtp.starttls(context=_trusting(certificate[0]))
                smtp.ehlo()
                after = smtp.mail("sender@example.com")
                smtp.rcpt(inbox["address"])
                smtp.data(make_message(inbox["address"], "after TLS", "ok").as_bytes())
                return before, after

        before, after = await asyncio.to_thread(exchange)
        assert before[0] == 530 and before[1].startswith(b"5.7.0")
        assert after[0] == 250


async def test_commands_pipelined_before_starttls_are_not_carried_over(
    settings: Settings, certificate: tuple[Path, Path]
):
    """RFC 3207 §4.2: whatever a client (or a man in the middle) sent in clear after STARTTLS
    must be discarded, and the session starts over."""
    async with start_server(_with_tls(settings, certificate)) as server:
        inbox = await server.create_inbox()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.smtp_port)
        await reader.readline()
        writer.write(b"EHLO client.example\r\n")
        while not (await reader.readline()).startswith(b"250 "):
            pass
        # STARTTLS and an injected transaction in one packet.
        injected = f"MAIL FROM:<evil@example.com>\r\nRCPT TO:<{inbox['address']}>\r\n"
        writer.write(b"STARTTLS\r\n" + injected.encode())
        await writer.drain()
        assert (await reader.readline()).startswith(b"220")
        await writer.start_tls(_trusting(certificate[0]), server_hostname="localhost")
        writer.write(b"DATA\r\n")
        await writer.drain()
        reply = await reader.readline()
        # A fresh session: no EHLO yet, and no transaction from the clear-text bytes.
        assert reply[:3] in (b"503", b"500")
        writer.write(b"EHLO client.example\r\n")
        while not (await reader.readline()).startswith(b"250 "):
            pass
        writer.write(b"RCPT TO:<" + inbox["address"].encode() + b">\r\n")
        await writer.drain()
        assert (await reader.readline()).startswith(b"503")
        writer.close()


async def test_capture_auth_is_offered_only_after_starttls_when_a_certificate_is_set(
    settings: Settings, certificate: tuple[Path, Path]
):
    async with start_server(_with_tls(settings, certificate, smtp_capture=True)) as server:
        key = await app_key(server)

        def exchange() -> tuple[bool, bool]:
            with smtplib.SMTP("localhost", server.smtp_port, timeout=30) as smtp:
                smtp.ehlo()
                before = smtp.has_extn("auth")
                smtp.starttls(context=_trusting(certificate[0]))
                smtp.ehlo()
                after = smtp.has_extn("auth")
                smtp.login("app", key)
                smtp.send_message(make_message("alice@example.com", "captured over TLS", "hi"))
                return before, after

        assert await asyncio.to_thread(exchange) == (False, True)
        assert [m["subject"] for m in await captured(server, key)] == ["captured over TLS"]


async def test_a_renewed_certificate_is_served_without_a_restart(
    settings: Settings, certificate: tuple[Path, Path], tmp_path: Path, monkeypatch
):
    monkeypatch.setattr(tls, "LOOK_EVERY_SECONDS", 0.0)
    live_cert, live_key = tmp_path / "live-cert.pem", tmp_path / "live-key.pem"
    shutil.copy(certificate[0], live_cert)
    shutil.copy(certificate[1], live_key)
    async with start_server(_with_tls(settings, (live_cert, live_key))) as server:

        def served_fingerprint(cafile: Path) -> str:
            with smtplib.SMTP("localhost", server.smtp_port, timeout=30) as smtp:
                smtp.starttls(context=_trusting(cafile))
                der = smtp.sock.getpeercert(binary_form=True)
                return hashlib.sha256(der).hexdigest()

        first = await asyncio.to_thread(served_fingerprint, certificate[0])
        renewed = self_signed(tmp_path, "localhost", "renewed")
        shutil.copy(renewed[1], live_key)
        shutil.copy(renewed[0], live_cert)
        second = await asyncio.to_thread(served_fingerprint, renewed[0])
        assert first != second


def test_a_certificate_without_its_key_is_a_configuration_error(certificate):
    with pytest.raises(ValueError, match="SMTP_TLS_CERT and SMTP_TLS_KEY"):
        Settings(_env_file=None, smtp_tls_cert=certificate[0])  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="SMTP_REQUIRE_TLS"):
        Settings(_env_file=None, smtp_require_tls=True)  # type: ignore[call-arg]
