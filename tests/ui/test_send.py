"""The web UI's send and reply forms for agent inboxes, in a real browser against the whole
service (both backends): a message sent to a second local inbox arrives live there and is
listed as sent; a reply from it arrives threaded; the plan's sending policy is shown as a
readable refusal; cross-site posts to the send route are refused. Row actions (mark read,
delete) work from the list itself."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from inboxkit.services.auth import SCOPES
from tests.helpers import RunningServer, make_message
from tests.plans.support import account_on_plan
from tests.ui.browser import SCREENSHOTS, chromium, counting_server
from tests.ui.test_browser import sign_in
from tests.ui.test_security import same_site, signed_in


async def listed(server: RunningServer, token: str, mailbox_id: str) -> list[dict[str, Any]]:
    response = await server.http.get(
        f"/mailboxes/{mailbox_id}/messages", headers=server.auth(token)
    )
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


async def delivered(server: RunningServer, token: str, mailbox_id: str, subject: str) -> Any:
    """The REST API's copy of the first message in the mailbox with `subject`, once stored."""
    for _ in range(300):
        for summary in await listed(server, token, mailbox_id):
            if summary["subject"] == subject and summary["direction"] == "inbound":
                full = await server.http.get(
                    f"/mailboxes/{mailbox_id}/messages/{summary['id']}",
                    headers=server.auth(token),
                )
                return full.json()["data"]
        await asyncio.sleep(0.05)
    raise AssertionError(f"never delivered: {subject!r}")


async def test_agent_inbox_sends_to_a_local_inbox_and_the_reply_arrives_threaded(
    server: RunningServer,
) -> None:
    key = await server.create_key()
    ada = await server.create_inbox(token=key, mode="agent", handle="ada-sender")
    bob = await server.create_inbox(token=key, mode="agent", handle="bob-receiver")
    SCREENSHOTS.mkdir(exist_ok=True)
    async with chromium() as browser:
        context = await browser.new_context(
            base_url=server.base_url, viewport={"width": 1100, "height": 800}
        )
        page = await context.new_page()
        await sign_in(page, server, key)

        # Bob's live list is open while Ada sends.
        bob_page = await context.new_page()
        await bob_page.goto(f"/inbox/{bob['id']}")
        await bob_page.wait_for_selector("body[data-live='connected']")

        await page.goto(f"/inbox/{ada['id']}")
        await page.click("#send-details summary")
        await page.fill("#send-to", bob["address"])
        await page.fill("#send-subject", "Hello from the UI")
        await page.fill("#send-text", "The report is attached in spirit.")
        await page.click("#send")
        await page.wait_for_url(f"**/inbox/{ada['id']}")

        # Shown as sent in Ada's list: outbound, to Bob, with its delivery status.
        sent_row = page.locator("#messages li[data-direction='outbound']")
        await sent_row.first.wait_for()
        assert "To: " + bob["address"] in (await sent_row.first.text_content() or "")
        assert "Hello from the UI" in (await sent_row.first.text_content() or "")
        assert await sent_row.first.locator(".badge.delivery").count() == 1

        # It arrives in Bob's open list without a reload.
        received = bob_page.locator("#messages li[data-id]")
        await received.first.wait_for()
        assert "Hello from the UI" in (await received.first.text_content() or "")
        original = await delivered(server, key, bob["id"], "Hello from the UI")
        assert original["from"] == ada["address"]

        # Ada's copy ends as sent, and the page shows it.
        async def ada_status() -> str:
            sent = [m for m in await listed(server, key, ada["id"]) if m["direction"] == "outbound"]
            return str(sent[0]["delivery_status"])

        for _ in range(300):
            if await ada_status() == "sent":
                break
            await asyncio.sleep(0.05)
        assert await ada_status() == "sent"
        await page.reload()
        assert (await sent_row.first.locator(".badge.delivery").text_content()) == "sent"

        # Bob replies from the received message.
        await bob_page.reload()
        await received.first.locator("a").click()
        await bob_page.wait_for_selector("#reply-details summary")
        await bob_page.click("#reply-details summary")
        await bob_page.fill("#reply-text", "Thanks, got it.")
        await bob_page.screenshot(path=str(SCREENSHOTS / "reply.png"), full_page=True)
        await bob_page.click("#reply")
        await bob_page.wait_for_url(f"**/inbox/{bob['id']}")
        assert await bob_page.locator("#messages li[data-direction='outbound']").count() == 1

        reply = await delivered(server, key, ada["id"], "Re: Hello from the UI")
        assert reply["in_reply_to"] == original["message_id"]
        assert original["message_id"] in reply["references"]
        assert "Thanks, got it." in (reply["text"] or "")
        await page.reload()
        await page.click("#send-details summary")
        await page.screenshot(path=str(SCREENSHOTS / "send.png"), full_page=True)
        assert "Re: Hello from the UI" in (await page.locator("#messages").text_content() or "")
        await context.close()


async def test_a_plan_that_sends_nothing_shows_the_refusal_on_the_page(
    server: RunningServer,
) -> None:
    admin = await server.create_key("operator", scopes=list(SCOPES))
    key = await account_on_plan(
        server.http, admin, "silent-ui", {"send": "none", "agent_mode": True}
    )
    box = await server.create_inbox(token=key, mode="agent", handle="silent-agent")
    async with chromium() as browser:
        context = await browser.new_context(base_url=server.base_url)
        page = await context.new_page()
        await sign_in(page, server, key)
        await page.goto(f"/inbox/{box['id']}")
        await page.click("#send-details summary")
        await page.fill("#send-to", "someone@example.com")
        await page.fill("#send-subject", "Will not leave")
        await page.fill("#send-text", "Kept in the form.")
        async with page.expect_response(f"**/ui/inbox/{box['id']}/send") as posted:
            await page.click("#send")
        assert (await posted.value).status == 403
        error = page.locator("#send-error")
        await error.wait_for()
        text = await error.text_content() or ""
        assert "plan 'silent-ui' cannot send" in text
        assert "forbidden" in text
        # What was typed is still there to fix or copy.
        assert await page.input_value("#send-to") == "someone@example.com"
        assert await page.input_value("#send-text") == "Kept in the form."
        await context.close()
    assert await listed(server, key, box["id"]) == []


async def test_send_refuses_bad_addresses_and_empty_recipients_readably(
    server: RunningServer,
) -> None:
    key = await server.create_key()
    box = await server.create_inbox(token=key, mode="agent", handle="careful-agent")
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        csrf = await signed_in(client, key)
        nobody = await client.post(
            f"/ui/inbox/{box['id']}/send",
            data={"csrf": csrf, "to": " , ", "text": "x"},
            headers=same_site(client),
        )
        assert nobody.status_code == 400
        assert "at least one recipient" in nobody.text
        bad = await client.post(
            f"/ui/inbox/{box['id']}/send",
            data={"csrf": csrf, "to": "not an address", "text": "x"},
            headers=same_site(client),
        )
        assert bad.status_code == 422
        assert 'id="send-error"' in bad.text and "not an address" in bad.text
        too_long = await client.post(
            f"/ui/inbox/{box['id']}/send",
            data={"csrf": csrf, "to": "a@example.com", "text": "x" * 70000},
            headers=same_site(client),
        )
        assert too_long.status_code == 400 and "too long" in too_long.text
    assert await listed(server, key, box["id"]) == []


async def test_cross_site_posts_to_send_and_reply_are_refused(server: RunningServer) -> None:
    key = await server.create_key()
    box = await server.create_inbox(token=key, mode="agent", handle="guarded-agent")
    await server.send(box["address"], subject="to be replied to", body="hi")
    message_id = (await listed(server, key, box["id"]))[0]["id"]
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        csrf = await signed_in(client, key)
        data = {"to": "victim@example.com", "text": "spam"}
        attempts = [
            ({"Origin": "http://evil.example"}, {"csrf": csrf, **data}),
            ({"Origin": "null"}, {"csrf": csrf, **data}),
            ({"Sec-Fetch-Site": "cross-site", **same_site(client)}, {"csrf": csrf, **data}),
            (same_site(client), data),
            (same_site(client), {"csrf": "0" * 64, **data}),
        ]
        for headers, body in attempts:
            for path in (
                f"/ui/inbox/{box['id']}/send",
                f"/ui/inbox/{box['id']}/{message_id}/reply",
            ):
                response = await client.post(path, data=body, headers=headers)
                assert response.status_code == 403, (path, headers, body)
                assert "forbidden" in response.text

    # A page on another site auto-submitting the send form with the visitor's session.
    attack = (
        f'<form method="post" action="{server.base_url}/ui/inbox/{box["id"]}/send">'
        '<input name="to" value="victim@example.com"><input name="text" value="spam"></form>'
        "<script>document.forms[0].submit()</script>"
    ).encode()
    with counting_server(attack, "text/html") as attacker:
        async with chromium() as browser:
            context = await browser.new_context()
            page = await context.new_page()
            await sign_in(page, server, key)
            async with page.expect_response(
                f"{server.base_url}/ui/inbox/{box['id']}/send"
            ) as posted:
                await page.goto(attacker.url + "/attack")
            assert (await posted.value).status == 403
            await context.close()
    assert [m for m in await listed(server, key, box["id"]) if m["direction"] == "outbound"] == []


async def test_another_tenant_or_a_key_without_send_scope_cannot_send_through_the_ui(
    server: RunningServer,
) -> None:
    owner = await server.create_key("owner")
    box = await server.create_inbox(token=owner, mode="agent", handle="owned-agent")
    await server.send(box["address"], subject="private", body="hi")
    message_id = (await listed(server, owner, box["id"]))[0]["id"]
    stranger = await server.create_key("stranger")
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        csrf = await signed_in(client, stranger)
        sent = await client.post(
            f"/ui/inbox/{box['id']}/send",
            data={"csrf": csrf, "to": "x@example.com", "text": "x"},
            headers=same_site(client),
        )
        assert sent.status_code == 404
        replied = await client.post(
            f"/ui/inbox/{box['id']}/{message_id}/reply",
            data={"csrf": csrf, "text": "x"},
            headers=same_site(client),
        )
        assert replied.status_code == 404
    # A key without the `send` scope is refused on its own inbox, saying which scope it lacks.
    no_send = await server.create_key(
        "no-send", scopes=["mailboxes:read", "mailboxes:write", "messages:read"]
    )
    own = await server.create_inbox(token=no_send, mode="agent", handle="scoped-agent")
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        csrf = await signed_in(client, no_send)
        refused = await client.post(
            f"/ui/inbox/{own['id']}/send",
            data={"csrf": csrf, "to": box["address"], "text": "x"},
            headers=same_site(client),
        )
        assert refused.status_code == 403
        assert 'id="send-error"' in refused.text and "send" in refused.text
    assert [m for m in await listed(server, owner, box["id"]) if m["direction"] == "outbound"] == []


async def test_list_rows_mark_read_and_delete_without_opening_the_message(
    server: RunningServer,
) -> None:
    key = await server.create_key()
    box = await server.create_inbox(token=key)
    await server.send(box["address"], subject="keep me", body="one")
    await server.send(box["address"], subject="drop me", body="two")
    async with chromium() as browser:
        context = await browser.new_context(base_url=server.base_url)
        page = await context.new_page()
        await sign_in(page, server, key)
        await page.goto(f"/inbox/{box['id']}")
        keep = page.locator("#messages li", has_text="keep me")
        await keep.locator("button.mark").click()
        await page.wait_for_load_state("load")
        await keep.locator("button.mark", has_text="Mark unread").wait_for()
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await page.locator("#messages li", has_text="drop me").locator("button.remove").click()
        await page.locator("#messages li", has_text="drop me").wait_for(state="detached")
        await context.close()
    remaining = await listed(server, key, box["id"])
    assert [(m["subject"], m["is_read"]) for m in remaining] == [("keep me", True)]


async def test_reply_all_from_the_form_copies_everyone_the_original_was_addressed_to(
    server: RunningServer,
) -> None:
    key = await server.create_key()
    box = await server.create_inbox(token=key, mode="agent", handle="team-agent")
    colleague = await server.create_inbox(token=key)
    original = make_message(box["address"], "Team plan", "Thoughts?", "lead@example.org")
    original["Cc"] = colleague["address"]
    await server.send(box["address"], original, mail_from="lead@example.org")
    message_id = (await listed(server, key, box["id"]))[0]["id"]
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        csrf = await signed_in(client, key)
        form = (await client.get(f"/inbox/{box['id']}/{message_id}")).text
        assert 'id="reply-all"' in form
        replied = await client.post(
            f"/ui/inbox/{box['id']}/{message_id}/reply",
            data={"csrf": csrf, "text": "Count me in.", "reply_all": "1"},
            headers=same_site(client),
        )
        assert replied.status_code == 303
        assert replied.headers["location"] == f"/inbox/{box['id']}"
    sent = [m for m in await listed(server, key, box["id"]) if m["direction"] == "outbound"]
    assert len(sent) == 1 and sent[0]["subject"] == "Re: Team plan"
    full = await server.http.get(
        f"/mailboxes/{box['id']}/messages/{sent[0]['id']}", headers=server.auth(key)
    )
    assert full.json()["data"]["to"] == ["lead@example.org"]
    assert full.json()["data"]["cc"] == [colleague["address"]]
