"""Faults on mail an application hands over with SMTP AUTH (capture): the account is known at
AUTH, so connect and mail faults answer MAIL itself; rcpt and data faults cover the capture
mailbox every recipient reaches."""

from __future__ import annotations

import aiosmtplib
import pytest

from tests.capture.conftest import capturing
from tests.capture.support import app_key, capture_mailbox, captured
from tests.faults.support import add_fault, get_fault
from tests.helpers import RunningServer, make_message

__all__ = ["capturing"]

EXTERNAL = "customer@example.com"


async def _signed_in(server: RunningServer, key: str) -> aiosmtplib.SMTP:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=server.smtp_port, timeout=30)
    await client.connect()
    await client.login("my-app", key)
    return client


async def test_a_mail_fault_refuses_mail_from_in_a_capture_session(capturing: RunningServer):
    key = await app_key(capturing)
    fault = await add_fault(capturing, key, stage="mail", code=451, count=1)
    client = await _signed_in(capturing, key)
    try:
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
            await client.mail("app@shop.example")
        assert (refused.value.code, refused.value.message) == (
            451,
            "4.3.0 Local error in processing, try again later",
        )
        # The count is spent: the next MAIL of the same session is accepted.
        await client.sendmail("app@shop.example", [EXTERNAL], b"Subject: Retried\r\n\r\nok\r\n")
    finally:
        await client.quit()
    assert [m["subject"] for m in await captured(capturing, key)] == ["Retried"]
    assert (await get_fault(capturing, key, fault["id"]))["fired"] == 1


async def test_a_connect_fault_closes_a_capture_session_at_mail(capturing: RunningServer):
    key = await app_key(capturing)
    await add_fault(capturing, key, stage="connect", code=554, message="No service", count=1)
    client = await _signed_in(capturing, key)
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
        await client.mail("app@shop.example")
    assert (refused.value.code, refused.value.message) == (554, "5.3.0 No service")
    with pytest.raises(aiosmtplib.SMTPServerDisconnected):
        await client.execute_command(b"NOOP")
    client.close()


async def test_rcpt_and_data_faults_cover_the_capture_mailbox(capturing: RunningServer):
    key = await app_key(capturing)
    box = await capture_mailbox(capturing, key)
    await add_fault(capturing, key, stage="rcpt", code=452, count=1, mailbox=box["id"])
    await add_fault(capturing, key, stage="data", code=554, count=1, mailbox=box["address"])

    async def send(subject: str) -> None:
        await aiosmtplib.send(
            make_message(EXTERNAL, subject, "captured"),
            hostname="127.0.0.1",
            port=capturing.smtp_port,
            username="my-app",
            password=key,
            timeout=30,
        )

    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as at_rcpt:
        await send("first")
    assert at_rcpt.value.recipients[0].code == 452
    with pytest.raises(aiosmtplib.SMTPDataError) as at_data:
        await send("second")
    assert at_data.value.code == 554
    await send("third")
    assert [m["subject"] for m in await captured(capturing, key)] == ["third"]


async def test_another_accounts_faults_never_touch_a_capture_session(capturing: RunningServer):
    mine, theirs = await app_key(capturing), await app_key(capturing, "other suite")
    for stage in ("connect", "mail", "rcpt", "data"):
        await add_fault(capturing, theirs, stage=stage, code=550)
    await aiosmtplib.send(
        make_message(EXTERNAL, "untouched", "captured"),
        hostname="127.0.0.1",
        port=capturing.smtp_port,
        username="my-app",
        password=mine,
        timeout=30,
    )
    assert [m["subject"] for m in await captured(capturing, mine)] == ["untouched"]
