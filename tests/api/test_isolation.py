"""Tenant isolation on every mailbox and message route.

Another tenant's API key and another mailbox's token get 404 `not_found` (never data, never a
hint that the resource exists); an API key lacking the route's scope gets 403 `forbidden`; no
token gets 401 `unauthorized`. Each route is also called successfully by its owner, so a 404
here means "not yours", not "wrong path".
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.helpers import RunningServer, make_message

SECRET_SUBJECT = "tenant-a-secret-subject"


@dataclass
class Route:
    method: str
    path: str  # placeholders: {mailbox}, {message}, {attachment}
    scope: str
    body: dict[str, Any] | None = None
    query: dict[str, str] | None = None
    owner_status: int = 200
    destructive: bool = False  # called by the owner last, once everything else has run

    def url(self, mailbox: str, message: str, attachment: str) -> str:
        return self.path.format(mailbox=mailbox, message=message, attachment=attachment)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ROUTES = [
    Route("GET", "/mailboxes/{mailbox}", "mailboxes:read"),
    Route("PATCH", "/mailboxes/{mailbox}", "mailboxes:write", body={"name": "renamed"}),
    Route("GET", "/mailboxes/{mailbox}/messages", "messages:read"),
    Route("GET", "/mailboxes/{mailbox}/messages/{message}", "messages:read"),
    Route("GET", "/mailboxes/{mailbox}/messages/{message}/raw", "messages:read"),
    Route(
        "GET", "/mailboxes/{mailbox}/messages/{message}/attachments/{attachment}", "messages:read"
    ),
    Route(
        "PATCH", "/mailboxes/{mailbox}/messages/{message}", "messages:write", body={"is_read": True}
    ),
    Route(
        "PATCH",
        "/mailboxes/{mailbox}/messages/{message}",
        "messages:write",
        body={"add_labels": ["stolen"]},
    ),
    Route(
        "POST",
        "/mailboxes/{mailbox}/messages/batch",
        "messages:write",
        body={"ids": ["{message}"], "add_labels": ["stolen"], "is_read": True},
    ),
    Route(
        "GET",
        "/mailboxes/{mailbox}/wait",
        "messages:read",
        query={"timeout": "0", "mark_read": "false"},
    ),
    Route("GET", "/mailboxes/{mailbox}/events", "messages:read", owner_status=-1),
    Route(
        "DELETE",
        "/mailboxes/{mailbox}/messages/{message}",
        "messages:write",
        owner_status=204,
        destructive=True,
    ),
    Route("DELETE", "/mailboxes/{mailbox}", "mailboxes:write", owner_status=204, destructive=True),
]
ALL_SCOPES = ["mailboxes:read", "mailboxes:write", "messages:read", "messages:write", "send"]


@dataclass
class World:
    owner_key: str
    owner_mailbox: dict[str, Any]  # created with the owner's key (has its own mailbox token)
    message_id: str
    attachment_id: str
    other_key: str
    other_mailbox: dict[str, Any]  # another tenant's mailbox, with its token


def _message_with_attachment(to: str) -> EmailMessage:
    message = make_message(to, SECRET_SUBJECT, "secret body")
    message.add_attachment(
        b"secret bytes", maintype="application", subtype="octet-stream", filename="secret.bin"
    )
    return message


@pytest.fixture
async def world(server: RunningServer) -> World:
    owner_key = await server.create_key("owner", ALL_SCOPES)
    other_key = await server.create_key("other", ALL_SCOPES)
    owner_mailbox = await server.create_inbox(owner_key)
    other_mailbox = await server.create_inbox(other_key)
    await server.send(owner_mailbox["address"], _message_with_attachment(owner_mailbox["address"]))
    listing = await server.http.get(
        f"/mailboxes/{owner_mailbox['id']}/messages", headers=server.auth(owner_key)
    )
    (summary,) = listing.json()["data"]
    full = await server.http.get(
        f"/mailboxes/{owner_mailbox['id']}/messages/{summary['id']}",
        params={"mark_read": "false"},
        headers=server.auth(owner_key),
    )
    (attachment,) = full.json()["data"]["attachments"]
    return World(
        owner_key, owner_mailbox, summary["id"], attachment["id"], other_key, other_mailbox
    )


async def _call(
    server: RunningServer, route: Route, ref: str, world: World, token: str | None
) -> httpx.Response:
    url = route.url(quote(ref, safe=""), world.message_id, world.attachment_id)
    headers = server.auth(token) if token else {}
    if route.path.endswith("/events"):
        # A stream: read only the status and headers, never wait for events.
        async with server.http.stream("GET", url, headers=headers) as response:
            if response.status_code == 200:
                return response
            await response.aread()
            return response
    body = route.body
    if body is not None and "ids" in body:  # the batch names the message in its body
        body = {**body, "ids": [world.message_id]}
    return await server.http.request(
        route.method, url, headers=headers, json=body, params=route.query
    )


def _assert_error(response: httpx.Response, status: int, code: str, route: Route) -> None:
    assert response.status_code == status, f"{route}: {response.status_code} {response.text}"
    assert response.json() == {
        "error": {"code": code, "message": response.json()["error"]["message"]}
    }
    assert SECRET_SUBJECT not in response.text and "secret" not in response.text


async def _assert_untouched(server: RunningServer, world: World) -> None:
    """The owner's mailbox, message and attachment are exactly as the fixture left them: the
    refused writes (rename, mark read, deletes) had no effect."""
    headers = server.auth(world.owner_key)
    base = f"/mailboxes/{world.owner_mailbox['id']}"
    mailbox = await server.http.get(base, headers=headers)
    assert mailbox.status_code == 200, mailbox.text
    assert mailbox.json()["data"]["name"] == world.owner_mailbox["name"] != "renamed"
    listing = await server.http.get(f"{base}/messages", headers=headers)
    assert [(m["id"], m["is_read"], m["labels"]) for m in listing.json()["data"]] == [
        (world.message_id, False, [])
    ]
    part = await server.http.get(
        f"{base}/messages/{world.message_id}/attachments/{world.attachment_id}", headers=headers
    )
    assert part.status_code == 200 and part.content == b"secret bytes"


def _refs(world: World) -> list[str]:
    return [world.owner_mailbox["id"], world.owner_mailbox["address"]]


async def test_another_tenants_api_key_gets_404_on_every_route(server: RunningServer, world: World):
    for route in ROUTES:
        for ref in _refs(world):
            response = await _call(server, route, ref, world, world.other_key)
            _assert_error(response, 404, "not_found", route)
    await _assert_untouched(server, world)


async def test_another_mailboxs_token_gets_404_on_every_route(server: RunningServer, world: World):
    for route in ROUTES:
        for ref in _refs(world):
            response = await _call(server, route, ref, world, world.other_mailbox["token"])
            _assert_error(response, 404, "not_found", route)
    await _assert_untouched(server, world)


async def test_a_message_id_is_not_reachable_through_another_mailbox(
    server: RunningServer, world: World
):
    own_ref = world.other_mailbox["id"]
    for route in ROUTES:
        if "{message}" not in route.path:
            continue
        response = await _call(server, route, own_ref, world, world.other_mailbox["token"])
        _assert_error(response, 404, "not_found", route)
    await _assert_untouched(server, world)


async def test_no_token_gets_401_on_every_route(server: RunningServer, world: World):
    for route in ROUTES:
        response = await _call(server, route, world.owner_mailbox["id"], world, None)
        _assert_error(response, 401, "unauthorized", route)
    await _assert_untouched(server, world)


async def test_an_invalid_token_gets_401(server: RunningServer, world: World):
    for token in ("ik_not-a-real-key", "ikm_not-a-real-token", "garbage"):
        response = await _call(server, ROUTES[0], world.owner_mailbox["id"], world, token)
        _assert_error(response, 401, "unauthorized", ROUTES[0])


async def test_an_api_key_without_the_routes_scope_gets_403(server: RunningServer, world: World):
    for route in ROUTES:
        others = [scope for scope in ALL_SCOPES if scope != route.scope]
        # The same account, so only the scope is missing.
        owner_account = (await server.runtime.auth.authenticate(world.owner_key)).account_id
        key = await server.runtime.auth.create_key(
            name="narrow", scopes=others, account_id=owner_account
        )
        response = await _call(server, route, world.owner_mailbox["id"], world, key["token"])
        _assert_error(response, 403, "forbidden", route)
        assert route.scope in response.json()["error"]["message"]
    await _assert_untouched(server, world)


async def test_the_owner_reaches_every_route_with_its_key_and_its_mailbox_token(
    server: RunningServer, world: World
):
    ordered = [r for r in ROUTES if not r.destructive] + [r for r in ROUTES if r.destructive]
    for route in ordered:
        for token in (world.owner_key, world.owner_mailbox["token"]):
            if route.destructive and token == world.owner_mailbox["token"]:
                continue
            response = await _call(server, route, world.owner_mailbox["address"], world, token)
            expected = 200 if route.owner_status == -1 else route.owner_status
            assert response.status_code == expected, f"{route}: {response.text}"


async def test_mailbox_listing_shows_only_the_callers_own_mailboxes(
    server: RunningServer, world: World
):
    for token, mine in (
        (world.other_key, world.other_mailbox),
        (world.other_mailbox["token"], world.other_mailbox),
        (world.owner_mailbox["token"], world.owner_mailbox),
    ):
        listing = await server.http.get("/mailboxes", headers=server.auth(token))
        assert [m["id"] for m in listing.json()["data"]] == [mine["id"]]


async def test_websocket_refuses_another_tenants_credentials_and_accepts_the_owner(
    server: RunningServer, world: World
):
    address = quote(world.owner_mailbox["address"], safe="")
    url = f"ws://127.0.0.1:{server.http_port}/ws/inbox/{address}"
    for token in (world.other_key, world.other_mailbox["token"], None):
        headers = server.auth(token) if token else {}
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url, additional_headers=headers, open_timeout=10):
                pass
        assert refused.value.response.status_code == 403
    async with connect(url, additional_headers=server.auth(world.owner_key), open_timeout=10):
        pass
