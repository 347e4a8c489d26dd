"""Injected faults as SMTP clients meet them: each stage's reply, counts, probability, scope."""

from __future__ import annotations

import asyncio

import aiosmtplib
import pytest

from tests.faults.support import add_fault, get_fault, send_retrying, stored_subjects
from tests.helpers import RunningServer, make_message


async def _client(server: RunningServer) -> aiosmtplib.SMTP:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=server.smtp_port, timeout=30)
    await client.connect()
    await client.ehlo()
    return client


async def test_451_at_rcpt_for_two_messages_is_delivered_on_the_third_attempt(
    server: RunningServer,
):
    key = await server.create_key("shop")
    inbox = await server.create_inbox(key)
    fault = await add_fault(server, key, stage="rcpt", code=451, probability=1, count=2)

    attempt, refusals = await send_retrying(server, [inbox["address"]], "Order shipped")

    assert attempt == 3
    assert refusals == ["451 4.3.0 Local error in processing, try again later"] * 2
    assert await stored_subjects(server, key, inbox["id"]) == ["Order shipped"]
    after = await get_fault(server, key, fault["id"])
    assert (after["fired"], after["remaining"], after["exhausted"]) == (2, 0, True)


async def test_data_fault_refuses_after_the_data_and_stores_nothing(server: RunningServer):
    key = await server.create_key("shop")
    inbox = await server.create_inbox(key)
    await add_fault(server, key, stage="data", code=554, message="Content rejected", count=1)

    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await server.send(inbox["address"], subject="first try")
    assert (refused.value.code, refused.value.message) == (554, "5.3.0 Content rejected")
    assert await stored_subjects(server, key, inbox["id"]) == []

    await server.send(inbox["address"], subject="second try")
    assert await stored_subjects(server, key, inbox["id"]) == ["second try"]


async def test_mail_fault_answers_the_first_rcpt_and_resets_the_transaction(
    server: RunningServer,
):
    key = await server.create_key("shop")
    inbox = await server.create_inbox(key)
    await add_fault(server, key, stage="mail", code=450, message="Sender deferred", count=1)

    client = await _client(server)
    try:
        assert (await client.mail("app@example.com")).code == 250
        refused = await client.execute_command(b"RCPT", f"TO:<{inbox['address']}>".encode())
        assert (refused.code, refused.message) == (450, "4.2.0 Sender deferred")
        # The sender is gone with the transaction: RCPT needs a new MAIL first.
        again = await client.execute_command(b"RCPT", f"TO:<{inbox['address']}>".encode())
        assert again.code == 503
        assert (await client.mail("app@example.com")).code == 250
        assert (await client.rcpt(inbox["address"])).code == 250
        await client.data(make_message(inbox["address"], "after the reset", "ok").as_bytes())
    finally:
        await client.quit()
    assert await stored_subjects(server, key, inbox["id"]) == ["after the reset"]


async def test_connect_fault_closes_the_session_with_its_reply(server: RunningServer):
    key = await server.create_key("shop")
    inbox = await server.create_inbox(key)
    fault = await add_fault(server, key, stage="connect", code=554, count=1)

    client = await _client(server)
    assert (await client.mail("app@example.com")).code == 250
    refused = await client.execute_command(b"RCPT", f"TO:<{inbox['address']}>".encode())
    assert (refused.code, refused.message) == (554, "5.3.0 Transaction failed")
    with pytest.raises(aiosmtplib.SMTPServerDisconnected):
        await client.execute_command(b"NOOP")
    client.close()

    await server.send(inbox["address"], subject="next session")
    assert await stored_subjects(server, key, inbox["id"]) == ["next session"]
    assert (await get_fault(server, key, fault["id"]))["fired"] == 1


async def test_421_at_rcpt_also_ends_the_session(server: RunningServer):
    key = await server.create_key("shop")
    inbox = await server.create_inbox(key)
    await add_fault(server, key, stage="rcpt", code=421, count=1)

    # A plain socket: SMTP client libraries close on a 421 themselves, hiding who closed.
    reader, writer = await asyncio.open_connection("127.0.0.1", server.smtp_port)
    try:
        await reader.readline()  # the 220 greeting
        writer.write(b"HELO client.example\r\nMAIL FROM:<app@example.com>\r\n")
        writer.write(f"RCPT TO:<{inbox['address']}>\r\nNOOP\r\n".encode())
        answers = await asyncio.wait_for(reader.read(), 30)  # everything until the server closes
    finally:
        writer.close()
    lines = answers.decode().splitlines()
    assert lines[-1] == "421 4.3.2 Service not available, closing transmission channel"
    assert [line[:3] for line in lines] == ["250", "250", "421"]  # the NOOP went unanswered


async def test_probability_zero_never_fires(server: RunningServer):
    key = await server.create_key("shop")
    inbox = await server.create_inbox(key)
    fault = await add_fault(server, key, stage="rcpt", code=550, probability=0)
    for n in range(3):
        await server.send(inbox["address"], subject=f"mail {n}")
    assert len(await stored_subjects(server, key, inbox["id"])) == 3
    assert (await get_fault(server, key, fault["id"]))["fired"] == 0


async def test_a_mailbox_scoped_fault_leaves_the_accounts_other_mailboxes_alone(
    server: RunningServer,
):
    key = await server.create_key("shop")
    faulty, healthy = await server.create_inbox(key), await server.create_inbox(key)
    await add_fault(server, key, stage="rcpt", code=550, mailbox=faulty["address"])

    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await server.send(faulty["address"])
    assert refused.value.recipients[0].code == 550
    await server.send(healthy["address"], subject="unaffected")
    assert await stored_subjects(server, key, healthy["id"]) == ["unaffected"]


async def test_another_tenants_faults_never_touch_this_tenants_mail(server: RunningServer):
    mine, theirs = await server.create_key("mine"), await server.create_key("theirs")
    my_inbox, their_inbox = await server.create_inbox(mine), await server.create_inbox(theirs)
    faults = [
        await add_fault(server, theirs, stage=stage, code=550)
        for stage in ("connect", "mail", "rcpt", "data")
    ]
    await server.send(my_inbox["address"], subject="only mine")
    # Shared with their refused mailbox: mine still gets it (their RCPT alone is refused).
    await server.send([my_inbox["address"], their_inbox["address"]], subject="shared")
    assert await stored_subjects(server, mine, my_inbox["id"]) == ["shared", "only mine"]
    assert await stored_subjects(server, theirs, their_inbox["id"]) == []
    fired = [(await get_fault(server, theirs, f["id"]))["fired"] for f in faults]
    assert fired == [0, 0, 1, 0]  # only their own recipient's RCPT met a fault


async def test_a_data_fault_does_not_refuse_a_message_shared_with_another_account(
    server: RunningServer,
):
    mine, theirs = await server.create_key("mine"), await server.create_key("theirs")
    my_inbox, their_inbox = await server.create_inbox(mine), await server.create_inbox(theirs)
    fault = await add_fault(server, theirs, stage="data", code=451)
    await server.send([their_inbox["address"], my_inbox["address"]], subject="to both")
    assert await stored_subjects(server, mine, my_inbox["id"]) == ["to both"]
    assert await stored_subjects(server, theirs, their_inbox["id"]) == ["to both"]
    assert (await get_fault(server, theirs, fault["id"]))["fired"] == 0


async def test_a_count_is_exact_under_concurrent_sessions(server: RunningServer):
    key = await server.create_key("shop")
    inbox = await server.create_inbox(key)
    fault = await add_fault(server, key, stage="rcpt", code=452, count=3)

    async def one(n: int) -> int:
        try:
            await server.send(inbox["address"], subject=f"burst {n}")
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return exc.recipients[0].code
        return 250

    codes = await asyncio.gather(*(one(n) for n in range(8)))
    assert sorted(codes) == [250] * 5 + [452] * 3
    assert len(await stored_subjects(server, key, inbox["id"])) == 5
    assert (await get_fault(server, key, fault["id"]))["fired"] == 3


async def test_a_deleted_fault_stops_at_once(server: RunningServer):
    key = await server.create_key("shop")
    inbox = await server.create_inbox(key)
    fault = await add_fault(server, key, stage="rcpt", code=550)
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await server.send(inbox["address"])
    deleted = await server.http.delete(f"/faults/{fault['id']}", headers=server.auth(key))
    assert deleted.status_code == 204
    await server.send(inbox["address"], subject="after delete")
    assert await stored_subjects(server, key, inbox["id"]) == ["after delete"]


@pytest.mark.parametrize(
    ("code", "message", "reply"),
    [
        (550, None, "550 5.2.0 Mailbox unavailable"),
        (452, None, "452 4.3.1 Insufficient system storage, try again later"),
        (457, None, "457 4.0.0 Injected failure"),
        (450, "Greylisted, come back in 5 minutes", "450 4.2.0 Greylisted, come back in 5 minutes"),
        (451, "4.7.1 Try again later", "451 4.7.1 Try again later"),
        (553, "4.7.1 wrong class", "553 5.1.3 4.7.1 wrong class"),
    ],
)
async def test_reply_carries_an_enhanced_status_code(
    server: RunningServer, code: int, message: str | None, reply: str
):
    key = await server.create_key("shop")
    inbox = await server.create_inbox(key)
    body = {"stage": "rcpt", "code": code} | ({"message": message} if message else {})
    fault = await add_fault(server, key, **body)
    assert fault["reply"] == reply
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await server.send(inbox["address"])
    answered = refused.value.recipients[0]
    assert f"{answered.code} {answered.message}" == reply
