"""MCP test helpers: the official SDK client over streamable HTTP and over stdio, and the client
configurations documented in docs/mcp.md (the tests use those, not copies of them)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

DOC = Path(__file__).resolve().parents[2] / "docs" / "mcp.md"
DOC_URL = "http://127.0.0.1:8025"
DOC_KEY = "ik_your_api_key"
VENV_BIN = Path(sys.executable).parent

TOOL_NAMES = {
    "create_inbox",
    "list_inboxes",
    "list_messages",
    "search_messages",
    "list_threads",
    "read_thread",
    "read_message",
    "wait_for_message",
    "wait_for_code",
    "get_attachment",
    "send_email",
    "reply",
    "forward",
    "label_messages",
    "delete_inbox",
    "get_usage",
    "block_sender",
    "allow_sender",
    "list_sender_rules",
    "remove_sender_rule",
    "list_domains",
    "add_domain",
    "verify_domain",
    "domain_zone_file",
    "create_draft",
    "send_draft",
    "list_drafts",
}


def doc_block(name: str) -> str:
    """The code block marked `<!-- config: name -->` in docs/mcp.md."""
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"<!-- config: {re.escape(name)} -->\s*```[a-z]*\n(.*?)```", text, re.S)
    assert match, f"docs/mcp.md has no code block marked <!-- config: {name} -->"
    return match.group(1)


def filled(text: str, base_url: str, key: str) -> str:
    """A documented configuration with the test server's address and key put in."""
    return text.replace(DOC_URL, base_url).replace(DOC_KEY, key)


def doc_server_config(name: str, base_url: str = DOC_URL, key: str = DOC_KEY) -> dict[str, Any]:
    """The one server entry of a documented `{"mcpServers": {...}}` JSON block."""
    config = json.loads(filled(doc_block(name), base_url, key))
    (entry,) = config["mcpServers"].values()
    return entry


@asynccontextmanager
async def http_client(
    url: str, headers: dict[str, str] | None = None, *, mode: str = "auto"
) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(headers=headers or {}, timeout=httpx2.Timeout(30.0, read=120.0))
    async with http, Client(streamable_http_client(url, http_client=http), mode=mode) as client:
        yield client


@asynccontextmanager
async def stdio_client_for(
    entry: dict[str, Any], errlog: Path, env: dict[str, str] | None = None
) -> AsyncIterator[Client]:
    """Spawn a documented stdio configuration (`command`, `args`, `env`) as a desktop client
    would, with this virtualenv's `inboxkit` first on PATH."""
    path = os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "")])
    params = StdioServerParameters(
        command=entry["command"],
        args=entry.get("args", []),
        env={**entry.get("env", {}), "PATH": path, **(env or {})},
    )
    with errlog.open("w") as log:
        try:
            async with Client(stdio_client(params, errlog=log)) as client:
                yield client
        except BaseException:
            log.flush()
            output = await asyncio.to_thread(errlog.read_text)
            sys.stderr.write(f"--- server stderr ---\n{output}\n")
            raise


async def call(client: Client, name: str, **arguments: Any) -> dict[str, Any]:
    """Call a tool that must succeed; its structured result."""
    result = await client.call_tool(name, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def call_error(client: Client, name: str, **arguments: Any) -> str:
    """Call a tool that must fail; the text the model reads."""
    result: CallToolResult = await client.call_tool(name, arguments)
    assert result.is_error, result.structured_content
    return " ".join(getattr(block, "text", "") for block in result.content)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
