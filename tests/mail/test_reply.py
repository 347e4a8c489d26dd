"""Reply text: the labelled corpus (tests/data/replies/cases.json, see build.py there), the
rules it is built on, and hostile input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inboxkit.mail.htmltext import html_to_text
from inboxkit.mail.reply import MAX_INPUT_CHARS, reply_text

CASES = json.loads(
    (Path(__file__).parents[1] / "data" / "replies" / "cases.json").read_text(encoding="utf-8")
)


def normalised(text: str) -> str:
    return " ".join(text.split())


def read(case: dict) -> str:
    # As stored: HTML-only mail has its HTML rendered as the text (mail/parse.py).
    text = case["text"] or html_to_text(case["html"])
    return reply_text(text, case["html"], case["subject"])


def test_the_corpus_covers_every_major_client_and_twelve_languages():
    clients = {c["client"] for c in CASES}
    languages = {c["language"] for c in CASES}
    assert len(CASES) >= 100
    assert {
        "gmail",
        "outlook",
        "outlook-mobile",
        "apple-mail",
        "ios",
        "thunderbird",
        "yahoo",
    } <= clients
    assert languages == {"en", "de", "fr", "es", "pt", "it", "nl", "ru", "ja", "zh", "pl", "tr"}
    assert sum(1 for c in CASES if c["html"]) >= 50


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_labelled_reply_reads_as_expected(case: dict):
    assert normalised(read(case)) == normalised(case["expected"])


def test_a_message_that_is_not_a_reply_is_its_whole_text_trimmed():
    assert reply_text("\n\n  Hello there.\n\nSecond paragraph.\n\n") == (
        "Hello there.\n\nSecond paragraph."
    )


def test_the_signature_delimiter_cuts_but_a_dash_line_inside_the_text_does_not():
    assert reply_text("Done.\n--\nJonas Weber\nExample Corp") == "Done."
    assert reply_text("Options --verbose and --quiet.\n-- \nJ") == "Options --verbose and --quiet."


def test_a_sign_off_without_contact_lines_stays():
    assert reply_text("See you.\n\nThanks,\nAnna") == "See you.\n\nThanks,\nAnna"


def test_mobile_footers_go_only_at_the_end():
    text = "Sent from my iPhone is what it says.\nOk.\n\nSent from my iPhone"
    assert reply_text(text) == "Sent from my iPhone is what it says.\nOk."


def test_an_attribution_without_quoted_lines_still_cuts_when_it_says_wrote():
    text = "Yes.\n\nOn Mon, 3 Mar 2025 at 14:02, Anna Berg <anna@example.com> wrote:\n\nOld text\n"
    assert reply_text(text) == "Yes."


def test_html_without_a_quote_marker_falls_back_to_the_text_part():
    html = "<p>Yes.</p><p>On Monday Anna wrote: hello</p>"
    text = "Yes.\n\nOn Mon, 3 Mar 2025 at 14:02, Anna <anna@example.com> wrote:\n> hello\n"
    assert reply_text(text, html) == "Yes."


def test_empty_and_missing_bodies_are_empty():
    assert reply_text(None, None) == ""
    assert reply_text("", "") == ""
    assert reply_text("> only a quote\n> nothing else") == ""


# Hostile input: each of these is read in one forward scan; the assertions are on the answer.


def test_a_hundred_thousand_quote_lines_read_as_an_empty_reply():
    assert reply_text("> quoted line\n" * 100_000) == ""


def test_alternating_quotes_and_answers_are_an_inline_reply_kept_whole_up_to_the_cap():
    text = "top\n" + "> q\nanswer\n" * 50_000
    out = reply_text(text)
    assert out.startswith("top\n> q\nanswer") and len(out) <= MAX_INPUT_CHARS


def test_huge_attribution_like_lines_are_text():
    line = "On " + "Mon, 3 Mar 2025 at 14:02, " * 20_000 + "wrote:"
    out = reply_text(f"Yes.\n{line}\n> old\n")
    assert out.startswith("Yes.") and len(out) <= MAX_INPUT_CHARS


def test_many_colon_lines_before_a_quote_are_read_once_each():
    text = "Agenda:\n" * 100_000 + "> old\n"
    assert reply_text(text).startswith("Agenda:")


def test_deeply_nested_html_quotes_are_cut_at_the_first_marker():
    html = (
        "<p>New text</p>" + '<blockquote type="cite">' * 20_000 + "old" + "</blockquote>" * 20_000
    )
    assert reply_text("New text", html) == "New text"


def test_a_megabyte_of_html_with_many_markers_reads_the_new_text():
    html = "<div>Fresh</div>" + '<div class="gmail_quote"><blockquote>x</blockquote></div>' * 20_000
    assert reply_text("Fresh", html) == "Fresh"
