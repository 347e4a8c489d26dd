"""`inboxkit mcp` over stdio, spawned from the Claude Desktop configurations in docs/mcp.md by the
official SDK's stdio client: connected to a running server (REST backend) and embedded."""

from __future__ import annotations

from pathlib import Path

import aiosmtplib

from inboxkit.config import Settings
from inboxkit.mcp.present import UNTRUSTED
from inboxkit.mcp.stdio import KEY_FILE
from tests.helpers import RunningServer, make_message
from tests.mcp.conftest import (
    TOOL_NAMES,
    call,
    call_error,
    doc_server_config,
    free_port,
    stdio_client_for,
)


async def test_connected_mode_from_the_documented_config_completes_a_signup(
    server: RunningServer, tmp_path: Path
):
    key = await server.create_key()
    entry = doc_server_config("claude-desktop", server.base_url, key)
    assert entry["args"][:2] == ["mcp", "--url"]
    async with stdio_client_for(entry, tmp_path / "stderr.log") as client:
        assert {tool.name for tool in (await client.list_tools()).tools} == TOOL_NAMES
        address = (await call(client, "create_inbox"))["address"]
        await server.send(address, subject="Confirm", body="Your verification code is 482913")
        found = await call(client, "wait_for_code", inbox=address, timeout_seconds=30)
        assert (found["code"], found["notice"]) == ("482913", UNTRUSTED)
        message = await call(client, "read_message", inbox=address, message_id=found["message_id"])
        assert "482913" in message["markdown"]
        listed = await call(client, "list_inboxes")
        assert [box["address"] for box in listed["inboxes"]] == [address]
        # Errors read the same through the REST backend as in-process.
        error = await call_error(client, "list_messages", inbox="nobody@inboxkit.localhost")
        assert "No such mailbox" in error and "list_inboxes" in error


async def test_connected_mode_keeps_the_keys_tenant_isolation(
    server: RunningServer, tmp_path: Path
):
    other = await server.create_inbox()
    key = await server.create_key()
    entry = doc_server_config("claude-desktop", server.base_url, key)
    async with stdio_client_for(entry, tmp_path / "stderr.log") as client:
        assert (await call(client, "list_inboxes"))["inboxes"] == []
        error = await call_error(client, "wait_for_code", inbox=other["address"], timeout_seconds=0)
        assert "No such mailbox" in error


async def test_connected_mode_reports_an_unreachable_server_as_a_tool_error(tmp_path: Path):
    entry = doc_server_config("claude-desktop", f"http://127.0.0.1:{free_port()}", "ik_whatever")
    async with stdio_client_for(entry, tmp_path / "stderr.log") as client:
        error = await call_error(client, "create_inbox")
    assert "could not be reached" in error and "tell the user" in error.lower()


async def test_embedded_mode_from_the_documented_config_receives_mail_itself(
    settings: Settings, tmp_path: Path
):
    smtp_port = free_port()
    env = {
        "INBOXKIT_DATA_DIR": str(settings.data_dir),
        "INBOXKIT_SMTP_PORT": str(smtp_port),
        "INBOXKIT_PARSE_WORKERS": "1",
    }
    if settings.database_url:
        env["INBOXKIT_DATABASE_URL"] = settings.database_url
    if settings.redis_url:
        env["INBOXKIT_REDIS_URL"] = settings.redis_url
    entry = doc_server_config("claude-desktop-embedded")
    assert entry["args"] == ["mcp", "--embedded"]
    async with stdio_client_for(entry, tmp_path / "stderr.log", env) as client:
        assert {tool.name for tool in (await client.list_tools()).tools} == TOOL_NAMES
        address = (await call(client, "create_inbox"))["address"]
        message = make_message(address, "Confirm", "Your verification code is 482913")
        await aiosmtplib.send(message, hostname="127.0.0.1", port=smtp_port, timeout=30)
        found = await call(client, "wait_for_code", inbox=address, timeout_seconds=30)
        assert found["code"] == "482913"
        assert (await call(client, "delete_inbox", inbox=address))["deleted"] is True
    key_file = settings.data_dir / KEY_FILE
    assert key_file.read_text().startswith("ik_")
    assert key_file.stat().st_mode & 0o077 == 0  # readable by its owner only


async def test_connected_mode_sends_and_replies_through_the_rest_api(
    server: RunningServer, tmp_path: Path
):
    key = await server.create_key()
    entry = doc_server_config("claude-desktop", server.base_url, key)
    async with stdio_client_for(entry, tmp_path / "stderr.log") as client:
        alice = (await call(client, "create_inbox"))["address"]
        bob = (await call(client, "create_inbox"))["address"]
        sent = await call(client, "send_email", inbox=alice, to=[bob], subject="Hi", text="Ping")
        assert sent["message"]["direction"] == "outbound"
        arrived = (await call(client, "wait_for_message", inbox=bob, timeout_seconds=30))["message"]
        await call(client, "reply", inbox=bob, message_id=arrived["id"], text="Pong")
        answer = (await call(client, "wait_for_message", inbox=alice, timeout_seconds=30))[
            "message"
        ]
    assert (answer["from"], answer["subject"]) == (bob, "Re: Hi")
