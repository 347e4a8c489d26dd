"""How results are shaped for a model (pure functions, no server)."""

from __future__ import annotations

from mcp.types import TextContent

from inboxkit.mcp.present import (
    MAX_INLINE_BYTES,
    MAX_TEXT_CHARS,
    UNTRUSTED,
    attachment_content,
    code_result,
    inbox_for_model,
    message_for_model,
)


def test_mail_stored_without_text_is_read_as_its_html_rendered_to_text():
    shaped = message_for_model({"id": "m1", "text": None, "html": "<p>Hello <b>there</b></p>"})
    assert shaped["text"].strip() == "Hello there"
    assert shaped["notice"] == UNTRUSTED


def test_very_long_text_is_cut_and_says_so():
    shaped = message_for_model({"id": "m1", "text": "x" * (MAX_TEXT_CHARS + 10)})
    assert len(shaped["text"]) == MAX_TEXT_CHARS
    assert shaped["text_truncated"] is True and "cut" in shaped["text_note"]


def test_code_result_takes_the_first_code_and_the_first_action_link():
    result = code_result(
        "a@inboxkit.localhost",
        {
            "id": "m1",
            "codes": ["482913", "000111"],
            "links": [
                {"url": "https://x.example/privacy", "kind": "other", "text": "Privacy"},
                {"url": "https://x.example/verify", "kind": "verify", "text": "Verify"},
            ],
        },
    )
    assert (result["code"], result["link"]) == ("482913", "https://x.example/verify")
    assert result["other_codes"] == ["000111"]


def test_a_message_with_only_unrelated_links_has_no_best_link():
    result = code_result(
        "a@inboxkit.localhost",
        {"id": "m1", "codes": ["1234"], "links": [{"url": "https://u", "kind": "unsubscribe"}]},
    )
    assert result["link"] is None


def test_inbox_results_never_carry_its_token():
    shaped = inbox_for_model({"id": "b1", "address": "a@x", "mode": "test", "token": "ikm_secret"})
    assert "token" not in shaped and "ikm_secret" not in str(shaped)


def test_an_attachment_over_the_limit_is_described_not_returned():
    meta = {
        "id": "2",
        "filename": "big.zip",
        "content_type": "application/zip",
        "size": MAX_INLINE_BYTES + 1,
    }
    (content,) = attachment_content(None, meta, "inboxkit://a/messages/m/attachments/2")
    assert isinstance(content, TextContent)
    assert "big.zip" in content.text and "REST API" in content.text
