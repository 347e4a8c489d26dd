"""Postmark's send API, captured: postmarker (Postmark's Python SDK) pointed at the server."""

from __future__ import annotations

import asyncio
import base64

import httpx
import pytest
from postmarker.core import PostmarkClient
from postmarker.exceptions import ClientError

from tests.esp.captured import attachment_bytes, captured, header
from tests.helpers import RunningServer

READ_SCOPES = ["capture", "mailboxes:read", "messages:read"]
REPORT = b"%PDF-1.4\nquarterly figures\n\x00\x01\x02\xff"


def client(server: RunningServer, key: str) -> PostmarkClient:
    # postmarker joins its absolute paths (/email) onto the root URL: the root copies serve it.
    return PostmarkClient(server_token=key, root_api_url=f"{server.base_url}/")


async def test_postmarker_send_is_captured_with_every_field(server: RunningServer):
    key = await server.create_key("shop", scopes=READ_SCOPES)
    postmark = client(server, key)
    sent = await asyncio.to_thread(
        postmark.emails.send,
        From="Order Desk <orders@shop.example>",
        To="Ada Buyer <ada@customer.example>, ben@customer.example",
        Cc="audit@shop.example",
        Bcc="archive@shop.example",
        ReplyTo="help@shop.example",
        Subject="Your order 1042 has shipped",
        TextBody="Your parcel is on its way.",
        HtmlBody="<p>Your parcel is <b>on its way</b>.</p>",
        Headers={"X-Order-Ref": "1042"},
        Tag="shipping",
        Metadata={"order": "1042"},
        TrackOpens=True,
        MessageStream="outbound",
        Attachments=[
            {
                "Name": "invoice.pdf",
                "Content": base64.b64encode(REPORT).decode(),
                "ContentType": "application/pdf",
            }
        ],
    )
    assert sent["ErrorCode"] == 0 and sent["Message"] == "OK"
    assert sent["To"] == "Ada Buyer <ada@customer.example>, ben@customer.example"
    assert sent["SubmittedAt"] and sent["MessageID"]

    (message,) = await captured(server, key)
    assert message["from"] == "orders@shop.example"
    assert message["to"] == ["ada@customer.example", "ben@customer.example"]
    assert message["cc"] == ["audit@shop.example"]
    assert message["reply_to"] == ["help@shop.example"]
    assert message["subject"] == "Your order 1042 has shipped"
    assert message["text"].strip() == "Your parcel is on its way."
    assert message["html"].strip() == "<p>Your parcel is <b>on its way</b>.</p>"
    assert header(message, "X-Order-Ref") == ["1042"]
    assert header(message, "X-PM-Tag") == ["shipping"]
    assert header(message, "X-PM-Metadata-order") == ["1042"]
    assert header(message, "X-PM-Message-Stream") == ["outbound"]
    assert header(message, "X-PM-Message-Id") == [sent["MessageID"]]
    assert header(message, "Bcc") == []
    assert await attachment_bytes(server, key, message, "invoice.pdf") == REPORT
    envelope = message["envelope"]
    assert envelope["via"] == "esp:postmark"
    assert envelope["mail_from"] == "orders@shop.example"
    assert sorted(envelope["rcpt_to"]) == sorted(
        [
            "ada@customer.example",
            "ben@customer.example",
            "audit@shop.example",
            "archive@shop.example",
        ]
    )


async def test_html_only_message_is_captured_without_a_text_part(server: RunningServer):
    key = await server.create_key("shop", scopes=READ_SCOPES)
    await asyncio.to_thread(
        client(server, key).emails.send,
        From="orders@shop.example",
        To="ada@customer.example",
        Subject="Receipt",
        HtmlBody="<h1>Thanks</h1>",
    )
    (message,) = await captured(server, key)
    assert message["html"].strip() == "<h1>Thanks</h1>"
    assert not (message["text"] or "").strip() or "Thanks" in message["text"]


async def test_wrong_token_raises_client_error_10(server: RunningServer):
    postmark = client(server, "ik_not_a_real_key")
    with pytest.raises(ClientError) as raised:
        await asyncio.to_thread(
            postmark.emails.send, From="a@shop.example", To="b@example.com", TextBody="hi"
        )
    assert raised.value.error_code == 10


async def test_key_without_capture_scope_is_refused_401(server: RunningServer):
    reader = await server.create_key("reader", scopes=["mailboxes:read", "messages:read"])
    with pytest.raises(ClientError) as raised:
        await asyncio.to_thread(
            client(server, reader).emails.send,
            From="a@shop.example",
            To="b@example.com",
            TextBody="hi",
        )
    assert raised.value.error_code == 10
    assert "capture" in str(raised.value)


async def test_another_account_never_sees_the_captured_mail(server: RunningServer):
    owner = await server.create_key("owner", scopes=READ_SCOPES)
    stranger = await server.create_key("stranger", scopes=READ_SCOPES)
    await asyncio.to_thread(
        client(server, owner).emails.send,
        From="a@shop.example",
        To="b@example.com",
        Subject="private",
        TextBody="for the owner only",
    )
    assert [m["subject"] for m in await captured(server, owner)] == ["private"]
    assert await captured(server, stranger) == []


async def test_invalid_recipient_gets_postmark_error_300(server: RunningServer):
    key = await server.create_key("shop", scopes=READ_SCOPES)
    with pytest.raises(ClientError) as raised:
        await asyncio.to_thread(
            client(server, key).emails.send,
            From="a@shop.example",
            To="not an address",
            TextBody="hi",
        )
    assert raised.value.error_code == 300
    assert await captured(server, key) == []


async def test_body_that_is_not_json_gets_422_with_error_code_402(server: RunningServer):
    key = await server.create_key("shop", scopes=READ_SCOPES)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post(
            "/esp/postmark/email",
            content=b"{not json",
            headers={"X-Postmark-Server-Token": key, "Content-Type": "application/json"},
        )
    assert response.status_code == 422
    assert response.json()["ErrorCode"] == 402
    assert response.json()["Message"]


async def test_missing_body_part_gets_error_300(server: RunningServer):
    key = await server.create_key("shop", scopes=READ_SCOPES)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post(
            "/esp/postmark/email",
            json={"From": "a@shop.example", "To": "b@example.com", "Subject": "empty"},
            headers={"X-Postmark-Server-Token": key},
        )
    assert response.status_code == 422
    assert response.json() == {
        "ErrorCode": 300,
        "Message": "Provide either email TextBody or HtmlBody or both.",
    }


async def test_batch_captures_each_message_and_reports_the_refused_one(server: RunningServer):
    key = await server.create_key("shop", scopes=READ_SCOPES)
    results = await asyncio.to_thread(
        client(server, key).emails.send_batch,
        {"From": "a@shop.example", "To": "one@example.com", "Subject": "1", "TextBody": "x"},
        {"From": "a@shop.example", "To": "bad address", "Subject": "2", "TextBody": "x"},
        {"From": "a@shop.example", "To": "three@example.com", "Subject": "3", "TextBody": "x"},
    )
    assert [r["ErrorCode"] for r in results] == [0, 300, 0]
    assert results[0]["To"] == "one@example.com" and results[0]["MessageID"]
    assert [m["subject"] for m in await captured(server, key)] == ["1", "3"]


async def test_batch_of_more_than_500_is_refused_with_error_410(server: RunningServer):
    key = await server.create_key("shop", scopes=READ_SCOPES)
    message = {"From": "a@shop.example", "To": "b@example.com", "TextBody": "x"}
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post(
            "/email/batch", json=[message] * 501, headers={"X-Postmark-Server-Token": key}
        )
    assert response.status_code == 422
    assert response.json()["ErrorCode"] == 410
    assert await captured(server, key) == []
