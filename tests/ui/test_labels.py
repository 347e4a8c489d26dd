"""Labels in the web UI, in a real browser: a message's page shows its labels, adds one,
refuses a system label's name with the reason on the page, removes one; the inbox's rows show
them."""

from __future__ import annotations

from tests.helpers import RunningServer
from tests.ui.browser import SCREENSHOTS, chromium
from tests.ui.test_browser import sign_in


async def _labels(server: RunningServer, key: str, mailbox_id: str) -> list[str]:
    response = await server.http.get(f"/mailboxes/{mailbox_id}/messages", headers=server.auth(key))
    (message,) = response.json()["data"]
    return list(message["labels"])


async def test_labels_are_added_refused_and_removed_on_the_message_page(
    server: RunningServer,
) -> None:
    key = await server.create_key()
    box = await server.create_inbox(token=key)
    await server.send(box["address"], subject="Contract draft")
    SCREENSHOTS.mkdir(exist_ok=True)
    async with chromium() as browser:
        context = await browser.new_context(
            base_url=server.base_url, viewport={"width": 1100, "height": 800}
        )
        page = await context.new_page()
        await sign_in(page, server, key)
        await page.goto(f"/inbox/{box['id']}")
        await page.locator("#messages li[data-id] a").first.click()
        await page.wait_for_selector("#label-form")
        assert "none" in (await page.locator("#labels").text_content() or "")

        await page.fill("#add-label", "Legal Review")
        await page.click("#add-label-button")
        await page.wait_for_selector("#labels .badge.msg-label")
        assert await _labels(server, key, box["id"]) == ["legal review"]
        assert "legal review" in (await page.locator("#labels").text_content() or "")

        await page.fill("#add-label", "spam")
        await page.click("#add-label-button")
        error = page.locator("#label-error")
        await error.wait_for()
        assert "system label" in (await error.text_content() or "")
        assert await _labels(server, key, box["id"]) == ["legal review"]
        await page.screenshot(path=str(SCREENSHOTS / "labels.png"), full_page=True)

        await page.goto(f"/inbox/{box['id']}")
        row = page.locator("#messages li[data-id]").first
        assert (await row.locator(".badge.msg-label").text_content()) == "legal review"

        await row.locator("a").click()
        await page.click("#labels .remove-label")
        await page.wait_for_selector("#labels .badge.msg-label", state="detached")
        assert await _labels(server, key, box["id"]) == []
        await context.close()
