"""Faults through the SDK (sync and async) and the `inboxkit faults` command."""

from __future__ import annotations

import json

import pytest

from inboxkit.client import Fault, NotFound
from tests.cli.test_client_commands import run
from tests.client.conftest import Sdk
from tests.helpers import RunningServer


async def test_sdk_round_trip(server: RunningServer, sdk: Sdk):
    key = await server.create_key("shop")
    inbox = await server.create_inbox(key)
    client = sdk.client(key)

    fault = await sdk.run(
        client.create_fault, "rcpt", 451, count=2, mailbox=inbox["address"], message="Busy"
    )
    assert isinstance(fault, Fault)
    assert (fault.stage, fault.code, fault.reply, fault.remaining) == (
        "rcpt",
        451,
        "451 4.3.0 Busy",
        2,
    )
    assert fault.mailbox_id == inbox["id"]

    listed = await sdk.run(client.list_faults)
    assert [f.id for f in listed] == [fault.id]
    assert (await sdk.run(client.get_fault, fault.id)).fired == 0
    await sdk.run(client.delete_fault, fault.id)
    with pytest.raises(NotFound):
        await sdk.run(client.get_fault, fault.id)


async def test_cli_round_trip(server: RunningServer):
    env = {"INBOXKIT_API_KEY": await server.create_key("shop")}
    inbox = await server.create_inbox(env["INBOXKIT_API_KEY"])

    added = await run(
        server, "faults", "add", "rcpt", "451", "--count", "1", "--mailbox", inbox["address"],
        **env,
    )  # fmt: skip
    assert added.code == 0, added.stderr
    fault_id = added.stdout.strip()
    assert "451 4.3.0 Local error in processing, try again later" in added.stderr

    with pytest.raises(Exception, match="451"):
        await server.send(inbox["address"])

    shown = await run(server, "faults", "show", fault_id, "--json", **env)
    assert json.loads(shown.stdout)["fired"] == 1
    assert json.loads(shown.stdout)["exhausted"] is True
    table = await run(server, "faults", "list", **env)
    assert table.code == 0, table.stderr
    header, row = table.stdout.splitlines()
    assert header.split()[:5] == ["id", "stage", "fired", "left", "mailbox"]
    assert row.split()[:5] == [fault_id, "rcpt", "1", "0", inbox["id"]]

    deleted = await run(server, "faults", "delete", fault_id, **env)
    assert deleted.code == 0 and f"deleted fault {fault_id}" in deleted.stderr
    missing = await run(server, "faults", "show", fault_id, **env)
    assert missing.code == 1 and "No such fault" in missing.stderr


async def test_cli_refuses_an_unknown_stage_before_calling_the_server(server: RunningServer):
    result = await run(server, "faults", "add", "helo", "451", INBOXKIT_API_KEY="ik_unused")
    assert result.code == 2 and "helo" in result.stderr
