"""The MCP tools list_threads and read_thread, through the official MCP client over /mcp, and
the REST backend (`inboxkit mcp --url`) answering as the services do."""

from __future__ import annotations

from inboxkit.errors import NotFound, Resource
from inboxkit.mcp.backends import RestBackend, ServiceBackend
from inboxkit.services.messages import MessageFilter
from tests.helpers import RunningServer
from tests.mcp.conftest import call, call_error, http_client
from tests.threads.support import OUTSIDER, mail, start_conversation


async def test_a_model_lists_threads_reads_one_and_waits_for_its_next_reply(
    mail_server: RunningServer,
):
    talk = await start_conversation(mail_server)
    url = f"{mail_server.base_url}/mcp"
    async with http_client(url, talk.ada.headers) as client:
        listed = await call(client, "list_threads", inbox=talk.ada.address)
        (thread,) = listed["threads"]
        assert thread["subject"] == "Project plan" and thread["message_count"] == 3
        assert thread["labels"] == ["sent"] and "notice" in listed
        read = await call(client, "read_thread", inbox=talk.ada.address, thread_id=thread["id"])
        messages = read["thread"]["messages"]
        assert [m["id"] for m in messages] == talk.ada_ids
        assert messages[1]["direction"] == "outbound"
        assert {m["thread_id"] for m in messages} == {thread["id"]}

        # Waiting on the thread walks its unread mail in order, then the next reply.
        args = {"inbox": talk.ada.address, "thread_id": thread["id"], "timeout_seconds": 20}
        for expected in (talk.ada_ids[0], talk.ada_ids[2]):
            assert (await call(client, "wait_for_message", **args))["message"]["id"] == expected
        await mail_server.send(talk.ada.address, mail(talk.ada.address, "Other"))
        late = mail(
            talk.ada.address, "Re: Project plan", cc=talk.bob.address,
            in_reply_to="<plan-3@outside.example>",
        )  # fmt: skip
        await mail_server.send([talk.ada.address, talk.bob.address], late, mail_from=OUTSIDER)
        waited = await call(client, "wait_for_message", **args)
        assert waited["message"]["thread_id"] == thread["id"]
        assert waited["message"]["subject"] == "Re: Project plan"
        assert waited["message"]["id"] not in talk.ada_ids

        refused = await call_error(
            client, "read_thread", inbox=talk.ada.address, thread_id="01AAAAAAAAAAAAAAAAAAAAAAAA"
        )
        assert "list_threads" in refused


async def test_the_rest_backend_answers_threads_as_the_services_do(mail_server: RunningServer):
    talk = await start_conversation(mail_server)
    token = talk.ada.data["token"]
    service = ServiceBackend(
        mail_server.runtime, await mail_server.runtime.auth.authenticate(token)
    )
    async with RestBackend(mail_server.base_url, token) as rest:
        listed = await rest.list_threads(talk.ada.address, limit=10, cursor=None)
        assert listed == await service.list_threads(talk.ada.address, limit=10, cursor=None)
        thread_id = listed[0][0]["id"]
        read = await rest.read_thread(talk.ada.address, thread_id, limit=2, cursor=None)
        assert read == await service.read_thread(talk.ada.address, thread_id, limit=2, cursor=None)
        assert read[1] is not None and len(read[0]["messages"]) == 2
        try:
            await rest.read_thread(talk.bob.address, thread_id, limit=2, cursor=None)
        except NotFound as exc:
            assert exc.resource in (Resource.THREAD, Resource.MAILBOX)
        else:
            raise AssertionError("another mailbox's thread was readable")
        waited = await rest.wait(
            talk.ada.address,
            MessageFilter(thread_id=thread_id, after=talk.ada_ids[0]),
            timeout=0,
            mark_read=False,
        )
        assert waited["message"]["id"] == talk.ada_ids[2]
