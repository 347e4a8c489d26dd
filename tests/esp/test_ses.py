"""Amazon SES v2 emulation: the AWS SDK's own `sesv2` client, signing with SigV4, sends to a
real server; what it sent is read back over REST."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from email import message_from_bytes, policy
from typing import Any

import boto3
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

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
PDF = b"%PDF-1.4\n% a tiny invoice\n\x00\x01\x02\xff binary tail\n"
ENDPOINT = "/v2/email/outbound-emails"


async def ses_key(server: RunningServer, scopes: list[str] | None = None) -> dict[str, Any]:
    """A new account's key (id and token) with `capture` and reading scopes by default."""
    return await server.runtime.auth.create_key(
        name="ses-app", scopes=scopes if scopes is not None else ["capture", *READING]
    )


def sesv2(server: RunningServer, key_id: str, secret: str, *, prefix: str = "/esp/ses") -> Any:
    # One attempt: a refusal must surface at once, not after botocore's retries.
    return boto3.client(
        "sesv2",
        endpoint_url=server.base_url + prefix,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def simple_request() -> dict[str, Any]:
    return {
        "FromEmailAddress": "Billing Robot <billing@shop.example>",
        "Destination": {
            "ToAddresses": ["Ana Lima <ana@customer.example>"],
            "CcAddresses": ["ledger@customer.example"],
            "BccAddresses": ["audit@shop.example"],
        },
        "ReplyToAddresses": ["support@shop.example"],
        "Content": {
            "Simple": {
                "Subject": {"Data": "Your invoice #4417", "Charset": "UTF-8"},
                "Body": {
                    "Text": {"Data": "Invoice 4417 is attached. Total: 12.50 EUR."},
                    "Html": {"Data": "<p>Invoice <b>4417</b> is attached.</p>"},
                },
                "Headers": [{"Name": "X-Invoice-Number", "Value": "4417"}],
                "Attachments": [
                    {
                        "FileName": "invoice-4417.pdf",
                        "ContentType": "application/pdf",
                        "RawContent": PDF,
                    }
                ],
            }
        },
        "EmailTags": [
            {"Name": "campaign", "Value": "invoices"},
            {"Name": "tier", "Value": "gold"},
        ],
        "ConfigurationSetName": "transactional",
    }


async def test_simple_email_is_captured_with_every_field(server: RunningServer):
    key = await ses_key(server)
    client = sesv2(server, key["id"], key["token"])

    result = await asyncio.to_thread(client.send_email, **simple_request())

    assert result["ResponseMetadata"]["HTTPStatusCode"] == 200
    message_id = result["MessageId"]
    message = await only_captured(server, key["token"])
    assert message["from"] == "billing@shop.example"
    assert message["from_name"] == "Billing Robot"
    assert message["to"] == ["ana@customer.example"]
    assert message["cc"] == ["ledger@customer.example"]
    assert message["reply_to"] == ["support@shop.example"]
    assert message["subject"] == "Your invoice #4417"
    assert message["text"].strip() == "Invoice 4417 is attached. Total: 12.50 EUR."
    assert message["html"].strip() == "<p>Invoice <b>4417</b> is attached.</p>"
    assert message["message_id"] == f"<{message_id}@email.amazonses.com>"
    assert header(message, "X-Invoice-Number") == ["4417"]
    assert header(message, "X-SES-Message-Tags") == ["campaign=invoices, tier=gold"]
    assert header(message, "Bcc") == []
    assert await attachment_bytes(server, key["token"], message, "invoice-4417.pdf") == PDF
    envelope = message["envelope"]
    assert envelope["via"] == "esp:ses"
    assert envelope["mail_from"] == "billing@shop.example"
    assert sorted(envelope["rcpt_to"]) == [
        "ana@customer.example",
        "audit@shop.example",
        "ledger@customer.example",
    ]


async def test_raw_email_is_stored_byte_for_byte(server: RunningServer):
    key = await ses_key(server)
    client = sesv2(server, key["id"], key["token"])
    raw = (
        b"From: Night Batch <batch@jobs.example>\r\n"
        b"To: ops@team.example\r\n"
        b"Bcc: archive@team.example\r\n"
        b"Subject: Nightly export finished\r\n"
        b"Date: Thu, 03 Dec 2026 03:00:00 +0000\r\n"
        b"Message-ID: <export-77@jobs.example>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"\r\n"
        b"1,204 rows exported.\r\n"
    )

    result = await asyncio.to_thread(client.send_email, Content={"Raw": {"Data": raw}})

    assert result["MessageId"]
    message = await only_captured(server, key["token"])
    assert await raw_bytes(server, key["token"], message) == raw
    assert message["subject"] == "Nightly export finished"
    assert sorted(message["envelope"]["rcpt_to"]) == ["archive@team.example", "ops@team.example"]
    assert message["envelope"]["mail_from"] == "batch@jobs.example"
    assert message["envelope"]["via"] == "esp:ses"


async def test_raw_email_gets_destination_recipients_tags_and_a_message_id(
    server: RunningServer,
):
    key = await ses_key(server)
    client = sesv2(server, key["id"], key["token"])
    raw = b"From: app@svc.example\nTo: shown@team.example\nSubject: Tagged\n\nbody\n"

    result = await asyncio.to_thread(
        client.send_email,
        FromEmailAddress="bounce@svc.example",
        Destination={"ToAddresses": ["real@team.example"]},
        Content={"Raw": {"Data": raw}},
        EmailTags=[{"Name": "flow", "Value": "signup"}],
    )

    message = await only_captured(server, key["token"])
    assert message["envelope"]["rcpt_to"] == ["real@team.example"]
    assert message["envelope"]["mail_from"] == "bounce@svc.example"
    assert message["message_id"] == f"<{result['MessageId']}@email.amazonses.com>"
    assert header(message, "X-SES-Message-Tags") == ["flow=signup"]
    stored = await raw_bytes(server, key["token"], message)
    assert stored.endswith(raw)


async def test_inline_template_is_rendered_and_stored_template_is_not_found(
    server: RunningServer,
):
    key = await ses_key(server)
    client = sesv2(server, key["id"], key["token"])
    template = {
        "TemplateContent": {
            "Subject": "Welcome, {{name}}",
            "Text": "Your code is {{ code }}.",
            "Html": "<p>Your code is <b>{{code}}</b>.</p>",
        },
        "TemplateData": json.dumps({"name": "Rui", "code": 620113}),
    }

    await asyncio.to_thread(
        client.send_email,
        FromEmailAddress="hello@svc.example",
        Destination={"ToAddresses": ["rui@people.example"]},
        Content={"Template": template},
    )
    message = await only_captured(server, key["token"])
    assert message["subject"] == "Welcome, Rui"
    assert message["text"].strip() == "Your code is 620113."
    assert message["codes"] == ["620113"]

    with pytest.raises(client.exceptions.NotFoundException) as raised:
        await asyncio.to_thread(
            client.send_email,
            FromEmailAddress="hello@svc.example",
            Destination={"ToAddresses": ["rui@people.example"]},
            Content={"Template": {"TemplateName": "welcome", "TemplateData": "{}"}},
        )
    assert "welcome" in raised.value.response["Error"]["Message"]


async def test_root_path_serves_the_same_api(server: RunningServer):
    key = await ses_key(server)
    client = sesv2(server, key["id"], key["token"], prefix="")

    await asyncio.to_thread(client.send_email, **simple_request())

    message = await only_captured(server, key["token"])
    assert message["envelope"]["via"] == "esp:ses"


async def test_wrong_secret_raises_invalid_signature_and_stores_nothing(server: RunningServer):
    key = await ses_key(server)
    client = sesv2(server, key["id"], "ik_" + "w" * 64)

    with pytest.raises(ClientError) as raised:
        await asyncio.to_thread(client.send_email, **simple_request())

    error = raised.value.response
    assert error["Error"]["Code"] == "InvalidSignatureException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert await captured(server, key["token"]) == []


async def test_unknown_access_key_id_raises_unrecognized_client(server: RunningServer):
    key = await ses_key(server)
    client = sesv2(server, "01ARZ3NDEKTSV4RRFFQ69G5FAV", key["token"])

    with pytest.raises(ClientError) as raised:
        await asyncio.to_thread(client.send_email, **simple_request())

    assert raised.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


async def test_key_without_capture_scope_gets_access_denied(server: RunningServer):
    key = await ses_key(server, scopes=READING)
    client = sesv2(server, key["id"], key["token"])

    with pytest.raises(ClientError) as raised:
        await asyncio.to_thread(client.send_email, **simple_request())

    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


async def test_unsigned_request_is_refused_403_and_stores_nothing(server: RunningServer):
    key = await ses_key(server)
    body = {
        "FromEmailAddress": "a@svc.example",
        "Destination": {"ToAddresses": ["b@team.example"]},
        "Content": {"Simple": {"Subject": {"Data": "x"}, "Body": {"Text": {"Data": "y"}}}},
    }
    # An inboxkit bearer key is no AWS signature either.
    for headers in ({}, {"Authorization": f"Bearer {key['token']}"}):
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            response = await http.post(f"/esp/ses{ENDPOINT}", json=body, headers=headers)
        assert response.status_code == 403, response.text
        assert response.headers["x-amzn-ErrorType"] in (
            "MissingAuthenticationTokenException",
            "IncompleteSignatureException",
        )
        assert response.json()["message"]
    assert await captured(server, key["token"]) == []


def signed(server: RunningServer, key: dict[str, Any], body: bytes) -> dict[str, str]:
    """Headers botocore's signer makes for POSTing `body` to the SendEmail path."""
    request = AWSRequest(
        method="POST",
        url=f"{server.base_url}/esp/ses{ENDPOINT}",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    SigV4Auth(Credentials(key["id"], key["token"]), "ses", "us-east-1").add_auth(request)
    return dict(request.headers.items())


async def test_body_swapped_under_a_valid_signature_is_refused_403(server: RunningServer):
    key = await ses_key(server)
    honest = json.dumps(
        {
            "FromEmailAddress": "a@svc.example",
            "Destination": {"ToAddresses": ["b@team.example"]},
            "Content": {"Simple": {"Subject": {"Data": "hi"}, "Body": {"Text": {"Data": "ok"}}}},
        }
    ).encode()
    forged = honest.replace(b"b@team.example", b"c@evil.example")
    headers = signed(server, key, honest)

    async with httpx.AsyncClient(base_url=server.base_url) as http:
        refused = await http.post(f"/esp/ses{ENDPOINT}", content=forged, headers=headers)
        assert refused.status_code == 403, refused.text
        assert refused.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
        # Declaring the honest body's hash does not help either.
        declared = {**headers, "X-Amz-Content-SHA256": hashlib.sha256(honest).hexdigest()}
        refused = await http.post(f"/esp/ses{ENDPOINT}", content=forged, headers=declared)
        assert refused.status_code == 403, refused.text
        assert await captured(server, key["token"]) == []

        accepted = await http.post(f"/esp/ses{ENDPOINT}", content=honest, headers=headers)
    assert accepted.status_code == 200, accepted.text
    assert set(accepted.json()) == {"MessageId"}
    message = await only_captured(server, key["token"])
    assert message["envelope"]["rcpt_to"] == ["b@team.example"]


async def test_malformed_message_gets_bad_request_exception(server: RunningServer):
    key = await ses_key(server)
    client = sesv2(server, key["id"], key["token"])
    cases: list[dict[str, Any]] = [
        {**simple_request(), "FromEmailAddress": "not an address"},
        {**simple_request(), "Destination": {"ToAddresses": []}},
        {
            **simple_request(),
            "Destination": {"ToAddresses": [f"r{i}@team.example" for i in range(51)]},
        },
        {"Content": {"Raw": {"Data": b"no blank line, no headers"}}},
        {**simple_request(), "EmailTags": [{"Name": "bad tag!", "Value": "x"}]},
    ]
    for request in cases:
        with pytest.raises(client.exceptions.BadRequestException) as raised:
            await asyncio.to_thread(client.send_email, **request)
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert raised.value.response["Error"]["Message"]
    assert await captured(server, key["token"]) == []


async def test_other_account_never_sees_the_captured_mail(server: RunningServer):
    sender = await ses_key(server)
    other = await ses_key(server)
    await asyncio.to_thread(
        sesv2(server, sender["id"], sender["token"]).send_email, **simple_request()
    )
    message = await only_captured(server, sender["token"])

    assert await captured(server, other["token"]) == []
    response = await server.http.get(
        f"/mailboxes/{message['mailbox_id']}/messages/{message['id']}",
        headers=server.auth(other["token"]),
    )
    assert response.status_code == 404


async def test_captured_simple_email_parses_as_mime_with_alternative_and_attachment(
    server: RunningServer,
):
    key = await ses_key(server)
    await asyncio.to_thread(sesv2(server, key["id"], key["token"]).send_email, **simple_request())
    message = await only_captured(server, key["token"])

    parsed = message_from_bytes(
        await raw_bytes(server, key["token"], message), policy=policy.default
    )

    assert parsed.get_content_type() == "multipart/mixed"
    kinds = [part.get_content_type() for part in parsed.walk()]
    assert kinds == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "application/pdf",
    ]
    assert base64.b64encode(PDF).decode() in (
        await raw_bytes(server, key["token"], message)
    ).decode().replace("\r\n", "")


async def test_oversized_request_and_message_are_rejected_413(
    settings: Settings, server: RunningServer
):
    async with start_server(settings.model_copy(update={"max_request_bytes": 4096})) as small:
        key = await ses_key(small)
        request = simple_request()
        request["Content"]["Simple"]["Attachments"][0]["RawContent"] = b"x" * 8000
        with pytest.raises(ClientError) as raised:
            await asyncio.to_thread(sesv2(small, key["id"], key["token"]).send_email, **request)
        assert raised.value.response["Error"]["Code"] == "MessageRejected"
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413

    key = await ses_key(server)
    await update_plan(server.runtime, "default", max_message_bytes=3000)
    request = simple_request()
    request["Content"]["Simple"]["Attachments"][0]["RawContent"] = b"y" * 5000
    with pytest.raises(ClientError) as raised:
        await asyncio.to_thread(sesv2(server, key["id"], key["token"]).send_email, **request)
    assert raised.value.response["Error"]["Code"] == "MessageRejected"
    assert await captured(server, key["token"]) == []


async def test_over_the_plan_write_rate_raises_too_many_requests(server: RunningServer):
    key = await ses_key(server)
    await update_plan(server.runtime, "default", write_per_minute=1)
    client = sesv2(server, key["id"], key["token"])
    await asyncio.to_thread(client.send_email, **simple_request())

    with pytest.raises(client.exceptions.TooManyRequestsException) as raised:
        await asyncio.to_thread(client.send_email, **simple_request())

    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert int(raised.value.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"]) >= 1
    assert len(await captured(server, key["token"])) == 1


async def test_bulk_email_captures_one_message_per_entry_and_reports_each(
    server: RunningServer,
):
    key = await ses_key(server)
    client = sesv2(server, key["id"], key["token"])

    result = await asyncio.to_thread(
        client.send_bulk_email,
        FromEmailAddress="Reminders <remind@svc.example>",
        DefaultContent={
            "Template": {
                "TemplateContent": {
                    "Subject": "Hi {{name}}, your slot is {{slot}}",
                    "Text": "See you at {{slot}}.",
                },
                "TemplateData": json.dumps({"name": "there", "slot": "soon"}),
            }
        },
        DefaultEmailTags=[{"Name": "flow", "Value": "reminder"}],
        BulkEmailEntries=[
            {
                "Destination": {"ToAddresses": ["lea@people.example"]},
                "ReplacementEmailContent": {
                    "ReplacementTemplate": {
                        "ReplacementTemplateData": json.dumps({"name": "Lea", "slot": "9:30"})
                    }
                },
            },
            {"Destination": {"ToAddresses": ["not an address"]}},
            {"Destination": {"ToAddresses": ["max@people.example"]}},
        ],
    )

    statuses = [entry["Status"] for entry in result["BulkEmailEntryResults"]]
    assert statuses == ["SUCCESS", "INVALID_PARAMETER", "SUCCESS"]
    assert result["BulkEmailEntryResults"][1]["Error"]
    messages = {m["to"][0]: m for m in await captured(server, key["token"])}
    assert set(messages) == {"lea@people.example", "max@people.example"}
    assert messages["lea@people.example"]["subject"] == "Hi Lea, your slot is 9:30"
    assert messages["max@people.example"]["subject"] == "Hi there, your slot is soon"
    assert header(messages["lea@people.example"], "X-SES-Message-Tags") == ["flow=reminder"]
    first_id = result["BulkEmailEntryResults"][0]["MessageId"]
    assert messages["lea@people.example"]["message_id"] == f"<{first_id}@email.amazonses.com>"
