"""Raw and attachment downloads reach the browser as inert files: a sender's file name cannot
break the response, active types are not served as themselves, and every download carries
`Content-Disposition: attachment`, `nosniff` and `Content-Security-Policy: sandbox`."""

from __future__ import annotations

import base64
from typing import Any

from tests.helpers import RunningServer

ACTIVE_TYPES = [
    "text/html",
    "image/svg+xml",
    "application/xhtml+xml",
    "text/xml",
    "application/xml",
    "application/javascript",
    "text/javascript",
    "application/x-shockwave-flash",
    "text/x-made-up",
]


def _mime(to: str, parts: list[tuple[str, str, bytes]]) -> bytes:
    """A multipart message with one base64 attachment per (content type, disposition, data)."""
    lines = [
        "From: sender@example.com",
        f"To: {to}",
        "Subject: files",
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="b1"',
        "",
        "--b1",
        "Content-Type: text/plain",
        "",
        "see attached",
    ]
    for content_type, disposition, data in parts:
        lines += [
            "--b1",
            f"Content-Type: {content_type}",
            f"Content-Disposition: {disposition}",
            "Content-Transfer-Encoding: base64",
            "",
            base64.b64encode(data).decode(),
        ]
    lines += ["--b1--", ""]
    return "\r\n".join(lines).encode()


async def _receive(server: RunningServer, parts: list[tuple[str, str, bytes]]) -> dict[str, Any]:
    inbox = await server.create_inbox()
    await server.send(inbox["address"], _mime(inbox["address"], parts))
    headers = server.auth(inbox["token"])
    (summary,) = (
        await server.http.get(f"/mailboxes/{inbox['id']}/messages", headers=headers)
    ).json()["data"]
    message = (
        await server.http.get(f"/mailboxes/{inbox['id']}/messages/{summary['id']}", headers=headers)
    ).json()["data"]
    return {"inbox": inbox, "headers": headers, "message": message}


def _assert_inert_download(response: Any) -> None:
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "sandbox"


async def test_attachment_filename_with_cr_lf_is_downloaded_with_controls_removed(
    server: RunningServer,
):
    data = b"%PDF-1.4 pretend"
    got = await _receive(
        server,
        [
            (
                "application/pdf",
                "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9%0D%0ASet-Cookie%3A%20a%3D1%07.pdf",
                data,
            )
        ],
    )
    (attachment,) = got["message"]["attachments"]
    assert "\r\n" in attachment["filename"]  # stored as the sender wrote it
    url = (
        f"/mailboxes/{got['inbox']['id']}/messages/{got['message']['id']}"
        f"/attachments/{attachment['id']}"
    )
    response = await server.http.get(url, headers=got["headers"])
    assert response.status_code == 200
    assert response.content == data
    assert "set-cookie" not in response.headers
    _assert_inert_download(response)
    disposition = response.headers["content-disposition"]
    assert disposition == (
        'attachment; filename="resume__Set-Cookie: a=1_.pdf"; '
        "filename*=UTF-8''r%C3%A9sum%C3%A9__Set-Cookie%3A%20a%3D1_.pdf"
    )


async def test_active_content_types_are_served_as_octet_stream(server: RunningServer):
    payload = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(document.domain)</script>"
    parts = [
        (ctype, f'attachment; filename="f{i}"', payload) for i, ctype in enumerate(ACTIVE_TYPES)
    ]
    parts.append(("image/png", 'attachment; filename="pixel.png"', b"\x89PNG\r\n\x1a\n"))
    got = await _receive(server, parts)
    base = f"/mailboxes/{got['inbox']['id']}/messages/{got['message']['id']}/attachments"
    served = {}
    for attachment in got["message"]["attachments"]:
        response = await server.http.get(f"{base}/{attachment['id']}", headers=got["headers"])
        assert response.status_code == 200
        _assert_inert_download(response)
        served[attachment["content_type"]] = (response.headers["content-type"], response.content)
    for ctype in ACTIVE_TYPES:
        assert served[ctype] == ("application/octet-stream", payload), ctype
    assert served["image/png"] == ("image/png", b"\x89PNG\r\n\x1a\n")


async def test_raw_download_is_an_inert_attachment(server: RunningServer):
    got = await _receive(server, [("text/html", "inline", b"<script>alert(1)</script>")])
    response = await server.http.get(
        f"/mailboxes/{got['inbox']['id']}/messages/{got['message']['id']}/raw",
        headers=got["headers"],
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "message/rfc822"
    _assert_inert_download(response)
    assert f'filename="{got["message"]["id"]}.eml"' in response.headers["content-disposition"]
