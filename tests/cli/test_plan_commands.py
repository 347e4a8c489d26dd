"""`inboxkit usage | account | plans | accounts`, run as real subprocesses against a real server."""

from __future__ import annotations

import json

from tests.cli.test_client_commands import run
from tests.helpers import RunningServer

ADMIN_SCOPES = ["admin", "mailboxes:read", "mailboxes:write", "messages:read", "messages:write"]


async def admin_key(server: RunningServer) -> str:
    return await server.create_key("admin", scopes=ADMIN_SCOPES)


async def test_usage_prints_a_table_and_json(server: RunningServer) -> None:
    key = await server.create_key()
    created = await run(server, "inbox", "create", "--json", INBOXKIT_API_KEY=key)
    await server.send(json.loads(created.stdout)["address"], subject="hi")

    table = await run(server, "usage", INBOXKIT_API_KEY=key)
    assert table.code == 0, table.stderr
    assert table.stdout.startswith("plan default, period ")
    lines = {line.split("  ")[0]: line.split() for line in table.stdout.splitlines()}
    assert lines["mailboxes"][-2:] == ["1", "unlimited"]
    assert lines["received this month"][-2:] == ["1", "unlimited"]
    assert "send: any" in table.stdout

    as_json = await run(server, "usage", "--json", INBOXKIT_API_KEY=key)
    usage = json.loads(as_json.stdout)
    assert usage["plan"] == "default" and usage["usage"]["mailboxes"] == 1
    assert set(usage["period"]) == {"start", "end"} and usage["limits"]["send"] == "any"


async def test_usage_with_a_mailbox_token_shows_that_inboxs_plan(server: RunningServer) -> None:
    created = json.loads((await run(server, "inbox", "create", "--json")).stdout)
    result = await run(server, "usage", "--json", INBOXKIT_TOKEN=created["token"])
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["plan"] == "anonymous"


async def test_account_shows_the_keys_account(server: RunningServer) -> None:
    key = await server.runtime.auth.create_key(name="acme")
    result = await run(server, "account", INBOXKIT_API_KEY=key["token"])
    assert result.code == 0, result.stderr
    assert f"id       {key['account_id']}" in result.stdout
    assert "plan     default" in result.stdout
    as_json = json.loads(
        (await run(server, "account", "--json", INBOXKIT_API_KEY=key["token"])).stdout
    )
    assert as_json["id"] == key["account_id"] and as_json["limits"]["send"] == "any"


async def test_plans_are_created_shown_updated_listed_and_deleted(server: RunningServer) -> None:
    admin = {"INBOXKIT_API_KEY": await admin_key(server)}
    created = await run(
        server, "plans", "create", "free", "--max-mailboxes", "5", "--sent-per-month", "100",
        "--send", "local", "--no-agent-mode", "--json", **admin,
    )  # fmt: skip
    assert created.code == 0, created.stderr
    plan = json.loads(created.stdout)
    assert (plan["max_mailboxes"], plan["sent_per_month"]) == (5, 100)
    assert (plan["send"], plan["agent_mode"], plan["received_per_month"]) == ("local", False, None)

    shown = await run(server, "plans", "show", "free", **admin)
    assert "max_mailboxes             5" in shown.stdout
    assert "received_per_month        unlimited" in shown.stdout

    updated = await run(
        server, "plans", "update", "free", "--max-mailboxes", "none",
        "--unlimited", "sent-per-month", "--json", **admin,
    )  # fmt: skip
    assert updated.code == 0, updated.stderr
    plan = json.loads(updated.stdout)
    assert (plan["max_mailboxes"], plan["sent_per_month"], plan["send"]) == (None, None, "local")

    listed = await run(server, "plans", "list", **admin)
    rows = {line.split()[0]: line.split() for line in listed.stdout.splitlines()}
    assert {"name", "anonymous", "default", "free"} <= set(rows)
    assert rows["free"][1:] == ["unlimited", "unlimited", "unlimited", "local", "no"]

    deleted = await run(server, "plans", "delete", "free", **admin)
    assert deleted.code == 0, deleted.stderr
    missing = await run(server, "plans", "show", "free", **admin)
    assert missing.code == 1 and "not_found" in missing.stderr


async def test_plan_flags_are_checked_before_anything_is_sent(server: RunningServer) -> None:
    admin = {"INBOXKIT_API_KEY": await admin_key(server)}
    bad = await run(server, "plans", "create", "free", "--max-mailboxes", "lots", **admin)
    assert bad.code == 2 and "not a whole number" in bad.stderr
    clash = await run(
        server, "plans", "update", "default", "--max-mailboxes", "3",
        "--unlimited", "max-mailboxes", **admin,
    )  # fmt: skip
    assert clash.code == 2 and "clash" in clash.stderr
    unknown = await run(server, "plans", "update", "default", "--unlimited", "mailboxes", **admin)
    assert unknown.code == 2 and "not a plan field" in unknown.stderr
    empty = await run(server, "plans", "update", "default", **admin)
    assert empty.code == 2 and "at least one limit" in empty.stderr


async def test_a_built_in_plan_cannot_be_deleted_and_the_server_says_so(
    server: RunningServer,
) -> None:
    result = await run(
        server, "plans", "delete", "default", INBOXKIT_API_KEY=await admin_key(server)
    )
    assert result.code == 1
    assert "built in" in result.stderr and "(forbidden)" in result.stderr


async def test_plans_need_an_admin_key(server: RunningServer) -> None:
    result = await run(server, "plans", "list", INBOXKIT_API_KEY=await server.create_key())
    assert result.code == 1 and "admin" in result.stderr and "(forbidden)" in result.stderr


async def test_accounts_are_created_listed_moved_and_deleted(server: RunningServer) -> None:
    admin = {"INBOXKIT_API_KEY": await admin_key(server)}
    await run(server, "plans", "create", "free", "--max-mailboxes", "1", **admin)
    created = await run(server, "accounts", "create", "Acme", "--plan", "free", **admin)
    assert created.code == 0, created.stderr
    account_id = created.stdout.strip()
    assert "on plan free" in created.stderr

    listed = await run(server, "accounts", "list", "--json", **admin)
    assert account_id in [a["id"] for a in json.loads(listed.stdout)]
    shown = await run(server, "accounts", "show", account_id, **admin)
    assert "plan     free" in shown.stdout and "name     Acme" in shown.stdout

    moved = await run(server, "accounts", "set-plan", account_id, "default", "--json", **admin)
    assert moved.code == 0, moved.stderr
    assert json.loads(moved.stdout)["plan"] == "default"

    unknown_plan = await run(server, "accounts", "set-plan", account_id, "gold", **admin)
    assert unknown_plan.code == 1 and "gold" in unknown_plan.stderr

    deleted = await run(server, "accounts", "delete", account_id, **admin)
    assert deleted.code == 0, deleted.stderr
    gone = await run(server, "accounts", "show", account_id, **admin)
    assert gone.code == 1 and "(not_found)" in gone.stderr


async def test_a_quota_refusal_prints_the_servers_message(server: RunningServer) -> None:
    admin = {"INBOXKIT_API_KEY": await admin_key(server)}
    await run(server, "plans", "create", "tiny", "--max-mailboxes", "1", **admin)
    account_id = (await run(server, "accounts", "create", "Tiny", "--plan", "tiny", **admin)).stdout
    key = await server.runtime.auth.create_key(name="tiny", account_id=account_id.strip())
    first = await run(server, "inbox", "create", INBOXKIT_API_KEY=key["token"])
    assert first.code == 0, first.stderr
    second = await run(server, "inbox", "create", INBOXKIT_API_KEY=key["token"])
    assert second.code == 1
    assert "tiny" in second.stderr and "(quota_exceeded)" in second.stderr
