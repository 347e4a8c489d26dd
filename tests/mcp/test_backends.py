"""The two MCP backends answer alike: the REST one (over the SDK) returns the JSON the services
return in-process, and raises the same exceptions, about the same resource."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from inboxkit.errors import NotFound, Resource, ValidationFailed
from inboxkit.mcp.backends import RestBackend, ServerUnreachable, ServiceBackend
from inboxkit.services.messages import MessageFilter
from tests.helpers import RunningServer
from tests.mcp.conftest import free_port


async def test_rest_backend_returns_what_the_services_return(server: RunningServer):
    key = await server.create_key()
    service = ServiceBackend(server.runtime, await server.runtime.auth.authenticate(key))
    async with RestBackend(server.base_url, key) as rest:
        box = await rest.create_inbox(mode="test", name="alike")
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@shop.example", box["address"], "Hi"
        message.set_content("Your code is 482913; confirm at https://shop.example/verify?t=1")
        message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="x.pdf")
        await server.send(box["address"], message)

        address, everything = box["address"], MessageFilter()
        assert await rest.list_inboxes(limit=10, cursor=None) == (
            await service.list_inboxes(limit=10, cursor=None)
        )
        listed = await rest.list_messages(address, everything, limit=10, cursor=None)
        assert listed == await service.list_messages(address, everything, limit=10, cursor=None)
        message_id = listed[0][0]["id"]
        read = await rest.read_message(address, message_id, mark_read=False)
        assert read == await service.read_message(address, message_id, mark_read=False)
        attachment_id = read["attachments"][0]["id"]
        assert await rest.attachment(address, message_id, attachment_id, max_bytes=100) == (
            await service.attachment(address, message_id, attachment_id, max_bytes=100)
        )
        coded = MessageFilter(has_code=True)
        waited = await rest.wait(address, coded, timeout=5, mark_read=False)
        assert waited == await service.wait(address, coded, timeout=5, mark_read=False)
        assert waited["message"]["codes"] == ["482913"]
        assert await rest.wait(address, MessageFilter(after=message_id), timeout=0, mark_read=True)
        assert (await rest.wait(address, coded, timeout=0, mark_read=True))["timed_out"] is False
        assert await rest.wait(address, coded, timeout=0, mark_read=True) == {
            "message": None,
            "timed_out": True,
        }
        sent = await rest.reply(address, message_id, text="thanks", html=None, reply_all=False)
        assert (sent["direction"], sent["subject"]) == ("outbound", "Re: Hi")
        usage = await rest.usage()
        assert usage == await service.usage()
        assert usage["usage"]["received_this_month"] == 1 and usage["plan"] == "default"
        await rest.delete_inbox(address)
        assert await rest.list_inboxes(limit=10, cursor=None) == ([], None)


async def test_rest_backend_errors_name_the_resource_the_call_was_about(server: RunningServer):
    key = await server.create_key()
    async with RestBackend(server.base_url, key) as rest:
        address = (await rest.create_inbox(mode="test"))["address"]
        await server.send(address, subject="hello")
        (message,), _ = await rest.list_messages(address, MessageFilter(), limit=1, cursor=None)
        cases = [
            (rest.list_messages("nobody@inboxkit.localhost", MessageFilter(), limit=1, cursor=None),
             Resource.MAILBOX),
            (rest.read_message(address, "01AAAAAAAAAAAAAAAAAAAAAAAA", mark_read=False),
             Resource.MESSAGE),
            (rest.attachment(address, message["id"], "9", max_bytes=10), Resource.ATTACHMENT),
        ]  # fmt: skip
        for call, resource in cases:
            with pytest.raises(NotFound) as caught:
                await call
            assert caught.value.resource == resource
        with pytest.raises(ValidationFailed):
            await rest.create_inbox(mode="test", handle="alice")


async def test_rest_backend_reports_an_unreachable_server():
    async with RestBackend(f"http://127.0.0.1:{free_port()}", "ik_whatever") as rest:
        with pytest.raises(ServerUnreachable, match="could not be reached \\(ConnectError\\)"):
            await rest.list_inboxes(limit=1, cursor=None)
