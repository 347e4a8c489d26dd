"""Messages over REST: filters, newest-first cursor pagination, read state, deletion,
attachment downloads and the text rendering of HTML-only mail."""

from __future__ import annotations

import os
from email.message import EmailMessage
from typing import Any

import sqlalchemy as sa

from inboxkit.pipeline import Envelope
from inboxkit.store.tables import contents
from tests.helpers import RunningServer, make_message


class Inbox:
    """One mailbox and its token, with the calls these tests make over and over."""

    def __init__(self, server: RunningServer, data: dict[str, Any]):
        self.server, self.data = server, data
        self.id, self.address = data["id"], data["address"]
        self.headers = server.auth(data["token"])

    async def list(self, **params: Any) -> list[dict[str, Any]]:
        response = await self.server.http.get(
            f"/mailboxes/{self.id}/messages", params=params, headers=self.headers
        )
        assert response.status_code == 200, response.text
        return response.json()["data"]

    async def subjects(self, **params: Any) -> list[str]:
        return [m["subject"] for m in await self.list(**params)]

    async def get(self, message_id: str, **params: Any) -> Any:
        return await self.server.http.get(
            f"/mailboxes/{self.id}/messages/{message_id}", params=params, headers=self.headers
        )


async def _inbox(server: RunningServer) -> Inbox:
    return Inbox(server, await server.create_inbox())


async def _send(server: RunningServer, inbox: Inbox, message: EmailMessage) -> None:
    await server.send(inbox.address, message, mail_from="envelope@example.com")


def _message(to: str, subject: str, body: str, sender: str) -> EmailMessage:
    return make_message(to, subject, body, mail_from=sender)


async def _three(server: RunningServer) -> Inbox:
    inbox = await _inbox(server)
    for sender, subject, body in (
        ("Alice Example <alice@shop.example>", "Welcome to Shop", "Thanks for joining."),
        ("bob@bank.example", "Your code", "Your code is 482913."),
        ("carol@news.example", "100% off today", "A pineapple newsletter."),
    ):
        await _send(server, inbox, _message(inbox.address, subject, body, sender))
    return inbox


async def test_listing_is_newest_first_with_the_summary_fields(server: RunningServer):
    inbox = await _three(server)
    listed = await inbox.list()
    assert [m["subject"] for m in listed] == ["100% off today", "Your code", "Welcome to Shop"]
    first = listed[-1]
    assert first["from"] == "alice@shop.example" and first["from_name"] == "Alice Example"
    assert first["to"] == [inbox.address]
    assert first["preview"] == "Thanks for joining."
    assert first["direction"] == "inbound" and first["is_read"] is False
    assert first["mailbox_id"] == inbox.id and first["size"] > 0
    assert first["has_attachments"] is False
    for field in ("id", "received_at", "codes", "links"):
        assert field in first


async def test_filters_by_sender_subject_and_free_text(server: RunningServer):
    inbox = await _three(server)
    assert await inbox.subjects(**{"from": "ALICE"}) == ["Welcome to Shop"]
    assert await inbox.subjects(**{"from": "bank.example"}) == ["Your code"]
    assert await inbox.subjects(subject="your CODE") == ["Your code"]
    assert await inbox.subjects(q="pineapple") == ["100% off today"]
    assert await inbox.subjects(q="bank") == ["Your code"]
    assert await inbox.subjects(q="welcome") == ["Welcome to Shop"]
    assert await inbox.subjects(q="nothing-like-this") == []


async def test_like_wildcards_in_filters_match_literally(server: RunningServer):
    inbox = await _three(server)
    assert await inbox.subjects(subject="100%") == ["100% off today"]
    assert await inbox.subjects(subject="%") == ["100% off today"]
    assert await inbox.subjects(subject="_") == []
    assert await inbox.subjects(q="_") == []


async def test_unread_filter_follows_the_read_state(server: RunningServer):
    inbox = await _three(server)
    welcome = (await inbox.list(subject="Welcome"))[0]
    assert (await inbox.get(welcome["id"])).status_code == 200
    assert await inbox.subjects(unread="true") == ["100% off today", "Your code"]
    assert await inbox.subjects(unread="false") == ["Welcome to Shop"]


async def test_since_filter_returns_messages_received_at_or_after(server: RunningServer):
    inbox = await _three(server)
    by_subject = {m["subject"]: m for m in await inbox.list()}
    since = by_subject["Your code"]["received_at"]
    assert await inbox.subjects(since=since) == ["100% off today", "Your code"]
    assert await inbox.subjects(since="2000-01-01T00:00:00+02:00") == await inbox.subjects()
    assert await inbox.subjects(since="2999-01-01T00:00:00Z") == []


async def test_direction_filter_separates_inbound_and_outbound(server: RunningServer):
    inbox = await _three(server)
    raw = _message("someone@example.com", "sent by us", "hello", inbox.address).as_bytes()
    await server.runtime.pipeline.deliver(
        Envelope(mail_from=inbox.address, rcpt_tos=[inbox.address]), raw, direction="outbound"
    )
    assert await inbox.subjects(direction="outbound") == ["sent by us"]
    assert "sent by us" not in await inbox.subjects(direction="inbound")
    assert len(await inbox.list(direction="inbound")) == 3


async def test_cursor_pagination_walks_newest_first_without_gaps_or_repeats(
    server: RunningServer,
):
    inbox = await _inbox(server)
    for n in range(7):
        await server.send(inbox.address, subject=f"n{n}")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "3"} | ({"cursor": cursor} if cursor else {})
        response = await server.http.get(
            f"/mailboxes/{inbox.id}/messages", params=params, headers=inbox.headers
        )
        body = response.json()
        seen += [m["subject"] for m in body["data"]]
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"n{n}" for n in reversed(range(7))]


async def test_pagination_composes_with_filters(server: RunningServer):
    inbox = await _inbox(server)
    for n in range(6):
        await server.send(inbox.address, subject=f"{'keep' if n % 2 else 'skip'} {n}")
    first = await server.http.get(
        f"/mailboxes/{inbox.id}/messages",
        params={"limit": "2", "subject": "keep"},
        headers=inbox.headers,
    )
    body = first.json()
    assert [m["subject"] for m in body["data"]] == ["keep 5", "keep 3"]
    rest = await inbox.list(limit="2", subject="keep", cursor=body["meta"]["next_cursor"])
    assert [m["subject"] for m in rest] == ["keep 1"]


async def test_reading_a_message_marks_it_read_unless_mark_read_false(server: RunningServer):
    inbox = await _inbox(server)
    await server.send(inbox.address, subject="read me")
    (message,) = await inbox.list()
    peek = await inbox.get(message["id"], mark_read="false")
    assert peek.json()["data"]["is_read"] is False
    assert (await inbox.list())[0]["is_read"] is False
    read = await inbox.get(message["id"])
    assert read.json()["data"]["is_read"] is True
    assert (await inbox.list())[0]["is_read"] is True


async def test_full_message_has_headers_bodies_envelope_and_threading_fields(
    server: RunningServer,
):
    inbox = await _inbox(server)
    message = _message(inbox.address, "threaded", "body text", "dan@example.com")
    message["Cc"] = "cc@example.com"
    message["Reply-To"] = "replies@example.com"
    message["Message-ID"] = "<m2@example.com>"
    message["In-Reply-To"] = "<m1@example.com>"
    message["References"] = "<m0@example.com> <m1@example.com>"
    await _send(server, inbox, message)
    (summary,) = await inbox.list()
    data = (await inbox.get(summary["id"])).json()["data"]
    assert data["cc"] == ["cc@example.com"] and data["reply_to"] == ["replies@example.com"]
    assert data["message_id"] == "<m2@example.com>"
    assert data["in_reply_to"] == "<m1@example.com>"
    assert data["references"] == ["<m0@example.com>", "<m1@example.com>"]
    assert ["Subject", "threaded"] in data["headers"]
    assert data["text"].strip() == "body text" and data["html"] is None
    assert data["envelope"]["mail_from"] == "envelope@example.com"


async def test_patch_sets_and_clears_is_read(server: RunningServer):
    inbox = await _inbox(server)
    await server.send(inbox.address)
    (message,) = await inbox.list()
    path = f"/mailboxes/{inbox.id}/messages/{message['id']}"
    for state in (True, False, True):
        response = await server.http.patch(path, json={"is_read": state}, headers=inbox.headers)
        assert response.status_code == 200
        assert response.json()["data"]["is_read"] is state
        assert (await inbox.list())[0]["is_read"] is state
    missing_field = await server.http.patch(path, json={}, headers=inbox.headers)
    assert missing_field.status_code == 422


async def test_delete_removes_the_message_and_purges_its_content(server: RunningServer):
    inbox = await _inbox(server)
    await server.send(inbox.address, subject="doomed")
    await server.send(inbox.address, subject="kept")
    doomed = (await inbox.list(subject="doomed"))[0]
    path = f"/mailboxes/{inbox.id}/messages/{doomed['id']}"
    response = await server.http.delete(path, headers=inbox.headers)
    assert response.status_code == 204 and response.content == b""
    assert (await server.http.get(path, headers=inbox.headers)).status_code == 404
    assert (await server.http.get(f"{path}/raw", headers=inbox.headers)).status_code == 404
    assert (await server.http.delete(path, headers=inbox.headers)).status_code == 404
    assert await inbox.subjects() == ["kept"]
    async with server.runtime.db.read() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(contents)) == 1


async def test_deleting_a_shared_message_in_one_mailbox_keeps_it_in_the_other(
    server: RunningServer,
):
    first, second = await _inbox(server), await _inbox(server)
    await server.send([first.address, second.address], subject="for both")
    (message,) = await first.list()
    response = await server.http.delete(
        f"/mailboxes/{first.id}/messages/{message['id']}", headers=first.headers
    )
    assert response.status_code == 204
    (other,) = await second.list()
    raw = await server.http.get(
        f"/mailboxes/{second.id}/messages/{other['id']}/raw", headers=second.headers
    )
    assert raw.status_code == 200 and b"for both" in raw.content
    assert raw.headers["content-type"] == "message/rfc822"
    assert raw.headers["content-disposition"].startswith("attachment;")


async def test_attachments_download_as_exact_bytes_never_inline(server: RunningServer):
    inbox = await _inbox(server)
    blob = os.urandom(3000) + b"\x00\r\n\x00"
    message = _message(inbox.address, "with files", "see attached", "erin@example.com")
    message.add_attachment(blob, maintype="application", subtype="pdf", filename="résumé.pdf")
    message.add_attachment(
        "<script>alert(1)</script>", subtype="html", filename='evil "quoted".html'
    )
    await _send(server, inbox, message)
    (summary,) = await inbox.list()
    assert summary["has_attachments"] is True
    attachments = (await inbox.get(summary["id"])).json()["data"]["attachments"]
    by_name = {a["filename"]: a for a in attachments}
    assert set(by_name) == {"résumé.pdf", 'evil "quoted".html'}
    pdf = by_name["résumé.pdf"]
    assert pdf["content_type"] == "application/pdf" and pdf["size"] == len(blob)
    assert pdf["disposition"] == "attachment"

    base = f"/mailboxes/{inbox.id}/messages/{summary['id']}/attachments"
    response = await server.http.get(f"{base}/{pdf['id']}", headers=inbox.headers)
    assert response.status_code == 200
    assert response.content == blob
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-content-type-options"] == "nosniff"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9.pdf" in disposition

    html = by_name['evil "quoted".html']
    response = await server.http.get(f"{base}/{html['id']}", headers=inbox.headers)
    assert response.status_code == 200
    assert response.content.strip() == b"<script>alert(1)</script>"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_inline_image_is_listed_with_its_content_id(server: RunningServer):
    inbox = await _inbox(server)
    message = _message(inbox.address, "inline", "plain version", "f@example.com")
    message.add_alternative('<p>look <img src="cid:logo@x"></p>', subtype="html")
    html_part = message.get_payload()[1]
    html_part.add_related(b"\x89PNG fake", maintype="image", subtype="png", cid="<logo@x>")
    await _send(server, inbox, message)
    (summary,) = await inbox.list()
    data = (await inbox.get(summary["id"])).json()["data"]
    (image,) = data["attachments"]
    assert image["content_id"] == "logo@x" and image["content_type"] == "image/png"
    response = await server.http.get(
        f"/mailboxes/{inbox.id}/messages/{summary['id']}/attachments/{image['id']}",
        headers=inbox.headers,
    )
    assert response.content == b"\x89PNG fake"
    assert response.headers["content-disposition"].startswith("attachment;")


async def test_html_only_mail_gets_a_text_preview_and_is_searchable(server: RunningServer):
    inbox = await _inbox(server)
    filler = " ".join(["lorem ipsum"] * 60)
    message = EmailMessage()
    message["From"] = "html@example.com"
    message["To"] = inbox.address
    message["Subject"] = "html only"
    message.set_content(
        f"<html><head><style>p {{color: red}}</style></head><body>"
        f"<h1>Hello&nbsp;there</h1><p>Your <b>code</b> is 739201.</p><p>{filler}</p>"
        f"<p>zanzibar at the very end</p></body></html>",
        subtype="html",
    )
    await _send(server, inbox, message)
    (summary,) = await inbox.list()
    assert summary["preview"].startswith("Hello")
    assert "<" not in summary["preview"] and "color" not in summary["preview"]
    assert "739201" in summary["preview"]
    assert summary["codes"][:1] == ["739201"]
    assert await inbox.subjects(q="zanzibar") == ["html only"]
    data = (await inbox.get(summary["id"])).json()["data"]
    assert data["html"].startswith("<html>")
    assert "zanzibar at the very end" in data["text"] and "<p>" not in data["text"]


def _gmail_style_reply(to: str) -> EmailMessage:
    """A reply as Gmail sends it: the new text above an attribution and the quoted original,
    in the text part and in the HTML's gmail_quote."""
    message = EmailMessage()
    message["From"] = "Anna Berg <anna@example.com>"
    message["To"] = to
    message["Subject"] = "Re: Launch plan"
    message.set_content(
        "Tuesday works. The agenda is at https://docs.example/agenda\n\nAnna\n\n"
        "On Mon, 3 Mar 2025 at 14:02, Jonas Weber <jonas@example.org> wrote:\n\n"
        "> Can we launch on Tuesday?\n"
    )
    message.add_alternative(
        '<div dir="ltr"><div>Tuesday <b>works</b>. The agenda is <a href="https://docs.example/'
        'agenda">here</a>.</div><div><br></div><div>Anna</div></div><br><div class="gmail_quote">'
        '<div dir="ltr" class="gmail_attr">On Mon, 3 Mar 2025 at 14:02, Jonas Weber &lt;'
        'jonas@example.org&gt; wrote:<br></div><blockquote class="gmail_quote">Can we launch on '
        "Tuesday?</blockquote></div>",
        subtype="html",
    )
    return message


async def test_a_reply_reads_as_its_new_text_and_as_markdown(server: RunningServer):
    inbox = await _inbox(server)
    await _send(server, inbox, _gmail_style_reply(inbox.address))
    (summary,) = await inbox.list()
    data = (await inbox.get(summary["id"])).json()["data"]
    assert data["reply_text"] == "Tuesday works. The agenda is here.\nAnna"
    assert data["markdown"].startswith("Tuesday **works**. The agenda is [here](https://docs.")
    assert "> Can we launch on Tuesday?" in data["markdown"]
    assert "<" not in data["reply_text"] and "gmail_quote" not in data["markdown"]


async def test_reply_text_and_markdown_of_another_account_are_not_found(server: RunningServer):
    inbox, stranger = await _inbox(server), await _inbox(server)
    await _send(server, inbox, _gmail_style_reply(inbox.address))
    (summary,) = await inbox.list()
    response = await stranger.get(summary["id"])
    assert response.status_code == 404 and "reply_text" not in response.text
    assert response.json()["error"]["code"] == "not_found"
