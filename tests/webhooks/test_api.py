"""Webhook endpoints over the REST API: create, list, get, delete; scopes and tenants."""

from __future__ import annotations

from tests.helpers import RunningServer
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import register


async def test_secret_is_shown_once_and_never_listed(hooks: RunningServer, receiver: Receiver):
    key = await hooks.create_key("tenant")
    created = await register(hooks, key, receiver.url(), description="CI hook")
    assert created["events"] == [
        "message.received",
        "message.sent",
        "message.failed",
        "mailbox.expired",
        "mailbox.deleted",
        "domain.unverified",
        "draft.created",
        "draft.updated",
        "draft.approved",
        "draft.sent",
    ]
    assert created["enabled"] is True and created["mailbox_id"] is None
    listed = await hooks.http.get("/webhooks", headers=hooks.auth(key))
    fetched = await hooks.http.get(f"/webhooks/{created['id']}", headers=hooks.auth(key))
    assert [w["id"] for w in listed.json()["data"]] == [created["id"]]
    assert listed.json()["meta"] == {"next_cursor": None}
    assert "secret" not in listed.json()["data"][0]
    assert "secret" not in fetched.json()["data"]
    assert created["secret"] not in listed.text + fetched.text


async def test_delete_removes_the_endpoint_and_its_log(hooks: RunningServer, receiver: Receiver):
    key = await hooks.create_key("tenant")
    hook = await register(hooks, key, receiver.url())
    await hooks.http.post(f"/webhooks/{hook['id']}/test", headers=hooks.auth(key))
    deleted = await hooks.http.delete(f"/webhooks/{hook['id']}", headers=hooks.auth(key))
    assert deleted.status_code == 204
    for path in (f"/webhooks/{hook['id']}", f"/webhooks/{hook['id']}/deliveries"):
        assert (await hooks.http.get(path, headers=hooks.auth(key))).status_code == 404


async def test_another_accounts_webhooks_are_404_everywhere(
    hooks: RunningServer, receiver: Receiver
):
    owner, stranger = await hooks.create_key("owner"), await hooks.create_key("stranger")
    hook = await register(hooks, owner, receiver.url())
    headers = hooks.auth(stranger)
    for method, path in [
        ("GET", f"/webhooks/{hook['id']}"),
        ("DELETE", f"/webhooks/{hook['id']}"),
        ("GET", f"/webhooks/{hook['id']}/deliveries"),
        ("POST", f"/webhooks/{hook['id']}/test"),
    ]:
        response = await hooks.http.request(method, path, headers=headers)
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == "not_found"
    assert (await hooks.http.get("/webhooks", headers=headers)).json()["data"] == []
    assert receiver.hits == []


async def test_filtering_on_another_tenants_mailbox_is_404(
    hooks: RunningServer, receiver: Receiver
):
    owner, stranger = await hooks.create_key("owner"), await hooks.create_key("stranger")
    theirs = await hooks.create_inbox(token=owner)
    response = await hooks.http.post(
        "/webhooks",
        headers=hooks.auth(stranger),
        json={"url": receiver.url(), "mailbox": theirs["address"]},
    )
    assert response.status_code == 404


async def test_webhooks_need_an_api_key_with_the_webhooks_scope(
    hooks: RunningServer, receiver: Receiver
):
    limited = await hooks.create_key("limited", ["mailboxes:read", "messages:read"])
    inbox = await hooks.create_inbox()
    body = {"url": receiver.url()}
    no_scope = await hooks.http.post("/webhooks", headers=hooks.auth(limited), json=body)
    mailbox_token = await hooks.http.post(
        "/webhooks", headers=hooks.auth(inbox["token"]), json=body
    )
    anonymous = await hooks.http.post("/webhooks", json=body)
    assert no_scope.status_code == mailbox_token.status_code == 403
    assert anonymous.status_code == 401


async def test_unknown_events_and_non_http_urls_are_422(hooks: RunningServer, receiver: Receiver):
    key = await hooks.create_key("tenant")
    for body in (
        {"url": receiver.url(), "events": ["message.exploded"]},
        {"url": receiver.url(), "events": []},
        {"url": "ftp://example.com/hook"},
        {"url": "file:///etc/passwd"},
        {"url": "http://user:pw@example.com/hook"},
        {"url": "not a url"},
    ):
        response = await hooks.http.post("/webhooks", headers=hooks.auth(key), json=body)
        assert response.status_code == 422, body
        assert response.json()["error"]["code"] == "validation_error"
