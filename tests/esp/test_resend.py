"""Resend's send API, captured: the `resend` SDK pointed at the server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import resend
from resend.exceptions import (
    InvalidApiKeyError,
    MissingApiKeyError,
    ResendError,
    ValidationError,
)

from tests.esp.captured import attachment_bytes, captured, header
from tests.helpers import RunningServer

READ_SCOPES = ["capture", "mailboxes:read", "messages:read"]
TICKET = b"BEGIN:VCALENDAR\r\nSUMMARY:Launch\r\nEND:VCALENDAR\r\n\x00\x01"


@pytest.fixture
def sdk() -> Iterator[None]:
    """The SDK is configured through module attributes; each test leaves them as it found
    them."""
    saved = resend.api_key, resend.api_url
    yield
    resend.api_key, resend.api_url = saved


def point(server: RunningServer, key: str | None) -> None:
    resend.api_key = key
    resend.api_url = f"{server.base_url}/esp/resend"


def simple(subject: str = "Hello", to: str = "ada@customer.example") -> dict[str, Any]:
    return {"from": "team@app.example", "to": to, "subject": subject, "text": "plain words"}


async def test_resend_send_is_captured_with_every_field(server: RunningServer, sdk: None):
    key = await server.create_key("app", scopes=READ_SCOPES)
    point(server, key)
    sent = await asyncio.to_thread(
        resend.Emails.send,
        {
            "from": "Launch Team <team@app.example>",
            "to": ["ada@customer.example", "Ben <ben@customer.example>"],
            "cc": "pm@app.example",
            "bcc": ["archive@app.example"],
            "reply_to": "questions@app.example",
            "subject": "Launch day",
            "text": "We launch tomorrow.",
            "html": "<p>We launch <em>tomorrow</em>.</p>",
            "headers": {"X-Launch-Id": "L-9"},
            "tags": [{"name": "category", "value": "launch"}],
            "attachments": [
                {"filename": "launch.ics", "content": list(TICKET), "content_type": "text/calendar"}
            ],
        },
    )
    assert uuid.UUID(sent["id"])

    (message,) = await captured(server, key)
    assert message["from"] == "team@app.example"
    assert message["to"] == ["ada@customer.example", "ben@customer.example"]
    assert message["cc"] == ["pm@app.example"]
    assert message["reply_to"] == ["questions@app.example"]
    assert message["subject"] == "Launch day"
    assert message["text"].strip() == "We launch tomorrow."
    assert message["html"].strip() == "<p>We launch <em>tomorrow</em>.</p>"
    assert header(message, "X-Launch-Id") == ["L-9"]
    assert header(message, "X-Resend-Tag") == ["category=launch"]
    assert message["message_id"].startswith(f"<{sent['id']}@")
    assert header(message, "Bcc") == []
    assert await attachment_bytes(server, key, message, "launch.ics") == TICKET
    assert message["envelope"]["via"] == "esp:resend"
    assert sorted(message["envelope"]["rcpt_to"]) == [
        "ada@customer.example",
        "archive@app.example",
        "ben@customer.example",
        "pm@app.example",
    ]


async def test_base64_attachment_and_schedule_are_captured_at_once(
    server: RunningServer, sdk: None
):
    key = await server.create_key("app", scopes=READ_SCOPES)
    point(server, key)
    email = simple("Later") | {
        "scheduled_at": "2030-01-01T09:00:00Z",
        "attachments": [{"filename": "t.ics", "content": "QUJD"}],
    }
    await asyncio.to_thread(resend.Emails.send, email)
    (message,) = await captured(server, key)
    assert header(message, "X-Resend-Scheduled-At") == ["2030-01-01T09:00:00Z"]
    assert await attachment_bytes(server, key, message, "t.ics") == b"ABC"


async def test_missing_key_raises_missing_api_key(server: RunningServer, sdk: None):
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post("/emails", json=simple())
    assert response.status_code == 401
    assert response.json()["name"] == "missing_api_key"
    assert response.json()["statusCode"] == 401
    point(server, "")
    with pytest.raises(MissingApiKeyError):
        await asyncio.to_thread(resend.Emails.send, simple())


async def test_wrong_key_raises_invalid_api_key(server: RunningServer, sdk: None):
    point(server, "re_not_an_inboxkit_key")
    with pytest.raises(InvalidApiKeyError) as raised:
        await asyncio.to_thread(resend.Emails.send, simple())
    assert raised.value.code == 403


async def test_key_without_capture_scope_is_restricted(server: RunningServer, sdk: None):
    reader = await server.create_key("reader", scopes=["mailboxes:read", "messages:read"])
    point(server, reader)
    with pytest.raises(ResendError) as raised:
        await asyncio.to_thread(resend.Emails.send, simple())
    assert raised.value.code == 401
    assert raised.value.error_type == "restricted_api_key"


async def test_another_account_never_sees_the_captured_mail(server: RunningServer, sdk: None):
    owner = await server.create_key("owner", scopes=READ_SCOPES)
    stranger = await server.create_key("stranger", scopes=READ_SCOPES)
    point(server, owner)
    await asyncio.to_thread(resend.Emails.send, simple("private"))
    assert [m["subject"] for m in await captured(server, owner)] == ["private"]
    assert await captured(server, stranger) == []


async def test_invalid_email_raises_validation_error_422(server: RunningServer, sdk: None):
    key = await server.create_key("app", scopes=READ_SCOPES)
    point(server, key)
    with pytest.raises(ValidationError) as raised:
        await asyncio.to_thread(resend.Emails.send, simple(to="not an address"))
    assert raised.value.code == 422
    remote = simple() | {"attachments": [{"filename": "x", "path": "https://files.example/x"}]}
    with pytest.raises(ValidationError) as raised:
        await asyncio.to_thread(resend.Emails.send, remote)
    assert "path" in raised.value.message
    assert await captured(server, key) == []


async def test_body_that_is_not_json_gets_400_validation_error(server: RunningServer):
    key = await server.create_key("app", scopes=READ_SCOPES)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post(
            "/esp/resend/emails",
            content=b"{",
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
    assert response.status_code == 400
    assert set(response.json()) == {"statusCode", "name", "message"}
    assert response.json()["name"] == "validation_error"


async def test_batch_captures_every_email(server: RunningServer, sdk: None):
    key = await server.create_key("app", scopes=READ_SCOPES)
    point(server, key)
    sent = await asyncio.to_thread(
        resend.Batch.send, [simple("first", "one@example.com"), simple("second", "two@example.com")]
    )
    assert len(sent["data"]) == 2 and all(uuid.UUID(item["id"]) for item in sent["data"])
    assert [m["subject"] for m in await captured(server, key)] == ["first", "second"]


async def test_strict_batch_with_an_invalid_email_captures_nothing(
    server: RunningServer, sdk: None
):
    key = await server.create_key("app", scopes=READ_SCOPES)
    point(server, key)
    with pytest.raises(ValidationError):
        await asyncio.to_thread(resend.Batch.send, [simple("ok"), simple("bad", to="nope")])
    assert await captured(server, key) == []


async def test_permissive_batch_captures_the_valid_and_lists_the_rest(
    server: RunningServer, sdk: None
):
    key = await server.create_key("app", scopes=READ_SCOPES)
    point(server, key)
    sent = await asyncio.to_thread(
        resend.Batch.send,
        [simple("ok"), simple("bad", to="nope"), simple("also ok")],
        {"batch_validation": "permissive"},
    )
    assert len(sent["data"]) == 2
    assert [error["index"] for error in sent["errors"]] == [1]
    assert [m["subject"] for m in await captured(server, key)] == ["ok", "also ok"]


async def test_batch_of_more_than_100_is_refused(server: RunningServer):
    key = await server.create_key("app", scopes=READ_SCOPES)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post(
            "/emails/batch", json=[simple()] * 101, headers={"Authorization": f"Bearer {key}"}
        )
    assert response.status_code == 422
    assert response.json()["name"] == "validation_error"
    assert await captured(server, key) == []
