"""Sanitised HTML and attachment bytes are prepared once, at delivery, and reads serve them
from storage; rows stored before that still read correctly the old way; many concurrent reads
of a big message all complete correctly while /healthz keeps answering."""

from __future__ import annotations

import asyncio
import os
from email.message import EmailMessage
from typing import Any

import httpx
import nh3
import sqlalchemy as sa

from inboxkit.store.tables import contents
from tests.helpers import RunningServer, make_message

HTML = '<p onclick="steal()">Hello <b>there</b><script>alert(1)</script></p>'


async def _deliver(server: RunningServer, message: EmailMessage) -> dict[str, Any]:
    inbox = await server.create_inbox()
    del message["To"]
    message["To"] = inbox["address"]
    await server.send(inbox["address"], message)
    headers = server.auth(inbox["token"])
    base = f"/mailboxes/{inbox['id']}/messages"
    (summary,) = (await server.http.get(base, headers=headers)).json()["data"]
    return {"headers": headers, "url": f"{base}/{summary['id']}"}


def _with_html_and_file(html: str, blob: bytes) -> EmailMessage:
    message = make_message("x@example.com", "prepared", "plain part")
    message.add_alternative(html, subtype="html")
    message.add_attachment(b"first file", maintype="text", subtype="plain", filename="a.txt")
    message.add_attachment(blob, maintype="application", subtype="pdf", filename="b.pdf")
    return message


async def _set(server: RunningServer, **values: Any) -> None:
    async with server.runtime.db.write() as conn:
        await conn.execute(contents.update().values(**values))


async def _read(server: RunningServer, got: dict[str, Any]) -> tuple[dict[str, Any], list[bytes]]:
    message = (await server.http.get(got["url"], headers=got["headers"])).json()["data"]
    files = []
    for attachment in message["attachments"]:
        response = await server.http.get(
            f"{got['url']}/attachments/{attachment['id']}", headers=got["headers"]
        )
        assert response.status_code == 200
        files.append(response.content)
    return message, files


async def test_sanitised_html_and_attachment_bytes_are_stored_at_delivery_and_served(
    server: RunningServer,
):
    blob = os.urandom(5000)
    got = await _deliver(server, _with_html_and_file(HTML, blob))
    async with server.runtime.db.read() as conn:
        stored = (await conn.execute(sa.select(contents))).one()
    assert stored.html.strip() == HTML
    assert stored.html_sanitized == nh3.clean(stored.html)
    assert "<script>" not in stored.html_sanitized
    assert stored.attachment_data == b"first file" + blob

    # Change what is stored: reads must show it, proving nothing is recomputed per read.
    await _set(server, html_sanitized="<p>from storage</p>", attachment_data=b"FIRST FILE" + blob)
    message, files = await _read(server, got)
    assert message["html_sanitized"] == "<p>from storage</p>"
    assert message["html"].strip() == HTML  # the HTML as received is still there
    assert files == [b"FIRST FILE", blob]


async def test_rows_stored_before_preparation_are_sanitised_and_reparsed_on_read(
    server: RunningServer,
):
    blob = os.urandom(5000)
    got = await _deliver(server, _with_html_and_file(HTML, blob))
    await _set(server, html_sanitized=None, attachment_data=None)
    message, files = await _read(server, got)
    assert message["html_sanitized"] == nh3.clean(message["html"])
    assert "<script>" not in message["html_sanitized"]
    assert files == [b"first file", blob]


async def test_stored_bytes_that_do_not_match_the_attachment_list_fall_back_to_the_raw_message(
    server: RunningServer,
):
    blob = os.urandom(100)
    got = await _deliver(server, _with_html_and_file(HTML, blob))
    await _set(server, attachment_data=b"truncated")
    _, files = await _read(server, got)
    assert files == [b"first file", blob]


async def test_concurrent_reads_of_a_big_html_message_complete_while_healthz_answers(
    server: RunningServer,
):
    # About 5 MB of HTML with something to sanitise in every row, plus a 5 MB attachment.
    row = '<tr><td onmouseover="x()">cell <a href="javascript:alert(1)">link</a></td></tr>\n'
    html = "<table>" + row * (5_000_000 // len(row)) + "</table>"
    blob = os.urandom(5 * 1024 * 1024)
    got = await _deliver(server, _with_html_and_file(html, blob))
    first = (await server.http.get(got["url"], headers=got["headers"])).json()["data"]
    (pdf_id,) = [a["id"] for a in first["attachments"] if a["filename"] == "b.pdf"]
    expected_html = nh3.clean(first["html"])
    assert len(first["html"]) > 4_900_000 and "javascript:" not in expected_html

    async def read_message() -> None:
        response = await server.http.get(
            got["url"], headers=got["headers"], params={"mark_read": "false"}
        )
        assert response.status_code == 200
        assert response.json()["data"]["html_sanitized"] == expected_html

    async def download() -> None:
        response = await server.http.get(
            f"{got['url']}/attachments/{pdf_id}", headers=got["headers"]
        )
        assert response.status_code == 200 and response.content == blob

    async with httpx.AsyncClient(base_url=server.base_url, timeout=90) as ops:

        async def healthz() -> None:
            response = await ops.get("/healthz")
            assert response.status_code == 200

        await asyncio.gather(
            *(read_message() for _ in range(20)),
            *(download() for _ in range(20)),
            *(healthz() for _ in range(20)),
        )
