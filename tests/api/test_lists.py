"""Allow and block lists (DESIGN §9): `/lists` per account, and what they decide for the mail
each mailbox receives over real SMTP."""

from __future__ import annotations

from typing import Any

import pytest

from inboxkit.services import lists as list_service
from tests.helpers import RunningServer, make_message


async def _entry(server: RunningServer, key: str, **body: Any) -> dict[str, Any]:
    response = await server.http.post("/lists", json=body, headers=server.auth(key))
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def _messages(server: RunningServer, inbox: dict[str, Any], key: str) -> list[dict]:
    response = await server.http.get(f"/mailboxes/{inbox['id']}/messages", headers=server.auth(key))
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def test_an_entry_is_added_listed_read_and_removed(server: RunningServer):
    key = await server.create_key()
    inbox = await server.create_inbox(key)
    blocked = await _entry(server, key, type="block", entry="Spammer@Example.COM")
    assert blocked["entry"] == "spammer@example.com"
    assert blocked["kind"] == "address" and blocked["mailbox_id"] is None
    allowed = await _entry(
        server, key, type="allow", entry="example.org.", subdomains=True, mailbox=inbox["address"]
    )
    assert allowed["entry"] == "example.org" and allowed["kind"] == "domain"
    assert allowed["subdomains"] is True and allowed["mailbox_id"] == inbox["id"]

    listed = (await server.http.get("/lists", headers=server.auth(key))).json()["data"]
    assert [e["id"] for e in listed] == [allowed["id"], blocked["id"]]
    only_block = await server.http.get("/lists?type=block", headers=server.auth(key))
    assert [e["id"] for e in only_block.json()["data"]] == [blocked["id"]]
    own = await server.http.get(f"/lists?mailbox={inbox['id']}", headers=server.auth(key))
    assert [e["id"] for e in own.json()["data"]] == [allowed["id"]]
    one = await server.http.get(f"/lists/{blocked['id']}", headers=server.auth(key))
    assert one.json()["data"] == blocked

    gone = await server.http.delete(f"/lists/{blocked['id']}", headers=server.auth(key))
    assert gone.status_code == 204
    again = await server.http.delete(f"/lists/{blocked['id']}", headers=server.auth(key))
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"type": "deny", "entry": "a@example.com"}, "type"),
        ({"type": "block", "entry": "not an address"}, "entry"),
        ({"type": "block", "entry": "localhost"}, "entry"),
        ({"type": "block", "entry": "@example.com"}, "entry"),
        ({"type": "block", "entry": "x" * 300 + ".com"}, "entry"),
        ({"type": "block", "entry": "a@example.com", "colour": "red"}, "colour"),
    ],
)
async def test_a_malformed_entry_is_422_naming_what_to_fix(
    server: RunningServer, body: dict[str, Any], says: str
):
    key = await server.create_key()
    response = await server.http.post("/lists", json=body, headers=server.auth(key))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error" and says in error["message"]
    assert (await server.http.get("/lists", headers=server.auth(key))).json()["data"] == []


async def test_a_malformed_entry_is_described_not_quoted_as_a_pattern(server: RunningServer):
    key = await server.create_key()
    response = await server.http.post(
        "/lists", json={"type": "block", "entry": "not an address"}, headers=server.auth(key)
    )
    assert response.status_code == 422
    assert response.json()["error"]["message"] == (
        "entry: must be an email address (alice@example.com) or a domain (example.com)"
    )
    # The published schema still carries the pattern the server holds entries to.
    schema = (await server.http.get(f"{server.base_url}/openapi.json")).json()
    schema = schema["components"]["schemas"]
    assert schema["ListEntryCreate"]["properties"]["entry"]["pattern"].startswith("^(")


async def test_the_same_entry_twice_is_409_naming_the_first(server: RunningServer):
    key = await server.create_key()
    first = await _entry(server, key, type="block", entry="spam.example")
    response = await server.http.post(
        "/lists", json={"type": "block", "entry": "SPAM.example"}, headers=server.auth(key)
    )
    assert response.status_code == 409
    assert first["id"] in response.json()["error"]["message"]
    # The same value on the other list, or for one mailbox, is a different entry.
    await _entry(server, key, type="allow", entry="spam.example")


async def test_an_account_holds_a_bounded_number_of_entries(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(list_service, "MAX_ENTRIES", 2)
    key = await server.create_key()
    await _entry(server, key, type="block", entry="one.example")
    await _entry(server, key, type="block", entry="two.example")
    response = await server.http.post(
        "/lists", json={"type": "block", "entry": "three.example"}, headers=server.auth(key)
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "quota_exceeded" and "DELETE /api/v1/lists" in error["message"]


async def test_lists_belong_to_an_account_and_need_its_scopes(server: RunningServer):
    key = await server.create_key()
    other = await server.create_key("other")
    inbox = await server.create_inbox(key)
    entry = await _entry(server, key, type="block", entry="a@example.com")
    # Another tenant sees nothing, and cannot read, remove or scope an entry to our mailbox.
    assert (await server.http.get("/lists", headers=server.auth(other))).json()["data"] == []
    for method in ("GET", "DELETE"):
        response = await server.http.request(
            method, f"/lists/{entry['id']}", headers=server.auth(other)
        )
        assert response.status_code == 404
    scoped = await server.http.post(
        "/lists",
        json={"type": "allow", "entry": "b@example.com", "mailbox": inbox["id"]},
        headers=server.auth(other),
    )
    assert scoped.status_code == 404
    # A mailbox token is not an account's key; a read-only key cannot write.
    by_token = await server.http.get("/lists", headers=server.auth(inbox["token"]))
    assert by_token.status_code == 403
    assert (await server.http.get("/lists")).status_code == 401
    reader = await server.create_key("reader", scopes=["mailboxes:read"])
    refused = await server.http.post(
        "/lists", json={"type": "block", "entry": "c@example.com"}, headers=server.auth(reader)
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"


async def test_a_blocked_sender_is_stored_with_verdict_blocked(server: RunningServer):
    key = await server.create_key()
    inbox = await server.create_inbox(key)
    await _entry(server, key, type="block", entry="bulk.example", subdomains=True)
    # Blocked on the header From alone (the envelope sender is clean), through a subdomain.
    await server.send(
        inbox["address"],
        make_message(inbox["address"], "deal", "buy", "offers@news.bulk.example"),
        mail_from="bounces@relay.example",
    )
    await server.send(inbox["address"], subject="from a friend")
    listed = {m["subject"]: m for m in await _messages(server, inbox, key)}
    # A test mailbox hides nothing: the verdict is shown, the message listed.
    assert listed["deal"]["spam"]["verdict"] == "blocked"
    assert listed["deal"]["spam"]["reason"] == "block list"
    assert listed["from a friend"]["spam"]["verdict"] == "clean"


async def test_a_mailbox_entry_beats_the_accounts_and_other_accounts_lists_never_apply(
    server: RunningServer,
):
    key = await server.create_key()
    other = await server.create_key("other")
    trusting = await server.create_inbox(key)
    plain = await server.create_inbox(key)
    elsewhere = await server.create_inbox(other)
    await _entry(server, key, type="block", entry="example.com")
    await _entry(server, key, type="allow", entry="sender@example.com", mailbox=trusting["id"])
    await server.send([trusting["address"], plain["address"], elsewhere["address"]])

    (kept,) = await _messages(server, trusting, key)
    (blocked,) = await _messages(server, plain, key)
    (untouched,) = await _messages(server, elsewhere, other)
    assert kept["spam"]["verdict"] == "clean"
    assert blocked["spam"]["verdict"] == "blocked"
    assert untouched["spam"]["verdict"] == "clean"


async def test_removing_an_entry_applies_to_mail_received_afterwards(server: RunningServer):
    key = await server.create_key()
    inbox = await server.create_inbox(key)
    entry = await _entry(server, key, type="block", entry="sender@example.com")
    await server.send(inbox["address"], subject="before")
    await server.http.delete(f"/lists/{entry['id']}", headers=server.auth(key))
    await server.send(inbox["address"], subject="after")
    verdicts = {m["subject"]: m["spam"]["verdict"] for m in await _messages(server, inbox, key)}
    assert verdicts == {"before": "blocked", "after": "clean"}
