"""The web UI's security over real HTTP: headers on every response, CSRF and cross-site posts,
tenant isolation, scopes, bounded inputs, and sessions shared by (and revoked across) API
processes."""

from __future__ import annotations

import re

import httpx
import pytest
import sqlalchemy as sa

from inboxkit.store.tables import mailboxes, ui_sessions
from tests.helpers import RunningServer, start_server
from tests.ui.browser import chromium, counting_server


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no CSRF field"
    return found.group(1)


async def signed_in(client: httpx.AsyncClient, token: str) -> str:
    """Sign `client` in with `token`; returns the session's CSRF token."""
    csrf = csrf_of((await client.get("/")).text)
    response = await client.post(
        "/ui/signin", data={"csrf": csrf, "token": token}, headers={"Origin": str(client.base_url)}
    )
    assert response.status_code == 303, response.text
    return csrf_of((await client.get("/")).text)


def same_site(client: httpx.AsyncClient) -> dict[str, str]:
    return {"Origin": str(client.base_url).rstrip("/")}


async def test_every_ui_response_carries_the_security_headers(server: RunningServer) -> None:
    inbox = await server.create_inbox()
    await server.send(inbox["address"], subject="hello", body="hi")
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        await signed_in(client, inbox["token"])
        messages = await server.http.get(
            f"/mailboxes/{inbox['id']}/messages", headers=server.auth(inbox["token"])
        )
        message_id = messages.json()["data"][0]["id"]
        pages = [
            ("GET", "/"),
            ("GET", f"/inbox/{inbox['id']}"),
            ("GET", f"/inbox/{inbox['id']}/{message_id}"),
            ("GET", f"/ui/inbox/{inbox['id']}/{message_id}/raw"),
            ("GET", "/inbox/01J00000000000000000000000"),  # refused: not found
            ("GET", "/ui/capture"),  # refused: a mailbox token has no capture mailbox
            ("GET", "/static/app.css"),
            ("GET", "/static/inbox.js"),
            ("GET", "/static/missing.js"),
            ("POST", "/ui/signout"),  # refused: no CSRF token
        ]
        for method, path in pages:
            response = await client.request(method, path, headers=same_site(client))
            headers = response.headers
            policy = headers["content-security-policy"]
            assert "'unsafe-inline'" not in policy, path
            if "/raw" in path:  # a download: never rendered, sandboxed if it were
                assert policy == "sandbox"
                assert headers["content-disposition"].startswith("attachment;")
            else:
                assert "script-src 'self'" in policy, path
                assert "frame-ancestors 'none'" in policy, path
            assert headers["x-frame-options"] == "DENY", path
            assert headers["referrer-policy"] == "no-referrer", path
            assert headers["x-content-type-options"] == "nosniff", path
        # The message's HTML has its own policy: no script, no network, framed by us alone.
        frame = await client.get(f"/ui/inbox/{inbox['id']}/{message_id}/html")
        policy = frame.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "sandbox" in policy
        assert "img-src data:;" in policy and "script-src" not in policy
        assert "frame-ancestors 'self'" in policy
        assert frame.headers["x-frame-options"] == "SAMEORIGIN"
        allowed = await client.get(f"/ui/inbox/{inbox['id']}/{message_id}/html?images=1")
        assert "img-src data: http: https:" in allowed.headers["content-security-policy"]
        # The API's own responses are left as they were.
        assert "x-frame-options" not in (await server.http.get("/mailboxes")).headers


async def test_cross_site_or_tokenless_posts_are_refused(server: RunningServer) -> None:
    key = await server.create_key()
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        csrf = await signed_in(client, key)
        attempts = [
            ({"Origin": "http://evil.example"}, {"csrf": csrf}),
            ({"Origin": "null"}, {"csrf": csrf}),
            ({"Sec-Fetch-Site": "cross-site", **same_site(client)}, {"csrf": csrf}),
            (same_site(client), {}),
            (same_site(client), {"csrf": "0" * 64}),
        ]
        for headers, data in attempts:
            response = await client.post("/ui/inboxes", data=data, headers=headers)
            assert response.status_code == 403, (headers, data)
            assert "forbidden" in response.text
        listed = await server.http.get("/mailboxes", headers=server.auth(key))
        assert listed.json()["data"] == []
        # The same post from this site with the token works.
        made = await client.post("/ui/inboxes", data={"csrf": csrf}, headers=same_site(client))
        assert made.status_code == 303


async def test_a_page_on_another_site_cannot_post_with_the_visitors_session(
    server: RunningServer,
) -> None:
    key = await server.create_key()
    attack = (
        f'<form method="post" action="{server.base_url}/ui/inboxes">'
        '<input name="mode" value="test"></form>'
        "<script>document.forms[0].submit()</script>"
    ).encode()
    with counting_server(attack, "text/html") as attacker:
        async with chromium() as browser:
            context = await browser.new_context()
            page = await context.new_page()
            await page.goto(server.base_url + "/")
            await page.fill("#token", key)
            await page.click("#sign-in")
            await page.wait_for_selector("#sign-out")
            async with page.expect_response(f"{server.base_url}/ui/inboxes") as posted:
                await page.goto(attacker.url + "/attack")
            assert (await posted.value).status == 403
            await context.close()
    listed = await server.http.get("/mailboxes", headers=server.auth(key))
    assert listed.json()["data"] == []


async def test_another_tenants_inbox_is_not_found_through_the_ui(server: RunningServer) -> None:
    mine = await server.create_key("mine")
    theirs = await server.create_key("theirs")
    their_inbox = await server.create_inbox(theirs)
    await server.send(their_inbox["address"], subject="private", body="code 123456")
    listed = await server.http.get(
        f"/mailboxes/{their_inbox['id']}/messages", headers=server.auth(theirs)
    )
    message_id = listed.json()["data"][0]["id"]
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        csrf = await signed_in(client, mine)
        front = await client.get("/")
        assert their_inbox["address"] not in front.text
        base = f"/inbox/{their_inbox['id']}"
        for path in (
            base,
            f"{base}/{message_id}",
            f"/ui/inbox/{their_inbox['id']}/events",
            f"/ui/inbox/{their_inbox['id']}/{message_id}/html",
            f"/ui/inbox/{their_inbox['id']}/{message_id}/raw",
        ):
            response = await client.get(path)
            assert response.status_code == 404, path
            assert "private" not in response.text
        deleted = await client.post(
            f"/ui/inbox/{their_inbox['id']}/delete", data={"csrf": csrf}, headers=same_site(client)
        )
        assert deleted.status_code == 404
    still = await server.http.get(f"/mailboxes/{their_inbox['id']}", headers=server.auth(theirs))
    assert still.status_code == 200


async def test_ui_enforces_the_keys_scopes_and_bounds_inputs(server: RunningServer) -> None:
    reader = await server.create_key("reader", scopes=["mailboxes:read"])
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        csrf = await signed_in(client, reader)
        refused = await client.post("/ui/inboxes", data={"csrf": csrf}, headers=same_site(client))
        assert refused.status_code == 403
        assert "mailboxes:write" in refused.text
        too_long = await client.post(
            "/ui/inboxes", data={"csrf": csrf, "name": "x" * 600}, headers=same_site(client)
        )
        assert too_long.status_code == 400
        assert "too long" in too_long.text
        bad_sign_in = await client.post(
            "/ui/signin", data={"csrf": csrf, "token": "ik_not-a-key"}, headers=same_site(client)
        )
        assert bad_sign_in.status_code == 401


async def test_a_session_works_on_every_api_process_and_sign_out_ends_it_on_all(
    server: RunningServer,
) -> None:
    inbox = await server.create_inbox()
    async with start_server(server.settings, "api") as other:
        async with (
            httpx.AsyncClient(base_url=server.base_url) as first,
            httpx.AsyncClient(base_url=other.base_url) as second,
        ):
            csrf = await signed_in(first, inbox["token"])
            second.cookies.update(first.cookies)
            assert (await second.get(f"/inbox/{inbox['id']}")).status_code == 200
            signed_out = await first.post(
                "/ui/signout", data={"csrf": csrf}, headers=same_site(first)
            )
            assert signed_out.status_code == 303
            assert (await second.get(f"/inbox/{inbox['id']}")).status_code == 401
            assert (await second.get(f"/ui/inbox/{inbox['id']}/events")).status_code == 401


async def test_inbox_page_searches_filters_unread_marks_read_extends_and_deletes(
    server: RunningServer,
) -> None:
    inbox = await server.create_inbox()
    await server.send(inbox["address"], subject="alpha report", body="first")
    await server.send(inbox["address"], subject="beta notice", body="second")
    page = f"/inbox/{inbox['id']}"
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        csrf = await signed_in(client, inbox["token"])
        everything = (await client.get(page)).text
        assert "alpha report" in everything and "beta notice" in everything
        assert "<title>(2) " in everything
        searched = (await client.get(page, params={"q": "alpha"})).text
        assert "alpha report" in searched and "beta notice" not in searched

        listed = await server.http.get(
            f"/mailboxes/{inbox['id']}/messages", headers=server.auth(inbox["token"])
        )
        alpha = next(m for m in listed.json()["data"] if m["subject"] == "alpha report")
        marked = await client.post(
            f"/ui/inbox/{inbox['id']}/{alpha['id']}/read",
            data={"csrf": csrf, "is_read": "1"},
            headers=same_site(client),
        )
        assert marked.status_code == 303
        unread = (await client.get(page, params={"unread": "1"})).text
        assert "beta notice" in unread and "alpha report" not in unread
        assert "<title>(1) " in unread

        before = (
            await server.http.get(f"/mailboxes/{inbox['id']}", headers=server.auth(inbox["token"]))
        ).json()
        extended = await client.post(
            f"/ui/inbox/{inbox['id']}/extend",
            data={"csrf": csrf, "ttl_minutes": "50"},
            headers=same_site(client),
        )
        assert extended.status_code == 303
        after = (
            await server.http.get(f"/mailboxes/{inbox['id']}", headers=server.auth(inbox["token"]))
        ).json()
        assert after["data"]["expires_at"] != before["data"]["expires_at"]

        deleted = await client.post(
            f"/ui/inbox/{inbox['id']}/delete", data={"csrf": csrf}, headers=same_site(client)
        )
        assert deleted.status_code == 303
        gone = await server.http.get(
            f"/mailboxes/{inbox['id']}", headers=server.auth(inbox["token"])
        )
        assert gone.status_code in (401, 404)


async def test_visits_write_no_session_until_someone_signs_in_or_makes_an_inbox(
    server: RunningServer,
) -> None:
    async def sessions() -> int:
        async with server.runtime.db.read() as conn:
            return int(
                (
                    await conn.execute(sa.select(sa.func.count()).select_from(ui_sessions))
                ).scalar_one()
            )

    async with httpx.AsyncClient(base_url=server.base_url) as client:
        for _ in range(3):
            front = await client.get("/")
            assert front.status_code == 200
        assert await sessions() == 0
        assert "inboxkit_session" not in client.cookies
        csrf = csrf_of(front.text)
        made = await client.post("/ui/inboxes", data={"csrf": csrf}, headers=same_site(client))
        assert made.status_code == 303
        assert await sessions() == 1
        assert "inboxkit_session" in client.cookies
        # The pre-session token is spent: the session's own token is needed from now on.
        again = await client.post("/ui/inboxes", data={"csrf": csrf}, headers=same_site(client))
        assert again.status_code == 403


@pytest.mark.plan_defaults
async def test_new_inbox_in_the_ui_is_held_to_the_anonymous_plan(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        answers = []
        for _ in range(4):
            csrf = csrf_of((await client.get("/")).text)
            made = await client.post("/ui/inboxes", data={"csrf": csrf}, headers=same_site(client))
            answers.append(made.status_code)
        # The anonymous plan's 3 creations a minute per address, as over the API.
        assert answers == [303, 303, 303, 429]
    async with server.runtime.db.read() as conn:
        via = set(
            (
                await conn.execute(
                    sa.select(mailboxes.c.created_via, mailboxes.c.created_ip).where(
                        mailboxes.c.account_id.is_(None)
                    )
                )
            ).all()
        )
    assert via == {("ui", "127.0.0.1")}
