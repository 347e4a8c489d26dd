"""`inboxkit capture` and the `--capture` option of `wait` and `messages`, as subprocesses
against a real server."""

from __future__ import annotations

import asyncio
import json

from tests.capturing import capture_key, capture_mail
from tests.cli.test_client_commands import run
from tests.helpers import RunningServer


async def test_capture_prints_the_mailbox_and_the_smtp_settings_for_an_application(
    server: RunningServer,
) -> None:
    key = await capture_key(server)
    result = await run(server, "capture", "--smtp-port", "2600", INBOXKIT_API_KEY=key)
    assert result.code == 0, result.stderr
    box = (await server.http.get("/capture", headers=server.auth(key))).json()["data"]
    lines = [line.split() for line in result.stdout.splitlines() if line.strip()]
    assert ["address", box["address"]] in lines
    assert ["id", box["id"]] in lines
    assert ["host", "127.0.0.1"] in lines  # the host of INBOXKIT_URL
    assert ["port", "2600"] in lines
    assert ["username", "anything"] in lines
    assert "password  an API key with the capture scope" in result.stdout
    assert key not in result.stdout  # the secret is the caller's to paste, not printed


async def test_capture_json_carries_the_smtp_settings(server: RunningServer) -> None:
    key = await capture_key(server)
    result = await run(
        server, "capture", "--json", INBOXKIT_API_KEY=key, INBOXKIT_SMTP_HOST="mail.test"
    )
    data = json.loads(result.stdout)
    assert data["mode"] == "capture"
    assert data["smtp"]["host"] == "mail.test"
    assert data["smtp"]["port"] == 2525


async def test_wait_capture_to_prints_the_code_sent_to_that_address(
    server: RunningServer,
) -> None:
    key = await capture_key(server)
    waiting = asyncio.ensure_future(
        run(
            server,
            *("wait", "--capture", "--to", "alice@example.com", "--code", "--timeout", "20"),
            INBOXKIT_API_KEY=key,
        )
    )
    await capture_mail(server, key, "bob@example.com", "Your code", "Bob, your code is 731904")
    await capture_mail(server, key, "alice@example.com", "Your code", "Alice, your code is 285017")
    result = await waiting
    assert (result.code, result.stdout) == (0, "285017\n"), result.stderr


async def test_messages_capture_to_lists_only_mail_to_that_address(
    server: RunningServer,
) -> None:
    key = await capture_key(server)
    await capture_mail(server, key, "bob@example.com", "For Bob", "hello Bob")
    await capture_mail(server, key, "alice@example.com", "For Alice", "hello Alice")
    result = await run(
        server, "messages", "--capture", "--to", "alice@", "--json", INBOXKIT_API_KEY=key
    )
    assert result.code == 0, result.stderr
    assert [m["subject"] for m in json.loads(result.stdout)] == ["For Alice"]


async def test_wait_takes_a_mailbox_or_capture_not_both_nor_neither(
    server: RunningServer,
) -> None:
    key = await capture_key(server)
    neither = await run(server, "wait", "--code", INBOXKIT_API_KEY=key)
    both = await run(server, "wait", "x@inboxkit.localhost", "--capture", INBOXKIT_API_KEY=key)
    assert (neither.code, both.code) == (2, 2)
    assert "--capture" in neither.stderr and "not both" in both.stderr


async def test_capture_with_a_mailbox_token_says_to_use_an_api_key(
    server: RunningServer,
) -> None:
    created = await server.create_inbox()
    result = await run(server, "capture", "--token", created["token"])
    assert result.code == 1
    assert "API key" in result.stderr
