"""Labels and forwarding through the SDK (sync and async), against a real server."""

from __future__ import annotations

from inboxkit.client import BadRequest, NotFound
from tests.client.conftest import Sdk
from tests.helpers import RunningServer


async def test_label_list_by_label_and_batch_through_the_sdk(
    sdk: Sdk, server: RunningServer
) -> None:
    client = sdk.client(await server.create_key())
    inbox = await sdk.run(client.create_inbox)
    for subject in ("one", "two", "three"):
        await server.send(inbox.address, subject=subject)
    three, two, one = await sdk.run(inbox.messages)

    labelled = await sdk.run(one.label, ["Work", "later"])
    assert labelled.labels == ["later", "work"]
    again = await sdk.run(client.label, inbox.address, one.id, remove="LATER")
    assert again.labels == ["work"]

    batch = await sdk.run(inbox.label, [two.id, three.id], "work", is_read=True)
    assert batch.updated == 2 and batch.ids == [two.id, three.id]
    assert all(m.labels == ["work"] and m.is_read for m in batch.messages)
    assert [m.subject for m in await sdk.run(inbox.messages, label="work")] == [
        "three",
        "two",
        "one",
    ]
    page = await sdk.run(client.list_messages, inbox.address, label="WORK", limit=1)
    assert [m.subject for m in page] == ["three"]

    try:
        await sdk.run(
            client.update_messages, inbox.address, [one.id, "01" + "A" * 24], is_read=True
        )
    except NotFound as exc:
        assert "nothing was changed" in str(exc)
    else:
        raise AssertionError("a batch naming a missing message must fail")
    unchanged = await sdk.run(client.get_message, inbox.address, one.id, mark_read=False)
    assert unchanged.is_read is False and unchanged.labels == ["work"]
    try:
        await sdk.run(one.label, "sent")
    except BadRequest as exc:
        assert "system label" in str(exc)
    else:
        raise AssertionError("adding a system label must fail")


async def test_forward_through_the_sdk(sdk: Sdk, server: RunningServer) -> None:
    client = sdk.client(await server.create_key())
    alice = await sdk.run(client.create_inbox)
    bob = await sdk.run(client.create_inbox)
    await server.send(alice.address, subject="Heads up", body="The deploy is at noon.")
    (original,) = await sdk.run(alice.messages)

    sent = await sdk.run(original.forward, bob.address, "FYI")
    assert sent.subject == "Fwd: Heads up" and sent.labels == ["sent"]
    received = await sdk.run(bob.wait_for_message, subject="Fwd: Heads up", timeout=15)
    assert "FYI" in (received.text or "") and "The deploy is at noon." in (received.text or "")
    direct = await sdk.run(client.forward, alice.address, original.id, to=[bob.address])
    assert direct.subject == "Fwd: Heads up"
