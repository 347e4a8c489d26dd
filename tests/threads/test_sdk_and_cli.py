"""Threads through the SDK (sync and async) and the `inboxkit threads` / `inboxkit thread`
commands, against a real server."""

from __future__ import annotations

import asyncio
import json

from inboxkit.client import InboxKit, Thread
from tests.cli.test_client_commands import run
from tests.client.conftest import Sdk
from tests.helpers import RunningServer
from tests.threads.support import OUTSIDER, mail, start_conversation


async def test_the_sdk_lists_reads_and_waits_on_a_thread(mail_server: RunningServer, sdk: Sdk):
    talk = await start_conversation(mail_server)
    client = sdk.client(talk.ada.data["token"])
    (thread,) = (await sdk.run(client.list_threads, talk.ada.address)).items
    assert isinstance(thread, Thread) and thread.message_count == 3
    assert thread.labels == ["sent"]
    read = await sdk.run(client.get_thread, talk.ada.address, thread.id, limit=2)
    assert [m.id for m in read.messages] == talk.ada_ids[:2] and read.next_cursor
    rest = await sdk.run(client.get_thread, talk.ada.address, thread.id, cursor=read.next_cursor)
    assert [m.id for m in rest.messages] == talk.ada_ids[2:] and rest.next_cursor is None
    assert rest.messages[0].thread_id == thread.id

    late = mail(talk.ada.address, "Re: Project plan", in_reply_to="<plan-1@outside.example>")
    await mail_server.send(talk.ada.address, late, mail_from=OUTSIDER)
    found = await sdk.run(
        client.wait, talk.ada.address, thread_id=thread.id, after=talk.ada_ids[-1], timeout=20
    )
    assert found is not None and found.thread_id == thread.id


async def test_an_inbox_object_lists_its_threads(mail_server: RunningServer):
    box = await mail_server.create_inbox()
    await mail_server.send(box["address"], mail(box["address"], "Hello"))

    def threads_of_inbox() -> tuple[list[Thread], Thread]:
        with InboxKit(mail_server.base_url, box["token"]) as kit:
            inbox = kit.get_inbox(box["address"], token=box["token"])
            listed = list(inbox.threads())
            return listed, inbox.thread(listed[0].id)

    listed, one = await asyncio.to_thread(threads_of_inbox)
    assert [t.subject for t in listed] == ["Hello"]
    assert [m.subject for m in one.messages] == ["Hello"]


async def test_the_cli_lists_threads_and_prints_one(mail_server: RunningServer):
    talk = await start_conversation(mail_server)
    token = talk.ada.data["token"]
    listed = await run(mail_server, "threads", talk.ada.address, INBOXKIT_TOKEN=token)
    assert listed.code == 0, listed.stderr
    assert "'Project plan'" in listed.stdout and "[3 messages, 2 unread]" in listed.stdout
    as_json = await run(mail_server, "threads", talk.ada.address, "--json", INBOXKIT_TOKEN=token)
    (thread,) = json.loads(as_json.stdout)
    shown = await run(mail_server, "thread", talk.ada.address, thread["id"], INBOXKIT_TOKEN=token)
    assert shown.code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("Project plan") and len(lines) == 4
    assert [line.split()[0] for line in lines[1:]] == talk.ada_ids
    missing = await run(
        mail_server, "thread", talk.ada.address, "01AAAAAAAAAAAAAAAAAAAAAAAA", INBOXKIT_TOKEN=token
    )
    assert missing.code != 0 and "thread" in missing.stderr
