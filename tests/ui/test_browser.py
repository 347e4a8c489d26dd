"""The web UI in a real browser (the system's Chromium), against the whole service on both
backends: sign in, live mail, the message view, remote images, attachments, sign out, and the
XSS corpus. Screenshots land in tests/ui/screenshots/ (and, with INBOXKIT_UI_DOCS_SCREENSHOT=1,
the message view is copied to docs/ui.png for the README: `make ui-screenshot`)."""

from __future__ import annotations

import asyncio
import os
import shutil
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx

from tests.helpers import RunningServer
from tests.ui.browser import SCREENSHOTS, chromium, counting_server

GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
DOCS_SCREENSHOT = Path(__file__).parents[2] / "docs" / "ui.png"


async def eventually(check: Any, what: str, timeout: float = 15.0) -> None:
    """Wait until `check()` is true (a condition to reach, not a time to assert)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.05)


def rich_message(to: str, image_url: str, attachment: bytes) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Shop <noreply@shop.example>"
    message["To"] = to
    message["Subject"] = "Your sign-in code"
    message.set_content(
        "Your code is 482913.\n\nOr open https://shop.example/verify?t=abc to sign in.\n"
    )
    message.add_alternative(
        "<html><body><h1 id='greeting'>Hello from HTML</h1>"
        "<p>Your code is <b>482913</b>.</p>"
        f"<img src='{image_url}/pixel.gif' alt='tracker' width='1' height='1'>"
        "<p><a href='https://shop.example/verify?t=abc'>Verify</a></p></body></html>",
        subtype="html",
    )
    message.add_attachment(
        attachment, maintype="application", subtype="octet-stream", filename="report.bin"
    )
    return message


async def sign_in(page: Any, server: RunningServer, token: str) -> None:
    await page.goto(server.base_url + "/")
    await page.fill("#token", token)
    await page.click("#sign-in")
    await page.wait_for_selector("#sign-out")


async def test_signed_in_person_watches_mail_arrive_reads_it_and_signs_out(
    server: RunningServer, tmp_path: Path
) -> None:
    key = await server.create_key()
    attachment = bytes(range(256)) * 40
    SCREENSHOTS.mkdir(exist_ok=True)
    with counting_server(GIF) as images:
        async with chromium() as browser:
            context = await browser.new_context(
                base_url=server.base_url, viewport={"width": 1100, "height": 800}
            )
            page = await context.new_page()
            await sign_in(page, server, key)

            # A new inbox under the key, and its live list.
            await page.click("#new-inbox")
            await page.wait_for_url("**/inbox/*")
            await page.wait_for_selector("body[data-live='connected']")
            address = (await page.locator(".bar .address").text_content() or "").strip()
            assert address.endswith("@" + server.settings.default_domain)

            # Mail sent over SMTP appears in the open list without a reload.
            await server.send(address, rich_message(address, images.url, attachment))
            row = page.locator("#messages li[data-id]")
            await row.first.wait_for()
            assert await row.count() == 1
            assert "Your sign-in code" in (await row.first.text_content() or "")
            assert (await page.title()).startswith("(1) ")
            await page.screenshot(path=str(SCREENSHOTS / "inbox.png"))

            # The message: the code and the first link at the top.
            await row.first.locator("a").click()
            await page.wait_for_selector("#code")
            assert await page.locator("#code").text_content() == "482913"
            assert "shop.example/verify" in (await page.locator("#first-link").text_content() or "")

            # The HTML renders inside the sandbox, and the remote image is not fetched.
            frame_element = page.locator("#html-frame")
            assert await frame_element.get_attribute("sandbox") == ""
            frame = page.frame_locator("#html-frame")
            await frame.get_by_text("Hello from HTML").wait_for()
            await page.wait_for_load_state("load")
            assert images.paths == []
            await page.screenshot(path=str(SCREENSHOTS / "message.png"), full_page=True)

            # Until the person allows remote images.
            await page.click("#allow-images")
            await page.frame_locator("#html-frame").get_by_text("Hello from HTML").wait_for()
            await eventually(lambda: "/pixel.gif" in images.paths, "the allowed image loads")

            # The attachment downloads byte for byte.
            async with page.expect_download() as info:
                await page.click("a.attachment")
            download = await info.value
            saved = tmp_path / "download.bin"
            await download.save_as(saved)
            assert saved.read_bytes() == attachment

            # Delete the message: the list is empty again.
            page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
            await page.click("#delete-message")
            await page.wait_for_url("**/inbox/*")
            await page.wait_for_selector("#empty:not([hidden])")
            assert await page.locator("#messages li[data-id]").count() == 0
            inbox_url = page.url

            # Sign out; the old cookie, replayed, no longer opens anything.
            old_cookies = await context.cookies()
            await page.goto(server.base_url + "/")
            await page.click("#sign-out")
            await page.wait_for_selector("#sign-in")
            replay = await browser.new_context(base_url=server.base_url)
            await replay.add_cookies(old_cookies)
            replayed = await replay.new_page()
            response = await replayed.goto(inbox_url)
            assert response is not None and response.status == 401
            await replayed.goto(server.base_url + "/")
            assert await replayed.locator("#sign-in").count() == 1
            assert await replayed.locator("#sign-out").count() == 0
            await replay.close()
            await context.close()
    if os.environ.get("INBOXKIT_UI_DOCS_SCREENSHOT") == "1":
        shutil.copy(SCREENSHOTS / "message.png", DOCS_SCREENSHOT)


async def test_visitor_makes_an_inbox_with_one_click_and_sees_mail_live(
    server: RunningServer,
) -> None:
    async with chromium() as browser:
        context = await browser.new_context(
            base_url=server.base_url, viewport={"width": 360, "height": 740}
        )
        page = await context.new_page()
        await page.goto("/")
        await page.click("#new-inbox")
        await page.wait_for_url("**/inbox/*")
        await page.wait_for_selector("body[data-live='connected']")
        address = (await page.locator(".bar .address").text_content() or "").strip()
        await server.send(address, subject="Welcome", body="Your code: 771204")
        await page.locator("#messages li[data-id]").first.wait_for()
        # The page fits a 360 px screen: nothing scrolls sideways.
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360
        # Keyboard: j selects the first message, Enter opens it.
        await page.keyboard.press("j")
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#code")
        assert await page.locator("#code").text_content() == "771204"
        await page.screenshot(path=str(SCREENSHOTS / "message-360.png"), full_page=True)
        # Back in the list, j then Delete deletes the selected message (after confirming).
        await page.go_back()
        await page.locator("#messages li[data-id]").first.wait_for()
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await page.keyboard.press("j")
        await page.keyboard.press("Delete")
        await page.wait_for_selector("#empty:not([hidden])")
        assert await page.locator("#messages li[data-id]").count() == 0
        # The inbox is listed on the front page, kept by the session (no key signed in).
        await page.goto("/")
        assert await page.locator("#inboxes .address").first.text_content() == address
        await context.close()


# -- hostile mail ---------------------------------------------------------------------------

TRAP = "__pwned"


def hostile_html(attacker: str) -> str:
    return "".join(
        [
            f"<script>{TRAP}('script')</script>",
            f"<img src=x onerror=\"{TRAP}('onerror')\">",
            f"<body onload=\"{TRAP}('onload')\">",
            f"<a id=js href=\"javascript:{TRAP}('href')\">click</a>",
            f"<svg><script>{TRAP}('svg')</script><animate onbegin=\"{TRAP}('svg-anim')\"/></svg>",
            f'<meta http-equiv="refresh" content="0;url={attacker}/meta">',
            f"<div style=\"background:url('{attacker}/css-attr')\">styled</div>",
            f"<style>body{{background:url('{attacker}/css-block')}}</style>",
            f"<style>@import '{attacker}/css-import';</style>",
            f'<link rel="stylesheet" href="{attacker}/link">',
            f'<iframe src="{attacker}/iframe"></iframe>',
            f'<object data="{attacker}/object"></object>',
            f'<form action="{attacker}/form"><button id=submit>go</button></form>',
            f'<img src="{attacker}/img">',
            f"<noscript><p title=\"</noscript><img src=x onerror={TRAP}('mxss1')>\"></noscript>",
            f"<math><mtext><table><mglyph><style><img src=x onerror={TRAP}('mxss2')>",
            f"<div style=\"width:expression({TRAP}('expression'))\">ie</div>",
            f'<base href="{attacker}/base/"><img src=relative.png>',
        ]
    )


def hostile_message(to: str, attacker: str) -> EmailMessage:
    payload = f"<img src=x onerror={TRAP}('subject')><script>{TRAP}('subject2')</script>"
    message = EmailMessage()
    message["From"] = f'"<script>{TRAP}(1)</script>" <evil@attacker.example>'
    message["To"] = to
    message["Subject"] = payload
    message.set_content(f"text with <script>{TRAP}('text')</script> and {attacker}/text-link")
    message.add_alternative(hostile_html(attacker), subtype="html")
    message.add_attachment(
        b"<script>parent.__pwned('attachment')</script>",
        maintype="text",
        subtype="html",
        filename=f"\"><img src=x onerror={TRAP}('file')>../../etc/passwd.html",
    )
    return message


async def test_hostile_messages_run_no_script_and_reach_no_attacker(server: RunningServer) -> None:
    calls: list[str] = []
    dialogs: list[str] = []
    with counting_server(b"", "text/plain") as attacker:
        async with chromium() as browser:
            context = await browser.new_context(base_url=server.base_url)
            await context.expose_function(TRAP, lambda what="": calls.append(str(what)))
            page = await context.new_page()
            page.on(
                "dialog", lambda d: (dialogs.append(d.message), asyncio.ensure_future(d.dismiss()))
            )
            await page.goto("/")
            await page.click("#new-inbox")
            await page.wait_for_selector("body[data-live='connected']")
            address = (await page.locator(".bar .address").text_content() or "").strip()
            await server.send(address, hostile_message(address, attacker.url))
            # It arrives live (rendered by the page's script from the event) ...
            row = page.locator("#messages li[data-id]").first
            await row.wait_for()
            assert "<img src=x" in (await row.locator(".subject").text_content() or "")
            # ... and rendered by the server after a reload.
            await page.reload()
            await row.wait_for()
            await row.locator("a").click()
            await page.wait_for_selector("#subject")
            await page.wait_for_load_state("load")
            frame = page.frame_locator("#html-frame")
            await frame.locator("body").wait_for()
            # Whatever survived sanitising is inert: clicking it runs nothing.
            await frame.get_by_text("click", exact=True).first.click(no_wait_after=True)
            await page.wait_for_load_state("load")
            shown = (await page.locator("#subject").text_content() or "").strip()
            assert (
                shown == f"<img src=x onerror={TRAP}('subject')><script>{TRAP}('subject2')</script>"
            )
            await page.screenshot(path=str(SCREENSHOTS / "hostile.png"), full_page=True)
            await context.close()
        assert calls == []
        assert dialogs == []
        assert attacker.paths == []


async def test_attachment_download_names_carry_no_markup_or_path(server: RunningServer) -> None:
    inbox = await server.create_inbox()
    with counting_server() as attacker:
        await server.send(inbox["address"], hostile_message(inbox["address"], attacker.url))
    async with chromium() as browser:
        context = await browser.new_context(base_url=server.base_url)
        page = await context.new_page()
        await page.goto("/")
        await page.fill("#token", inbox["token"])
        await page.click("#sign-in")
        await page.goto(f"/inbox/{inbox['id']}")
        await page.locator("#messages li[data-id] a").first.click()
        async with page.expect_download() as info:
            await page.click("a.attachment")
        download = await info.value
        name = download.suggested_filename
        assert "/" not in name and "\\" not in name and '"' not in name
        assert name.endswith("passwd.html") and not name.startswith(".")
        await context.close()
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        assert (await client.get(f"/inbox/{inbox['id']}")).status_code == 401
