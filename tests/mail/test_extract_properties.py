"""Whatever the input, `extract` and `html_to_text` return a well-formed result and finish.

Finishing is shown by the suite's pytest-timeout, never by timing assertions: a regex that
backtracks catastrophically or a quadratic loop turns these tests into timeouts.
"""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inboxkit.mail import codes as codes_module
from inboxkit.mail import extract as extract_module
from inboxkit.mail import htmltext as htmltext_module
from inboxkit.mail import links as links_module
from inboxkit.mail import normalise as normalise_module
from inboxkit.mail import vocabulary as vocabulary_module
from inboxkit.mail.extract import Extraction, extract
from inboxkit.mail.htmltext import html_to_text, render_html

KINDS = {"verify", "login", "reset", "unsubscribe", "other"}
CODE_CHARS = set(string.ascii_letters + string.digits + "-")
MARKS = set("\x01\x02\x03\x04\x05\x06")

HTML_PIECES = [
    "<div>", "</div>", "<p>", "</p>", "<br>", "<table>", "<tr>", "<td>", "</td>", "</tr>",
    "</table>", "<span>", "</span>", "<b>", "</b>", "<a href='https://x.example/v?t=1&amp;u=2'>",
    "<a href=\"mailto:a@b.example\">", "</a>", "<img src=x alt='Logo'>", "<pre>", "</pre>",
    "<style>", "</style>", "<script>", "</script>", "<!--", "-->", "<![endif]-->",
    '<div style="display:none">', '<span style="max-height:0;opacity:0">',
    '<div style="display:inline-block">', '<span class="preheader">', "<head>", "<title>",
    "&nbsp;", "&amp;", "&#8203;", "&zwnj;", "&shy;", "&#x1F600;", "&", "<", ">", "\x00", "\x01",
    "\x05", "\x06", "Your code is ", "verification code: ", "Verify email", "Sign in",
    "Unsubscribe", "123 456", "4", "2024", "+1 (415) 555-0199", "$1,299.00", "#FF5733",
    "https://x.example/verify?t=abc\n123", "٤٨٢٩١٣", "７３９", "验证码", "رمز", "\u200b",
]  # fmt: skip

html_soup = st.lists(
    st.one_of(st.sampled_from(HTML_PIECES), st.text(max_size=12)), max_size=60
).map("".join)

text_soup = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "code",
                "Code: ",
                "is your code",
                "verification",
                "PIN",
                "otp",
                " ",
                "\n",
                "\t",
                "-",
                "–",
                ":",
                ".",
                ",",
                "/",
                "#",
                "+",
                "(",
                ")",
                "$",
                "€",
                "@",
                "https://",
                "http://x.example/a?b=",
                "www.",
                "<",
                ">",
                "Order",
                "2024",
                "May",
                "minutes",
                "Street",
                "CA ",
                "G-",
                "A8D",
                "©",
                "\u200b",
                "\u00ad",
                "\x01",
                "\x05",
                "٣",
                "０",
                "验证码是",
                "認証コード",
                "رمز التحقق",
                "код",
            ]
        ),
        st.text(alphabet=string.digits, min_size=1, max_size=9),
        st.text(max_size=8),
    ),
    max_size=50,
).map("".join)


def check(result: Extraction) -> None:
    assert isinstance(result, Extraction)
    for code in result.codes:
        assert code.value and set(code.value) <= CODE_CHARS
        assert 0.0 <= code.confidence <= 1.0
        assert isinstance(code.snippet, str)
    seen = set()
    for link in result.links:
        assert link.url.lower().startswith(("http://", "https://"))
        assert not any(ch.isspace() for ch in link.url)
        assert link.kind in KINDS
        assert link.url not in seen
        seen.add(link.url)
    result.to_dict()


FAST = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FAST
@given(subject=st.one_of(st.none(), st.text(max_size=200)), text=st.one_of(st.none(), st.text()))
def test_extract_never_raises_on_arbitrary_text(subject, text):
    check(extract(subject, text, None))


@FAST
@given(subject=text_soup, text=text_soup)
def test_extract_never_raises_on_code_like_text(subject, text):
    check(extract(subject, text, None))


@FAST
@given(html=html_soup, text=st.one_of(st.none(), text_soup))
def test_extract_never_raises_on_tag_soup(html, text):
    check(extract("Your code", text, html))


@FAST
@given(html=st.one_of(html_soup, st.text()))
def test_html_to_text_never_raises_and_leaks_no_internal_marks(html):
    rendered = render_html(html)
    assert isinstance(rendered.text, str)
    assert not MARKS & set(rendered.text)
    assert not {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"} & set(rendered.text)
    for anchor in rendered.anchors:
        assert not MARKS & set(anchor.text)
        assert not MARKS & set(anchor.context)


@FAST
@given(html=html_soup)
def test_html_to_text_is_the_text_of_render_html(html):
    render_html.cache_clear()
    assert html_to_text(html) == render_html(html).text


MB = 1 << 20
BIG_TEXTS = {
    "one run of digits": "7" * MB,
    "single spaced digits": "4 " * (MB // 2),
    "tab separated digits": "4\t" * (MB // 2),
    "hyphenated digits": "12-" * (MB // 3),
    "digit groups": "123 456 " * (MB // 8),
    "labelled codes": "Your code is 482913. " * (MB // 21),
    "labels without codes": "verification code " * (MB // 18),
    "colons and copulas": "code is: " * (MB // 9),
    "alphanumeric tokens": "A8D-291 " * (MB // 8),
    "letters": "a" * MB,
    "letters and hyphens": "a-" * (MB // 2),
    "at signs": "@" * MB,
    "addresses": "user4829@example.com " * (MB // 21),
    "url without end": "https://x.example/" + "a" * MB,
    "many urls": "https://x.example/v?t=1\n" * (MB // 24),
    "wrapped url lines": "https://x.example/v?t=\n" + "abc=\n" * (MB // 5),
    "angle bracket url": "<https://x.example/" + "a\n" * (MB // 2),
    "newlines": "\n" * MB,
    "spaces": " " * MB,
    "punctuation": ".,:/#+()$€" * (MB // 10),
    "months and years": "May 2024 " * (MB // 9),
    "street lines": "1234 Market Street " * (MB // 19),
    "invisible": "\u200b\u00ad" * (MB // 2),
    "arabic digits": "٤٨٢٩١٣ " * (MB // 7),
    "full width": "７３９１０４，" * (MB // 7),
    "cjk labels": "验证码是" * (MB // 4),
    "internal marks": "\x01\x02\x05\x06 " * (MB // 5),
}


@pytest.mark.parametrize("name", sorted(BIG_TEXTS))
def test_extract_finishes_on_a_megabyte_of_hostile_text(name):
    check(extract(BIG_TEXTS[name][:2000], BIG_TEXTS[name], None))


BIG_HTML = {
    "nested divs": "<div>" * (MB // 5),
    "nested lists": "<ul><li>" * (MB // 8),
    "misnested formatting": "<b><div></b>" * (MB // 12),
    "table cells": "<td>1</td>" * (MB // 10),
    "anchors": '<a href="https://x.example/a">Verify</a>' * (MB // 82),
    "unclosed attribute": "<a href='" + "x" * MB,
    "unclosed comment": "<!--" * (MB // 4),
    "hidden spans": '<span style="display:none">1</span>2' * (MB // 37),
    "long style": '<div style="' + "max-height:0;" * (MB // 13) + '">x</div>',
    "entities": "&#8203;&amp;" * (MB // 12),
    "line breaks": "<br>" * (MB // 4),
}


@pytest.mark.parametrize("name", sorted(BIG_HTML))
def test_extract_and_html_to_text_finish_on_a_megabyte_of_hostile_html(name):
    html = BIG_HTML[name]
    check(extract(None, None, html))
    assert isinstance(html_to_text(html), str)


def _patterns():
    for module in (
        vocabulary_module,
        normalise_module,
        codes_module,
        links_module,
        extract_module,
        htmltext_module,
    ):
        for name, value in sorted(vars(module).items()):
            if isinstance(value, re.Pattern):
                yield f"{module.__name__.rsplit('.', 1)[1]}.{name}", value
            elif isinstance(value, vocabulary_module.Vocab):
                yield f"{module.__name__.rsplit('.', 1)[1]}.{name}", value._pattern


# Each pattern once, under the module that defines it (the modules import each other's).
PATTERNS = dict(
    {id(pattern): (name, pattern) for name, pattern in reversed(list(_patterns()))}.values()
)
ADVERSARIAL = [
    "1" * 50_000,
    "1 " * 25_000,
    "1-" * 25_000,
    "12 - " * 10_000,
    "a" * 50_000,
    "a " * 25_000,
    "a-" * 25_000,
    "A1" * 25_000,
    ":" * 50_000,
    " :" * 25_000,
    "\n \n" * 15_000,
    "@a." * 15_000,
    "http://" * 7_500,
    "verification code " * 3_000,
    "code code code is " * 3_000,
    "\x01 \x05\x06 " * 10_000,
    "display:none" * 4_000,
    "max-height:0" * 4_000,
    "((((" * 12_500,
    "May " * 12_500,
    "Market Street " * 3_500,
    "$ " * 25_000,
    "é" * 50_000,
    "验证码" * 15_000,
]


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_every_regex_is_linear_on_adversarial_input(name):
    pattern = PATTERNS[name]
    assert pattern.pattern  # every module-level pattern is exercised
    for text in ADVERSARIAL:
        # Patterns over markup read its bytes.
        sample = text.encode() if isinstance(pattern.pattern, bytes) else text
        for _ in pattern.finditer(sample):
            pass
        pattern.match(sample)
        pattern.fullmatch(sample)
