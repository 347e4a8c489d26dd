"""The words a message is indexed by and a query is matched with, defined once in Python.

Both backends index text this module has already reduced to words: case-folded runs of
letters and digits (`str.isalnum`), each cut to `MAX_WORD` characters, joined by single
spaces. SQLite's `unicode61` tokenizer and PostgreSQL's default parser then agree on the
tokens (a run of letters and digits is one token for each), so a query finds the same
messages on both, and a Python scan over the same words (the consistency tests) finds them
too. Punctuation never reaches the index: an address `alice@example.com` is the words
`alice example com`, found by the phrase of those words.
"""

from __future__ import annotations

import re

__all__ = ["MAX_WORD", "words", "indexed", "tokens"]

# Longer runs (base64, hashes) are cut, in the index and in queries alike, so a long word
# still matches itself. PostgreSQL drops words over 2047 bytes; this keeps far below that.
MAX_WORD = 64

# A run of letters and digits (`\w` without the underscore).
_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """The words of `text`: case-folded first (so a letter that folds into two characters, or
    into a letter and a mark, is split the way the index splits it), then runs of letters and
    digits, each cut to MAX_WORD characters. Linear in the length of `text`."""
    return [w[:MAX_WORD] for w in _WORD.findall(text.casefold())]


def indexed(text: str | None, limit: int) -> str:
    """What the index stores for a field: its words joined by spaces, from at most `limit`
    characters of `text`."""
    if not text:
        return ""
    return " ".join(words(text[:limit]))


def tokens(text: str) -> list[tuple[int, int, str]]:
    """Each word of `text` with its span in `text` (for highlighting the original): (start,
    end, word). A run whose case folding changes its shape (rare) yields the folded words of
    the run, all spanning the run."""
    folded = text.casefold()
    if len(folded) == len(text):
        # Folding kept every offset (almost all text): one scan of the folded text.
        return [(m.start(), m.end(), m.group()[:MAX_WORD]) for m in _WORD.finditer(folded)]
    found: list[tuple[int, int, str]] = []
    for match in _WORD.finditer(text):
        for word in words(match.group()):
            found.append((match.start(), match.end(), word))
    return found
