"""The text as the code and link finders read it: normalised, with its URLs found, line by line.

Both finders read each text the same bounded way: at most `SCAN_CHARS` characters of it, URLs
of at most `MAX_URL_CHARS`, and lines looked at no further than `LOOK` characters from the
point of interest, so a text without line breaks costs the same per candidate as any other.
"""

from __future__ import annotations

import re
from functools import lru_cache

from inboxkit.mail.htmltext import strip_invisible

__all__ = ["SCAN_CHARS", "MAX_URL_CHARS", "LOOK", "URL", "normalise", "mask", "line_bounds"]

SCAN_CHARS = 200_000  # characters of each text scanned; codes and links sit near the top
MAX_URL_CHARS = 8192  # longer URLs are not links anyone clicks; they are never returned
LOOK = 400  # characters looked at around a candidate for its line


def _build_fold() -> dict[int, str]:
    import unicodedata

    table: dict[int, str] = {}
    digit_blocks = (
        0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66,
        0x0CE6, 0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810,
        0x1946, 0x19D0, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xAA50, 0xABF0, 0xFF10,
    )  # fmt: skip
    for start in digit_blocks:
        for cp in range(start, start + 10):
            try:
                table[cp] = str(unicodedata.digit(chr(cp)))
            except ValueError:
                pass
    for cp in range(0xFF01, 0xFF5F):  # full-width ASCII
        table.setdefault(cp, chr(cp - 0xFEE0))
    # The full-width comma and full stop end CJK clauses ("验证码123456，5分钟内有效"); as ASCII
    # they would read as a thousands or decimal separator.
    del table[0xFF0C], table[0xFF0E]
    for cp in (0x00A0, 0x1680, 0x202F, 0x205F, 0x3000, *range(0x2000, 0x200B)):
        table[cp] = " "
    for cp in (0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0x2015, 0x2212, 0xFE58, 0xFE63, 0x30FC):
        table[cp] = "-"
    del table[0x30FC]  # the katakana prolonged sound mark is part of words like コード
    for cp in (0x2018, 0x2019, 0x02BC, 0x00B4):
        table[cp] = "'"
    table[0x066B] = "."  # Arabic decimal separator
    table[0x066C] = ","  # Arabic thousands separator
    return table


_FOLD = _build_fold()
_NEEDS_FOLD = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_FOLD)) + "]{1,4096}")


def _fold(match: re.Match[str]) -> str:
    return match.group().translate(_FOLD)


@lru_cache(maxsize=4)
def normalise(text: str) -> str:
    """Invisible characters out; digits, spaces, dashes and full-width forms to ASCII.

    Cached for the last few texts: the code finder reads the subject and each body twice (for
    codes, and for the signs of a meeting invitation), and a body is the same string object
    both times, so the cache costs a pointer comparison.
    """
    if text.isascii():
        return text
    text = strip_invisible(text)
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return _NEEDS_FOLD.sub(_fold, text)
    return text.replace("\xa0", " ").replace("\xb4", "'")


# One character more than a URL may have, so that an over-long URL is seen to be one.
URL = re.compile(
    rf"[Hh][Tt][Tt][Pp][Ss]?://[^\s<>\"]{{0,{MAX_URL_CHARS + 1}}}"
    rf"|[Ww][Ww][Ww]\.[^\s<>\"]{{1,{MAX_URL_CHARS + 1}}}"
)
_LOCAL_PART = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_DOMAIN_PART = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")


def mask(text: str) -> str:
    """Blank out URLs and e-mail addresses, keeping every other character in place."""
    spans: list[tuple[int, int]] = []
    if "ttp" in text or "TTP" in text or "ww." in text or "WW." in text:
        for m in URL.finditer(text):
            spans.append(m.span())
            if len(spans) > 5000:
                break
    at = text.find("@")
    seen = 0
    while at != -1 and seen < 2000:
        seen += 1
        lo = at
        while lo > 0 and at - lo < 64 and text[lo - 1] in _LOCAL_PART:
            lo -= 1
        hi = at + 1
        while hi < len(text) and hi - at < 255 and text[hi] in _DOMAIN_PART:
            hi += 1
        if lo < at and hi > at + 1:
            spans.append((lo, hi))
        at = text.find("@", hi if hi > at else at + 1)
    if not spans:
        return text
    spans.sort()
    pieces = []
    pos = 0
    for s, e in spans:
        if e <= pos:
            continue
        s = max(s, pos)
        pieces.append(text[pos:s])
        pieces.append(" " * (e - s))
        pos = e
    pieces.append(text[pos:])
    return "".join(pieces)


def line_bounds(text: str, s: int, e: int) -> tuple[int, int]:
    """Start and end of the line around text[s:e], looking at most `LOOK` characters away
    (so that a text without line breaks costs the same per candidate as any other)."""
    lo = max(0, s - LOOK)
    start = text.rfind("\n", lo, s) + 1 or lo
    hi = min(len(text), e + LOOK)
    end = text.find("\n", e, hi)
    return start, hi if end == -1 else end
