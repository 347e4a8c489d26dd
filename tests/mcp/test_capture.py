"""The capture mailbox through the MCP tools (inbox "capture", to_contains), with the official
client: over streamable HTTP at /mcp (the services) and over a running server's REST API (the
backend of `inboxkit mcp --url`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
from mcp import Client

from inboxkit.mcp.backends import RestBackend
from inboxkit.mcp.present import UNTRUSTED
from inboxkit.mcp.tools import build_server
from tests.capturing import capture_key, capture_mail
from tests.helpers import RunningServer
from tests.mcp.conftest import call, call_error, http_client

Connect = Callable[[RunningServer, str], AbstractAsyncContextManager[Client]]


@asynccontextmanager
async def over_http(server: RunningServer, key: str) -> AsyncIterator[Client]:
    async with http_client(f"{server.base_url}/mcp", server.auth(key)) as client:
        yield client


@asynccontextmanager
async def over_rest(server: RunningServer, key: str) -> AsyncIterator[Client]:
    async with RestBackend(server.base_url, key) as backend:
        async with Client(build_server(lambda ctx: backend), mode="legacy") as client:
            yield client


CONNECTIONS = [pytest.param(over_http, id="http"), pytest.param(over_rest, id="rest")]


@pytest.mark.parametrize("connect", CONNECTIONS)
async def test_wait_for_code_in_capture_for_one_recipient(
    server: RunningServer, connect: Connect
) -> None:
    key = await capture_key(server)
    await capture_mail(server, key, "bob@example.com", "Your code", "Bob, your code is 731904")
    await capture_mail(server, key, "alice@example.com", "Your code", "Alice, your code is 285017")
    box = (await server.http.get("/capture", headers=server.auth(key))).json()["data"]
    async with connect(server, key) as client:
        found = await call(
            client,
            "wait_for_code",
            inbox="capture",
            to_contains="alice@example.com",
            timeout_seconds=10,
        )
        assert (found["code"], found["inbox"]) == ("285017", box["address"])
        assert found["notice"] == UNTRUSTED
        message = await call(
            client, "read_message", inbox="Capture", message_id=found["message_id"]
        )
        assert "285017" in message["markdown"]


@pytest.mark.parametrize("connect", CONNECTIONS)
async def test_list_and_wait_for_message_in_capture_filter_by_recipient(
    server: RunningServer, connect: Connect
) -> None:
    key = await capture_key(server)
    await capture_mail(server, key, "bob@example.com", "Welcome, Bob", "Hello Bob")
    await capture_mail(server, key, "alice@example.com", "Welcome, Alice", "Hello Alice")
    async with connect(server, key) as client:
        listed = await call(client, "list_messages", inbox="capture", to_contains="bob@")
        assert [m["subject"] for m in listed["messages"]] == ["Welcome, Bob"]
        waited = await call(
            client,
            "wait_for_message",
            inbox="capture",
            to_contains="alice@example.com",
            timeout_seconds=5,
        )
        assert waited["message"]["subject"] == "Welcome, Alice"
        nothing = await call(
            client, "wait_for_code", inbox="capture", to_contains="zoe@", timeout_seconds=0
        )
        assert nothing["timed_out"] is True and nothing["code"] is None


async def test_capture_names_each_callers_own_capture_mailbox(server: RunningServer) -> None:
    first, second = await capture_key(server, "one"), await capture_key(server, "two")
    await capture_mail(server, first, "alice@example.com", "Your code", "Your code is 285017")
    async with over_http(server, second) as client:
        listed = await call(client, "list_messages", inbox="capture")
        assert listed["messages"] == []
        found = await call(client, "wait_for_code", inbox="capture", timeout_seconds=0)
        assert found["timed_out"] is True
    async with over_http(server, first) as client:
        listed = await call(client, "list_messages", inbox="capture")
        assert [m["subject"] for m in listed["messages"]] == ["Your code"]


async def test_capture_with_a_mailbox_token_is_a_tool_error_that_says_what_to_do(
    server: RunningServer,
) -> None:
    created = await server.create_inbox()
    async with over_http(server, created["token"]) as client:
        text = await call_error(client, "list_messages", inbox="capture")
    assert "API key" in text


async def test_tool_descriptions_tell_the_model_about_capture(server: RunningServer) -> None:
    key = await capture_key(server)
    async with over_http(server, key) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    for name in ("wait_for_code", "wait_for_message", "list_messages"):
        schema = tools[name].input_schema["properties"]
        assert '"capture"' in schema["inbox"]["description"]
        assert "to_contains" in schema
    assert "capture" in (tools["wait_for_code"].description or "")
