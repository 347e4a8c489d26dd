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
    await server.send(first["address"], subject="Quarterly <b>quince</b> report", body="quince")
    await server.send(second["address"], subject="quince smoothie", body="fresh quince today")
    await server.send(second["address"], subject="brioche bread", body="no green fruit")
    return first, second


async def test_mcp_search_messages_finds_mail_in_every_inbox_or_one(server: RunningServer):
    key = await server.create_key(name="mcp-search")
    first, second = await mail(server, key)
    async with http_client(f"{server.base_url}/mcp", server.auth(key)) as client:
        everywhere = await call(client, "search_messages", query="quince")
        one = await call(client, "search_messages", query="quince", inbox=first["address"])
        refused = await client.call_tool("search_messages", {"query": "foo:bar"})
    assert [m["subject"] for m in everywhere["messages"]] == [
        "quince smoothie",
        "Quarterly <b>quince</b> report",
    ]
    assert [m["subject"] for m in one["messages"]] == ["Quarterly <b>quince</b> report"]
    assert "&lt;b&gt;<mark>quince</mark>&lt;/b&gt;" in str(one["messages"][0]["highlights"])
    assert refused.is_error
    assert "Unknown operator 'foo:' at character 1" in refused.content[0].text


async def test_both_mcp_backends_search_alike(server: RunningServer):
    key = await server.create_key(name="backends-search")
    await mail(server, key)
    service = ServiceBackend(server.runtime, await server.runtime.auth.authenticate(key))
    async with RestBackend(server.base_url, key) as rest:
        for q in ("quince", "-quince", 'subject:"quince smoothie"'):
            a, _ = await service.search(q, inbox=None, limit=10, cursor=None)
            b, _ = await rest.search(q, inbox=None, limit=10, cursor=None)
            assert [m["id"] for m in a] == [m["id"] for m in b], q
            assert [m["highlights"] for m in a] == [m["highlights"] for m in b], q


async def test_cli_search_prints_matches_and_their_highlights(server: RunningServer):
    env = {"INBOXKIT_API_KEY": await server.create_key("cli-search")}
    await mail(server, env["INBOXKIT_API_KEY"])
    result = await run(server, "search", "quince -bread", **env)
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "'quince smoothie'" in lines[0]
    assert "    subject: [quince] smoothie" in lines
    assert "    body: fresh [quince] today" in lines
    as_json = await run(server, "search", "brioche", "--json", **env)
    assert [m["subject"] for m in json.loads(as_json.stdout)] == ["brioche bread"]
    refused = await run(server, "search", '"unclosed', **env)
    assert refused.code == 1
    assert "Unbalanced quote at character 1" in refused.stderr
