"""HTTP connection guards on a real server and raw sockets: a request head must arrive within
INBOXKIT_HTTP_HEADER_TIMEOUT (slowloris), and one process holds at most
INBOXKIT_HTTP_MAX_CONNECTIONS connections."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest
from websockets.asyncio.client import connect

from inboxkit.config import Settings
from tests.helpers import RunningServer, start_server

HEAD_TIMEOUT = 1.0
# How long a test waits for the server to act: generous, only bounds a failing test.
PATIENCE = 15.0


@pytest.fixture
async def impatient_server(settings: Settings) -> AsyncIterator[RunningServer]:
    update = {"http_header_timeout": HEAD_TIMEOUT, "ping_interval": 0.3}
    async with start_server(settings.model_copy(update=update)) as running:
        yield running


async def _open(server: RunningServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", server.http_port)


async def _until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection (bounded by PATIENCE)."""
    return await asyncio.wait_for(reader.read(), PATIENCE)


async def test_half_sent_request_heads_are_answered_408_and_silent_ones_closed(
    impatient_server: RunningServer,
):
    server = impatient_server
    connections = [await _open(server) for _ in range(100)]
    for n, (_reader, writer) in enumerate(connections):
        if n % 2:  # a head that is started and never finished
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Dribble: a")
            await writer.drain()
        # the others send nothing at all
    for n, (reader, writer) in enumerate(connections):
        answer = await _until_closed(reader)
        if n % 2:
            assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]
            body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
            assert body["error"]["code"] == "bad_request"
            assert "did not arrive within 1 seconds" in body["error"]["message"]
        else:
            assert answer == b""  # closed without a word: it never started a request
        writer.close()


async def test_a_head_dribbled_one_byte_at_a_time_is_cut_off(impatient_server: RunningServer):
    reader, writer = await _open(impatient_server)
    head = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n" + b"X-Pad: " + b"a" * 10_000
    closed = asyncio.create_task(_until_closed(reader))
    sent = 0
    # Keep dribbling (each byte resets nothing) until the server hangs up.
    while not closed.done() and sent < len(head):
        try:
            writer.write(head[sent : sent + 1])
            await writer.drain()
        except ConnectionError:
            break
        sent += 1
        await asyncio.wait([closed], timeout=0.01)
    try:
        answer = await closed
    except ConnectionResetError:
        # The server answered 408 and closed while this client was still writing; the kernel
        # then resets the connection and may drop the unread answer. Either way it was cut off.
        answer = b"reset"
    assert answer.startswith(b"HTTP/1.1 408 ") or answer == b"reset"
    assert sent < len(head)
    writer.close()


async def test_complete_requests_keep_alive_and_slow_answers_are_not_cut(
    impatient_server: RunningServer,
):
    server = impatient_server
    box = await server.create_inbox()
    reader, writer = await _open(server)
    # A long-poll answered after the head deadline: the deadline covers the head only.
    for path in ("/healthz", f"/api/v1/mailboxes/{box['id']}/wait?timeout=2"):
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: localhost\r\n"
            f"Authorization: Bearer {box['token']}\r\n\r\n".encode()
        )
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), PATIENCE)
        assert status.startswith(b"HTTP/1.1 200 "), status
        length = 0
        while (line := await reader.readline()) != b"\r\n":
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
    # An idle keep-alive connection is still closed in the end, silently.
    assert await _until_closed(reader) == b""
    writer.close()


async def test_a_websocket_outlives_the_head_deadline(impatient_server: RunningServer):
    server = impatient_server
    box = await server.create_inbox()
    url = f"ws://127.0.0.1:{server.http_port}/ws/inbox/{quote(box['address'])}"
    async with connect(url, additional_headers=server.auth(box["token"])) as ws:
        pings = 0
        while pings < 5:  # 5 pings 0.3 s apart: well past the 1 s head deadline
            event = json.loads(await asyncio.wait_for(ws.recv(), PATIENCE))
            pings += event["event"] == "ping"
        await server.send(box["address"], subject="still here")
        while (event := json.loads(await asyncio.wait_for(ws.recv(), PATIENCE)))["event"] == "ping":
            pass
        assert event["message"]["subject"] == "still here"


@pytest.fixture
async def small_server(settings: Settings) -> AsyncIterator[RunningServer]:
    update = {"http_max_connections": 5}
    async with start_server(settings.model_copy(update=update)) as running:
        yield running


async def test_connections_past_the_cap_are_refused_429_until_one_closes(
    small_server: RunningServer,
):
    server = small_server
    await server.http.aclose()  # the helper's own client would hold a connection
    held = [await _open(server) for _ in range(5)]
    reader, writer = await _open(server)
    answer = await _until_closed(reader)
    assert answer.startswith(b"HTTP/1.1 429 "), answer[:80]
    head, body = answer.split(b"\r\n\r\n", 1)
    assert b"retry-after: 1" in head.lower()
    assert json.loads(body)["error"]["code"] == "rate_limited"
    writer.close()
    for _reader, held_writer in held:
        held_writer.close()
        await held_writer.wait_closed()
    # Once they are gone a new connection is served (the server notices closes promptly;
    # a few attempts bound the test).
    for _attempt in range(50):
        reader, writer = await _open(server)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        await writer.drain()
        answer = await _until_closed(reader)
        writer.close()
        if not answer.startswith(b"HTTP/1.1 429 "):
            break
        await asyncio.sleep(0.05)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:80]
