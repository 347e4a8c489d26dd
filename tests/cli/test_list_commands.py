"""`inboxkit lists`: allow and block senders from the command line, run as real subprocesses
against a real server."""

from __future__ import annotations

import json

from tests.cli.test_client_commands import run
from tests.helpers import RunningServer


async def test_add_list_show_and_delete_round_trip(server: RunningServer):
    env = {"INBOXKIT_API_KEY": await server.create_key("shop")}
    inbox = await server.create_inbox(env["INBOXKIT_API_KEY"])

    blocked = await run(server, "lists", "add", "block", "Bulk.Example", "--subdomains", **env)
    assert blocked.code == 0, blocked.stderr
    block_id = blocked.stdout.strip()
    assert "blocking bulk.example and its subdomains, for all of the account's" in blocked.stderr
    allowed = await run(
        server, "lists", "add", "allow", "friend@example.com", "--mailbox", inbox["address"],
        "--json", **env,
    )  # fmt: skip
    assert allowed.code == 0, allowed.stderr
    allow = json.loads(allowed.stdout)
    assert (allow["type"], allow["entry"], allow["mailbox_id"]) == (
        "allow",
        "friend@example.com",
        inbox["id"],
    )

    table = await run(server, "lists", "list", **env)
    assert table.code == 0, table.stderr
    header, first, second = table.stdout.splitlines()
    assert header.split() == ["id", "type", "mailbox", "subdomains", "entry"]
    assert first.split() == [allow["id"], "allow", inbox["id"], "no", "friend@example.com"]
    assert second.split() == [block_id, "block", "all", "yes", "bulk.example"]

    only_blocks = await run(server, "lists", "list", "--type", "block", "--json", **env)
    assert [e["id"] for e in json.loads(only_blocks.stdout)] == [block_id]
    own = await run(server, "lists", "list", "--mailbox", inbox["address"], "--json", **env)
    assert [e["id"] for e in json.loads(own.stdout)] == [allow["id"]]

    shown = await run(server, "lists", "show", block_id, **env)
    assert shown.code == 0, shown.stderr
    rows = dict(line.split(None, 1) for line in shown.stdout.splitlines())
    assert rows["type"] == "block" and rows["entry"] == "bulk.example"
    assert rows["subdomains"] == "yes" and rows["mailbox"] == "all of the account's"

    deleted = await run(server, "lists", "delete", block_id, allow["id"], **env)
    assert deleted.code == 0, deleted.stderr
    assert f"deleted list entry {block_id}" in deleted.stderr
    assert f"deleted list entry {allow['id']}" in deleted.stderr
    empty = await run(server, "lists", "list", **env)
    assert (empty.code, empty.stdout, empty.stderr.strip()) == (0, "", "no entries")
    missing = await run(server, "lists", "show", block_id, **env)
    assert missing.code == 1 and "No such list entry" in missing.stderr


async def test_a_blocked_sender_shows_in_the_messages_verdict(server: RunningServer):
    env = {"INBOXKIT_API_KEY": await server.create_key("shop")}
    inbox = await server.create_inbox(env["INBOXKIT_API_KEY"])
    added = await run(server, "lists", "add", "block", "pushy@example.com", **env)
    assert added.code == 0, added.stderr
    await server.send(inbox["address"], mail_from="pushy@example.com", subject="buy now")

    listed = await run(server, "messages", inbox["address"], "--json", **env)
    assert listed.code == 0, listed.stderr
    (message,) = json.loads(listed.stdout)
    assert message["spam"]["verdict"] == "blocked"


async def test_refusals_are_clear_errors(server: RunningServer):
    env = {"INBOXKIT_API_KEY": await server.create_key("shop")}
    await run(server, "lists", "add", "block", "spam.example", **env)

    duplicate = await run(server, "lists", "add", "block", "SPAM.example", **env)
    assert duplicate.code == 1
    assert "spam.example is already on this block list" in duplicate.stderr
    malformed = await run(server, "lists", "add", "block", "not an address", **env)
    assert malformed.code == 1 and "entry" in malformed.stderr
    other = {"INBOXKIT_API_KEY": await server.create_key("other")}
    foreign = await run(server, "lists", "list", **other)
    assert (foreign.code, foreign.stdout) == (0, "")


async def test_an_unknown_list_type_is_a_usage_error_before_calling_the_server(
    server: RunningServer,
):
    result = await run(server, "lists", "add", "deny", "a@example.com", INBOXKIT_API_KEY="ik_x")
    assert result.code == 2 and "deny" in result.stderr
