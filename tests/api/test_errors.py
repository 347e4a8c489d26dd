"""Every error leaves as `{"error": {"code", "message"}}` with the matching status (DESIGN §3),
and /openapi.json describes every route the app serves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from inboxkit.app import build_app
from inboxkit.config import Settings
from inboxkit.ids import new_id
from tests.helpers import RunningServer, start_server


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"].strip()
    return body["error"]


async def test_malformed_json_is_400_bad_request(server: RunningServer):
    for payload in (b'{"mode": ', b"not json at all", b'{"mode": "test",}'):
        response = await server.http.post(
            "/mailboxes", content=payload, headers={"Content-Type": "application/json"}
        )
        assert_error(response, 400, "bad_request")


async def test_malformed_json_on_patch_is_400_bad_request(server: RunningServer):
    inbox = await server.create_inbox()
    response = await server.http.patch(
        f"/mailboxes/{inbox['id']}",
        content=b"{name:",
        headers={"Content-Type": "application/json", **server.auth(inbox["token"])},
    )
    assert_error(response, 400, "bad_request")


async def test_unknown_fields_are_422_validation_error_naming_the_field(server: RunningServer):
    error = assert_error(
        await server.http.post("/mailboxes", json={"mode": "test", "colour": "blue"}),
        422,
        "validation_error",
    )
    assert "colour" in error["message"]
    inbox = await server.create_inbox()
    response = await server.http.patch(
        f"/mailboxes/{inbox['id']}", json={"nickname": "x"}, headers=server.auth(inbox["token"])
    )
    assert_error(response, 422, "validation_error")


async def test_wrong_types_are_422_validation_error(server: RunningServer):
    for body in (
        {"ttl_minutes": "soon"},
        {"mode": "forever"},
        {"name": ["a", "list"]},
        {"ttl_minutes": 0},
        ["not", "an", "object"],
    ):
        response = await server.http.post("/mailboxes", json=body)
        assert_error(response, 422, "validation_error")
    inbox = await server.create_inbox()
    await server.send(inbox["address"])
    headers = server.auth(inbox["token"])
    (message,) = (
        await server.http.get(f"/mailboxes/{inbox['id']}/messages", headers=headers)
    ).json()["data"]
    response = await server.http.patch(
        f"/mailboxes/{inbox['id']}/messages/{message['id']}",
        json={"is_read": "perhaps"},
        headers=headers,
    )
    assert_error(response, 422, "validation_error")
    for params in ({"limit": "many"}, {"limit": "0"}, {"since": "yesterday-ish"}):
        response = await server.http.get(
            f"/mailboxes/{inbox['id']}/messages", params=params, headers=headers
        )
        assert_error(response, 422, "validation_error")
    response = await server.http.get(
        f"/mailboxes/{inbox['id']}/wait", params={"timeout": "61"}, headers=headers
    )
    assert_error(response, 422, "validation_error")


@pytest.fixture
async def small_body_server(settings: Settings) -> AsyncIterator[RunningServer]:
    async with start_server(settings.model_copy(update={"max_request_bytes": 2048})) as running:
        yield running


async def test_oversized_body_is_413_payload_too_large(small_body_server: RunningServer):
    server = small_body_server
    big = {"name": "x" * 4096}
    assert_error(await server.http.post("/mailboxes", json=big), 413, "payload_too_large")

    async def chunks():  # no Content-Length: the limit must hold for streamed bodies too
        for _ in range(8):
            yield b" " * 1024

    response = await server.http.post(
        "/mailboxes", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_error(response, 413, "payload_too_large")
    # The server still takes an ordinary request afterwards.
    assert (await server.http.post("/mailboxes", json={"name": "small"})).status_code == 201


async def test_unknown_route_is_404_not_found(server: RunningServer):
    assert_error(await server.http.get("/no-such-thing"), 404, "not_found")
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        assert_error(await client.get("/api/v2/mailboxes"), 404, "not_found")
        assert_error(await client.get("/favicon.ico"), 404, "not_found")


async def test_wrong_method_is_405_with_allow_header(server: RunningServer):
    inbox = await server.create_inbox()
    for method, path in (
        ("PUT", "/mailboxes"),
        ("DELETE", "/mailboxes"),
        ("PUT", f"/mailboxes/{inbox['id']}"),
        ("POST", f"/mailboxes/{inbox['id']}/messages"),
    ):
        response = await server.http.request(method, path, headers=server.auth(inbox["token"]))
        assert_error(response, 405, "method_not_allowed")
        assert response.headers.get("allow")


async def test_unknown_ids_are_404_not_found(server: RunningServer):
    key = await server.create_key()
    inbox = await server.create_inbox(key)
    await server.send(inbox["address"])
    headers = server.auth(key)
    (message,) = (
        await server.http.get(f"/mailboxes/{inbox['id']}/messages", headers=headers)
    ).json()["data"]
    missing = new_id()
    for path in (
        f"/mailboxes/{missing}",
        "/mailboxes/nobody%40inboxkit.localhost",
        "/mailboxes/not-an-id-or-address",
        f"/mailboxes/{missing}/messages",
        f"/mailboxes/{inbox['id']}/messages/{missing}",
        f"/mailboxes/{inbox['id']}/messages/{missing}/raw",
        f"/mailboxes/{inbox['id']}/messages/{message['id']}/attachments/9",
        f"/mailboxes/{inbox['id']}/messages/{message['id']}/attachments/..%2F..%2Fetc",
    ):
        assert_error(await server.http.get(path, headers=headers), 404, "not_found")
    for method in ("PATCH", "DELETE"):
        response = await server.http.request(
            method, f"/mailboxes/{missing}", headers=headers, json={"name": "x"}
        )
        assert_error(response, 404, "not_found")
        response = await server.http.request(
            method,
            f"/mailboxes/{inbox['id']}/messages/{missing}",
            headers=headers,
            json={"is_read": True},
        )
        assert_error(response, 404, "not_found")


ODD_IDS = ("%00", "01%00", "a%00b%1f", "%C3%A9%00%F0%9F%93%A7", "x" * 300)


@pytest.fixture
async def admin_server(settings: Settings) -> AsyncIterator[RunningServer]:
    update = {"admin_key": "ik_errors_admin_key_for_odd_identifiers_only"}
    async with start_server(settings.model_copy(update=update)) as running:
        yield running


async def test_ids_carrying_nul_or_control_characters_are_404_on_every_backend(
    admin_server: RunningServer,
):
    """PostgreSQL cannot even compare a NUL: an id of the wrong shape is never looked up."""
    server = admin_server
    admin = server.auth("ik_errors_admin_key_for_odd_identifiers_only")
    inbox = await server.create_inbox()
    own = server.auth(inbox["token"])
    for odd in ODD_IDS:
        for method, path, headers in (
            ("GET", f"/mailboxes/{odd}", own),
            ("GET", f"/mailboxes/{odd}/messages", own),
            ("GET", f"/mailboxes/{inbox['id']}/messages/{odd}", own),
            ("DELETE", f"/mailboxes/{inbox['id']}/messages/{odd}", own),
            ("GET", f"/webhooks/{odd}", admin),
            ("DELETE", f"/keys/{odd}", admin),
            ("GET", f"/accounts/{odd}", admin),
            ("DELETE", f"/accounts/{odd}", admin),
        ):
            response = await server.http.request(method, path, headers=headers)
            # A route that bounds its id's length may refuse a long one as invalid instead.
            if response.status_code == 422:
                assert_error(response, 422, "validation_error")
            else:
                assert_error(response, 404, "not_found")
    response = await server.http.post(
        "/keys", json={"name": "odd", "account_id": "01\u0000"}, headers=admin
    )
    assert_error(response, 404, "not_found")
    listed = await server.http.get("/keys", params={"account_id": "01\x00"}, headers=admin)
    assert listed.status_code == 200, listed.text
    assert listed.json()["data"] == []


async def test_a_tampered_cursor_is_refused_with_what_to_do(server: RunningServer):
    inbox = await server.create_inbox()
    headers = server.auth(inbox["token"])
    response = await server.http.get(
        "/mailboxes", params={"cursor": "bm90LWFuLWlk"}, headers=headers
    )
    assert_error(response, 422, "validation_error")
    # A message list also takes the cursors of a `q` search (opaque, no pattern can state
    # them), so a damaged one is read and refused by the service: 400.
    response = await server.http.get(
        f"/mailboxes/{inbox['id']}/messages", params={"cursor": "bm90LWFuLWlk"}, headers=headers
    )
    assert_error(response, 400, "bad_request")
    assert "next_cursor" in response.json()["error"]["message"]


async def test_since_must_be_a_date_time_with_a_zone(server: RunningServer):
    inbox = await server.create_inbox()
    headers = server.auth(inbox["token"])
    for path in (f"/mailboxes/{inbox['id']}/messages", f"/mailboxes/{inbox['id']}/wait"):
        for since in ("0.5", "1700000000", "2025-01-31", "2025-01-31T09:30:00"):
            response = await server.http.get(
                path, params={"since": since, "timeout": 0}, headers=headers
            )
            assert_error(response, 422, "validation_error")
        response = await server.http.get(
            path, params={"since": "2025-01-31T09:30:00Z", "timeout": 0}, headers=headers
        )
        assert response.status_code == 200


async def test_a_405_allows_every_method_served_at_the_path(server: RunningServer):
    key = await server.create_key(scopes=["mailboxes:read", "mailboxes:write", "webhooks"])
    inbox = await server.create_inbox(key)
    for path, allowed in (
        ("/mailboxes", "GET, POST"),
        (f"/mailboxes/{inbox['id']}", "DELETE, GET, PATCH"),
        ("/webhooks", "GET, POST"),
        ("/keys", "GET, POST"),
    ):
        response = await server.http.request("PUT", path, headers=server.auth(key))
        assert_error(response, 405, "method_not_allowed")
        assert response.headers["allow"] == allowed, path


async def test_errors_from_the_ops_and_key_routes_use_the_same_envelope(server: RunningServer):
    assert_error(await server.http.get("/keys"), 401, "unauthorized")
    key = await server.create_key()  # no admin scope
    assert_error(await server.http.get("/keys", headers=server.auth(key)), 403, "forbidden")
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        assert_error(await client.post("/healthz"), 405, "method_not_allowed")


def _api_routes(routes: list[Any]) -> Iterator[Any]:
    """Every HTTP route with its full path. Newer FastAPI keeps included routers as nodes
    (with `effective_route_contexts()`); older versions flatten them into APIRoutes."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "effective_route_contexts"):
            for context in route.effective_route_contexts():
                if isinstance(context.original_route, APIRoute):
                    yield context


def _documented(document: dict) -> set[tuple[str, str]]:
    return {
        (path, method.upper())
        for path, operations in document["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }


async def test_openapi_document_lists_every_route(server: RunningServer):
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        response = await client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    served = {
        (route.path, method)
        for route in _api_routes(build_app(server.settings).routes)
        if route.include_in_schema
        for method in route.methods
        if method != "HEAD"
    }
    assert served, "the app serves no routes?"
    assert _documented(document) == served
    for path in (
        "/api/v1/mailboxes",
        "/api/v1/mailboxes/{mailbox}",
        "/api/v1/mailboxes/{mailbox}/messages",
        "/api/v1/mailboxes/{mailbox}/messages/{message_id}/raw",
        "/api/v1/mailboxes/{mailbox}/wait",
        "/api/v1/handles/{handle}",
        "/healthz",
    ):
        assert path in document["paths"]


async def test_openapi_documents_the_error_shape_and_each_routes_error_statuses(
    server: RunningServer,
):
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        document = (await client.get("/openapi.json")).json()
    error_schema = document["components"]["schemas"]["ErrorResponse"]
    assert error_schema["properties"]["error"]
    create = document["paths"]["/api/v1/mailboxes"]["post"]["responses"]
    assert {"201", "401", "403", "409", "422"} <= set(create)
    for path, operations in document["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            assert "404" in operation["responses"], f"{method.upper()} {path} documents no 404"
            if method in ("post", "patch"):
                assert "413" in operation["responses"], f"{method.upper()} {path}: no 413"


async def test_an_unexpected_failure_is_500_internal_error_without_internals(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
):
    inbox = await server.create_inbox()

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("connection to db-primary.internal:5432 failed, password=hunter2")

    monkeypatch.setattr(server.runtime.mailboxes, "get", broken)
    response = await server.http.get(
        f"/mailboxes/{inbox['id']}", headers=server.auth(inbox["token"])
    )
    assert_error(response, 500, "internal_error")
    assert "hunter2" not in response.text and "db-primary" not in response.text
    assert "RuntimeError" not in response.text
