"""The draft of a forward (mail/forward.py), composed and read back with the stdlib parser:
the subject, the inline block, escaping of received values, attachments and threading."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

from inboxkit.mail.compose import compose
from inboxkit.mail.forward import (
    FORWARD_MARKER,
    ForwardedAttachment,
    ForwardedMessage,
    forward_draft,
    forward_subject,
)


def _original(**changes: object) -> ForwardedMessage:
    fields: dict[str, object] = {
        "from_addr": "billing@shop.example",
        "from_name": "Shop <script>",
        "date": datetime(2026, 12, 4, 10, 12, tzinfo=UTC),
        "subject": "Invoice\u2028 42",
        "to": ["ops@inboxkit.example"],
        "cc": [],
        "text": "Pay by Friday.",
        "html_sanitized": None,
        "message_id": "<orig@shop.example>",
        "references": ["<root@shop.example>", "not a message id"],
    }
    fields.update(changes)
    return ForwardedMessage(**fields)  # type: ignore[arg-type]


def _sent(original: ForwardedMessage, **note: str) -> EmailMessage:
    draft = forward_draft(
        original, from_address="me@inboxkit.example", from_name=None, to=["x@example.com"], **note
    )
    raw = compose(draft, message_id="<fwd@inboxkit.example>", date=datetime.now(UTC))
    return message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def test_the_subject_gets_one_fwd_prefix():
    assert forward_subject("Invoice") == "Fwd: Invoice"
    assert forward_subject("Fwd: Invoice") == "Fwd: Invoice"
    assert forward_subject("FW: Invoice") == "FW: Invoice"
    assert forward_subject("fwd:Invoice") == "fwd:Invoice"
    assert forward_subject("") == "Fwd:"


def test_text_forward_has_the_note_then_the_block_and_keeps_the_thread():
    message = _sent(_original(), text="See below.")
    assert message["Subject"] == "Fwd: Invoice  42"
    assert message["In-Reply-To"] is None
    assert message["References"].split() == ["<root@shop.example>", "<orig@shop.example>"]
    assert message.get_content_type() == "text/plain"
    body = message.get_content()
    assert body.index("See below.") < body.index(FORWARD_MARKER) < body.index("Pay by Friday.")
    assert "From: Shop <script> <billing@shop.example>" in body
    assert "Date: Fri, 04 Dec 2026 10:12:00 +0000" in body
    assert "Cc:" not in body


def test_html_forward_escapes_received_values_and_the_note_text():
    original = _original(html_sanitized="<p>Pay by <b>Friday</b>.</p>", cc=["a@shop.example"])
    message = _sent(original, text="1 < 2 & <i>not html</i>")
    html = message.get_body(("html",)).get_content()
    assert "Shop &lt;script&gt;" in html and "<script>" not in html
    assert "1 &lt; 2 &amp; &lt;i&gt;not html&lt;/i&gt;" in html
    assert "<p>Pay by <b>Friday</b>.</p>" in html
    text = message.get_body(("plain",)).get_content()
    assert "Cc: a@shop.example" in text and "1 < 2 & <i>not html</i>" in text


def test_attachments_keep_their_bytes_and_unusable_types_and_names_are_made_safe():
    data = bytes(range(256))
    original = _original(
        attachments=[
            ForwardedAttachment("report.pdf", "application/pdf", data),
            ForwardedAttachment("inner.eml", "message/rfc822", b"From: a@b.c\r\n\r\nhi\r\n"),
            ForwardedAttachment("bad\r\nname.txt", "text/plain", b"x"),
            ForwardedAttachment(None, "not a type", b"y"),
        ]
    )
    message = _sent(original)
    parts = [
        (p.get_filename(), p.get_content_type(), p.get_payload(decode=True))
        for p in message.iter_attachments()
    ]
    assert parts == [
        ("report.pdf", "application/pdf", data),
        ("inner.eml", "application/octet-stream", b"From: a@b.c\r\n\r\nhi\r\n"),
        ("bad  name.txt", "text/plain", b"x"),
        ("attachment-4", "application/octet-stream", b"y"),
    ]


def test_an_original_without_a_message_id_forwards_its_references_alone():
    message = _sent(_original(message_id=None, references=[]))
    assert message["References"] is None
    message = _sent(_original(message_id="garbage"))
    assert message["References"].split() == ["<root@shop.example>"]
