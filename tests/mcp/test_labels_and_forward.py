"""MCP `label_messages`, `list_messages(label=…)` and `forward` through the official MCP
client at /mcp, and the two backends (in-process services, REST through the SDK) answering a
batch alike."""

from __future__ import annotations

from inboxkit.mcp.backends import RestBackend, ServiceBackend
from inboxkit.services.messages import MessageChange, MessageFilter
from tests.helpers import RunningServer
from tests.mcp.conftest import call, call_error, http_client


async def _account_inbox(server: RunningServer, name: str) -> tuple[str, dict[str, str]]:
    key = await server.create_key(name)
    inbox = await server.create_inbox(key)
    return inbox["address"], server.auth(key)


async def test_label_messages_labels_at_once_and_list_messages_finds_them(server: RunningServer):
    address, headers = await _account_inbox(server, "mcp-labels")
    for subject in ("first", "second", "third"):
        await server.send(address, subject=subject)
    async with http_client(f"{server.base_url}/mcp", headers) as client:
        listed = await call(client, "list_messages", inbox=address)
        ids = [m["id"] for m in listed["messages"]]
        labelled = await call(
            client, "label_messages", inbox=address, message_ids=ids[:2], add=["Done"], is_read=True
        )
        done = await call(client, "list_messages", inbox=address, label="done")
        searched = await call(client, "search_messages", query="label:done", inbox=address)
        refused = await call_error(
            client, "label_messages", inbox=address, message_ids=[ids[2]], add=["sent"]
        )
        missing = await call_error(
            client,
            "label_messages",
            inbox=address,
            message_ids=[ids[2], "01AAAAAAAAAAAAAAAAAAAAAAAA"],
            add=["x"],
        )
        after = await call(client, "list_messages", inbox=address)

    assert labelled["updated"] == 2
    assert [m["labels"] for m in labelled["messages"]] == [["done"], ["done"]]
    assert [m["subject"] for m in done["messages"]] == ["third", "second"]
    assert len(searched["messages"]) == 2
    assert "system label" in refused
    assert "nothing was changed" in missing
    assert [m["labels"] for m in after["messages"]] == [["done"], ["done"], []]


async def test_forward_tool_forwards_to_another_inbox(server: RunningServer):
    address, headers = await _account_inbox(server, "mcp-forward")
    other, other_headers = await _account_inbox(server, "mcp-forward-to")
    await server.send(address, subject="Report", body="The numbers are in.")
    async with http_client(f"{server.base_url}/mcp", headers) as client:
        (message,) = (await call(client, "list_messages", inbox=address))["messages"]
        sent = await call(
            client, "forward", inbox=address, message_id=message["id"], to=[other], text="FYI"
        )
    assert sent["sent"] is True and sent["message"]["subject"] == "Fwd: Report"
    assert sent["message"]["labels"] == ["sent"]
    async with http_client(f"{server.base_url}/mcp", other_headers) as client:
        waited = await call(client, "wait_for_message", inbox=other, timeout_seconds=20)
        read = await call(client, "read_message", inbox=other, message_id=waited["message"]["id"])
    assert waited["message"]["subject"] == "Fwd: Report"
    assert "The numbers are in." in str(read) and "FYI" in str(read)


async def test_both_backends_change_labels_alike(server: RunningServer):
    key = await server.create_key("backends")
    inbox = await server.create_inbox(key)
    await server.send(inbox["address"], subject="one")
    service = ServiceBackend(server.runtime, await server.runtime.auth.authenticate(key))
    (listed,), _ = await service.list_messages(
        inbox["address"], MessageFilter(), limit=10, cursor=None
    )
    async with RestBackend(server.base_url, key) as rest:
        added = await rest.update_messages(
            inbox["address"], [listed["id"]], MessageChange(add_labels=["a", "b"])
        )
        removed = await service.update_messages(
            inbox["address"], [listed["id"]], MessageChange(remove_labels=["a"])
        )
        by_label = await rest.list_messages(
            inbox["address"], MessageFilter(label="B"), limit=10, cursor=None
        )
    assert added["messages"][0]["labels"] == ["a", "b"]
    assert removed["messages"][0]["labels"] == ["b"]
    assert [m["id"] for m in by_label[0]] == [listed["id"]]
