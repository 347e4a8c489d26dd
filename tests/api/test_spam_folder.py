"""Mail hidden as spam over REST (DESIGN §9): a blocked sender's mail to an agent inbox is left
out of the message list and the unread counts, `?spam=true` lists only it, a test inbox lists
the same mail with its `blocked` verdict, and another account's block list never applies."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from inboxkit.config import Settings
from tests.helpers import RunningServer, start_server
from tests.hidden_mail import ALLOWED, BLOCKED, block, listed, quiet, subjects, tenant


@pytest.fixture
async def spam_server(settings: Settings) -> AsyncIterator[RunningServer]:
    async with start_server(quiet(settings)) as running:
        yield running


async def test_blocked_senders_mail_is_left_out_of_an_agent_inboxs_list_and_unread_count(
    spam_server: RunningServer,
):
    server = spam_server
    ada = await tenant(server, "ada-folder")
    await server.send(ada.agent["address"], mail_from=BLOCKED, subject="cheap pills")
    await server.send(ada.agent["address"], mail_from=ALLOWED, subject="lunch?")

    assert subjects(await listed(server, ada.key, ada.agent)) == ["lunch?"]
    # Filters narrow the visible mail only: a search that matches the spam finds nothing.
    assert await listed(server, ada.key, ada.agent, q="pills") == []
    assert await listed(server, ada.key, ada.agent, unread="true", q="pills") == []

    box = (await server.http.get(f"/mailboxes/{ada.agent['id']}", headers=ada.auth())).json()
    assert box["data"]["unread_count"] == 1
    assert box["data"]["message_count"] == 2  # stored all the same: it counts to the quota
    listing = (await server.http.get("/mailboxes", headers=ada.auth())).json()["data"]
    (agent_row,) = [row for row in listing if row["id"] == ada.agent["id"]]
    assert agent_row["unread_count"] == 1


async def test_spam_true_lists_only_the_hidden_mail_with_its_verdict(spam_server: RunningServer):
    server = spam_server
    ada = await tenant(server, "ada-spam")
    await server.send(ada.agent["address"], mail_from=ALLOWED, subject="visible")
    await server.send(ada.agent["address"], mail_from=BLOCKED, subject="hidden one")
    await server.send(ada.agent["address"], mail_from=BLOCKED, subject="hidden two")

    spam = await listed(server, ada.key, ada.agent, spam="true")
    assert subjects(spam) == ["hidden two", "hidden one"]
    assert {m["spam"]["verdict"] for m in spam} == {"blocked"}
    # The spam folder pages and filters like the list.
    first = await server.http.get(
        f"/mailboxes/{ada.agent['id']}/messages",
        params={"spam": "true", "limit": 1},
        headers=ada.auth(),
    )
    cursor = first.json()["meta"]["next_cursor"]
    assert subjects(first.json()["data"]) == ["hidden two"] and cursor
    rest = await listed(server, ada.key, ada.agent, spam="true", cursor=cursor)
    assert subjects(rest) == ["hidden one"]
    assert subjects(await listed(server, ada.key, ada.agent, spam="true", q="two")) == [
        "hidden two"
    ]
    # A hidden message is still read by its id, verdict included.
    full = await server.http.get(
        f"/mailboxes/{ada.agent['id']}/messages/{spam[0]['id']}", headers=ada.auth()
    )
    assert full.status_code == 200
    assert full.json()["data"]["spam"]["verdict"] == "blocked"
    assert subjects(await listed(server, ada.key, ada.agent, spam="false")) == ["visible"]


async def test_a_test_inbox_lists_the_blocked_senders_mail_with_its_verdict(
    spam_server: RunningServer,
):
    server = spam_server
    ada = await tenant(server, "ada-both")
    # One SMTP transaction to both inboxes: one message, one verdict per mailbox.
    await server.send(
        [ada.test["address"], ada.agent["address"]], mail_from=BLOCKED, subject="to both"
    )

    (seen,) = await listed(server, ada.key, ada.test)
    assert seen["subject"] == "to both"
    assert seen["spam"]["verdict"] == "blocked"
    assert await listed(server, ada.key, ada.test, spam="true") == []
    box = (await server.http.get(f"/mailboxes/{ada.test['id']}", headers=ada.auth())).json()
    assert box["data"]["unread_count"] == 1
    assert await listed(server, ada.key, ada.agent) == []
    assert subjects(await listed(server, ada.key, ada.agent, spam="true")) == ["to both"]


async def test_another_accounts_block_list_never_applies(spam_server: RunningServer):
    server = spam_server
    ada = await tenant(server, "ada-own", blocks=False)
    await tenant(server, "eve-blocks")  # Eve blocks BLOCKED on her own account
    await server.send(ada.agent["address"], mail_from=BLOCKED, subject="for ada")

    (seen,) = await listed(server, ada.key, ada.agent)
    assert seen["subject"] == "for ada"
    assert seen["spam"]["verdict"] != "blocked"
    assert await listed(server, ada.key, ada.agent, spam="true") == []


async def test_a_mailbox_block_list_entry_hides_mail_in_that_inbox_only(
    spam_server: RunningServer,
):
    server = spam_server
    ada = await tenant(server, "ada-one", blocks=False)
    other = await server.create_inbox(token=ada.key, mode="agent", handle="ada-other")
    await block(server, ada.key, BLOCKED, mailbox=ada.agent["id"])
    await server.send([ada.agent["address"], other["address"]], mail_from=BLOCKED, subject="x")

    assert await listed(server, ada.key, ada.agent) == []
    assert subjects(await listed(server, ada.key, ada.agent, spam="true")) == ["x"]
    assert subjects(await listed(server, ada.key, other)) == ["x"]


async def test_the_spam_folder_of_another_tenants_inbox_is_not_found(spam_server: RunningServer):
    server = spam_server
    ada = await tenant(server, "ada-private")
    eve = await server.create_key(name="eve")
    await server.send(ada.agent["address"], mail_from=BLOCKED, subject="private")
    for ref in (ada.agent["id"], ada.agent["address"]):
        response = await server.http.get(
            f"/mailboxes/{ref}/messages", params={"spam": "true"}, headers=server.auth(eve)
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


async def test_spam_must_be_a_boolean_and_is_described_in_openapi(spam_server: RunningServer):
    server = spam_server
    ada = await tenant(server, "ada-bad", blocks=False)
    response = await server.http.get(
        f"/mailboxes/{ada.agent['id']}/messages", params={"spam": "maybe"}, headers=ada.auth()
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error" and "spam" in error["message"]

    async with httpx.AsyncClient(base_url=server.base_url) as client:
        document = (await client.get("/openapi.json")).json()
    route = document["paths"]["/api/v1/mailboxes/{mailbox}/messages"]["get"]
    (spam,) = [p for p in route["parameters"] if p["name"] == "spam"]
    assert spam["in"] == "query"
    assert spam["schema"]["type"] == "boolean" and spam["schema"]["default"] is False
    assert "spam" in spam["description"] and "agent" in spam["description"]
