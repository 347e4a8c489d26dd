"""Every emulated provider answers the server's limits in its own shape: a request body over
the size limit, a message over the plan's size, and a plan's write rate."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from postmarker.core import PostmarkClient
from postmarker.exceptions import ClientError

from inboxkit.config import Settings
from tests.esp.captured import captured
from tests.helpers import RunningServer, start_server, update_plan

READ_SCOPES = ["capture", "mailboxes:read", "messages:read"]
BODY_LIMIT = 4096


def postmark(key: str, text: str) -> tuple[dict[str, str], dict[str, Any]]:
    message = {"From": "a@shop.example", "To": "b@example.com", "TextBody": text}
    return {"X-Postmark-Server-Token": key}, message


def sendgrid(key: str, text: str) -> tuple[dict[str, str], dict[str, Any]]:
    message = {
        "personalizations": [{"to": [{"email": "b@example.com"}]}],
        "from": {"email": "a@shop.example"},
        "subject": "s",
        "content": [{"type": "text/plain", "value": text}],
    }
    return {"Authorization": f"Bearer {key}"}, message


def resend(key: str, text: str) -> tuple[dict[str, str], dict[str, Any]]:
    message = {"from": "a@shop.example", "to": "b@example.com", "subject": "s", "text": text}
    return {"Authorization": f"Bearer {key}"}, message


Build = Callable[[str, str], tuple[dict[str, str], dict[str, Any]]]
# The paths each provider is served at (root, /esp/…) and how to build its request.
PROVIDERS: dict[str, tuple[tuple[str, str], Build]] = {
    "postmark": (("/email", "/esp/postmark/email"), postmark),
    "sendgrid": (("/v3/mail/send", "/esp/sendgrid/v3/mail/send"), sendgrid),
    "resend": (("/emails", "/esp/resend/emails"), resend),
}


def in_shape(provider: str, body: Any) -> bool:
    if provider == "postmark":
        return set(body) == {"ErrorCode", "Message"} and body["ErrorCode"] != 0
    if provider == "sendgrid":
        return set(body["errors"][0]) == {"message", "field", "help"}
    return set(body) == {"statusCode", "name", "message"}


@pytest.fixture
async def small_server(settings: Settings) -> AsyncIterator[RunningServer]:
    async with start_server(settings.model_copy(update={"max_request_bytes": BODY_LIMIT})) as s:
        yield s


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_body_over_the_request_limit_is_413_in_the_providers_shape(
    small_server: RunningServer, provider: str
):
    key = await small_server.create_key("app", scopes=READ_SCOPES)
    paths, build = PROVIDERS[provider]
    headers, body = build(key, "x" * (2 * BODY_LIMIT))
    async with httpx.AsyncClient(base_url=small_server.base_url) as http:
        for path in paths:
            response = await http.post(path, json=body, headers=headers)
            assert response.status_code == 413, (path, response.text)
            assert in_shape(provider, response.json()), response.text


async def test_postmarker_raises_its_own_error_for_an_oversized_request(
    small_server: RunningServer,
):
    key = await small_server.create_key("app", scopes=READ_SCOPES)
    client = PostmarkClient(server_token=key, root_api_url=f"{small_server.base_url}/")
    with pytest.raises(ClientError):
        await asyncio.to_thread(
            client.emails.send, From="a@shop.example", To="b@example.com", TextBody="x" * 10_000
        )


@pytest.mark.parametrize(
    ("provider", "status"), [("postmark", 413), ("sendgrid", 413), ("resend", 422)]
)
async def test_message_over_the_plans_size_is_refused_in_the_providers_shape(
    server: RunningServer, provider: str, status: int
):
    await update_plan(server.runtime, "default", max_message_bytes=2048)
    key = await server.create_key("app", scopes=READ_SCOPES)
    paths, build = PROVIDERS[provider]
    headers, body = build(key, "words " * 1000)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post(paths[1], json=body, headers=headers)
    assert response.status_code == status, response.text
    assert in_shape(provider, response.json())
    assert "2048" in response.text
    assert await captured(server, key) == []


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_over_the_plans_write_rate_is_429_with_retry_after(
    server: RunningServer, provider: str
):
    await update_plan(server.runtime, "default", write_per_minute=1)
    key = await server.create_key("app", scopes=READ_SCOPES)
    paths, build = PROVIDERS[provider]
    headers, body = build(key, "hello")
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        first = await http.post(paths[1], json=body, headers=headers)
        second = await http.post(paths[1], json=body, headers=headers)
    assert first.status_code in (200, 202), first.text
    assert second.status_code == 429, second.text
    assert in_shape(provider, second.json())
    assert int(second.headers["Retry-After"]) >= 1
    assert len(await captured(server, key)) == 1
