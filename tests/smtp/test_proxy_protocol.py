"""PROXY protocol v1/v2 on the SMTP listener (DESIGN §9): accepted from trusted proxies only,
and the client it names is the one the envelope, connection caps and AUTH rules see."""

from __future__ import annotations

import asyncio
import ipaddress
import struct

import pytest

from inboxkit.config import Settings
from tests.helpers import RunningServer, start_server

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def v1_header(client: str, port: int = 40000) -> bytes:
    return f"PROXY TCP4 {client} 192.0.2.1 {port} 25\r\n".encode()


def v2_header(client: str, port: int = 40001) -> bytes:
    """A binary PROXY v2 header: version 2, command PROXY, TCP over IPv4."""
    addresses = (
        ipaddress.IPv4Address(client).packed
        + ipaddress.IPv4Address("192.0.2.1").packed
        + struct.pack("!HH", port, 25)
    )
    return V2_SIGNATURE + bytes([0x21, 0x11]) + struct.pack("!H", len(addresses)) + addresses


async def _session(
    port: int, header: bytes
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(header)
    await writer.drain()
    return reader, writer, await reader.readline()


async def _deliver(reader, writer, to: str, subject: str) -> None:
    async def say(line: bytes) -> bytes:
        writer.write(line + b"\r\n")
        await writer.drain()
        reply = await reader.readline()
        while reply[3:4] == b"-":
            reply = await reader.readline()
        return reply

    assert (await say(b"EHLO client.example")).startswith(b"250")
    assert (await say(b"MAIL FROM:<sender@example.com>")).startswith(b"250")
    assert (await say(f"RCPT TO:<{to}>".encode())).startswith(b"250")
    assert (await say(b"DATA")).startswith(b"354")
    body = f"From: sender@example.com\r\nTo: {to}\r\nSubject: {subject}\r\n\r\nhi\r\n.".encode()
    assert (await say(body)).startswith(b"250")
    await say(b"QUIT")
    writer.close()


@pytest.fixture
async def behind_proxy(settings: Settings):
    update = {"smtp_proxy_protocol": True, "trusted_proxies": [ipaddress.ip_network("127.0.0.0/8")]}
    async with start_server(settings.model_copy(update=update)) as running:
        yield running


async def _remote_addrs(server: RunningServer, inbox: dict) -> dict[str, str]:
    headers = server.auth(inbox["token"])
    listed = await server.http.get(f"/mailboxes/{inbox['id']}/messages", headers=headers)
    found = {}
    for summary in listed.json()["data"]:
        full = await server.http.get(
            f"/mailboxes/{inbox['id']}/messages/{summary['id']}", headers=headers
        )
        found[summary["subject"]] = full.json()["data"]["envelope"]["remote_addr"]
    return found


async def test_v1_and_v2_headers_from_a_trusted_proxy_set_the_client_address(
    behind_proxy: RunningServer,
):
    inbox = await behind_proxy.create_inbox()
    for header, subject in ((v1_header("203.0.113.7"), "v1"), (v2_header("198.51.100.9"), "v2")):
        reader, writer, greeting = await _session(behind_proxy.smtp_port, header)
        assert greeting.startswith(b"220")
        await _deliver(reader, writer, inbox["address"], subject)
    assert await _remote_addrs(behind_proxy, inbox) == {"v1": "203.0.113.7", "v2": "198.51.100.9"}


async def test_a_proxy_header_from_an_untrusted_peer_is_refused(settings: Settings):
    update = {"smtp_proxy_protocol": True, "trusted_proxies": [ipaddress.ip_network("10.0.0.0/8")]}
    async with start_server(settings.model_copy(update=update)) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.smtp_port)
        assert (await reader.readline()).startswith(b"220")  # greeted as itself
        writer.write(v1_header("203.0.113.7"))
        await writer.drain()
        reply = await reader.readline()
        assert reply.startswith(b"554 5.7.0") and b"trusted proxies" in reply
        assert await reader.read() == b""  # closed
        writer.close()
        # The same peer without a header is served as itself.
        inbox = await server.create_inbox()
        await server.send(inbox["address"], subject="direct")
        assert await _remote_addrs(server, inbox) == {"direct": "127.0.0.1"}


async def test_a_trusted_proxy_connection_without_a_header_is_closed(behind_proxy: RunningServer):
    reader, writer, reply = await _session(behind_proxy.smtp_port, b"EHLO no-header.example\r\n")
    assert reply.startswith(b"421 4.7.0") and b"PROXY" in reply
    writer.close()


async def test_connection_caps_count_the_client_the_proxy_names(settings: Settings):
    update = {
        "smtp_proxy_protocol": True,
        "trusted_proxies": [ipaddress.ip_network("127.0.0.0/8")],
        "smtp_max_connections_per_ip": 1,
    }
    async with start_server(settings.model_copy(update=update)) as server:
        first = await _session(server.smtp_port, v1_header("203.0.113.7", 1))
        other_client = await _session(server.smtp_port, v1_header("203.0.113.8", 2))
        same_client = await _session(server.smtp_port, v1_header("203.0.113.7", 3))
        assert first[2].startswith(b"220")
        assert other_client[2].startswith(b"220")
        assert same_client[2].startswith(b"421 4.7.0")
        for _reader, writer, _reply in (first, other_client, same_client):
            writer.close()


async def test_capture_auth_rules_see_the_proxied_client_not_the_proxy(settings: Settings):
    update = {
        "smtp_proxy_protocol": True,
        "trusted_proxies": [ipaddress.ip_network("127.0.0.0/8")],
        "smtp_capture": True,
    }
    async with start_server(settings.model_copy(update=update)) as server:
        reader, writer, _greeting = await _session(server.smtp_port, v1_header("203.0.113.7"))
        writer.write(b"EHLO client.example\r\n")
        lines = [await reader.readline()]
        while lines[-1][3:4] == b"-":
            lines.append(await reader.readline())
        assert not any(line.startswith(b"250-AUTH") for line in lines)
        writer.write(b"AUTH PLAIN AGFwcABpa194\r\n")
        await writer.drain()
        assert (await reader.readline()).startswith(b"538")
        writer.close()
