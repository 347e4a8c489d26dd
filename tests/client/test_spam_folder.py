"""The SDK and the CLI and mail hidden as spam (DESIGN §9): `Inbox.messages()` (sync and async)
leaves a blocked sender's mail to an agent inbox out, `spam=True` lists only it, and every
summary carries its `spam` verdict; `inboxkit messages --spam` does the same."""

from __future__ import annotations

import json

import pytest

from inboxkit.client import SpamVerdict
from inboxkit.config import Settings
from tests.cli.test_client_commands import run
from tests.client.conftest import Sdk
from tests.helpers import RunningServer
from tests.hidden_mail import ALLOWED, BLOCKED, quiet, tenant


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return quiet(settings)


async def test_inbox_messages_leaves_spam_out_and_lists_it_with_spam_true(
    server: RunningServer, sdk: Sdk
):
    ada = await tenant(server, f"ada-sdk-{sdk.kind}")
    await server.send(ada.agent["address"], mail_from=BLOCKED, subject="junk")
    await server.send(ada.agent["address"], mail_from=ALLOWED, subject="fine")
    client = sdk.client(ada.key)
    inbox = await sdk.run(client.get_inbox, ada.agent["address"])

    (fine,) = await sdk.run(inbox.messages)
    assert fine.subject == "fine"
    assert isinstance(fine.spam, SpamVerdict) and fine.spam.verdict == "clean"
    assert fine.spam.engine == "builtin"  # scored by the built-in scorer (no rspamd here)
    (junk,) = await sdk.run(inbox.messages, spam=True)
    assert junk.subject == "junk"
    assert isinstance(junk.spam, SpamVerdict) and junk.spam.verdict == "blocked"
    assert junk.spam.reason == "block list"
    page = await sdk.run(client.list_messages, ada.agent["id"], spam=True)
    assert [m.id for m in page] == [junk.id]
    mailbox = await sdk.run(client.get_mailbox, ada.agent["id"])
    assert (mailbox.unread_count, mailbox.message_count) == (1, 2)


async def test_cli_messages_spam_lists_the_hidden_mail_with_its_verdict(server: RunningServer):
    ada = await tenant(server, "ada-cli")
    address = ada.agent["address"]
    await server.send(address, mail_from=BLOCKED, subject="junk")
    await server.send(address, mail_from=ALLOWED, subject="fine")

    inbox = await run(server, "messages", address, INBOXKIT_API_KEY=ada.key)
    assert inbox.code == 0, inbox.stderr
    (line,) = inbox.stdout.splitlines()
    assert "'fine'" in line and "blocked" not in line
    spam = await run(server, "messages", address, "--spam", INBOXKIT_API_KEY=ada.key)
    (line,) = spam.stdout.splitlines()
    assert "'junk'" in line and "(blocked)" in line
    as_json = await run(server, "messages", address, "--spam", "--json", INBOXKIT_API_KEY=ada.key)
    (listed,) = json.loads(as_json.stdout)
    assert listed["subject"] == "junk" and listed["spam"]["verdict"] == "blocked"
