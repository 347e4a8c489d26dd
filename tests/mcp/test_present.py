"""How results are shaped for a model (pure functions, no server)."""

from __future__ import annotations

from mcp.types import TextContent

from inboxkit.errors import Forbidden, NotFound, QuotaExceeded, RateLimited, Resource
from inboxkit.mcp.present import (
    MAX_INLINE_BYTES,
    MAX_TEXT_CHARS,
    UNTRUSTED,
    advice,
    attachment_content,
    code_result,
    inbox_for_model,
    message_for_model,
    usage_for_model,
)


def test_mail_stored_without_text_is_read_as_its_html_rendered_to_text():
    shaped = message_for_model(
        {"id": "m1", "text": None, "html": "<p>Hello <b>there</b></p>"}, "text"
    )
    assert shaped["text"].strip() == "Hello there"
    assert shaped["notice"] == UNTRUSTED


def test_very_long_text_is_cut_and_says_so():
    shaped = message_for_model({"id": "m1", "text": "x" * (MAX_TEXT_CHARS + 10)}, "text")
    assert len(shaped["text"]) == MAX_TEXT_CHARS
    assert shaped["truncated"] is True and "cut" in shaped["note"]


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


USAGE = {
    "plan": "free",
    "period": {"start": "2026-12-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"},
    "usage": {"mailboxes": 3, "received_this_month": 40, "sent_this_month": 2, "storage_bytes": 9},
    "limits": {
        "max_mailboxes": 5,
        "received_per_month": None,
        "sent_per_month": 2,
        "send": "local",
        "agent_mode": False,
        "max_ttl_minutes": 60,
    },
}


def test_usage_puts_each_figure_beside_its_limit_and_lists_only_set_limits():
    shaped = usage_for_model(USAGE)
    assert shaped["mailboxes"] == {"used": 3, "limit": 5}
    assert shaped["received_this_month"] == {"used": 40, "limit": None}
    assert shaped["sent_this_month"] == {"used": 2, "limit": 2}
    assert "received_per_month" not in shaped["limits"] and shaped["limits"]["send"] == "local"
    assert shaped["summary"] == (
        "Plan 'free': mailboxes: 3 of 5; received this month: 40; sent this month: 2 of 2; "
        "it may send only to inboxes on this server. Monthly counts reset at "
        "2027-01-01T00:00:00Z."
    )


def test_a_period_quota_says_when_it_resets():
    error = QuotaExceeded(
        "This account may send 2 messages a month on plan 'free'.",
        limit="sent_per_month",
        allowed=2,
        used=2,
        retry_after=9 * 86400 - 100,
    )
    assert advice(error) == "The quota resets in 9 days; tell the user."


def test_a_standing_quota_is_advised_by_the_limit_it_names():
    mailboxes = QuotaExceeded("Full.", limit="max_mailboxes", allowed=5, used=5)
    assert "delete_inbox" in advice(mailboxes)
    agent = QuotaExceeded("No agents.", limit="agent_mode", allowed=False)
    assert "mode 'test'" in advice(agent)
    no_mcp = QuotaExceeded("No MCP.", limit="mcp_access", allowed=False)
    assert "MCP access" in advice(no_mcp)
    unnamed = QuotaExceeded("Over.")
    assert "larger plan" in advice(unnamed)


def test_a_rate_limit_says_how_long_to_wait():
    assert advice(RateLimited(retry_after=12)) == "Rate limited; wait 12 s and call again."
    assert advice(RateLimited(retry_after=150)) == "Rate limited; wait 3 minutes and call again."


def test_advice_is_chosen_by_code_and_resource_not_by_message():
    missing = NotFound("Nothing with that id, try list_inboxes.", resource=Resource.MESSAGE)
    assert advice(missing) == "Call list_messages on this inbox to see its message ids."
    assert "API key that allows this" in advice(Forbidden("Whatever the text says."))
