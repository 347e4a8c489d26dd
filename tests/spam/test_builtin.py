"""The built-in scorer: authentication failures weighed by the From domain's DMARC policy,
GTUBE, the two content rules, and its bounds on hostile input."""

from __future__ import annotations

from typing import Any

import pytest

from inboxkit.spam import BuiltinScorer, ScoredMessage
from inboxkit.spam.builtin import (
    GTUBE,
    QUARANTINE_AT,
    SCAN_LIMIT,
    SPAM_AT,
    display_name_shows_other_domain,
    findings,
    has_deceptive_link,
)


def message(
    *,
    authentication: dict[str, Any] | None = None,
    text: str | None = "Hello Bob, see you at noon. Alice",
    html: str | None = None,
    from_header: str = "Alice <alice@example.com>",
    from_addr: str = "alice@example.com",
    raw: bytes = b"From: alice@example.com\r\n\r\nHello\r\n",
) -> ScoredMessage:
    return ScoredMessage(
        raw=raw,
        mail_from=from_addr,
        rcpt_tos=["bob@example.org"],
        remote_addr="203.0.113.5",
        helo="mail.example.com",
        from_addr=from_addr,
        subject="Lunch",
        text=text,
        html=html,
        authentication=authentication,
        headers=[["From", from_header], ["To", "bob@example.org"], ["Subject", "Lunch"]],
    )


def auth(
    *,
    spf: str = "pass",
    dkim: list[str] | None = None,
    dmarc: str = "pass",
    policy: str | None = "reject",
) -> dict[str, Any]:
    return {
        "spf": {"result": spf, "domain": "example.com"},
        "dkim": [
            {"result": result, "domain": "example.com", "selector": "s1"}
            for result in (["pass"] if dkim is None else dkim)
        ],
        "dmarc": {"result": dmarc, "policy": policy, "domain": "example.com"},
    }


async def score(scored: ScoredMessage) -> dict[str, Any]:
    scorer = BuiltinScorer()
    try:
        return dict(await scorer.score(scored))
    finally:
        await scorer.close()


async def test_authenticated_ordinary_message_is_clean_with_no_reason() -> None:
    result = await score(message(authentication=auth()))
    assert result == {"verdict": "clean", "score": 0.0, "reason": None, "engine": "builtin"}


async def test_dmarc_failure_under_p_reject_is_spam_on_its_own() -> None:
    result = await score(message(authentication=auth(dmarc="fail", policy="reject")))
    assert (result["verdict"], result["engine"]) == ("spam", "builtin")
    assert result["score"] == SPAM_AT
    assert result["reason"] == "DMARC fail (p=reject)"


async def test_dmarc_failure_under_p_quarantine_is_quarantine() -> None:
    result = await score(message(authentication=auth(dmarc="fail", policy="quarantine")))
    assert result["verdict"] == "quarantine"
    assert result["reason"] == "DMARC fail (p=quarantine)"


async def test_dmarc_failure_under_p_none_only_weighs() -> None:
    result = await score(message(authentication=auth(dmarc="fail", policy="none")))
    assert result["verdict"] == "clean"
    assert 0 < result["score"] < QUARANTINE_AT
    assert result["reason"] == "DMARC fail (p=none)"


@pytest.mark.parametrize("word", ["none", "temperror", "neutral", "permerror"])
async def test_unevaluable_authentication_never_weighs(word: str) -> None:
    checks = auth(spf=word, dkim=[word], dmarc=word, policy="reject")
    result = await score(message(authentication=checks))
    assert result == {"verdict": "clean", "score": 0.0, "reason": None, "engine": "builtin"}


async def test_message_without_authentication_results_never_weighs() -> None:
    assert (await score(message(authentication=None)))["score"] == 0.0
    assert (await score(message(authentication={})))["score"] == 0.0
    unsigned = auth(spf="none", dkim=[], dmarc="none", policy=None)
    assert (await score(message(authentication=unsigned)))["score"] == 0.0


@pytest.mark.parametrize(
    ("checks", "rule"),
    [
        (auth(spf="fail"), "SPF fail"),
        (auth(spf="softfail"), "SPF softfail"),
        (auth(dkim=["fail"]), "DKIM fail"),
    ],
    ids=["spf-fail", "spf-softfail", "dkim-fail"],
)
async def test_spf_and_dkim_failures_weigh_less_than_quarantine_alone(
    checks: dict[str, Any], rule: str
) -> None:
    result = await score(message(authentication=checks))
    assert result["verdict"] == "clean"
    assert 0 < result["score"] < QUARANTINE_AT
    assert result["reason"] == rule


async def test_failed_dkim_signature_beside_a_passing_one_does_not_weigh() -> None:
    result = await score(message(authentication=auth(dkim=["fail", "pass"])))
    assert result["score"] == 0.0


async def test_spf_and_dkim_failures_together_with_a_dmarc_failure_add_up() -> None:
    checks = auth(spf="fail", dkim=["fail"], dmarc="fail", policy="quarantine")
    result = await score(message(authentication=checks))
    # The owner asked for quarantine: the failures it implies do not make it spam.
    assert result["verdict"] == "quarantine"
    assert QUARANTINE_AT < result["score"] < SPAM_AT
    assert result["reason"] == "DMARC fail (p=quarantine); SPF fail; DKIM fail"


async def test_spf_and_dkim_failures_together_stay_below_quarantine() -> None:
    result = await score(message(authentication=auth(spf="fail", dkim=["fail"], dmarc="none")))
    assert result["verdict"] == "clean"
    assert result["reason"] == "SPF fail; DKIM fail"


@pytest.mark.parametrize(
    "where", ["text", "html", "raw"], ids=["in-text", "in-html", "in-unparsed-raw"]
)
async def test_gtube_is_spam(where: str) -> None:
    parts: dict[str, Any] = {"text": None, "html": None, "raw": b"Subject: x\r\n\r\nbody\r\n"}
    if where == "raw":
        parts["raw"] = b"Subject: x\r\n\r\n" + GTUBE.encode() + b"\r\n"
    else:
        parts[where] = f"Testing the filter: {GTUBE}"
    result = await score(message(**parts))
    assert result["verdict"] == "spam"
    assert result["reason"] == "GTUBE test string"


# The display-name rule.


@pytest.mark.parametrize(
    "from_header",
    [
        '"service@paypal.com" <billing@evil.test>',
        "support@bank.example.com via Helpdesk <alerts@other.test>",
        "=?utf-8?q?x?= paypal@paypal.com <alice@example.org>",
    ],
)
def test_display_name_showing_another_domains_address_fires(from_header: str) -> None:
    address = from_header.rpartition("<")[2].rstrip(">")
    assert display_name_shows_other_domain(message(from_header=from_header, from_addr=address))


@pytest.mark.parametrize(
    ("from_header", "from_addr"),
    [
        ("Alice <alice@example.com>", "alice@example.com"),
        ('"alice@example.com" <alice@example.com>', "alice@example.com"),
        ("support@example.com team <noreply@mail.example.com>", "noreply@mail.example.com"),
        ("alice@example.com", "alice@example.com"),
        ("Alice at home <alice@example.com>", "alice@example.com"),
    ],
)
def test_display_name_rule_leaves_benign_senders_alone(from_header: str, from_addr: str) -> None:
    assert not display_name_shows_other_domain(
        message(from_header=from_header, from_addr=from_addr)
    )


async def test_display_name_rule_alone_weighs_and_with_spf_fail_quarantines() -> None:
    spoofed = {"from_header": '"it@example.com" <x@evil.test>', "from_addr": "x@evil.test"}
    alone = await score(message(**spoofed))
    assert alone["verdict"] == "clean" and alone["score"] > 0
    assert alone["reason"] == "From display name shows another domain's address"
    both = await score(message(**spoofed, authentication=auth(spf="fail")))
    assert both["verdict"] == "quarantine"


# The deceptive-link rule.


@pytest.mark.parametrize(
    "html",
    [
        '<p><a href="https://evil.test/login">https://www.paypal.com/signin</a></p>',
        "<A HREF='http://203.0.113.9/x'>www.mybank.com</A>",
        '<a class="b" href=https://evil.test/><b>https://example.com/account</b></a>',
        '<a href="https://x.evil.test">https://example.com</a> and more',
    ],
)
def test_link_whose_text_is_another_sites_url_fires(html: str) -> None:
    assert has_deceptive_link(message(html=html))


@pytest.mark.parametrize(
    "html",
    [
        '<a href="https://example.com/a">https://example.com/a</a>',
        '<a href="https://news.example.com/x">https://www.example.com/y</a>',
        '<a href="https://evil.test/login">Sign in to your account</a>',
        '<a href="mailto:bob@example.org">https://example.org</a>',
        '<a href="/relative">https://example.com</a>',
        "<abbr>https://example.com</abbr><a>https://example.org</a>",
        "<p>Visit https://example.com today</p>",
    ],
)
def test_link_rule_leaves_honest_links_alone(html: str) -> None:
    assert not has_deceptive_link(message(html=html))


async def test_deceptive_link_alone_weighs_and_with_the_display_name_rule_quarantines() -> None:
    link = '<a href="https://evil.test/">https://www.paypal.com/</a>'
    alone = await score(message(html=link))
    assert alone["verdict"] == "clean" and alone["reason"] == (
        "link text shows another site than its target"
    )
    both = await score(
        message(
            html=link, from_header='"service@paypal.com" <x@evil.test>', from_addr="x@evil.test"
        )
    )
    assert both["verdict"] == "quarantine"


# Bounds.


def test_hostile_markup_is_scanned_only_up_to_the_limit() -> None:
    deceptive = '<a href="https://evil.test/">https://www.paypal.com/</a>'
    # Unclosed tags, anchors without an end, and only then, past the limit, a deceptive link.
    hostile = ("<a " * (SCAN_LIMIT // 3)) + ("<a href=x>" * 1000) + deceptive
    assert len(hostile) > SCAN_LIMIT
    assert not has_deceptive_link(message(html=hostile))
    # The same link inside the limit is found, so the bound (not the rule) decided.
    assert has_deceptive_link(message(html=("<a " * 1000) + "> " + deceptive))


async def test_huge_message_is_scored_over_its_first_kilobytes_only() -> None:
    huge = "x" * (20 * 1024 * 1024)
    scored = message(
        text=huge + GTUBE,
        html=("<a href=" + "y" * 5000 + ">" + "<a " * 100_000) * 20 + GTUBE,
        raw=huge.encode() + GTUBE.encode(),
        from_header=("A" * 100_000) + " it@example.com <x@evil.test>",
        from_addr="x@evil.test",
    )
    result = await score(scored)
    # Everything that would fire lies past the bounds, so nothing does.
    assert result == {"verdict": "clean", "score": 0.0, "reason": None, "engine": "builtin"}


def test_many_anchors_are_all_read_up_to_the_cap() -> None:
    honest = '<a href="https://example.com/">https://example.com/</a>' * 150
    deceptive = '<a href="https://evil.test/">https://www.paypal.com/</a>'
    assert has_deceptive_link(message(html=honest + deceptive))
    assert not has_deceptive_link(message(html=honest * 2 + deceptive))


def test_findings_lists_every_rule_that_fired_in_order() -> None:
    scored = message(
        authentication=auth(dmarc="fail", policy="reject", spf="softfail"),
        text=GTUBE,
        html='<a href="https://evil.test/">https://paypal.com/</a>',
        from_header='"a@paypal.com" <x@evil.test>',
        from_addr="x@evil.test",
    )
    assert [f.rule for f in findings(scored)] == [
        "DMARC fail (p=reject)",
        "SPF softfail",
        "GTUBE test string",
        "From display name shows another domain's address",
        "link text shows another site than its target",
    ]
