"""MCP over streamable HTTP at /mcp, with the official SDK client against the real app."""

from __future__ import annotations

import base64
import itertools
import json
import re
from email.message import EmailMessage

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import EmbeddedResource, ImageContent, TextContent

from inboxkit.mcp.present import UNTRUSTED
from inboxkit.mcp.tools import PROGRESS_INTERVAL
from tests.helpers import RunningServer, start_server, update_plan
from tests.mcp.conftest import TOOL_NAMES, call, call_error, http_client

MCP_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "raw-http", "version": "1"},
    },
}
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def sse_json(body: str) -> dict:
    """The JSON-RPC message in a one-event SSE body (or a plain JSON body)."""
    data = [line[5:].strip() for line in body.splitlines() if line.startswith("data:")]
    return json.loads(data[-1] if data else body)


def mcp_url(server: RunningServer) -> str:
    return f"{server.base_url}/mcp"


async def test_bare_post_to_exact_mcp_path_is_answered_without_redirect(server: RunningServer):
    key = await server.create_key()
    async with httpx.AsyncClient(follow_redirects=False) as client:
        response = await client.post(
            mcp_url(server), json=INITIALIZE, headers={**MCP_HEADERS, **server.auth(key)}
        )
    assert response.status_code == 200, response.text
    message = sse_json(response.text)
    assert message["id"] == 1
    assert message["result"]["serverInfo"]["name"] == "inboxkit"


async def test_requests_without_a_valid_token_are_refused_401(server: RunningServer):
    async with httpx.AsyncClient() as client:
        missing = await client.post(mcp_url(server), json=INITIALIZE, headers=MCP_HEADERS)
        wrong = await client.post(
            mcp_url(server),
            json=INITIALIZE,
            headers={**MCP_HEADERS, "Authorization": "Bearer ik_not-a-real-key"},
        )
    for response in (missing, wrong):
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
    with pytest.raises(Exception):  # noqa: B017 (the SDK's error type for a refused connection varies by path)
        async with http_client(mcp_url(server)) as client:
            await client.list_tools()


async def test_revoked_key_is_refused(server: RunningServer):
    key = await server.runtime.auth.create_key(name="soon revoked")
    await server.runtime.auth.revoke_key(key["id"])
    async with httpx.AsyncClient() as client:
        response = await client.post(
            mcp_url(server), json=INITIALIZE, headers={**MCP_HEADERS, **server.auth(key["token"])}
        )
    assert response.status_code == 401


async def test_cross_site_browser_origin_is_refused_403(server: RunningServer):
    key = await server.create_key()
    async with httpx.AsyncClient() as client:
        response = await client.post(
            mcp_url(server),
            json=INITIALIZE,
            headers={**MCP_HEADERS, **server.auth(key), "Origin": "https://evil.example"},
        )
    assert response.status_code == 403


async def test_mcp_endpoint_is_not_in_the_rest_openapi_document(server: RunningServer):
    document = (await server.http.get(f"{server.base_url}/openapi.json")).json()
    assert not any(path.startswith("/mcp") for path in document["paths"])


@pytest.mark.parametrize("mode", ["auto", "legacy"])  # 2026 sessionless / 2025 handshake
async def test_signup_flow_create_inbox_then_smtp_then_wait_for_code(
    server: RunningServer, mode: str
):
    key = await server.create_key()
    async with http_client(mcp_url(server), server.auth(key), mode=mode) as client:
        assert {tool.name for tool in (await client.list_tools()).tools} == TOOL_NAMES
        inbox = await call(client, "create_inbox")
        address = inbox["address"]
        assert address.endswith("@inboxkit.localhost")
        assert "token" not in inbox  # secrets stay out of the model's context
        await server.send(
            address,
            subject="Confirm your email",
            body="Welcome aboard!\nYour verification code is 482913\n",
            mail_from="no-reply@shop.example",
        )
        found = await call(client, "wait_for_code", inbox=address, timeout_seconds=30)
        assert found["timed_out"] is False
        assert found["code"] == "482913"
        assert found["from"] == "no-reply@shop.example"
        assert found["subject"] == "Confirm your email"
        assert found["notice"] == UNTRUSTED
        message = await call(client, "read_message", inbox=address, message_id=found["message_id"])
        assert "482913" in message["markdown"]
        assert message["notice"] == UNTRUSTED


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_wait_for_code_that_times_out_is_a_result_not_an_error(
    server: RunningServer, mode: str
):
    key = await server.create_key()
    async with http_client(mcp_url(server), server.auth(key), mode=mode) as client:
        address = (await call(client, "create_inbox"))["address"]
        progress: list[tuple[float, float | None, str | None]] = []

        async def on_progress(done: float, total: float | None, message: str | None) -> None:
            progress.append((done, total, message))

        result = await client.call_tool(
            "wait_for_code",
            {"inbox": address, "timeout_seconds": 0.5},
            progress_callback=on_progress,
        )
    assert not result.is_error
    assert result.structured_content is not None
    assert result.structured_content["timed_out"] is True
    assert result.structured_content["code"] is None
    assert "wait_for_code again" in result.structured_content["hint"]
    # Progress starts as soon as the wait does, then every PROGRESS_INTERVAL seconds.
    assert PROGRESS_INTERVAL > 0.5
    assert progress and progress[0][1] == 0.5
    assert address in (progress[0][2] or "")


async def test_mail_already_delivered_before_the_wait_is_returned(server: RunningServer):
    key = await server.create_key()
    async with http_client(mcp_url(server), server.auth(key)) as client:
        address = (await call(client, "create_inbox"))["address"]
        await server.send(address, subject="first", body="nothing to see")
        await server.send(address, subject="second", body="Your code is 771204")
        first = await call(client, "wait_for_message", inbox=address, timeout_seconds=10)
        second = await call(client, "wait_for_message", inbox=address, timeout_seconds=10)
        code = await call(client, "wait_for_code", inbox=address, timeout_seconds=0)
    assert [first["message"]["subject"], second["message"]["subject"]] == ["first", "second"]
    assert code["timed_out"] is True  # the coded mail was already claimed by the second wait


async def test_another_tenants_inbox_is_unknown_to_every_tool(server: RunningServer):
    owner, stranger = await server.create_key("owner"), await server.create_key("stranger")
    async with http_client(mcp_url(server), server.auth(owner)) as client:
        address = (await call(client, "create_inbox"))["address"]
    await server.send(address, subject="private", body="Your code is 123456")
    async with http_client(mcp_url(server), server.auth(stranger)) as client:
        assert (await call(client, "list_inboxes"))["inboxes"] == []
        for tool, arguments in [
            ("list_messages", {"inbox": address}),
            ("wait_for_code", {"inbox": address, "timeout_seconds": 0}),
            ("wait_for_message", {"inbox": address, "timeout_seconds": 0}),
            ("delete_inbox", {"inbox": address}),
        ]:
            error = await call_error(client, tool, **arguments)
            assert "No such mailbox" in error and "list_inboxes" in error, error
    async with http_client(mcp_url(server), server.auth(owner)) as client:
        listing = await call(client, "list_messages", inbox=address)
    assert [m["subject"] for m in listing["messages"]] == ["private"]


async def test_missing_scope_is_a_tool_error_that_says_what_to_do(server: RunningServer):
    reader = await server.create_key("reader", scopes=["mailboxes:read", "messages:read"])
    async with http_client(mcp_url(server), server.auth(reader)) as client:
        error = await call_error(client, "create_inbox")
    assert "mailboxes:write" in error and "API key" in error


async def test_mailbox_token_reaches_its_own_inbox_only(server: RunningServer):
    mine, other = await server.create_inbox(), await server.create_inbox()
    async with http_client(mcp_url(server), server.auth(mine["token"])) as client:
        listed = await call(client, "list_inboxes")
        assert [box["address"] for box in listed["inboxes"]] == [mine["address"]]
        assert "No such mailbox" in await call_error(
            client, "list_messages", inbox=other["address"]
        )
        assert "API key" in await call_error(client, "create_inbox")


async def test_unknown_message_and_attachment_errors_point_to_the_listing_tools(
    server: RunningServer,
):
    key = await server.create_key()
    async with http_client(mcp_url(server), server.auth(key)) as client:
        address = (await call(client, "create_inbox"))["address"]
        await server.send(address, subject="hello", body="hi")
        message_id = (await call(client, "list_messages", inbox=address))["messages"][0]["id"]
        unknown_message = await call_error(
            client, "read_message", inbox=address, message_id="01AAAAAAAAAAAAAAAAAAAAAAAA"
        )
        unknown_attachment = await call_error(
            client, "get_attachment", inbox=address, message_id=message_id, attachment_id="9"
        )
        invalid = await call_error(client, "create_inbox", mode="test", handle="alice")
    assert "list_messages" in unknown_message
    assert "read_message" in unknown_attachment
    assert "Correct the arguments" in invalid


async def test_html_only_mail_is_read_as_text_and_attachments_come_back_by_kind(
    server: RunningServer,
):
    key = await server.create_key()
    async with http_client(mcp_url(server), server.auth(key)) as client:
        address = (await call(client, "create_inbox"))["address"]
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = "reports@example.com", address, "Report"
        mail.set_content(
            "<html><body><h1>Monthly report</h1><p>All <b>green</b>.</p></body></html>",
            subtype="html",
        )
        mail.add_attachment(PNG, maintype="image", subtype="png", filename="dot.png")
        mail.add_attachment("a,b\n1,2\n", subtype="csv", filename="data.csv")
        mail.add_attachment(
            b"%PDF-1.4 binary\x00\x01", maintype="application", subtype="pdf", filename="r.pdf"
        )
        await server.send(address, mail, mail_from="reports@example.com")

        summary = (await call(client, "wait_for_message", inbox=address, timeout_seconds=30))[
            "message"
        ]
        message = await call(client, "read_message", inbox=address, message_id=summary["id"])
        # Markdown by default: structure kept, no raw HTML.
        assert message["format"] == "markdown"
        assert "# Monthly report" in message["markdown"] and "**green**" in message["markdown"]
        assert "<b>" not in message["markdown"] and "html" not in message
        by_name = {a["filename"]: a for a in message["attachments"]}
        assert set(by_name) == {"dot.png", "data.csv", "r.pdf"}

        async def fetch(name: str) -> list:
            result = await client.call_tool(
                "get_attachment",
                {
                    "inbox": address,
                    "message_id": summary["id"],
                    "attachment_id": by_name[name]["id"],
                },
            )
            assert not result.is_error, result.content
            assert UNTRUSTED in result.content[0].text
            return result.content[1:]

        (image,) = await fetch("dot.png")
        (text,) = await fetch("data.csv")
        (blob,) = await fetch("r.pdf")
    assert isinstance(image, ImageContent) and base64.b64decode(image.data) == PNG
    assert isinstance(text, TextContent) and text.text.splitlines() == ["a,b", "1,2"]
    assert isinstance(blob, EmbeddedResource)
    assert base64.b64decode(blob.resource.blob) == b"%PDF-1.4 binary\x00\x01"


async def test_delete_inbox_makes_its_address_unknown(server: RunningServer):
    key = await server.create_key()
    async with http_client(mcp_url(server), server.auth(key)) as client:
        address = (await call(client, "create_inbox", mode="agent", handle="mcp-agent"))["address"]
        assert address == "mcp-agent@inboxkit.localhost"
        assert (await call(client, "delete_inbox", inbox=address))["deleted"] is True
        assert "No such mailbox" in await call_error(client, "list_messages", inbox=address)


class _RoundRobin(httpx2.AsyncBaseTransport):
    """Send each request to the next of several API processes, as a load balancer would."""

    def __init__(self, ports: list[int]):
        self.inner = httpx2.AsyncHTTPTransport()
        self.ports = itertools.cycle(ports)
        self.used: list[int] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        port = next(self.ports)
        self.used.append(port)
        request.url = request.url.copy_with(port=port)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_requests_spread_over_two_api_processes_complete_the_flow(
    server: RunningServer, mode: str
):
    async with start_server(server.settings, role="api") as second:
        key = await server.create_key()
        balancer = _RoundRobin([server.http_port, second.http_port])
        http = httpx2.AsyncClient(
            transport=balancer, headers=server.auth(key), timeout=httpx2.Timeout(30.0, read=120.0)
        )
        async with (
            http,
            Client(streamable_http_client(mcp_url(server), http_client=http), mode=mode) as client,
        ):
            address = (await call(client, "create_inbox"))["address"]
            await server.send(address, subject="Code", body="Your verification code is 482913")
            found = await call(client, "wait_for_code", inbox=address, timeout_seconds=30)
        assert found["code"] == "482913"
        assert set(balancer.used) == {server.http_port, second.http_port}


async def test_send_email_and_reply_are_delivered_and_threaded(server: RunningServer):
    key = await server.create_key()
    async with http_client(mcp_url(server), server.auth(key)) as client:
        alice = (await call(client, "create_inbox", mode="agent", handle="alice"))["address"]
        bob = (await call(client, "create_inbox", mode="agent", handle="bob"))["address"]
        sent = await call(
            client,
            "send_email",
            inbox=alice,
            to=[bob],
            subject="Lunch?",
            text="Noon at the usual place?",
        )
        assert sent["message"]["direction"] == "outbound"
        assert sent["message"]["delivery_status"] in ("queued", "sent")

        arrived = (await call(client, "wait_for_message", inbox=bob, timeout_seconds=30))["message"]
        assert (arrived["from"], arrived["subject"]) == (alice, "Lunch?")
        await call(client, "reply", inbox=bob, message_id=arrived["id"], text="Yes, see you there.")

        answer = (await call(client, "wait_for_message", inbox=alice, timeout_seconds=30))[
            "message"
        ]
        assert (answer["from"], answer["subject"]) == (bob, "Re: Lunch?")
        read = await call(client, "read_message", inbox=alice, message_id=answer["id"])
        assert read["in_reply_to"] is not None
        assert "Yes, see you there." in read["markdown"]
        assert read["reply_text"] == "Yes, see you there."


async def test_send_without_the_send_scope_is_a_tool_error(server: RunningServer):
    reader = await server.create_key(
        "no-send", scopes=["mailboxes:read", "mailboxes:write", "messages:read"]
    )
    async with http_client(mcp_url(server), server.auth(reader)) as client:
        address = (await call(client, "create_inbox"))["address"]
        error = await call_error(
            client, "send_email", inbox=address, to=["x@example.com"], subject="s", text="t"
        )
    assert "'send'" in error and "API key" in error


async def test_anonymous_inbox_token_cannot_send_email_or_reply(server: RunningServer):
    inbox = await server.create_inbox()  # anonymous: its token is the only credential
    await server.send(inbox["address"], subject="Hello", mail_from="alice@example.com")
    async with http_client(mcp_url(server), server.auth(inbox["token"])) as client:
        (received,) = (await call(client, "list_messages", inbox=inbox["address"]))["messages"]
        refusals = [
            await call_error(
                client,
                "send_email",
                inbox=inbox["address"],
                to=["x@example.com"],
                subject="s",
                text="t",
            ),
            await call_error(
                client, "reply", inbox=inbox["address"], message_id=received["id"], text="t"
            ),
        ]
        outbound = await call(client, "list_messages", inbox=inbox["address"], direction="outbound")
    for error in refusals:
        assert "cannot send" in error and "API key" in error
    assert outbound["messages"] == []


async def test_tool_calls_count_against_the_plans_rate_limits_and_say_how_long_to_wait(
    server: RunningServer,
):
    await update_plan(server.runtime, "default", create_per_minute=1, read_per_minute=1)
    key = await server.create_key()
    async with http_client(mcp_url(server), server.auth(key)) as client:
        await call(client, "create_inbox")
        await call(client, "list_inboxes")
        too_many_creations = await call_error(client, "create_inbox")
        too_many_reads = await call_error(client, "list_inboxes")

    assert "Plan 'default' allows 1 inbox creations a minute per account" in too_many_creations
    assert "Plan 'default' allows 1 reads a minute per account" in too_many_reads
    for error in (too_many_creations, too_many_reads):
        assert re.search(r"Rate limited; wait \d+ (s|minutes?) and call again\.$", error), error
