"""MCP and mail hidden as spam (DESIGN §9): `list_messages` leaves a blocked sender's mail to
an agent inbox out unless `spam` is true, and the wait tools never return it; both backends
(in-process services and the REST API through the SDK) answer alike."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from inboxkit.config import Settings
from inboxkit.mcp.backends import RestBackend, ServiceBackend
from inboxkit.services.messages import MessageFilter
from tests.helpers import RunningServer, start_server
from tests.hidden_mail import ALLOWED, BLOCKED, quiet, tenant
from tests.mcp.conftest import call, http_client


@pytest.fixture
async def spam_server(settings: Settings) -> AsyncIterator[RunningServer]:
    async with start_server(quiet(settings)) as running:
        yield running


async def test_list_messages_leaves_spam_out_unless_asked_and_waits_skip_it(
    spam_server: RunningServer,
):
    server = spam_server
    ada = await tenant(server, "ada-mcp")
    address = ada.agent["address"]
    await server.send(address, mail_from=BLOCKED, subject="Your code is 111111", body="111111")
    await server.send(address, mail_from=ALLOWED, subject="hello", body="no code here")
    async with http_client(f"{server.base_url}/mcp", ada.auth()) as client:
        inbox = await call(client, "list_messages", inbox=address)
        spam = await call(client, "list_messages", inbox=address, spam=True)
        coded = await call(client, "wait_for_code", inbox=address, timeout_seconds=0)
        waited = await call(client, "wait_for_message", inbox=address, timeout_seconds=5)
        boxes = await call(client, "list_inboxes")

    assert [m["subject"] for m in inbox["messages"]] == ["hello"]
    assert "spam" not in inbox["messages"][0]  # a clean verdict says nothing
    (junk,) = spam["messages"]
    assert junk["subject"] == "Your code is 111111"
    assert junk["spam"] == {"verdict": "blocked", "reason": "block list"}
    assert coded["timed_out"] is True  # the only code is in the hidden message
    assert waited["message"]["subject"] == "hello"
    (agent,) = [box for box in boxes["inboxes"] if box["address"] == address]
    assert agent["unread_count"] == 0  # "hello" was claimed by the wait; the spam never counts


async def test_both_backends_list_the_spam_folder_alike(spam_server: RunningServer):
    server = spam_server
    ada = await tenant(server, "ada-backends")
    address = ada.agent["address"]
    await server.send(address, mail_from=BLOCKED, subject="junk")
    await server.send(address, mail_from=ALLOWED, subject="fine")
    service = ServiceBackend(server.runtime, await server.runtime.auth.authenticate(ada.key))
    async with RestBackend(server.base_url, ada.key) as rest:
        for spam, expected in ((False, ["fine"]), (True, ["junk"])):
            flt = MessageFilter(spam=spam)
            listed = await rest.list_messages(address, flt, limit=10, cursor=None)
            assert listed == await service.list_messages(address, flt, limit=10, cursor=None)
            assert [m["subject"] for m in listed[0]] == expected
