"""Threads over REST: assignment by references and by subject, activity order, counts that
follow reads and deletions, isolation, pagination, and `wait?thread_id=`."""

from __future__ import annotations

import asyncio

from tests.helpers import RunningServer
from tests.threads.support import OUTSIDER, Mailbox, mail, start_conversation


async def test_a_conversation_over_smtp_and_local_delivery_is_one_thread_per_mailbox(
    mail_server: RunningServer,
):
    talk = await start_conversation(mail_server)
    for box, ids in ((talk.ada, talk.ada_ids), (talk.bob, talk.bob_ids)):
        (thread,) = await box.threads()
        assert thread["subject"] == "Project plan"
        assert thread["message_count"] == 3
        assert sorted(thread["participants"]) == sorted(
            [OUTSIDER, talk.ada.address, talk.bob.address]
        )
        detail = await box.thread(thread["id"])
        assert [m["id"] for m in detail["messages"]] == ids  # oldest first
        assert {m["thread_id"] for m in detail["messages"]} == {thread["id"]}
    (ada_thread,) = await talk.ada.threads()
    assert ada_thread["labels"] == ["sent"]  # Ada's own reply is in it
    assert ada_thread["unread_count"] == 2  # the two inbound ones; nothing was read


async def test_a_reply_that_dropped_its_references_joins_by_subject_and_participants(
    mail_server: RunningServer,
):
    talk = await start_conversation(mail_server)
    bare = mail(talk.ada.address, "RE: Re:  project   PLAN", cc=talk.bob.address)
    await mail_server.send([talk.ada.address, talk.bob.address], bare, mail_from=OUTSIDER)
    late = await talk.ada.arrival(talk.ada_ids[-1])
    (thread,) = await talk.ada.threads()
    assert late["thread_id"] == thread["id"]
    assert thread["message_count"] == 4


async def test_same_subject_from_different_people_makes_separate_threads(
    mail_server: RunningServer,
):
    box = Mailbox(mail_server, await mail_server.create_inbox())
    for sender in ("dave@one.example", "erin@two.example"):
        await mail_server.send(box.address, mail(box.address, "Hello", sender=sender))
    threads = await box.threads()
    assert len(threads) == 2
    assert [t["participants"] for t in threads] == [
        sorted(["erin@two.example", box.address]),
        sorted(["dave@one.example", box.address]),
    ]


async def test_threads_are_listed_by_latest_activity_and_counts_follow_reads_and_deletions(
    mail_server: RunningServer,
):
    box = Mailbox(mail_server, await mail_server.create_inbox())
    for subject in ("Alpha", "Beta", "Alpha"):
        await mail_server.send(box.address, mail(box.address, subject, body=f"{subject} body"))
    alpha, beta = await box.threads()
    assert (alpha["subject"], alpha["message_count"], alpha["unread_count"]) == ("Alpha", 2, 2)
    assert (beta["subject"], beta["message_count"]) == ("Beta", 1)
    first, second = (await box.thread(alpha["id"]))["messages"]
    read = await mail_server.http.patch(
        f"/mailboxes/{box.id}/messages/{first['id']}", json={"is_read": True}, headers=box.headers
    )
    assert read.status_code == 200
    assert (await box.threads())[0]["unread_count"] == 1
    # Deleting Alpha's newest message moves Alpha behind Beta; deleting its last one removes it.
    for message in (second, first):
        gone = await mail_server.http.delete(
            f"/mailboxes/{box.id}/messages/{message['id']}", headers=box.headers
        )
        assert gone.status_code == 204
        if message is second:
            listed = await box.threads()
            assert [t["subject"] for t in listed] == ["Beta", "Alpha"]
            assert listed[1]["message_count"] == 1
            assert listed[1]["last_message_at"] == first["received_at"]
    assert [t["subject"] for t in await box.threads()] == ["Beta"]


async def test_pagination_walks_every_thread_once(mail_server: RunningServer):
    box = Mailbox(mail_server, await mail_server.create_inbox())
    for n in range(5):
        await mail_server.send(box.address, mail(box.address, f"Topic {n}"))
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await box.get("/threads", **params)
        seen += [t["subject"] for t in page["data"]]
        cursor = page["meta"]["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Topic {n}" for n in reversed(range(5))]


async def test_a_thread_reads_its_messages_in_pages(mail_server: RunningServer):
    box = Mailbox(mail_server, await mail_server.create_inbox())
    for _ in range(3):
        await mail_server.send(box.address, mail(box.address, "Same"))
    (thread,) = await box.threads()
    page = await box.get(f"/threads/{thread['id']}", limit=2)
    assert len(page["data"]["messages"]) == 2 and page["data"]["message_count"] == 3
    rest = await box.get(f"/threads/{thread['id']}", limit=2, cursor=page["meta"]["next_cursor"])
    assert len(rest["data"]["messages"]) == 1 and rest["meta"]["next_cursor"] is None


async def test_another_accounts_mailbox_and_another_mailboxs_thread_are_404(
    mail_server: RunningServer,
):
    talk = await start_conversation(mail_server)
    (thread,) = await talk.ada.threads()
    outsider = Mailbox(mail_server, await mail_server.create_inbox())
    for path in (
        f"/mailboxes/{talk.ada.id}/threads",
        f"/mailboxes/{talk.ada.id}/threads/{thread['id']}",
    ):
        refused = await mail_server.http.get(path, headers=outsider.headers)
        assert refused.status_code == 404
        assert refused.json()["error"]["code"] == "not_found"
    # Bob's token on his own mailbox, asking for Ada's thread id: not his thread.
    foreign = await mail_server.http.get(
        f"/mailboxes/{talk.bob.id}/threads/{thread['id']}", headers=talk.bob.headers
    )
    assert foreign.status_code == 404
    assert "thread" in foreign.json()["error"]["message"]
    waited = await mail_server.http.get(
        f"/mailboxes/{talk.bob.id}/wait",
        params={"thread_id": thread["id"], "timeout": 0},
        headers=talk.bob.headers,
    )
    assert waited.status_code == 404


async def test_listing_threads_needs_the_messages_read_scope(mail_server: RunningServer):
    key = await mail_server.create_key("no-read", scopes=["mailboxes:read", "mailboxes:write"])
    box = await mail_server.create_inbox(token=key)
    refused = await mail_server.http.get(
        f"/mailboxes/{box['id']}/threads", headers=mail_server.auth(key)
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"


async def test_a_damaged_cursor_is_a_400_and_a_huge_limit_a_422(mail_server: RunningServer):
    box = Mailbox(mail_server, await mail_server.create_inbox())
    bad = await mail_server.http.get(
        f"/mailboxes/{box.id}/threads", params={"cursor": "nope"}, headers=box.headers
    )
    assert bad.status_code == 400 and "next_cursor" in bad.json()["error"]["message"]
    big = await mail_server.http.get(
        f"/mailboxes/{box.id}/threads", params={"limit": 10_000}, headers=box.headers
    )
    assert big.status_code == 422


async def test_wait_for_a_thread_returns_its_reply_and_not_other_mail(mail_server: RunningServer):
    box = Mailbox(mail_server, await mail_server.create_inbox())
    await mail_server.send(
        box.address, mail(box.address, "Order 1", message_id="<o1@shop.example>")
    )
    (thread,) = await box.threads()
    last = (await box.thread(thread["id"]))["messages"][-1]["id"]
    waiting = asyncio.create_task(box.get("/wait", thread_id=thread["id"], after=last, timeout=20))
    await mail_server.send(box.address, mail(box.address, "Unrelated", sender="x@y.example"))
    reply = mail(
        box.address, "Re: Order 1", sender="shop@shop.example", in_reply_to="<o1@shop.example>"
    )
    await mail_server.send(box.address, reply)
    found = (await waiting)["data"]["message"]
    assert found["subject"] == "Re: Order 1" and found["thread_id"] == thread["id"]


async def test_a_thread_carries_the_user_labels_of_its_messages_beside_sent(
    mail_server: RunningServer,
):
    talk = await start_conversation(mail_server)
    first = talk.ada_ids[0]
    answer = await mail_server.http.patch(
        f"/mailboxes/{talk.ada.id}/messages/{first}",
        json={"add_labels": ["Waiting", "customer"]},
        headers=talk.ada.headers,
    )
    assert answer.status_code == 200, answer.text
    (thread,) = await talk.ada.threads()
    assert thread["labels"] == ["customer", "waiting", "sent"]
    (bobs,) = await talk.bob.threads()  # Bob's copies are his own messages: unlabelled
    assert "customer" not in bobs["labels"]
    await mail_server.http.patch(
        f"/mailboxes/{talk.ada.id}/messages/{first}",
        json={"remove_labels": ["customer", "waiting"]},
        headers=talk.ada.headers,
    )
    (thread,) = await talk.ada.threads()
    assert thread["labels"] == ["sent"]


async def test_a_reply_without_references_joins_when_its_people_are_all_in_the_conversation(
    mail_server: RunningServer,
):
    box = Mailbox(mail_server, await mail_server.create_inbox())
    opening = mail(box.address, "Order 7", sender="dave@one.example", cc="erin@two.example")
    await mail_server.send([box.address], opening, mail_from="dave@one.example")
    first = await box.arrival()
    # Dave answers Erin's part of it to the mailbox alone, from a client that kept no
    # references: fewer people than the latest message, all of them already in the thread.
    narrower = mail(box.address, "Re: Order 7", sender="dave@one.example")
    await mail_server.send([box.address], narrower, mail_from="dave@one.example")
    second = await box.arrival(first["id"])
    stranger = mail(box.address, "Re: Order 7", sender="mallory@three.example")
    await mail_server.send([box.address], stranger, mail_from="mallory@three.example")
    third = await box.arrival(second["id"])
    assert second["thread_id"] == first["thread_id"]
    assert third["thread_id"] != first["thread_id"]
