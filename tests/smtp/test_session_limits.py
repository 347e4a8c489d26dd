"""Limits that keep one SMTP client from taking the server for itself: command-line length,
connections per address (at once, and new ones a minute), refused recipients per session; and
long DATA lines still accepted."""

from __future__ import annotations

import asyncio
import re
import socket
import struct
from collections.abc import AsyncIterator
from typing import Any

import pytest

from inboxkit.config import Settings
from inboxkit.smtp.lines import COMMAND_LINE_LIMIT
from tests.helpers import RunningServer, smtp_wire_bytes, start_server
from tests.smtp.test_hostile_input import RawSMTP

OTHER_ADDRESS = "127.0.0.2"  # loopback too: a second client address on the same machine


async def _connect(server: RunningServer, source: str = "127.0.0.1") -> tuple[RawSMTP, int, str]:
    """A raw connection from `source` and the server's greeting (code, text)."""
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", server.smtp_port, local_addr=(source, 0)
    )
    client = RawSMTP(reader, writer)
    code, text = await client.reply()
    return client, code, text


async def _closed_by_server(client: RawSMTP) -> bool:
    """True when the server closes the connection without sending anything more."""
    rest = await asyncio.wait_for(client.reader.read(), 30)
    client.writer.close()
    return rest == b""


async def _admitted_again(server: RunningServer) -> RawSMTP:
    """A new connection from 127.0.0.1 that gets its 220. A slot freed by a client's own close
    is given back when the server sees that close, so a few attempts may still meet 421; each
    attempt is a full exchange with the server, and their number is bounded."""
    for _ in range(20):
        client, code, text = await _connect(server)
        if code == 220:
            return client
        assert code == 421, text
        assert await _closed_by_server(client)
    raise AssertionError("the slot was never given back")


async def _stored_raw(server: RunningServer, inbox: dict[str, Any]) -> list[bytes]:
    headers = server.auth(inbox["token"])
    listing = await server.http.get(f"/mailboxes/{inbox['id']}/messages", headers=headers)
    assert listing.status_code == 200, listing.text
    stored = []
    for message in listing.json()["data"]:
        raw = await server.http.get(
            f"/mailboxes/{inbox['id']}/messages/{message['id']}/raw", headers=headers
        )
        assert raw.status_code == 200
        stored.append(raw.content)
    return stored


# -- Command lines ----------------------------------------------------------------------------


async def test_command_line_without_line_end_is_refused_500_and_connection_closed(
    server: RunningServer,
):
    client, code, _ = await _connect(server)
    assert code == 220
    # Sent in pieces, as a slow client would; no line end ever comes. The server must answer
    # once the line passes the limit, not wait for the rest (it used to buffer up to 25 MiB).
    line = b"NOOP " + b"x" * COMMAND_LINE_LIMIT
    for start in range(0, len(line), 512):
        client.writer.write(line[start : start + 512])
        await client.writer.drain()
    code, text = await client.reply()
    assert code == 500
    assert text.startswith("5.5.2 Line too long") and str(COMMAND_LINE_LIMIT) in text
    assert await _closed_by_server(client)


async def test_complete_over_long_command_line_is_refused_500_and_connection_closed(
    server: RunningServer,
):
    client, _, _ = await _connect(server)
    code, text = await client.command(b"NOOP " + b"x" * (2 * COMMAND_LINE_LIMIT) + b"\r\n")
    assert code == 500 and text.startswith("5.5.2")
    assert await _closed_by_server(client)


async def test_command_line_within_the_allowance_gets_500_and_the_session_goes_on(
    server: RunningServer,
):
    client, _, _ = await _connect(server)
    code, _ = await client.command(b"NOOP " + b"x" * 2000 + b"\r\n")
    assert code == 500  # over RFC 5321's 512 octets: refused, but not worth a disconnect
    assert (await client.command(b"NOOP\r\n"))[0] == 250
    assert (await client.command(b"QUIT\r\n"))[0] == 221
    assert await _closed_by_server(client)


# -- DATA lines -------------------------------------------------------------------------------


async def test_two_megabyte_data_line_is_accepted_byte_exact(server: RunningServer):
    inbox = await server.create_inbox()
    # The long line starts with a dot, so the sender stuffs it and the server must unstuff the
    # first piece of a line read in many pieces.
    raw = (
        b"From: a@example.com\r\nSubject: one long line\r\n\r\n"
        + b"."
        + b"y" * 2_000_000
        + b"\r\nlast line\r\n"
    )
    errors, reply = await server.send(inbox["address"], raw)
    assert errors == {} and reply.startswith("2.0.0 OK")
    assert await _stored_raw(server, inbox) == [smtp_wire_bytes(raw)]


@pytest.fixture
async def small_server(settings: Settings) -> AsyncIterator[RunningServer]:
    async with start_server(settings.model_copy(update={"max_message_bytes": 64 * 1024})) as s:
        yield s


async def test_message_over_the_size_limit_in_one_line_gets_552_and_the_session_goes_on(
    small_server: RunningServer,
):
    server = small_server
    inbox = await server.create_inbox()
    rcpt = b"RCPT TO:<%s>\r\n" % inbox["address"].encode()
    client, _, _ = await _connect(server)
    assert (await client.command(b"EHLO big.example\r\n"))[0] == 250
    assert (await client.command(b"MAIL FROM:<a@example.com>\r\n"))[0] == 250
    assert (await client.command(rcpt))[0] == 250
    assert (await client.command(b"DATA\r\n"))[0] == 354
    code, text = await client.command(b"Subject: big\r\n\r\n" + b"z" * 1_000_000 + b"\r\n.\r\n")
    assert code == 552 and text.startswith("5.3.4") and str(64 * 1024) in text
    # The session is still usable: the next message goes through.
    assert (await client.command(b"MAIL FROM:<a@example.com>\r\n"))[0] == 250
    assert (await client.command(rcpt))[0] == 250
    assert (await client.command(b"DATA\r\n"))[0] == 354
    assert (await client.command(b"Subject: small\r\n\r\nfits\r\n.\r\n"))[0] == 250
    assert (await client.command(b"QUIT\r\n"))[0] == 221
    assert await _closed_by_server(client)
    assert await _stored_raw(server, inbox) == [b"Subject: small\r\n\r\nfits\r\n"]


# -- Connections per address ------------------------------------------------------------------


async def test_twenty_first_connection_from_one_address_gets_421_while_another_connects(
    server: RunningServer,
):
    assert server.settings.smtp_max_connections_per_ip == 20
    held = []
    for _ in range(20):
        client, code, _ = await _connect(server)
        assert code == 220
        held.append(client)
    refused, code, text = await _connect(server)
    assert code == 421
    assert text.startswith("4.7.0 Too many connections from your address (at most 20")
    assert await _closed_by_server(refused)
    other, code, _ = await _connect(server, source=OTHER_ADDRESS)
    assert code == 220
    assert (await held[0].command(b"QUIT\r\n"))[0] == 221
    assert await _closed_by_server(held[0])
    again, code, _ = await _connect(server)
    assert code == 220  # a slot given back by QUIT is free once the server has closed
    for client in [*held[1:], other, again]:
        client.writer.close()


@pytest.fixture
async def one_slot_server(settings: Settings) -> AsyncIterator[RunningServer]:
    update = {"smtp_max_connections_per_ip": 1, "smtp_max_refused_recipients": 1}
    async with start_server(settings.model_copy(update=update)) as running:
        yield running


def _reset_on_close(client: RawSMTP) -> None:
    """Make closing the socket send a TCP reset instead of an orderly FIN."""
    sock = client.writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


async def test_per_ip_slots_are_released_on_every_close_path(one_slot_server: RunningServer):
    server = one_slot_server
    client = await _admitted_again(server)

    # Refused at connect: the refusal takes no slot and gives none back.
    refused, code, _ = await _connect(server)
    assert code == 421 and await _closed_by_server(refused)
    refused, code, _ = await _connect(server)
    assert code == 421 and await _closed_by_server(refused)

    # QUIT.
    assert (await client.command(b"QUIT\r\n"))[0] == 221
    assert await _closed_by_server(client)
    client = await _admitted_again(server)

    # The client closes without QUIT.
    client.writer.close()
    client = await _admitted_again(server)

    # The client resets the connection.
    _reset_on_close(client)
    client.writer.close()
    client = await _admitted_again(server)

    # The client goes away in the middle of DATA.
    inbox = await server.create_inbox()
    assert (await client.command(b"EHLO gone.example\r\n"))[0] == 250
    assert (await client.command(b"MAIL FROM:<a@example.com>\r\n"))[0] == 250
    assert (await client.command(b"RCPT TO:<%s>\r\n" % inbox["address"].encode()))[0] == 250
    assert (await client.command(b"DATA\r\n"))[0] == 354
    client.writer.write(b"Subject: half a message\r\n")
    await client.writer.drain()
    client.writer.close()
    client = await _admitted_again(server)

    # The server ends the session: a command line too long.
    client.writer.write(b"NOOP " + b"x" * COMMAND_LINE_LIMIT)
    assert (await client.reply())[0] == 500
    assert await _closed_by_server(client)
    client = await _admitted_again(server)

    # The server ends the session: too many refused recipients.
    assert (await client.command(b"EHLO guess.example\r\n"))[0] == 250
    assert (await client.command(b"MAIL FROM:<a@example.com>\r\n"))[0] == 250
    assert (await client.command(b"RCPT TO:<nobody@inboxkit.localhost>\r\n"))[0] == 550
    assert (await client.command(b"RCPT TO:<nobody2@inboxkit.localhost>\r\n"))[0] == 421
    assert await _closed_by_server(client)
    client = await _admitted_again(server)

    # The server ends the session: too many unrecognised commands (aiosmtpd's own limit).
    for _ in range(4):
        assert (await client.command(b"BOGUS\r\n"))[0] == 500
    assert (await client.command(b"BOGUS\r\n"))[0] == 502
    assert await _closed_by_server(client)
    client = await _admitted_again(server)

    # Still exactly one slot: a second connection is refused while this one is open.
    refused, code, _ = await _connect(server)
    assert code == 421 and await _closed_by_server(refused)
    other, code, _ = await _connect(server, source=OTHER_ADDRESS)
    assert code == 220
    for open_client in (client, other):
        assert (await open_client.command(b"QUIT\r\n"))[0] == 221
        assert await _closed_by_server(open_client)


@pytest.mark.parametrize(
    ("timeout", "last_words"),
    [("smtp_idle_timeout", b""), ("smtp_session_timeout", b"421 4.4.2")],
    ids=["idle", "session"],
)
async def test_per_ip_slot_is_released_when_a_session_times_out(
    settings: Settings, timeout: str, last_words: bytes
):
    update: dict[str, object] = {"smtp_max_connections_per_ip": 1, timeout: 0.5}
    async with start_server(settings.model_copy(update=update)) as server:
        client, code, _ = await _connect(server)
        assert code == 220
        # Nothing is sent; the server's timer ends the session.
        rest = await asyncio.wait_for(client.reader.read(), 30)
        assert rest.startswith(last_words)
        client.writer.close()
        again = await _admitted_again(server)
        again.writer.close()


async def test_a_message_uploaded_slower_than_the_idle_timeout_is_still_accepted(
    settings: Settings,
):
    # Each piece of the body arrives within the idle timeout, but the whole upload takes several
    # times as long: a client that keeps sending is not idle.
    async with start_server(settings.model_copy(update={"smtp_idle_timeout": 1.0})) as server:
        inbox = await server.create_inbox()
        client, code, _ = await _connect(server)
        assert code == 220
        assert (await client.command(b"EHLO slow.example\r\n"))[0] == 250
        assert (await client.command(b"MAIL FROM:<slow@example.com>\r\n"))[0] == 250
        rcpt = f"RCPT TO:<{inbox['address']}>\r\n".encode()
        assert (await client.command(rcpt))[0] == 250
        assert (await client.command(b"DATA\r\n"))[0] == 354
        lines = [b"From: slow@example.com\r\n", b"Subject: a slow upload\r\n", b"\r\n"]
        lines += [f"line {n} of a slow body\r\n".encode() for n in range(12)]
        for line in lines:
            client.writer.write(line)
            await client.writer.drain()
            await asyncio.sleep(0.25)
        code, text = await client.command(b".\r\n")
        assert code == 250, text
        client.writer.close()
        assert await _stored_raw(server, inbox) == [b"".join(lines)]


# -- Refused recipients -----------------------------------------------------------------------


async def test_session_is_closed_with_421_after_20_refused_recipients(server: RunningServer):
    assert server.settings.smtp_max_refused_recipients == 20
    inbox = await server.create_inbox()
    client, _, _ = await _connect(server)
    assert (await client.command(b"EHLO guesser.example\r\n"))[0] == 250
    assert (await client.command(b"MAIL FROM:<a@example.com>\r\n"))[0] == 250
    for n in range(10):
        code, text = await client.command(b"RCPT TO:<guess%d@inboxkit.localhost>\r\n" % n)
        assert code == 550 and text.startswith("5.1.1")
    # The count is per session: a new transaction does not start it again.
    assert (await client.command(b"RSET\r\n"))[0] == 250
    assert (await client.command(b"MAIL FROM:<a@example.com>\r\n"))[0] == 250
    for n in range(5):
        code, text = await client.command(b"RCPT TO:<someone%d@elsewhere.example>\r\n" % n)
        assert code == 550 and text.startswith("5.7.1")
    for n in range(10, 15):
        assert (await client.command(b"RCPT TO:<guess%d@inboxkit.localhost>\r\n" % n))[0] == 550
    # Twenty refused: the session ends, even for an address that exists.
    code, text = await client.command(b"RCPT TO:<%s>\r\n" % inbox["address"].encode())
    assert code == 421
    assert text.startswith("4.7.0 Too many unknown recipients in one session (20)")
    assert await _closed_by_server(client)


async def test_accepted_recipients_do_not_count_towards_the_refused_limit(
    server: RunningServer,
):
    inbox = await server.create_inbox()
    rcpt = b"RCPT TO:<%s>\r\n" % inbox["address"].encode()
    client, _, _ = await _connect(server)
    assert (await client.command(b"EHLO fine.example\r\n"))[0] == 250
    for _ in range(3):
        assert (await client.command(b"MAIL FROM:<a@example.com>\r\n"))[0] == 250
        for _ in range(25):
            assert (await client.command(rcpt))[0] == 250
        assert (await client.command(b"RSET\r\n"))[0] == 250
    assert (await client.command(b"QUIT\r\n"))[0] == 221
    assert await _closed_by_server(client)


# -- New connections a minute per address -----------------------------------------------------


@pytest.fixture
async def slow_connect_server(settings: Settings) -> AsyncIterator[RunningServer]:
    async with start_server(settings.model_copy(update={"smtp_connect_rate_per_ip": 3})) as s:
        yield s


async def test_fourth_connection_in_a_minute_from_one_address_gets_421_before_the_greeting(
    slow_connect_server: RunningServer,
):
    server = slow_connect_server
    for _ in range(3):
        client, code, _ = await _connect(server)
        assert code == 220
        assert (await client.command(b"QUIT\r\n"))[0] == 221
        assert await _closed_by_server(client)

    refused, code, text = await _connect(server)

    assert code == 421
    assert re.fullmatch(
        r"4\.7\.0 Too many connections from your address \(at most 3 new ones a minute\); "
        r"try again in \d+ seconds",
        text,
    ), text
    assert await _closed_by_server(refused)
    # Another address has its own count.
    other, code, _ = await _connect(server, source=OTHER_ADDRESS)
    assert code == 220
    other.writer.close()
    metrics = (await server.http.get(f"{server.base_url}/metrics")).text
    assert 'inboxkit_rate_limited_total{bucket="smtp_connect"} 1.0' in metrics
