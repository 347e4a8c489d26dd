"""The parser and the extractor do bounded work per character, whatever the input.

Nothing here is timed. Instead: every regular expression is shown to read a bounded number of
characters per match attempt (so a scan costs at most that times the text), and the costly
steps are shown, on generated hostile input, never to be handed more than their caps: URL
trimming at most one URL's length, the stdlib's structured header parser at most its
per-phase budget plus the capped fields, `getaddresses` at most the capped address fields.
"""

from __future__ import annotations

import email.utils
import re
import re._constants as sre  # the stdlib's own regex parser, to read patterns' structure
import re._parser as sre_parse
from collections.abc import Iterator
from email.policy import EmailPolicy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inboxkit.mail import codes as codes_module
from inboxkit.mail import extract as extract_module
from inboxkit.mail import htmltext as htmltext_module
from inboxkit.mail import links as links_module
from inboxkit.mail import markdown as markdown_module
from inboxkit.mail import normalise as normalise_module
from inboxkit.mail import parse as parse_module
from inboxkit.mail import reply as reply_module
from inboxkit.mail import vocabulary as vocabulary_module
from inboxkit.mail.extract import extract
from inboxkit.mail.normalise import MAX_URL_CHARS
from inboxkit.mail.parse import (
    ADDRESS_SOURCE_CHARS,
    HEADER_PARSE_BUDGET,
    ID_SOURCE_CHARS,
    MAX_ADDRESSES,
    SUBJECT_SOURCE_CHARS,
    parse_message,
)

# The widest any single match attempt may be: the URL pattern (a URL's length) and the
# digit-cluster pattern (201 groups) are the widest by design.
MATCH_WIDTH_CAP = 65_536
REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)


def _patterns() -> Iterator[tuple[str, re.Pattern[str] | re.Pattern[bytes]]]:
    for module in (
        vocabulary_module,
        normalise_module,
        codes_module,
        links_module,
        extract_module,
        htmltext_module,
        parse_module,
        reply_module,
        markdown_module,
    ):
        short = module.__name__.rsplit(".", 1)[1]
        for name, value in sorted(vars(module).items()):
            if isinstance(value, re.Pattern):
                yield f"{short}.{name}", value
            elif isinstance(value, vocabulary_module.Vocab):
                yield f"{short}.{name}", value._pattern
        for name, value in sorted(vars(module).items()):  # patterns kept in tuples
            if isinstance(value, tuple):
                for index, item in enumerate(value):
                    if isinstance(item, tuple) and item and isinstance(item[-1], re.Pattern):
                        yield f"{short}.{name}[{index}]", item[-1]


# Each pattern once, under the module that defines it (the modules import each other's).
PATTERNS = dict(
    {id(pattern): (name, pattern) for name, pattern in reversed(list(_patterns()))}.values()
)


def _unbounded(items: sre_parse.SubPattern) -> Iterator[str]:
    """Descriptions of the repetitions without an upper bound, lookarounds included."""
    for op, av in items:
        if op in REPEATS:
            low, high, sub = av
            if high == sre.MAXREPEAT:
                yield f"{op} {{{low},}}"
            yield from _unbounded(sub)
        elif op is sre.SUBPATTERN:
            yield from _unbounded(av[3])
        elif op is sre.BRANCH:
            for branch in av[1]:
                yield from _unbounded(branch)
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            yield from _unbounded(av[1])
        elif op is sre.ATOMIC_GROUP:
            yield from _unbounded(av)
        elif op is sre.GROUPREF_EXISTS:
            yield from _unbounded(av[1])
            if av[2] is not None:
                yield from _unbounded(av[2])


def test_the_modules_patterns_are_all_found():
    assert {
        "normalise.URL",
        "codes._CLUSTER",
        "vocabulary._LABELS",
        "htmltext._MARK_RUN",
    } <= set(PATTERNS)
    assert len(PATTERNS) > 40


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_every_regex_repetition_is_bounded(name):
    pattern = PATTERNS[name]
    tree = sre_parse.parse(pattern.pattern, pattern.flags)
    assert list(_unbounded(tree)) == []
    assert tree.getwidth()[1] <= MATCH_WIDTH_CAP


# --------------------------------------------------------------------------------------------
# URL trimming sees at most one URL's length
# --------------------------------------------------------------------------------------------


@pytest.fixture
def trimmed_lengths(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    lengths: list[int] = []
    trim = links_module._trim_url

    def recording_trim(url: str) -> str:
        lengths.append(len(url))
        return trim(url)

    monkeypatch.setattr(links_module, "_trim_url", recording_trim)
    return lengths


url_tails = st.lists(
    st.tuples(st.sampled_from(")]}.,;:!?'\"»>(=&/a-\n"), st.integers(1, 60_000)),
    min_size=1,
    max_size=4,
)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(tails=url_tails, prefix=st.sampled_from(["", "Verify: ", "<", "see ("]))
def test_url_trimming_never_reads_more_than_one_url(trimmed_lengths, tails, prefix):
    text = prefix + "http://ab.example/x" + "".join(ch * count for ch, count in tails)
    trimmed_lengths.clear()
    extract("hostile", text, None)
    assert max(trimmed_lengths, default=0) <= MAX_URL_CHARS


def test_url_followed_by_200000_closing_brackets_is_trimmed_to_the_url(trimmed_lengths):
    result = extract("", "Open http://ab.example/path" + ")" * 200_000, None)
    assert all(n <= MAX_URL_CHARS for n in trimmed_lengths)
    assert result.links == []  # longer than any link: not a link
    result = extract("", "Open http://ab.example/path" + ")" * 5_000 + " now", None)
    assert [link.url for link in result.links] == ["http://ab.example/path"]


def test_trimming_keeps_brackets_the_url_opened():
    trim = links_module._trim_url
    assert trim("https://w.example/wiki/Foo_(bar))).") == "https://w.example/wiki/Foo_(bar)"
    assert trim("https://w.example/a[1]]]") == "https://w.example/a[1]"
    assert trim("https://w.example/a}}.,;") == "https://w.example/a"
    assert trim(")))") == ""


# --------------------------------------------------------------------------------------------
# The structured header parser and getaddresses get capped input
# --------------------------------------------------------------------------------------------

# Everything the structured parser may be given for one message: the budget of each of three
# phases (stdlib parse, header list, MIME parts) and the capped fields the API shows.
STRUCTURED_CAP = 3 * HEADER_PARSE_BUDGET + SUBJECT_SOURCE_CHARS + 5 * ADDRESS_SOURCE_CHARS
ADDRESS_CAP = 4 * ADDRESS_SOURCE_CHARS  # From, To, Cc, Reply-To


@pytest.fixture
def parser_input(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Characters handed to the stdlib's structured header parser and to getaddresses."""
    seen = {"structured": 0, "getaddresses": 0}
    fetch = EmailPolicy.header_fetch_parse
    getaddresses = email.utils.getaddresses

    def counting_fetch(self, name, value):
        if not hasattr(value, "name"):
            seen["structured"] += len(value)
        return fetch(self, name, value)

    def counting_getaddresses(values, *args, **kwargs):
        seen["getaddresses"] += sum(len(str(v)) for v in values)
        return getaddresses(values, *args, **kwargs)

    monkeypatch.setattr(EmailPolicy, "header_fetch_parse", counting_fetch)
    monkeypatch.setattr(email.utils, "getaddresses", counting_getaddresses)
    return seen


def _addresses(count: int) -> bytes:
    return b", ".join(b'"User %d" <user%d@example.com>' % (i, i) for i in range(count))


header_lines = st.lists(
    st.tuples(
        st.sampled_from([b"To", b"Cc", b"From", b"Reply-To", b"Subject", b"X-Note", b"References"]),
        st.integers(0, 2_000),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(lines=header_lines, parts=st.integers(0, 30))
def test_header_parsing_is_capped_however_many_long_headers(parser_input, lines, parts):
    head = b"".join(b"%s: %s\r\n" % (name, _addresses(count)) for name, count in lines)
    body = b"text\r\n"
    if parts:
        params = b"; ".join(b"p%d=%s" % (i, b"v" * 60) for i in range(150))
        head += b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="B"\r\n'
        body = b"".join(
            b"--B\r\nContent-Type: text/plain; " + params + b"\r\n\r\nx\r\n" for _ in range(parts)
        )
        body += b"--B--\r\n"
    parser_input.update(structured=0, getaddresses=0)
    out = parse_message(head + b"\r\n" + body)
    assert out.parse_error is None
    assert parser_input["structured"] <= STRUCTURED_CAP
    assert parser_input["getaddresses"] <= ADDRESS_CAP
    assert len(out.to) <= MAX_ADDRESSES and len(out.cc) <= MAX_ADDRESSES


def test_thirty_to_headers_of_1800_addresses_keep_200_and_every_header(parser_input):
    raw = b"From: a@example.com\r\nSubject: many\r\n"
    raw += b"To: " + _addresses(1_800) + b"\r\n"
    raw += b"".join(b"To: " + _addresses(1_000) + b"\r\n" for _ in range(28))
    raw += b"\r\nbody\r\n"
    out = parse_message(raw)
    assert out.parse_error is None
    assert out.to[:2] == ["user0@example.com", "user1@example.com"]
    assert len(out.to) == MAX_ADDRESSES
    assert [name for name, _ in out.headers].count("To") == 29
    assert parser_input["structured"] <= STRUCTURED_CAP


def test_header_list_decodes_encoded_words_past_the_budget():
    big = "=?utf-8?q?Gr=C3=BC=C3=9Fe?= " * 400  # over the per-value parser limit
    raw = f"Subject: hi\r\nX-Long: {big}\r\nX-Short: =?utf-8?b?S8O2bG4=?=\r\n\r\nx\r\n".encode()
    out = parse_message(raw)
    headers = dict(out.headers)
    assert headers["X-Short"] == "Köln"
    assert headers["X-Long"].startswith("GrüßeGrüße")  # adjacent encoded words join


def test_message_ids_are_read_from_capped_raw_values():
    refs = " ".join(f"<id{i}@example.com>" for i in range(ID_SOURCE_CHARS // 10))
    raw = f"Message-ID: <m1@example.com>\r\nReferences: {refs}\r\n\r\nx\r\n".encode()
    out = parse_message(raw)
    assert out.message_id == "<m1@example.com>"
    assert out.references[:2] == ["<id0@example.com>", "<id1@example.com>"]
    assert len(out.references) == 100


# --------------------------------------------------------------------------------------------
# HTML rendering: bounded markup and anchors per message
# --------------------------------------------------------------------------------------------


def test_rendering_collects_at_most_max_anchors_and_keeps_the_rest_as_text():
    html = "".join(f'<p><a href="https://x.example/{i}">link {i}</a></p>' for i in range(5_000))
    rendered = htmltext_module.render_html(html)
    assert len(rendered.anchors) == htmltext_module.MAX_ANCHORS
    assert rendered.anchors[0].href == "https://x.example/0" and rendered.anchors[0].alone
    assert "link 4999" in rendered.text


def test_html_only_mail_renders_a_bounded_slice_of_markup(monkeypatch: pytest.MonkeyPatch):
    lengths: list[int] = []
    render = htmltext_module._render

    def recording_render(html: str) -> object:
        lengths.append(len(html))
        return render(html)

    monkeypatch.setattr(htmltext_module, "_render", recording_render)
    htmltext_module.render_html.cache_clear()
    body = b"<p>Your code is 482913</p>" + b'<a href="x"></a><br>' * 150_000
    raw = b"Subject: code\r\nContent-Type: text/html\r\n\r\n" + body
    out = parse_message(raw)
    assert out.codes == ["482913"]
    assert out.text.startswith("Your code is 482913")
    assert lengths and max(lengths) <= parse_module.HTML_TEXT_CHARS
