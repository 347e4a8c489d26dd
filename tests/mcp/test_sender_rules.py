"""Allow and block lists as MCP tools (`block_sender`, `allow_sender`, `list_sender_rules`,
`remove_sender_rule`), through the official MCP client, alike from the in-process backend
(`/mcp`, `--embedded`) and the REST one (`--url`)."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from inboxkit.services import lists as list_service
from tests.helpers import RunningServer
from tests.mcp.conftest import call, call_error, http_client
from tests.mcp.test_plans import both_backends


def _without_ids(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in rule.items() if k != "id"} for rule in rules]


async def _rules(client: Client, **arguments: Any) -> list[dict[str, Any]]:
    return (await call(client, "list_sender_rules", **arguments))["rules"]


async def test_rules_are_added_listed_and_removed_alike_through_both_backends(
    server: RunningServer,
):
    key = await server.create_key("agent")
    inbox = await server.create_inbox(key)
    async with both_backends(server, key) as clients:
        seen = []
        for client in clients:
            blocked = await call(client, "block_sender", entry="Bulk.Example", subdomains=True)
            allowed = await call(
                client, "allow_sender", entry="boss@work.example", inbox=inbox["address"]
            )
            assert blocked["added"] is True
            assert blocked["rule"] == {
                "id": blocked["rule"]["id"],
                "type": "block",
                "entry": "bulk.example",
                "kind": "domain",
                "subdomains": True,
                "inbox_id": None,
            }
            assert allowed["rule"]["inbox_id"] == inbox["id"]
            assert allowed["rule"]["kind"] == "address"

            rules = await _rules(client)
            assert [r["id"] for r in rules] == [allowed["rule"]["id"], blocked["rule"]["id"]]
            assert [r["id"] for r in await _rules(client, type="block")] == [blocked["rule"]["id"]]
            assert [r["id"] for r in await _rules(client, inbox=inbox["address"])] == [
                allowed["rule"]["id"]
            ]
            seen.append(_without_ids(rules))

            for rule in rules:
                removed = await call(client, "remove_sender_rule", rule_id=rule["id"])
                assert removed == {"removed": True, "rule_id": rule["id"]}
            assert await _rules(client) == []
    assert seen[0] == seen[1]


async def test_a_sender_blocked_over_mcp_has_its_mail_stored_as_blocked(server: RunningServer):
    key = await server.create_key("agent")
    async with http_client(f"{server.base_url}/mcp", server.auth(key)) as client:
        inbox = await call(client, "create_inbox")
        await call(client, "block_sender", entry="pushy@example.com")
    await server.send(inbox["address"], mail_from="pushy@example.com", subject="buy now")
    await server.send(inbox["address"], mail_from="friend@example.com", subject="lunch?")
    response = await server.http.get(f"/mailboxes/{inbox['id']}/messages", headers=server.auth(key))
    verdicts = {m["subject"]: m["spam"]["verdict"] for m in response.json()["data"]}
    assert verdicts == {"buy now": "blocked", "lunch?": "clean"}


async def test_another_accounts_rules_are_invisible_and_cannot_be_removed(
    server: RunningServer,
):
    owner = await server.create_key("owner")
    inbox = await server.create_inbox(owner)
    async with both_backends(server, owner) as (in_process, _):
        rule = (await call(in_process, "block_sender", entry="a@example.com"))["rule"]
    stranger = await server.create_key("stranger")
    async with both_backends(server, stranger) as clients:
        errors = []
        for client in clients:
            assert await _rules(client) == []
            errors.append(await call_error(client, "remove_sender_rule", rule_id=rule["id"]))
            scoped = await call_error(
                client, "allow_sender", entry="b@example.com", inbox=inbox["address"]
            )
            assert "No such mailbox" in scoped and "list_inboxes" in scoped
    assert errors[0] == errors[1]
    assert "No such list entry" in errors[0] and "list_sender_rules" in errors[0]
    async with both_backends(server, owner) as (in_process, _):
        assert [r["id"] for r in await _rules(in_process)] == [rule["id"]]


async def test_a_duplicate_rule_says_it_already_exists_on_both_backends(server: RunningServer):
    key = await server.create_key("agent")
    async with both_backends(server, key) as clients:
        first = (await call(clients[0], "block_sender", entry="spam.example"))["rule"]
        errors = [
            await call_error(client, "block_sender", entry="SPAM.example") for client in clients
        ]
        # The same sender on the other list is a rule of its own.
        await call(clients[1], "allow_sender", entry="spam.example")
    assert errors[0] == errors[1]
    assert f"spam.example is already on this block list (entry {first['id']})" in errors[0]
    assert "already exists" in errors[0]


@pytest.mark.parametrize("entry", ["not an address", "localhost", "@example.com"])
async def test_a_malformed_entry_is_a_tool_error_saying_what_an_entry_is(
    server: RunningServer, entry: str
):
    key = await server.create_key("agent")
    async with both_backends(server, key) as clients:
        for client in clients:
            error = await call_error(client, "block_sender", entry=entry)
            assert "must be an email address (alice@example.com) or a domain" in error, error
            assert "Correct the arguments" in error
            assert await _rules(client) == []


async def test_a_full_list_tells_the_model_to_remove_rules(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(list_service, "MAX_ENTRIES", 1)
    key = await server.create_key("agent")
    async with both_backends(server, key) as clients:
        await call(clients[0], "block_sender", entry="one.example")
        errors = [
            await call_error(client, "block_sender", entry="two.example") for client in clients
        ]
    assert errors[0] == errors[1]
    assert "at most 1" in errors[0] and "remove_sender_rule" in errors[0]


async def test_a_mailbox_token_is_told_rules_need_an_api_key(server: RunningServer):
    inbox = await server.create_inbox(await server.create_key("agent"))
    async with http_client(f"{server.base_url}/mcp", server.auth(inbox["token"])) as client:
        error = await call_error(client, "list_sender_rules")
    assert "API key" in error


async def test_the_rule_tools_say_what_they_change(server: RunningServer):
    key = await server.create_key("agent")
    async with http_client(f"{server.base_url}/mcp", server.auth(key)) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    hints = {
        name: (tools[name].annotations.read_only_hint, tools[name].annotations.destructive_hint)
        for name in ("block_sender", "allow_sender", "list_sender_rules", "remove_sender_rule")
        if tools[name].annotations is not None
    }
    assert hints == {
        "block_sender": (False, False),
        "allow_sender": (False, False),
        "list_sender_rules": (True, None),
        "remove_sender_rule": (False, True),
    }


async def test_a_blocked_sender_is_left_out_of_an_agent_inbox_until_spam_is_asked_for(
    server: RunningServer,
):
    key = await server.create_key("agent")
    async with both_backends(server, key) as (in_process, over_rest):
        inbox = await call(in_process, "create_inbox", mode="agent")
        await call(over_rest, "block_sender", entry="pushy.example", inbox=inbox["address"])
        await server.send(inbox["address"], mail_from="offers@pushy.example", subject="buy now")
        await server.send(inbox["address"], mail_from="friend@example.com", subject="lunch?")
        for client in (in_process, over_rest):
            shown = await call(client, "list_messages", inbox=inbox["address"])
            assert [m["subject"] for m in shown["messages"]] == ["lunch?"]
            folder = await call(client, "list_messages", inbox=inbox["address"], spam=True)
            (blocked,) = folder["messages"]
            assert blocked["subject"] == "buy now"
            assert blocked["spam"] == {"verdict": "blocked", "reason": "block list"}
