"""Highlights: the fragments of a result where the query's text matched, HTML-escaped, with
`<mark>` around each hit.

Computed from the message's own text (subject, sender, recipients, the start of the body) with
the words the index uses (`words.py`), so both backends show the same fragments and nothing
from a message reaches a page unescaped. Bounded: at most MAX_HIGHLIGHTS fragments of about
FRAGMENT_CHARS characters each, from at most BODY_CHARS characters of the body.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import TypedDict

from inboxkit.search.query import Field, Text
from inboxkit.search.words import tokens

__all__ = ["Highlight", "highlights", "MAX_HIGHLIGHTS", "BODY_CHARS", "FRAGMENT_CHARS"]

MAX_HIGHLIGHTS = 5
BODY_CHARS = 20_000
FRAGMENT_CHARS = 160
_CONTEXT = 50  # characters kept before the first hit of a fragment


class Highlight(TypedDict):
    """One matched fragment: which field, and its HTML (escaped, hits in `<mark>`)."""

    field: str  # "subject" | "from" | "to" | "body"
    fragment: str


def highlights(texts: Sequence[Text], fields: Sequence[tuple[str, str]]) -> list[Highlight]:
    """The fragments of `fields` ((field name, original text) pairs, in showing order) where
    `texts` match: a term with a field marks only that field."""
    found: list[Highlight] = []
    for name, text in fields:
        if len(found) >= MAX_HIGHLIGHTS or not text:
            continue
        wanted = [t.words for t in texts if t.field in (Field.ANY, Field(_FIELD_OF[name]))]
        if not wanted:
            continue
        if name == "body":
            text = text[:BODY_CHARS]
        spans = _hits(tokens(text), wanted)
        for fragment in _fragments(text, spans):
            found.append({"field": name, "fragment": fragment})
            if len(found) >= MAX_HIGHLIGHTS:
                break
    return found


# The query field each highlighted field answers to (the body only to free text).
_FIELD_OF = {"subject": "subject", "from": "from", "to": "to", "body": "any"}


def _hits(
    toks: list[tuple[int, int, str]], phrases: list[tuple[str, ...]]
) -> list[tuple[int, int]]:
    """Character spans of every occurrence of each phrase in `toks`. Phrases are at most a
    few hundred words (a query is 500 characters), checked where their first word occurs."""
    firsts: dict[str, list[tuple[str, ...]]] = {}
    for phrase in phrases:
        firsts.setdefault(phrase[0], []).append(phrase)
    spans: list[tuple[int, int]] = []
    for i, (start, _, word) in enumerate(toks):
        for phrase in firsts.get(word, ()):
            last = i + len(phrase) - 1
            if last < len(toks) and all(toks[i + k][2] == w for k, w in enumerate(phrase)):
                spans.append((start, toks[last][1]))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _fragments(text: str, spans: list[tuple[int, int]]) -> list[str]:
    """Windows of `text` around the hits, each with its hits marked."""
    out: list[str] = []
    i = 0
    while i < len(spans) and len(out) < MAX_HIGHLIGHTS:
        begin = max(0, spans[i][0] - _CONTEXT)
        end = min(len(text), begin + FRAGMENT_CHARS)
        if spans[i][1] > end:  # a hit longer than a window: show all of the hit
            end = spans[i][1]
        parts = ["…" if begin > 0 else ""]
        at = begin
        while i < len(spans) and spans[i][1] <= end:
            start, stop = spans[i]
            parts.append(html.escape(_line(text[at:start])))
            parts.append("<mark>" + html.escape(_line(text[start:stop])) + "</mark>")
            at = stop
            i += 1
        parts.append(html.escape(_line(text[at:end])))
        parts.append("…" if end < len(text) else "")
        out.append("".join(parts).strip())
    return out


def _line(text: str) -> str:
    """Whitespace (line breaks included) as single spaces: a fragment is one line."""
    return _SPACES.sub(" ", text)


_SPACES = re.compile(r"\s+")
