"""Mailgun emulation: Mailgun's own Python SDK sends to a real server; what it sent is read
back over REST."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from mailgun.client import Client
from mailgun.config import RetryPolicy

from inboxkit.config import Settings
from tests.esp.captured import (
    attachment_bytes,
    captured,
    header,
    only_captured,
    raw_bytes,
)
from tests.helpers import RunningServer, start_server, update_plan

pytestmark = pytest.mark.service

READING = ["mailboxes:read", "messages:read"]
DOMAIN = "mg.shop.example"
LOGO = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR tiny logo bytes \x00\xff"
CSV = b"order,total\n9001,12.50\n9002,7.00\n"


def mailgun(server: RunningServer, key: str, *, prefix: str = "/esp/mailgun") -> Client:
    # No retries: a refusal must come back as it is, not after the SDK's backoff.
    client = Client(auth=("api", key), api_url=server.base_url + prefix)
    client.config.retry_policy = RetryPolicy(max_retries=0)
    return client


async def send(client: Client, data: dict[str, Any], files: Any = None, **kwargs: Any) -> Any:
    return await asyncio.to_thread(
        client.messages.create, data=data, files=files, domain=DOMAIN, **kwargs
    )


def full_message() -> dict[str, Any]:
    return {
        "from": "Shop Orders <orders@mg.shop.example>",
        "to": ["Ines Costa <ines@buyer.example>, tomas@buyer.example"],
        "cc": "accounts@buyer.example",
        "bcc": "archive@shop.example",
        "subject": "Order 9001 shipped",
        "text": "Your order 9001 is on its way.",
        "html": '<p>Your order <b>9001</b> is on its way.</p><img src="cid:logo.png">',
        "h:X-Order-Id": "9001",
        "h:Reply-To": "help@shop.example",
        "v:order-id": "9001",
        "v:segment": "returning",
        "o:tag": ["shipping", "orders"],
        "o:tracking": "yes",
        "o:testmode": "no",
    }


def full_files() -> list[tuple[str, tuple[str, bytes, str]]]:
    return [
        ("attachment", ("orders.csv", CSV, "text/csv")),
        ("inline", ("logo.png", LOGO, "image/png")),
    ]


async def test_message_with_files_is_captured_with_every_field(server: RunningServer):
    key = await server.create_key("mg-app", scopes=["capture", *READING])

    response = await send(mailgun(server, key), full_message(), full_files())

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["message"] == "Queued. Thank you."
    assert answer["id"].startswith("<") and answer["id"].endswith(f"@{DOMAIN}>")
    message = await only_captured(server, key)
    assert message["message_id"] == answer["id"]
    assert message["from"] == "orders@mg.shop.example"
    assert message["from_name"] == "Shop Orders"
    assert message["to"] == ["ines@buyer.example", "tomas@buyer.example"]
    assert message["cc"] == ["accounts@buyer.example"]
    assert message["reply_to"] == ["help@shop.example"]
    assert message["subject"] == "Order 9001 shipped"
    assert message["text"].strip() == "Your order 9001 is on its way."
    assert "<b>9001</b>" in message["html"]
    assert header(message, "X-Order-Id") == ["9001"]
    assert header(message, "X-Mailgun-Tag") == ["shipping", "orders"]
    (variables,) = header(message, "X-Mailgun-Variables")
    assert json.loads(variables) == {"order-id": "9001", "segment": "returning"}
    assert header(message, "Bcc") == []
    assert await attachment_bytes(server, key, message, "orders.csv") == CSV
    assert await attachment_bytes(server, key, message, "logo.png") == LOGO
    (logo,) = [a for a in message["attachments"] if a["filename"] == "logo.png"]
    assert logo["content_id"].strip("<>") == "logo.png"
    assert logo["disposition"] == "inline"
    envelope = message["envelope"]
    assert envelope["via"] == "esp:mailgun"
    assert envelope["mail_from"] == "orders@mg.shop.example"
    assert sorted(envelope["rcpt_to"]) == [
        "accounts@buyer.example",
        "archive@shop.example",
        "ines@buyer.example",
        "tomas@buyer.example",
    ]


async def test_url_encoded_form_and_root_path_work_too(server: RunningServer):
    key = await server.create_key("mg-app", scopes=["capture", *READING])
    data = {
        "from": "alerts@mg.shop.example",
        "to": ["one@team.example", "two@team.example"],
        "subject": "Disk at 91%",
        "html": "<p>Disk <i>/var</i> is at 91%.</p>",
    }

    response = await send(mailgun(server, key, prefix=""), data)

    assert response.status_code == 200, response.text
    assert response.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    message = await only_captured(server, key)
    assert message["to"] == ["one@team.example", "two@team.example"]
    assert "<i>/var</i>" in message["html"]
    assert message["envelope"]["via"] == "esp:mailgun"


async def test_recipient_variables_send_one_message_per_recipient(server: RunningServer):
    key = await server.create_key("mg-app", scopes=["capture", *READING])
    data = {
        "from": "news@mg.shop.example",
        "to": ["ana@people.example", "bo@people.example"],
        "subject": "Hello %recipient.first%",
        "text": "Your code: %recipient.code%",
        "recipient-variables": json.dumps(
            {
                "ana@people.example": {"first": "Ana", "code": "118822"},
                "bo@people.example": {"first": "Bo", "code": "553311"},
            }
        ),
    }

    response = await send(mailgun(server, key), data)

    assert response.status_code == 200, response.text
    messages = await captured(server, key)
    by_recipient = {m["to"][0]: m for m in messages}
    assert len(messages) == 2
    assert by_recipient["ana@people.example"]["subject"] == "Hello Ana"
    assert by_recipient["ana@people.example"]["codes"] == ["118822"]
    assert by_recipient["bo@people.example"]["subject"] == "Hello Bo"
    assert by_recipient["bo@people.example"]["envelope"]["rcpt_to"] == ["bo@people.example"]


async def test_mime_message_is_stored_as_sent(server: RunningServer):
    key = await server.create_key("mg-app", scopes=["capture", *READING])
    raw = (
        b"From: Reports <reports@mg.shop.example>\r\n"
        b"To: boss@team.example\r\n"
        b"Subject: Weekly numbers\r\n"
        b"Message-ID: <weekly-12@mg.shop.example>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"\r\n"
        b"Revenue up 4%.\r\n"
    )
    client = mailgun(server, key)

    response = await asyncio.to_thread(
        client.mimemessage.create,
        data={"to": "boss@team.example, deputy@team.example"},
        files={"message": ("message.mime", raw)},
        domain=DOMAIN,
    )

    assert response.status_code == 200, response.text
    assert response.json()["id"] == "<weekly-12@mg.shop.example>"
    message = await only_captured(server, key)
    assert await raw_bytes(server, key, message) == raw
    assert sorted(message["envelope"]["rcpt_to"]) == ["boss@team.example", "deputy@team.example"]


async def test_wrong_key_gets_401_and_nothing_is_stored(server: RunningServer):
    key = await server.create_key("mg-app", scopes=["capture", *READING])

    response = await send(mailgun(server, "ik_" + "n" * 64), full_message())

    assert response.status_code == 401
    assert response.json()["message"]
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert await captured(server, key) == []


async def test_missing_credentials_get_401(server: RunningServer):
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post(f"/esp/mailgun/v3/{DOMAIN}/messages", data=full_message())
    assert response.status_code == 401
    assert "api" in response.json()["message"]


async def test_key_without_capture_scope_gets_403(server: RunningServer):
    key = await server.create_key("mg-app", scopes=READING)

    response = await send(mailgun(server, key), full_message())

    assert response.status_code == 403
    assert "capture" in response.json()["message"]


async def test_malformed_requests_get_400_with_a_message(server: RunningServer):
    key = await server.create_key("mg-app", scopes=["capture", *READING])
    client = mailgun(server, key)
    base = {"from": "a@mg.shop.example", "to": "b@team.example", "text": "hi"}
    cases = [
        ({k: v for k, v in base.items() if k != "from"}, "'from' parameter is missing"),
        ({k: v for k, v in base.items() if k != "to"}, "'to' parameter is missing"),
        ({**base, "text": None}, "at least one of 'text' or 'html'"),
        ({**base, "to": "not-an-address"}, "to"),
        ({**base, "o:tag": ["a", "b", "c", "d"]}, "at most 3 tags"),
        ({**base, "h:Bad Header": "x"}, "header field name"),
        ({**base, "template": "welcome"}, "template"),
        ({**base, "to": ",".join(f"r{i}@team.example" for i in range(1001))}, "1000"),
    ]
    for data, expected in cases:
        response = await send(client, {k: v for k, v in data.items() if v is not None})
        assert response.status_code == 400, (data, response.text)
        assert expected in response.json()["message"], response.json()
    assert await captured(server, key) == []


async def test_other_account_never_sees_the_captured_mail(server: RunningServer):
    sender = await server.create_key("mg-app", scopes=["capture", *READING])
    other = await server.create_key("other", scopes=["capture", *READING])
    response = await send(mailgun(server, sender), full_message(), full_files())
    assert response.status_code == 200
    message = await only_captured(server, sender)

    assert await captured(server, other) == []
    response = await server.http.get(
        f"/mailboxes/{message['mailbox_id']}/messages/{message['id']}",
        headers=server.auth(other),
    )
    assert response.status_code == 404


async def test_oversized_request_gets_413_in_mailgun_shape(settings: Settings):
    async with start_server(settings.model_copy(update={"max_request_bytes": 4096})) as small:
        key = await small.create_key("mg-app", scopes=["capture", *READING])
        files = [("attachment", ("big.bin", b"z" * 8000, "application/octet-stream"))]

        response = await send(mailgun(small, key), full_message(), files)

        assert response.status_code == 413
        assert "4096" in response.json()["message"]
        assert await captured(small, key) == []


async def test_over_the_plan_write_rate_gets_429_with_retry_after(server: RunningServer):
    key = await server.create_key("mg-app", scopes=["capture", *READING])
    await update_plan(server.runtime, "default", write_per_minute=1)
    client = mailgun(server, key)
    assert (await send(client, full_message())).status_code == 200

    response = await send(client, full_message())

    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json()["message"]
    assert len(await captured(server, key)) == 1
