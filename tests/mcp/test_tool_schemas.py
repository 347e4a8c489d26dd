"""The tools' names and input schemas, as a client lists them, match the committed snapshot.

A model learns the tools from these schemas, so a change to them is a change to the product:
make it on purpose. To accept a change, regenerate the snapshot and commit it with the change:

    INBOXKIT_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/mcp/test_tool_schemas.py -q
"""

from __future__ import annotations

import asyncio
import difflib
import json
import os
from pathlib import Path
from typing import Any

from mcp import Client

from inboxkit.mcp.tools import build_server

SNAPSHOT = Path(__file__).with_name("tool_schemas.json")


async def listed_tools() -> list[dict[str, Any]]:
    server = build_server(lambda ctx: None)  # listing tools calls no backend
    async with Client(server, mode="legacy") as client:
        tools = (await client.list_tools()).tools
    return [{"name": tool.name, "input_schema": tool.input_schema} for tool in tools]


def render(tools: list[dict[str, Any]]) -> str:
    return json.dumps(tools, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


async def test_tool_names_and_input_schemas_match_the_snapshot():
    current = render(await listed_tools())
    if os.environ.get("INBOXKIT_UPDATE_SNAPSHOTS") == "1":
        await asyncio.to_thread(SNAPSHOT.write_text, current, encoding="utf-8")
    committed = await asyncio.to_thread(SNAPSHOT.read_text, encoding="utf-8")
    if current != committed:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                current.splitlines(keepends=True),
                fromfile="tests/mcp/tool_schemas.json (committed)",
                tofile="tools as listed now",
            )
        )
        print(diff)
        raise AssertionError(
            "The MCP tool schemas changed (diff above). If intended, run "
            "INBOXKIT_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/mcp/test_tool_schemas.py "
            "and commit tests/mcp/tool_schemas.json."
        )
