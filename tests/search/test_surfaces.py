"""Search on the MCP and command-line surfaces: the tool `search_messages` (over /mcp, and the
in-process and SDK backends alike) and `inboxkit search` as a real subprocess. The SDK's
`search()` is tested in tests/client/test_search.py."""

from __future__ import annotations

import json

from inboxkit.mcp.backends import RestBackend, ServiceBackend
from tests.cli.test_client_commands import run
from tests.helpers import RunningServer
from tests.mcp.conftest import call, http_client


async def mail(server: RunningServer, key: str) -> tuple[dict, dict]:
    first = await server.create_inbox(token=key)
    second = await server.create_inbox(token=key)
    await server.send(first["address"], subject="Quarterly <b>kiwi</b> report", body="kiwi")
    await server.send(second["address"], subject="kiwi smoothie", body="fresh kiwi today")
    await server.send(second["address"], subject="banana bread", body="no green fruit")
    return first, second


async def test_mcp_search_messages_finds_mail_in_every_inbox_or_one(server: RunningServer):
    key = await server.create_key(name="mcp-search")
    first, second = await mail(server, key)
    async with http_client(f"{server.base_url}/mcp", server.auth(key)) as client:
        everywhere = await call(client, "search_messages", query="kiwi")
        one = await call(client, "search_messages", query="kiwi", inbox=first["address"])
        refused = await client.call_tool("search_messages", {"query": "foo:bar"})
    assert [m["subject"] for m in everywhere["messages"]] == [
        "kiwi smoothie",
        "Quarterly <b>kiwi</b> report",
    ]
    assert [m["subject"] for m in one["messages"]] == ["Quarterly <b>kiwi</b> report"]
    assert "&lt;b&gt;<mark>kiwi</mark>&lt;/b&gt;" in str(one["messages"][0]["highlights"])
    assert refused.is_error
    assert "Unknown operator 'foo:' at character 1" in refused.content[0].text


async def test_both_mcp_backends_search_alike(server: RunningServer):
    key = await server.create_key(name="backends-search")
    await mail(server, key)
    service = ServiceBackend(server.runtime, await server.runtime.auth.authenticate(key))
    async with RestBackend(server.base_url, key) as rest:
        for q in ("kiwi", "-kiwi", 'subject:"kiwi smoothie"'):
            a, _ = await service.search(q, inbox=None, limit=10, cursor=None)
            b, _ = await rest.search(q, inbox=None, limit=10, cursor=None)
            assert [m["id"] for m in a] == [m["id"] for m in b], q
            assert [m["highlights"] for m in a] == [m["highlights"] for m in b], q


async def test_cli_search_prints_matches_and_their_highlights(server: RunningServer):
    env = {"INBOXKIT_API_KEY": await server.create_key("cli-search")}
    await mail(server, env["INBOXKIT_API_KEY"])
    result = await run(server, "search", "kiwi -bread", **env)
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "'kiwi smoothie'" in lines[0]
    assert "    subject: [kiwi] smoothie" in lines
    assert "    body: fresh [kiwi] today" in lines
    as_json = await run(server, "search", "banana", "--json", **env)
    assert [m["subject"] for m in json.loads(as_json.stdout)] == ["banana bread"]
    refused = await run(server, "search", '"unclosed', **env)
    assert refused.code == 1
    assert "Unbalanced quote at character 1" in refused.stderr
