"""The web UI for reviewed sending, against the whole service (both backends): a person turns
review on, an agent's REST send is kept as a draft that the person sees (escaped) and approves
in a real browser, after which it is delivered; a discarded draft is never sent. Over HTTP:
another account's user cannot see or act on the drafts (404), the mailbox's own token cannot
approve or lift the review (403), a key without mailboxes:write cannot approve, cross-site or
tokenless posts are refused, scheduled drafts are listed with Discard only, and an approval
posted from a page showing an older version of the draft is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.helpers import RunningServer
from tests.ui.browser import SCREENSHOTS, chromium
from tests.ui.test_browser import sign_in
from tests.ui.test_security import same_site, signed_in
from tests.ui.test_send import delivered, listed


async def held_send(server: RunningServer, box: dict[str, Any], **body: Any) -> dict[str, Any]:
    """The agent (the mailbox's own token) sends over REST; under review it is kept."""
    response = await server.http.post(
        f"/mailboxes/{box['id']}/send", json=body, headers=server.auth(box["token"])
    )
    assert response.status_code == 202, response.text
    assert response.json()["review"]["sent"] is False
    return dict(response.json()["data"])


async def draft_status(server: RunningServer, key: str, box: dict[str, Any], draft_id: str) -> Any:
    response = await server.http.get(
        f"/mailboxes/{box['id']}/drafts/{draft_id}", headers=server.auth(key)
    )
    return response.json()["data"]["status"] if response.status_code == 200 else None


async def review_on(server: RunningServer, key: str, box: dict[str, Any]) -> None:
    response = await server.http.patch(
        f"/mailboxes/{box['id']}", json={"outbound_review": True}, headers=server.auth(key)
    )
    assert response.status_code == 200, response.text


async def test_a_person_approves_an_agents_held_send_in_the_browser_and_it_is_delivered(
    server: RunningServer,
) -> None:
    key = await server.create_key()
    agent = await server.create_inbox(token=key, mode="agent", handle="reviewed-agent")
    bob = await server.create_inbox(token=key, mode="agent", handle="reviewed-bob")
    SCREENSHOTS.mkdir(exist_ok=True)
    async with chromium() as browser:
        context = await browser.new_context(
            base_url=server.base_url, viewport={"width": 1100, "height": 800}
        )
        page = await context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        await sign_in(page, server, key)

        # The inbox page says review is off and offers the switch; the person turns it on.
        await page.goto(f"/inbox/{agent['id']}")
        assert await page.text_content("#review-state") == "off"
        await page.click("#review-toggle")
        await page.wait_for_url(f"**/inbox/{agent['id']}")
        assert await page.text_content("#review-state") == "on"
        got = await server.http.get(f"/mailboxes/{agent['id']}", headers=server.auth(key))
        assert got.json()["data"]["outbound_review"] is True

        # The agent sends over REST: kept, and listed on the drafts page, escaped.
        first = await held_send(
            server,
            agent,
            to=[bob["address"]],
            cc=["carol@example.com"],
            subject="Numbers <b>final</b>",
            text="<script>window.pwned = 1</script> Q3 revenue is up. " + "more " * 200,
        )
        await page.click("#drafts-link")
        await page.wait_for_url(f"**/inbox/{agent['id']}/drafts")
        row = page.locator(f"#pending li[data-id='{first['id']}']")
        assert await row.locator(".to").text_content() == "To: " + bob["address"]
        assert await row.locator(".cc").text_content() == "Cc: carol@example.com"
        assert await row.locator(".subject").text_content() == "Numbers <b>final</b>"
        preview = await row.locator(".preview").text_content() or ""
        assert preview.startswith("<script>window.pwned = 1</script> Q3 revenue is up.")
        assert preview.endswith("…") and len(preview) <= 301
        assert await row.locator("script, b").count() == 0
        assert await page.evaluate("window.pwned") is None
        # The whole text is one click away, as text: the reviewer reads what they approve.
        await row.locator("details.full summary").click()
        full = await row.locator(".full-text").text_content() or ""
        assert full.endswith("more " * 199 + "more ") and "<script>" in full
        assert await page.evaluate("window.pwned") is None
        await page.screenshot(path=str(SCREENSHOTS / "drafts.png"), full_page=True)

        # Approve: sent now, through the outbound service, and delivered to Bob.
        await row.locator("button.approve").click()
        await page.wait_for_url(f"**/inbox/{agent['id']}/drafts")
        assert await page.locator(f"#pending li[data-id='{first['id']}']").count() == 0
        received = await delivered(server, key, bob["id"], "Numbers <b>final</b>")
        assert received["from"] == agent["address"]
        assert "Q3 revenue is up." in (received["text"] or "")
        assert await draft_status(server, key, agent, first["id"]) == "sent"

        # A second one is discarded: gone, and never sent.
        second = await held_send(
            server, agent, to=[bob["address"]], subject="Never leaves", text="no"
        )
        await page.reload()
        row = page.locator(f"#pending li[data-id='{second['id']}']")
        await row.locator("button.discard").click()
        await page.wait_for_url(f"**/inbox/{agent['id']}/drafts")
        assert await page.locator(f"li[data-id='{second['id']}']").count() == 0
        assert await draft_status(server, key, agent, second["id"]) is None
        subjects = [m["subject"] for m in await listed(server, key, bob["id"])]
        assert "Never leaves" not in subjects
        outbound = [
            m for m in await listed(server, key, agent["id"]) if m["direction"] != "inbound"
        ]
        assert [m["subject"] for m in outbound] == ["Numbers <b>final</b>"]

        # The switch on the drafts page turns review off again.
        await page.click("#review-toggle")
        await page.wait_for_url(f"**/inbox/{agent['id']}/drafts")
        assert await page.text_content("#review-state") == "off"
        await context.close()


async def test_another_accounts_user_can_neither_see_nor_approve_nor_discard_the_drafts(
    server: RunningServer,
) -> None:
    key = await server.create_key("owner")
    agent = await server.create_inbox(token=key, mode="agent", handle="private-agent")
    await review_on(server, key, agent)
    draft = await held_send(server, agent, to=["bob@example.com"], subject="Mine", text="x")
    stranger = await server.create_key("stranger")
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        csrf = await signed_in(client, stranger)
        page = await client.get(f"/inbox/{agent['id']}/drafts")
        assert page.status_code == 404
        assert "Mine" not in page.text
        for action in ("approve", "discard"):
            refused = await client.post(
                f"/ui/inbox/{agent['id']}/drafts/{draft['id']}/{action}",
                data={"csrf": csrf},
                headers=same_site(client),
            )
            assert refused.status_code == 404, (action, refused.text)
        switch = await client.post(
            f"/ui/inbox/{agent['id']}/review",
            data={"csrf": csrf, "on": "0"},
            headers=same_site(client),
        )
        assert switch.status_code == 404
    assert await draft_status(server, key, agent, draft["id"]) == "pending_review"
    got = await server.http.get(f"/mailboxes/{agent['id']}", headers=server.auth(key))
    assert got.json()["data"]["outbound_review"] is True


async def test_the_mailboxs_own_token_cannot_approve_or_lift_review_in_the_ui(
    server: RunningServer,
) -> None:
    key = await server.create_key()
    agent = await server.create_inbox(token=key, mode="agent", handle="gated-agent")
    await review_on(server, key, agent)
    draft = await held_send(server, agent, to=["bob@example.com"], subject="Gated", text="x")
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        csrf = await signed_in(client, agent["token"])
        page = await client.get(f"/inbox/{agent['id']}/drafts")
        assert page.status_code == 200
        assert "Gated" in page.text
        assert 'class="primary approve"' not in page.text and 'id="review-toggle"' not in page.text
        assert "sign in with its API key" in page.text
        approve = await client.post(
            f"/ui/inbox/{agent['id']}/drafts/{draft['id']}/approve",
            data={"csrf": csrf},
            headers=same_site(client),
        )
        assert approve.status_code == 403
        assert "cannot approve" in approve.text
        lift = await client.post(
            f"/ui/inbox/{agent['id']}/review",
            data={"csrf": csrf, "on": "0"},
            headers=same_site(client),
        )
        assert lift.status_code == 403
    assert await draft_status(server, key, agent, draft["id"]) == "pending_review"


async def test_an_inbox_made_in_the_ui_is_approved_with_the_signed_in_key_not_its_token(
    server: RunningServer,
) -> None:
    """ "New inbox" keeps the inbox's token in the session; approving still acts as the key."""
    key = await server.create_key()
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        csrf = await signed_in(client, key)
        made = await client.post(
            "/ui/inboxes",
            data={"csrf": csrf, "mode": "agent", "handle": "ui-made-agent"},
            headers=same_site(client),
        )
        assert made.status_code == 303, made.text
        mailbox_id = made.headers["location"].rsplit("/", 1)[-1]
        on = await client.post(
            f"/ui/inbox/{mailbox_id}/review",
            data={"csrf": csrf, "on": "1"},
            headers=same_site(client),
        )
        assert on.status_code == 303 and on.headers["location"] == f"/inbox/{mailbox_id}"
        created = await server.http.post(
            f"/mailboxes/{mailbox_id}/drafts",
            json={"to": ["bob@example.com"], "text": "x", "send_at": _ahead(3600)},
            headers=server.auth(key),
        )
        assert created.status_code == 201 and created.json()["data"]["status"] == "pending_review"
        draft_id = created.json()["data"]["id"]
        approved = await client.post(
            f"/ui/inbox/{mailbox_id}/drafts/{draft_id}/approve",
            data={"csrf": csrf},
            headers=same_site(client),
        )
        assert approved.status_code == 303
        assert approved.headers["location"] == f"/inbox/{mailbox_id}/drafts"
        got = await server.http.get(
            f"/mailboxes/{mailbox_id}/drafts/{draft_id}", headers=server.auth(key)
        )
        assert got.json()["data"]["status"] == "scheduled"
        assert got.json()["data"]["review"]["state"] == "approved"

        # Approved for later: listed as scheduled, with Discard and no Approve.
        page = await client.get(f"/inbox/{mailbox_id}/drafts")
        scheduled = page.text.split('id="scheduled"', 1)[1]
        assert f'data-id="{draft_id}"' in scheduled
        assert "discard" in scheduled and "approve" not in scheduled
        assert f'data-id="{draft_id}"' not in page.text.split('id="scheduled"', 1)[0]


def _ahead(seconds: int) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def test_approving_needs_mailboxes_write_and_a_same_site_post_with_the_token(
    server: RunningServer,
) -> None:
    key = await server.create_key()
    agent = await server.create_inbox(token=key, mode="agent", handle="scoped-agent")
    await review_on(server, key, agent)
    draft = await held_send(server, agent, to=["bob@example.com"], subject="Scoped", text="x")
    path = f"/ui/inbox/{agent['id']}/drafts/{draft['id']}/approve"
    owner = await server.runtime.auth.authenticate(key)
    made = await server.runtime.auth.create_key(
        name="reader", scopes=["mailboxes:read", "messages:read"], account_id=owner.account_id
    )
    reader = made["token"]
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        csrf = await signed_in(client, reader)
        page = await client.get(f"/inbox/{agent['id']}/drafts")
        assert page.status_code == 200 and "Scoped" in page.text
        refused = await client.post(path, data={"csrf": csrf}, headers=same_site(client))
        assert refused.status_code == 403
        assert "mailboxes:write" in refused.text
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        csrf = await signed_in(client, key)
        for headers, data in (
            ({"Sec-Fetch-Site": "cross-site", **same_site(client)}, {"csrf": csrf}),
            (same_site(client), {}),
            (same_site(client), {"csrf": "0" * 64}),
        ):
            refused = await client.post(path, data=data, headers=headers)
            assert refused.status_code == 403, refused.text
        bad = await client.post(
            f"/ui/inbox/{agent['id']}/review",
            data={"csrf": csrf, "on": "maybe"},
            headers=same_site(client),
        )
        assert bad.status_code == 400 and "on=1 or on=0" in bad.text
        missing = await client.post(
            f"/ui/inbox/{agent['id']}/drafts/not-an-id/approve",
            data={"csrf": csrf},
            headers=same_site(client),
        )
        assert missing.status_code == 404
    assert await draft_status(server, key, agent, draft["id"]) == "pending_review"


def approve_version(page: str) -> str:
    """The draft version (`updated_at`) the page's first Approve form posts."""
    return page.split('name="updated_at" value="', 1)[1].split('"', 1)[0]


async def test_approving_from_a_page_that_shows_an_older_version_of_the_draft_is_refused(
    server: RunningServer,
) -> None:
    key = await server.create_key()
    agent = await server.create_inbox(token=key, mode="agent", handle="edited-agent")
    await review_on(server, key, agent)
    draft = await held_send(server, agent, to=["bob@example.com"], subject="Pay", text="10 EUR")
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        csrf = await signed_in(client, key)
        page = await client.get(f"/inbox/{agent['id']}/drafts")
        shown = approve_version(page.text)
        # The agent changes the draft while the page is open.
        edited = await server.http.patch(
            f"/mailboxes/{agent['id']}/drafts/{draft['id']}",
            json={"text": "10,000 EUR"},
            headers=server.auth(agent["token"]),
        )
        assert edited.status_code == 200, edited.text
        stale = await client.post(
            f"/ui/inbox/{agent['id']}/drafts/{draft['id']}/approve",
            data={"csrf": csrf, "updated_at": shown},
            headers=same_site(client),
        )
        assert stale.status_code == 409
        assert "changed after you read it" in stale.text
        assert await draft_status(server, key, agent, draft["id"]) == "pending_review"

        page = await client.get(f"/inbox/{agent['id']}/drafts")
        assert "10,000 EUR" in page.text
        fresh = approve_version(page.text)
        approved = await client.post(
            f"/ui/inbox/{agent['id']}/drafts/{draft['id']}/approve",
            data={"csrf": csrf, "updated_at": fresh},
            headers=same_site(client),
        )
        assert approved.status_code == 303, approved.text
    assert await draft_status(server, key, agent, draft["id"]) == "sent"
