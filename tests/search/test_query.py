"""The query parser (search/query.py): one tree for every backend; hostile input is bounded
and refused with a position."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inboxkit.search.query import (
    MAX_QUERY,
    MAX_TERMS,
    Field,
    Flag,
    Label,
    Query,
    QueryError,
    Received,
    Size,
    Term,
    Text,
    parse,
)
from inboxkit.search.words import MAX_WORD, words


def test_terms_operators_phrases_and_negation_make_one_tree():
    query = parse('from:alice@example.com -subject:"big sale" is:unread larger:10K hello')
    assert query == Query(
        (
            Term(Text(("alice", "example", "com"), Field.FROM), False, 1),
            Term(Text(("big", "sale"), Field.SUBJECT), True, 24),
            Term(Flag.UNREAD, False, 44),
            Term(Size(10 * 1024, larger=True), False, 54),
            Term(Text(("hello",)), False, 65),
        )
    )


def test_dates_are_utc_day_starts_and_sizes_take_k_and_m():
    [after, before, small] = parse("after:2025-01-31 before:2025-02-01 smaller:2M").terms
    assert after.node == Received(datetime(2025, 1, 31, tzinfo=UTC), before=False)
    assert before.node == Received(datetime(2025, 2, 1, tzinfo=UTC), before=True)
    assert small.node == Size(2 * 1024 * 1024, larger=False)


def test_labels_are_trimmed_lower_cased_and_spam_reads_the_spam_folder():
    query = parse('label:Work -label:" To Do " label:sent')
    assert [(t.node, t.negated) for t in query.terms] == [
        (Label("work"), False),
        (Label("to do"), True),
        (Label("sent"), False),
    ]
    assert not query.asks_spam
    assert parse("label:SPAM invoice").asks_spam
    assert not parse("-label:spam").asks_spam


def test_fts_syntax_is_only_ever_words():
    query = parse('NEAR(a b) "x" AND y* ^z col:"w"'.replace("col:", "subject:"))
    assert [t.node for t in query.terms] == [
        Text(("near", "a")),
        Text(("b",)),
        Text(("x",)),
        Text(("and",)),
        Text(("y",)),
        Text(("z",)),
        Text(("w",), Field.SUBJECT),
    ]


def test_punctuation_alone_matches_nothing_and_negated_is_dropped():
    assert parse("*").matches_nothing
    assert parse('""').matches_nothing
    assert not parse("-* hello").matches_nothing
    assert parse("-* hello").terms == (Term(Text(("hello",)), False, 4),)
    assert parse("   ") == Query()


def test_words_fold_case_and_split_on_punctuation():
    assert words("Straße-Café 12:30 İstanbul") == ["strasse", "café", "12", "30", "i", "stanbul"]
    assert words("a" * 200) == ["a" * MAX_WORD]


@pytest.mark.parametrize(
    ("q", "position"),
    [
        ("foo:bar", 1),
        ("ok -nope:x", 4),
        ('a "b', 3),
        ('subject:"open', 9),
        ("to:", 1),
        ("after:2025-1-1", 7),
        ("smaller:-5", 9),
        ("larger:99999999999999", 8),
        ("label:" + "x" * 65, 1),
        ('a label:"bad\x07"', 3),
        ("is:flagged", 1),
    ],
)
def test_malformed_queries_say_where(q: str, position: int):
    with pytest.raises(QueryError) as raised:
        parse(q)
    assert raised.value.position == position
    assert f"character {position}" in raised.value.message


def test_hostile_input_is_bounded():
    with pytest.raises(QueryError, match="at most 500"):
        parse("a" * (MAX_QUERY + 1))
    with pytest.raises(QueryError, match="more than 20 terms"):
        parse(" ".join(["w"] * (MAX_TERMS + 1)))
    # Deep quotes: every pair a phrase, scanned once.
    assert len(parse('"a" ' * MAX_TERMS).terms) == MAX_TERMS
    with pytest.raises(QueryError, match="Unbalanced quote"):
        parse('"' * 499)
    # The longest query of one phrase is one term.
    assert len(parse('"' + "ab " * 166 + '"').terms) == 1
