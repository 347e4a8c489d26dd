"""`inboxkit label`, `inboxkit messages --label` and `inboxkit forward`, run as real
subprocesses against a real server."""

from __future__ import annotations

import json

from tests.cli.test_client_commands import create_inbox, run
from tests.helpers import RunningServer


async def test_label_then_list_by_label_and_forward_from_the_command_line(
    server: RunningServer,
) -> None:
    key = await server.create_key()
    alice, alice_token = await create_inbox(server, "--api-key", key)
    bob, bob_token = await create_inbox(server, "--api-key", key)
    for subject in ("Quarterly", "Lunch"):
        await server.send(alice, subject=subject, body=f"About {subject.lower()}.")
    listed = json.loads(
        (await run(server, "messages", alice, "--json", "--token", alice_token)).stdout
    )
    lunch, quarterly = listed[0]["id"], listed[1]["id"]

    labelled = await run(
        server, "label", alice, quarterly, "--add", "Finance", "--add", "q3", "--token", alice_token
    )
    assert labelled.code == 0, labelled.stderr
    assert "#finance #q3" in labelled.stdout
    removed = await run(
        server,
        "label",
        alice,
        quarterly,
        lunch,
        "--remove",
        "q3",
        "--read",
        "--json",
        "--token",
        alice_token,
    )
    assert removed.code == 0, removed.stderr
    assert json.loads(removed.stdout)["updated"] == 2

    by_label = await run(server, "messages", alice, "--label", "FINANCE", "--token", alice_token)
    assert by_label.code == 0, by_label.stderr
    assert "Quarterly" in by_label.stdout and "Lunch" not in by_label.stdout

    refused = await run(server, "label", alice, lunch, "--add", "spam", "--token", alice_token)
    assert refused.code == 1 and "system label" in refused.stderr

    forwarded = await run(
        server,
        "forward",
        alice,
        quarterly,
        "--to",
        bob,
        "--text",
        "For you.",
        "--token",
        alice_token,
    )
    assert forwarded.code == 0, forwarded.stderr
    received = await run(server, "wait", bob, "--json", "--timeout", "20", "--token", bob_token)
    message = json.loads(received.stdout)
    assert message["subject"] == "Fwd: Quarterly"
    assert "For you." in message["text"] and "About quarterly." in message["text"]
