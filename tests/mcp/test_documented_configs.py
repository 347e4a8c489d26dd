"""The streamable-HTTP configurations in docs/mcp.md work as written (with a test server's
address and key put in): Claude Code (CLI and .mcp.json), Cursor, the Python example and curl.
The Claude Desktop (stdio) blocks are run by test_stdio.py."""

from __future__ import annotations

import asyncio
import shlex
import sys
from pathlib import Path

import httpx

from tests.helpers import RunningServer
from tests.mcp.conftest import (
    TOOL_NAMES,
    call,
    doc_block,
    doc_server_config,
    filled,
    http_client,
)
from tests.mcp.test_http import sse_json


async def test_claude_code_cli_command_names_the_exact_endpoint_and_header(server: RunningServer):
    key = await server.create_key()
    argv = shlex.split(filled(doc_block("claude-code-cli"), server.base_url, key))
    assert argv[:6] == ["claude", "mcp", "add", "--transport", "http", "inboxkit"]
    url, header_flag, header = argv[6:]
    assert url == f"{server.base_url}/mcp" and header_flag == "--header"
    name, _, value = header.partition(": ")
    async with http_client(url, {name: value}) as client:
        assert {tool.name for tool in (await client.list_tools()).tools} == TOOL_NAMES


async def test_claude_code_and_cursor_json_configs_connect(server: RunningServer):
    key = await server.create_key()
    for block in ("claude-code-json", "cursor"):
        entry = doc_server_config(block, server.base_url, key)
        assert entry["url"] == f"{server.base_url}/mcp"
        assert entry.get("type", "http") == "http"
        async with http_client(entry["url"], entry["headers"]) as client:
            assert (await call(client, "list_inboxes"))["inboxes"] == []


async def test_python_client_example_runs_as_written(server: RunningServer, tmp_path: Path):
    key = await server.create_key()
    script = tmp_path / "client.py"
    script.write_text(filled(doc_block("python-client"), server.base_url, key))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    lines = stdout.decode().splitlines()
    assert lines[0].startswith("tools: create_inbox")
    assert lines[1].startswith("inbox: ") and lines[1].endswith("@inboxkit.localhost")


async def test_curl_example_creates_an_inbox(server: RunningServer):
    key = await server.create_key()
    argv = shlex.split(filled(doc_block("curl"), server.base_url, key).replace("\\\n", " "))
    assert argv[:2] == ["curl", "-sS"]
    url = argv[2]
    headers = dict(argv[i + 1].split(": ", 1) for i, arg in enumerate(argv) if arg == "-H")
    (body,) = [argv[i + 1] for i, arg in enumerate(argv) if arg == "-d"]
    async with httpx.AsyncClient(follow_redirects=False) as client:
        response = await client.post(url, content=body, headers=headers)
    assert response.status_code == 200, response.text
    result = sse_json(response.text)["result"]
    assert result["isError"] is False
    assert result["structuredContent"]["address"].endswith("@inboxkit.localhost")
