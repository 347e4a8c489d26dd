"""The web UI's conversations view in a real browser: from an inbox to its conversations,
then one conversation's messages in order; another mailbox's thread is refused."""

from __future__ import annotations

import httpx

from tests.helpers import RunningServer
from tests.threads.support import Mailbox, mail
from tests.ui.browser import SCREENSHOTS, chromium
from tests.ui.test_browser import sign_in
from tests.ui.test_security import signed_in


async def test_a_person_opens_the_conversations_and_reads_one_in_order(
    server: RunningServer,
) -> None:
    key = await server.create_key()
    box = Mailbox(server, await server.create_inbox(token=key))
    await server.send(box.address, mail(box.address, "Lunch", message_id="<l1@x.example>"))
    await server.send(box.address, mail(box.address, "Unrelated", sender="dave@one.example"))
    reply = mail(box.address, "Re: Lunch", in_reply_to="<l1@x.example>", body="Noon works.")
    await server.send(box.address, reply)
    SCREENSHOTS.mkdir(exist_ok=True)
    async with chromium() as browser:
        context = await browser.new_context(base_url=server.base_url)
        page = await context.new_page()
        await sign_in(page, server, key)
        await page.goto(f"/inbox/{box.id}")
        await page.click("#threads-view")
        rows = page.locator("#threads li[data-id]")
        await rows.first.wait_for()
        assert await rows.count() == 2
        first = await rows.first.text_content() or ""
        assert "Lunch" in first and "Noon works." in first  # newest activity first
        await page.screenshot(path=str(SCREENSHOTS / "threads.png"))
        await rows.first.locator("a").click()
        await page.wait_for_selector("#thread-subject")
        assert (await page.locator("#thread-subject").text_content() or "").strip() == "Lunch"
        subjects = await page.locator("#thread-messages li .subject").all_text_contents()
        assert subjects == ["Lunch", "Re: Lunch"]


async def test_another_mailboxs_thread_is_refused_on_the_page(server: RunningServer) -> None:
    mine = Mailbox(server, await server.create_inbox())
    theirs = Mailbox(server, await server.create_inbox())
    await server.send(theirs.address, mail(theirs.address, "Private"))
    (thread,) = await theirs.threads()
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        await signed_in(client, mine.data["token"])
        page = await client.get(f"/inbox/{mine.id}/threads/{thread['id']}")
        assert page.status_code == 404
        assert "Private" not in page.text
        listed = await client.get(f"/inbox/{mine.id}/threads")
        assert listed.status_code == 200 and "No conversations yet" in listed.text
