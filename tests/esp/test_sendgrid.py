"""SendGrid's v3 Mail Send, captured: sendgrid-python pointed at the server."""

from __future__ import annotations

import asyncio
import base64
import json

import httpx
import pytest
from python_http_client.exceptions import BadRequestsError, ForbiddenError, UnauthorizedError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import (
    Attachment,
    Bcc,
    Category,
    Cc,
    CustomArg,
    Disposition,
    FileContent,
    FileName,
    FileType,
    From,
    Header,
    Mail,
    Personalization,
    ReplyTo,
    To,
)

from tests.esp.captured import attachment_bytes, captured, header
from tests.helpers import RunningServer

READ_SCOPES = ["capture", "mailboxes:read", "messages:read"]
CHART = b"\x89PNG\r\n\x1a\nnot really a chart\x00\xff"


def client(server: RunningServer, key: str) -> SendGridAPIClient:
    return SendGridAPIClient(api_key=key, host=f"{server.base_url}/esp/sendgrid")


def simple(to: str = "ada@customer.example", subject: str = "Hello") -> Mail:
    return Mail(
        from_email="news@shop.example",
        to_emails=to,
        subject=subject,
        plain_text_content="plain words",
    )


async def test_sendgrid_send_is_captured_with_every_field(server: RunningServer):
    key = await server.create_key("shop", scopes=READ_SCOPES)
    mail = Mail(
        from_email=From("news@shop.example", "Shop News"),
        to_emails=To("ada@customer.example", "Ada Buyer"),
        subject="Spring catalogue",
        plain_text_content="Our spring catalogue is out.",
        html_content="<p>Our <i>spring</i> catalogue is out.</p>",
    )
    mail.add_cc(Cc("editor@shop.example"))
    mail.add_bcc(Bcc("archive@shop.example"))
    mail.reply_to = ReplyTo("replies@shop.example", "Shop Replies")
    mail.header = Header("X-Campaign", "spring")
    mail.category = Category("catalogue")
    mail.custom_arg = CustomArg("campaign_id", "c-77")
    mail.attachment = Attachment(
        FileContent(base64.b64encode(CHART).decode()),
        FileName("chart.png"),
        FileType("image/png"),
        Disposition("attachment"),
    )
    response = await asyncio.to_thread(client(server, key).send, mail)
    assert response.status_code == 202
    assert response.body == b""
    message_id = response.headers["X-Message-Id"]
    assert message_id

    (message,) = await captured(server, key)
    assert message["from"] == "news@shop.example"
    assert message["to"] == ["ada@customer.example"]
    assert message["cc"] == ["editor@shop.example"]
    assert message["reply_to"] == ["replies@shop.example"]
    assert message["subject"] == "Spring catalogue"
    assert message["text"].strip() == "Our spring catalogue is out."
    assert message["html"].strip() == "<p>Our <i>spring</i> catalogue is out.</p>"
    assert header(message, "X-Campaign") == ["spring"]
    assert header(message, "X-SendGrid-Category") == ["catalogue"]
    assert header(message, "X-SendGrid-Custom-Arg") == ["campaign_id=c-77"]
    assert header(message, "X-SendGrid-Message-Id") == [message_id]
    assert header(message, "Bcc") == []
    assert await attachment_bytes(server, key, message, "chart.png") == CHART
    assert message["envelope"]["via"] == "esp:sendgrid"
    assert sorted(message["envelope"]["rcpt_to"]) == [
        "ada@customer.example",
        "archive@shop.example",
        "editor@shop.example",
    ]


async def test_each_personalization_is_captured_as_its_own_message(server: RunningServer):
    key = await server.create_key("shop", scopes=READ_SCOPES)
    mail = Mail(from_email="news@shop.example", subject="Default subject")
    mail.add_content("shared body", "text/plain")
    for address, subject in (("one@example.com", "For one"), ("two@example.com", None)):
        personal = Personalization()
        personal.add_to(To(address))
        if subject:
            personal.subject = subject
        mail.add_personalization(personal)
    response = await asyncio.to_thread(client(server, key).send, mail)
    assert response.status_code == 202
    messages = await captured(server, key)
    assert sorted((m["to"][0], m["subject"]) for m in messages) == [
        ("one@example.com", "For one"),
        ("two@example.com", "Default subject"),
    ]
    assert all(m["envelope"]["rcpt_to"] == m["to"] for m in messages)


async def test_dynamic_template_is_kept_with_its_data(server: RunningServer):
    key = await server.create_key("shop", scopes=READ_SCOPES)
    mail = Mail(from_email="news@shop.example", to_emails="ada@customer.example")
    mail.template_id = "d-0123456789abcdef"
    mail.dynamic_template_data = {"first_name": "Ada", "code": "481516"}
    response = await asyncio.to_thread(client(server, key).send, mail)
    assert response.status_code == 202
    (message,) = await captured(server, key)
    assert header(message, "X-SendGrid-Template-Id") == ["d-0123456789abcdef"]
    assert json.loads(message["text"]) == {"code": "481516", "first_name": "Ada"}
    assert "481516" in message["codes"]


async def test_wrong_key_raises_unauthorized(server: RunningServer):
    with pytest.raises(UnauthorizedError) as raised:
        await asyncio.to_thread(client(server, "ik_wrong").send, simple())
    assert raised.value.status_code == 401
    assert json.loads(raised.value.body)["errors"][0]["message"]


async def test_key_without_capture_scope_raises_forbidden(server: RunningServer):
    reader = await server.create_key("reader", scopes=["mailboxes:read", "messages:read"])
    with pytest.raises(ForbiddenError) as raised:
        await asyncio.to_thread(client(server, reader).send, simple())
    assert "capture" in json.loads(raised.value.body)["errors"][0]["message"]


async def test_another_account_never_sees_the_captured_mail(server: RunningServer):
    owner = await server.create_key("owner", scopes=READ_SCOPES)
    stranger = await server.create_key("stranger", scopes=READ_SCOPES)
    await asyncio.to_thread(client(server, owner).send, simple(subject="private"))
    assert [m["subject"] for m in await captured(server, owner)] == ["private"]
    assert await captured(server, stranger) == []


async def test_invalid_address_is_a_400_naming_the_field(server: RunningServer):
    key = await server.create_key("shop", scopes=READ_SCOPES)
    mail = simple()
    mail.reply_to = ReplyTo("nobody-at-all")
    with pytest.raises(BadRequestsError) as raised:
        await asyncio.to_thread(client(server, key).send, mail)
    (error,) = json.loads(raised.value.body)["errors"]
    assert "reply_to" in error["message"] and set(error) == {"message", "field", "help"}
    assert await captured(server, key) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"[not json", None),
        (b'{"from": {"email": "a@shop.example"}, "subject": "s"}', "personalizations"),
        (
            b'{"personalizations": [{"to": [{"email": "b@example.com"}]}],'
            b' "from": {"email": "a@shop.example"}, "subject": "s"}',
            "content",
        ),
    ],
)
async def test_malformed_request_gets_sendgrid_error_shape(
    server: RunningServer, body: bytes, field: str | None
):
    key = await server.create_key("shop", scopes=READ_SCOPES)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post(
            "/v3/mail/send",
            content=body,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["field"] == field and error["message"] and error["help"] is None
