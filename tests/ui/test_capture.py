"""The capture mailbox in the web UI: first in the account's inbox list, one click away, and
its message list showing whom the application sent each message to."""

from __future__ import annotations

import re

import httpx

from tests.capturing import capture_key, capture_mail
from tests.helpers import RunningServer
from tests.ui.test_security import signed_in


def first_inbox_link(page: str) -> str:
    found = re.search(r'<ul class="inboxes" id="inboxes">.*?<a href="([^"]+)"', page, re.S)
    assert found, "the front page lists no inboxes"
    return found.group(1)


async def test_the_capture_mailbox_is_one_click_from_the_front_page_before_it_exists(
    server: RunningServer,
) -> None:
    key = await capture_key(server)
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        await signed_in(client, key)
        front = await client.get("/")
        assert first_inbox_link(front.text) == "/ui/capture"
        assert "Capture mailbox" in front.text
        opened = await client.get("/ui/capture")
        assert opened.status_code == 303
        box = (await server.http.get("/capture", headers=server.auth(key))).json()["data"]
        assert opened.headers["location"] == f"/inbox/{box['id']}"
        page = await client.get(opened.headers["location"])
        assert page.status_code == 200
        assert 'id="capture-label"' in page.text and "Nothing captured yet" in page.text


async def test_the_capture_mailbox_is_listed_first_and_shows_envelope_recipients(
    server: RunningServer,
) -> None:
    key = await server.create_key("owner")  # every scope but admin: it makes inboxes too
    await capture_mail(
        server, key, ["carol@example.com", "dave@example.org"], "Team invite", "Join us"
    )
    await server.create_inbox(key)  # newer than the capture mailbox
    box = (await server.http.get("/capture", headers=server.auth(key))).json()["data"]
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        await signed_in(client, key)
        front = await client.get("/")
        assert first_inbox_link(front.text) == f"/inbox/{box['id']}"
        assert front.text.count(box["address"]) == 1
        page = await client.get(f"/inbox/{box['id']}")
        row = re.search(r'<span class="from rcpt"[^>]*>([^<]*)</span>', page.text)
        assert row is not None
        assert row.group(1) == "To: carol@example.com, dave@example.org"  # Dave: Bcc'd


async def test_another_account_cannot_reach_the_capture_mailbox_through_the_ui(
    server: RunningServer,
) -> None:
    mine, theirs = await capture_key(server, "mine"), await capture_key(server, "theirs")
    await capture_mail(server, theirs, "alice@example.com", "private", "Your code is 123456")
    their_box = (await server.http.get("/capture", headers=server.auth(theirs))).json()["data"]
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        await signed_in(client, mine)
        assert their_box["address"] not in (await client.get("/")).text
        refused = await client.get(f"/inbox/{their_box['id']}")
        assert refused.status_code == 404 and "private" not in refused.text
        mine_opened = await client.get("/ui/capture")
        assert mine_opened.headers["location"] != f"/inbox/{their_box['id']}"
        page = await client.get(mine_opened.headers["location"])
        assert "private" not in page.text


async def test_capture_page_asks_for_an_account_key(server: RunningServer) -> None:
    inbox = await server.create_inbox()
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        nobody = await client.get("/ui/capture")
        assert nobody.status_code == 401 and "API key" in nobody.text
        await signed_in(client, inbox["token"])
        assert "Capture mailbox" not in (await client.get("/")).text
        token_only = await client.get("/ui/capture")
        assert token_only.status_code == 403 and "API key" in token_only.text
