"""Find the one-time codes in a message and rank them.

The common approach, a `\\b\\d{4,8}\\b` regex ranked by distance to a keyword, returns
the year in the footer, the phone number of the help desk or the order number, misses "123 456"
and "A8D-291", and is confused by zero-width characters. Here:

1. Text is normalised: invisible characters removed, every script's digits and full-width
   forms mapped to ASCII, URLs and e-mail addresses blanked out.
2. Candidates are digit clusters: digit groups joined by single spaces, tabs or hyphens, so a
   code spread over table cells ("4\\t8\\t2\\t9\\t1\\t3") or printed in groups ("123 456") is one
   candidate, while "+1 415 555 0199" is one too-long number and not a code. Clusters glued to
   letters become alphanumeric candidates ("G3H1Y2", "A8D-291"), kept as printed.
3. The characters around a candidate reject what cannot be a code: part of a decimal, time or
   date ("10:30", "1.299", "12/05"), money ("$1299", "1299 EUR"), a phone number ("+44 ...",
   "(555) 1234"), an ID ("#123456"), a unit ("10 minutes", "2024年").
4. The words before and after it are matched against labels in many languages: positive ("code",
   "código", "Bestätigungscode", "验证码", "رمز التحقق"), negative, naming another kind of number
   ("order", "tracking", "promo code", "postal code"). A candidate needs a positive label close
   by, in its own sentence unless it stands alone on its line, and a negative label directly
   before it rejects it. Layout adds to the score: a code alone on its line, set directly
   after its label, or repeated in the subject. A subject that names a code ("Your Acme
   verification code") lends a little weight to a bare number set apart in the body.

A message that is not about verification has no code labels near its numbers, so it yields no
codes: precision comes before recall.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from inboxkit.mail.normalise import LOOK, SCAN_CHARS, line_bounds, mask, normalise
from inboxkit.mail.vocabulary import (
    CAPS_WORDS,
    CJK_UNITS,
    CURRENCY_BEFORE,
    CURRENCY_SYMBOLS,
    FILLER,
    FILLER_CJK,
    INTRODUCED,
    MEETING,
    MONTHS,
    NEG,
    PROMO,
    PROMO_WORDS,
    QUALIFIER,
    STREET,
    UNIT_AFTER,
    VERB_WEIGHT,
    WEAK_NEG,
    code_labels,
)

__all__ = ["Code", "collect_codes"]

MAX_CLUSTERS = 2_000  # digit clusters looked at per text
MAX_SCORED = 200  # candidates whose surrounding words are read, per text
MAX_CODES = 10
MEETING_CHARS = 20_000  # characters of each text read for the signs of a meeting invitation
THRESHOLD = 0.5


@dataclass(frozen=True, slots=True)
class Code:
    """A one-time code found in a message: its value as a person would type it, the confidence
    (0 to 1) and the text around it."""

    value: str
    confidence: float
    snippet: str

    def to_dict(self) -> dict[str, object]:
        return {"value": self.value, "confidence": self.confidence, "snippet": self.snippet}


_REJECT_BEFORE = "#№+_@/\\=&%^~|" + CURRENCY_SYMBOLS
_REJECT_AFTER = "%°_@^~|" + CURRENCY_SYMBOLS
_PROMO_SHAPE = re.compile(r"[A-Z]{4,12}[0-9]{1,3}")  # codes have at most 12 characters
_WORD = re.compile(r"[^\W\d_]{1,40}|\d{1,40}", re.UNICODE)  # read in gaps of <= 40 chars
# A sentence ends between a label and a number: the label is about something else, unless the
# number stands on its own line or the sentence introduces it with a colon or "is"
# (`INTRODUCED`). Both are searched in the <= 160 characters between a label and its code.
_SENTENCE_BREAK = re.compile(r"[.!?。！？](?:\s|$)|\n[ \t]{0,160}\n")

# Digit groups joined by up to three spaces or tabs, or a hyphen. Each repetition must start
# with a separator and end with a digit, so matching never backtracks. A cluster longer than
# CLUSTER_CHARS is no code; the bounds are such that a match cut short by them is longer than
# that, and what follows it is skipped as the rest of the same run (see `_candidate_spans`).
CLUSTER_CHARS = 200
_JOIN = r"(?:[ \t]{1,3}|[ \t]?-[ \t]?)"
_CLUSTER = re.compile(
    rf"[0-9]{{1,{CLUSTER_CHARS + 1}}}(?:{_JOIN}[0-9]{{1,{CLUSTER_CHARS + 1}}}){{0,{CLUSTER_CHARS // 2}}}"
)
_CLUSTER_JOIN = re.compile(_JOIN + "?")
_GROUP = re.compile(rf"[0-9]{{1,{CLUSTER_CHARS}}}")
_DIGIT = re.compile(r"[0-9]")
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_LETTER_CODE = re.compile(r"[A-Z]{3,4}-[A-Z]{3,4}")
_CAPS_CODE = re.compile(r"[A-Z]{6,8}")  # runs of capitals; the caller checks what is around
# Three to six dictionary-looking words of three or more letters, joined by hyphens: a code to
# copy and paste. "up-to-date" and "step-by-step" have shorter words.
_WORD_CODE = re.compile(r"[a-z]{3,10}(?:-[a-z]{3,10}){2,5}")
# What every match of the two hyphenated shapes has inside. Searched first: a pattern that
# starts with a character class is tried at every letter of the text, one that starts with a
# literal only at the hyphens, which makes the search for a shape that is not there ~30 times
# cheaper.
_LETTER_CODE_SIGN = re.compile(r"-[A-Z]{3}")
_WORD_CODE_SIGN = re.compile(r"-[a-z]{3,10}-")
_MIXED_TOKEN = re.compile(r"[A-Za-z0-9]{6,8}")
_VOWELS = frozenset("AEIOUY")
_TOKEN_CHARS = _ALNUM | {"-", "_"}
# Tried only on tokens of at most four groups of one to eight characters.
_UPPER_TOKEN = re.compile(r"[A-Z0-9]{1,8}(?:-[A-Z0-9]{1,8}){0,3}")
_LOWER_TOKEN = re.compile(r"[a-z0-9]{1,8}(?:-[a-z0-9]{1,8}){0,3}")


@dataclass(slots=True)
class _Candidate:
    value: str
    score: float
    snippet: str
    order: int


def _is_ascii_letter(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


def _digit_spans(raw: str, start: int) -> list[tuple[int, int, str, bool]]:
    """Split a digit cluster into code-shaped spans: (start, end, value, grouped)."""
    groups = [(m.start() + start, m.end() + start, m.group()) for m in _GROUP.finditer(raw)]
    if len(groups) == 1:
        value = groups[0][2]
        return [(groups[0][0], groups[0][1], value, False)] if 4 <= len(value) <= 8 else []
    lengths = [len(g[2]) for g in groups]
    total = sum(lengths)
    seps = [raw[groups[i][1] - start : groups[i + 1][0] - start] for i in range(len(groups) - 1)]
    hyphen = any("-" in s for s in seps)
    if all(n == 1 for n in lengths):
        if 4 <= len(groups) <= 8 and not hyphen:
            return [(groups[0][0], groups[-1][1], "".join(g[2] for g in groups), True)]
        return []
    if len(set(lengths)) == 1 and lengths[0] in (2, 3, 4) and 4 <= total <= 8:
        if len(set(seps)) == 1:
            return [(groups[0][0], groups[-1][1], "".join(g[2] for g in groups), True)]
    if _long_code_groups(lengths, seps):
        # "481-907-326": a long code printed to be read in groups. Phone numbers come in
        # unequal groups ("555-123-4567"), dates too; such a span still needs a strong label.
        return [(groups[0][0], groups[-1][1], "".join(g[2] for g in groups), True)]
    if hyphen or total >= 9 or (groups[0][2][0] == "0" and total >= 7):
        return []  # one long number: a phone, account, card or date
    if all("\t" in s for s in seps):
        # Separate table cells: each may be a code of its own.
        return [(s, e, v, False) for s, e, v in groups if 4 <= len(v) <= 8]
    return []


def _long_code_groups(lengths: list[int], seps: list[str]) -> bool:
    """Two to four equal groups of three or four digits joined by one kind of hyphen, 9 to 12
    digits in all."""
    return (
        len(set(lengths)) == 1
        and lengths[0] in (3, 4)
        and 9 <= sum(lengths) <= 12
        and len(set(seps)) == 1
        and seps[0].strip() == "-"
    )


def _alnum_span(text: str, s: int, e: int) -> tuple[int, int] | None:
    """Expand a digit run glued to letters to the whole token (letters, digits, inner hyphens)."""
    lo = s
    while lo > 0 and s - lo < 24:
        ch = text[lo - 1]
        if ch in _ALNUM:
            lo -= 1
        elif ch == "-" and lo > 1 and text[lo - 2] in _ALNUM:
            lo -= 1
        else:
            break
    hi = e
    n = len(text)
    while hi < n and hi - e < 24:
        ch = text[hi]
        if ch in _ALNUM:
            hi += 1
        elif ch == "-" and hi + 1 < n and text[hi + 1] in _ALNUM:
            hi += 1
        else:
            break
    if s - lo >= 24 or hi - e >= 24:
        return None
    return lo, hi


def _hard_reject(text: str, s: int, e: int) -> bool:
    """Characters around the span that make it part of something other than a code."""
    n = len(text)
    p1 = text[s - 1] if s > 0 else " "
    p2 = text[s - 2] if s > 1 else " "
    n1 = text[e] if e < n else " "
    n2 = text[e + 1] if e + 1 < n else " "
    if p1 in _REJECT_BEFORE or n1 in _REJECT_AFTER:
        return True
    if p1 in ".,:'" and p2.isdigit():
        return True
    if n1 in ".,:/'" and n2.isdigit():
        return True
    if n1 in CJK_UNITS or p1 in "第¥￥":
        return True
    if p1 in "( " and p2 in ")+©" + CURRENCY_SYMBOLS:
        return True
    if p1 == "(" and n1 == ")" and e - s == 4:  # "(2024)", "(0800)"
        return True
    if p1 == "-" and p2.isdigit() or n1 == "-" and n2.isdigit():
        return True
    before = text[max(0, s - 8) : s].lower()
    if CURRENCY_BEFORE.search(before):
        return True
    return UNIT_AFTER.match(text[e : e + 16].lower()) is not None


def _gap_is_direct(gap: str, allow_unknown: int = 0) -> bool:
    """True when only punctuation and filler words separate a label from its code.

    `allow_unknown` admits that many other words, such as a brand name in "is your Acme code".
    """
    if len(gap) > 40:
        return False
    words = _WORD.findall(gap)
    if len(words) > 3 + allow_unknown:
        return False
    unknown = 0
    for w in words:
        if w not in FILLER and not all(ch in FILLER_CJK for ch in w):
            unknown += 1
            if unknown > allow_unknown or w.isdigit():
                return False
    return True


# What may surround a code on its own line: "**482913**", "[ 482913 ]", "→ 482913".
_DECOR = " \t*_`'\"“”‘’«»()[]{}<>:：.,;|•·→-–—"


# --------------------------------------------------------------------------------------------
# Scoring: the strength of the label that names a candidate, plus a sum of layout features.
# Some shapes are another kind of number whatever the label, and some words outweigh it.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Around:
    """A candidate text[s:e] with what the features read about it."""

    text: str
    s: int
    e: int
    value: str  # as printed
    grouped: bool  # printed in groups ("123 456")
    strict: bool  # a shape prose is full of (words, long numbers): counts only right after a label
    digits: str  # the value without hyphens
    numeric: bool
    line_start: int
    line_end: int
    standalone: bool  # alone on its line, give or take decoration


def _around(text: str, s: int, e: int, value: str, grouped: bool, strict: bool) -> _Around:
    line_start, line_end = line_bounds(text, s, e)
    standalone = not text[line_start:s].strip(_DECOR) and not text[e:line_end].strip(_DECOR)
    digits = value.replace("-", "")
    return _Around(
        text, s, e, value, grouped, strict, digits, digits.isdigit(), line_start, line_end,
        standalone,
    )  # fmt: skip


def _score(
    text: str,
    s: int,
    e: int,
    value: str,
    grouped: bool,
    strict: bool,
    titled: bool = False,
    meeting: bool = False,
) -> float:
    """How much the surroundings of text[s:e] say it is a one-time code (0 = not at all).

    `titled` says the subject names a code ("Your Acme verification code"), which lends a
    number standing alone on its line a little of the label it lacks. `meeting` says the
    message invites to a call, whose passcode is no one-time code.
    """
    c = _around(text, s, e, value, grouped, strict)
    if _street_number(c) or _state_and_zip(c) or _dated_year(c):
        return 0.0
    score = _near_code_label(c, titled, meeting)
    if score <= 0.0 or _on_a_discount_line(c):
        return 0.0
    # Added one at a time, in this order, so that the sum is the same float whatever it adds.
    for feature in _LAYOUT_FEATURES:
        score += feature(c)
    return score


# Shapes that are something else whatever the words around them say.


def _looks_like_year(c: _Around) -> bool:
    """Four digits from 1900 to 2099: as often the year of a footer or a date as a code."""
    return c.numeric and len(c.digits) == 4 and c.value[:2] in ("19", "20")


def _street_number(c: _Around) -> bool:
    """A house number: "1234 Market Street"."""
    return c.numeric and not c.standalone and STREET.match(c.text[c.e : c.line_end]) is not None


def _state_and_zip(c: _Around) -> bool:
    """A US state and its ZIP code in an address: "San Francisco, CA 94103"."""
    if not c.numeric or c.standalone or len(c.digits) not in (4, 5):
        return False
    text, s = c.text, c.s
    if s < 3 or text[s - 4 : s - 3] not in (" ", ",", "", "\t"):
        return False
    state = text[s - 3 : s - 1]
    return state.isupper() and state.isalpha() and text[s - 1] == " "


def _dated_year(c: _Around) -> bool:
    """A year next to a month's name: "May 12, 2024"."""
    if not _looks_like_year(c):
        return False
    return MONTHS.search(c.text[max(0, c.s - 14) : c.e + 14].lower()) is not None


def _on_a_discount_line(c: _Around) -> bool:
    """A labelled code among the words of a sale is a discount code: "use code SPRING25 at
    checkout"."""
    near = c.text[max(c.line_start, c.s - 80) : min(c.line_end, c.e + 80)].lower()
    if PROMO.search(near) is not None:
        return True
    # Codes of letters are how shops name their offers ("code FREESHIP for free shipping").
    return c.strict and not c.numeric and PROMO_WORDS.search(near) is not None


# The label: what the words before and after a candidate say it is.


@dataclass(slots=True)
class _Labels:
    """What the labels before a candidate say: the strongest code label, and whether a word
    naming another kind of number (or a phone) sits directly before it, closer than any label."""

    best: float = 0.0
    negative: bool = False
    weak_negative: bool = False


def _near_code_label(c: _Around, titled: bool, meeting: bool = False) -> float:
    """The strength of the code label that names the candidate: 0 when none does, or when a
    word naming another kind of number outweighs it."""
    before = _window_before(c.text, c.s)
    found = _labels_before(before, c.standalone, meeting) if before.strip() else _Labels()
    after = _window_after(c.text, c.e, c.line_end)
    if after.strip():
        found.best = max(found.best, _label_after(after, meeting))
    if found.best <= 0.0 and titled and _subject_lends_a_label(c, found):
        found.best = 0.45
    if _outweighed(found) or _too_weak_for_its_shape(c, found.best):
        return 0.0
    return found.best


def _window_before(text: str, s: int) -> str:
    """At most 160 characters and three lines before the candidate, lower-cased."""
    lo = max(0, s - 160)
    k = s
    for _ in range(4):
        k = text.rfind("\n", lo, k)
        if k == -1:
            break
    if k != -1:
        lo = k + 1
    return text[lo:s].lower()


def _window_after(text: str, e: int, line_end: int) -> str:
    """The rest of the candidate's line and the next one, at most 80 characters, lower-cased."""
    after_end = text.find("\n", line_end + 1, e + 80)
    return text[e : after_end if after_end != -1 else e + 80].lower()


def _labels_before(before: str, standalone: bool, meeting: bool = False) -> _Labels:
    """Read the labels in `before`, nearest last: a label closer to the candidate than a
    negative word cancels it ("order 1234, your code: 482913")."""
    found = _Labels()
    qualifier_end = -1
    for hs, he, weight in code_labels(before, meeting):
        gap = before[he:]
        direct = _gap_is_direct(gap)
        if weight <= NEG:
            found.negative = found.negative or direct
            if weight == QUALIFIER:
                qualifier_end = he
        elif weight == WEAK_NEG:
            found.weak_negative = found.weak_negative or direct
        elif qualifier_end < 0 or hs - qualifier_end > 2:  # not "promo code", "order code"
            strength = _label_before(gap, weight, direct, standalone)
            if strength is not None:
                if direct:
                    found.negative = found.weak_negative = False
                found.best = max(found.best, strength)
                qualifier_end = -1
    return found


def _label_before(gap: str, weight: float, direct: bool, standalone: bool) -> float | None:
    """How strongly a code label `gap` before the candidate names it; None when it names
    something else. `direct`: only punctuation and filler words in the gap."""
    if weight == VERB_WEIGHT and not direct:
        return None  # "enter" names what follows it, not a number further on
    introduced = INTRODUCED.search(gap) is not None
    if _SENTENCE_BREAK.search(gap) and not (standalone or introduced):
        return None  # a label in an earlier sentence names some other number
    decay = max(0.0, 1.0 - len(gap.strip()) / 150.0)
    if introduced:
        decay = max(decay, 0.75)  # "Ihre TAN für ... lautet: 172838"
    elif _DIGIT.search(gap):
        decay *= 0.6
    strength = weight * decay
    if direct:
        strength += 0.25
    return strength


def _label_after(after: str, meeting: bool = False) -> float:
    """A code label just after the candidate: "482913 is your Acme code". At most two other
    words (a brand name) may sit between; 0 when there is no such label."""
    for hs, _he, weight in code_labels(after[:60], meeting):
        if weight <= 0 or weight == VERB_WEIGHT:
            continue
        if hs <= 36 and _gap_is_direct(after[:hs], allow_unknown=2):
            if _SENTENCE_BREAK.search(after[:hs]):
                break  # "Call 912-345-678. Your security code is ...": the label is the next's
            return weight + 0.1
        break
    return 0.0


def _subject_lends_a_label(c: _Around, found: _Labels) -> bool:
    """A number set apart in a mail whose subject names a code is likely that code, unless a
    word before it names another kind of number or it is shaped like a year."""
    return (
        c.standalone and not found.negative and not found.weak_negative and not _looks_like_year(c)
    )


def _outweighed(found: _Labels) -> bool:
    """No label, a negative word directly before the candidate, or a phone word that only a
    strong label ("verification code") outweighs (a code "sent to your phone")."""
    return found.best <= 0.0 or found.negative or (found.weak_negative and found.best < 1.0)


def _too_weak_for_its_shape(c: _Around, best: float) -> bool:
    """Lower-case and letter-only codes count only right after a strong label, or set apart
    after a label: such words are everywhere in prose."""
    return c.strict and best < 1.0 and not (c.standalone and best >= THRESHOLD)


# Layout: each feature returns what it adds to the label's strength.


def _discount_shaped(c: _Around) -> float:
    """A word and a number ("SPRING25") read like a discount code."""
    return -0.3 if _PROMO_SHAPE.fullmatch(c.value) else 0.0


def _set_apart(c: _Around) -> float:
    """Verification mail sets its code alone on a line."""
    return 0.3 if c.standalone else 0.0


def _printed_in_groups(c: _Around) -> float:
    """Codes are printed in groups to be read and typed ("123 456"); other numbers seldom."""
    return 0.05 if c.grouped else 0.0


def _six_digits(c: _Around) -> float:
    """Six digits: the most common length of a one-time code."""
    return 0.1 if c.numeric and len(c.digits) == 6 else 0.0


def _year_shaped(c: _Around) -> float:
    """A year, unless its label sits right before it."""
    return -0.35 if _looks_like_year(c) else 0.0


def _compact_date(c: _Around) -> float:
    """Eight digits that read as a date ("20240512")."""
    d = c.digits
    return -0.3 if c.numeric and len(d) == 8 and d[:2] in ("19", "20") and d[4:6] <= "12" else 0.0


_LAYOUT_FEATURES: tuple[Callable[[_Around], float], ...] = (
    _discount_shaped,
    _set_apart,
    _printed_in_groups,
    _six_digits,
    _year_shaped,
    _compact_date,
)


def _snippet(text: str, s: int, e: int) -> str:
    """The line a code was found on, with the line before when the code stands alone."""
    line_start, line_end = line_bounds(text, s, e)
    line = text[line_start:line_end]
    if line_start > 0 and not text[line_start:s].strip():
        prev_end = line_start - 1
        floor = max(0, prev_end - LOOK)
        while prev_end > floor and text[prev_end - 1] in "\n \t":
            prev_end -= 1
        prev_start = text.rfind("\n", floor, prev_end) + 1 or floor
        prev = text[prev_start:prev_end].strip()
        if prev:
            line = prev + " " + line.strip()
    line = " ".join(line.split())
    if len(line) <= 160:
        return line
    at = line.find(" ".join(text[s:e].split()))
    lo = max(0, at - 80)
    return line[lo : lo + 160].strip()


def _scan_codes(
    raw_text: str, order_base: int, titled: bool = False, meeting: bool = False
) -> list[_Candidate]:
    """The code candidates of one text (subject or body) that clear the threshold."""
    text = normalise(raw_text[:SCAN_CHARS])
    masked = mask(text)
    found: list[_Candidate] = []
    for count, (s, e, value, grouped, strict) in enumerate(_candidate_spans(masked)):
        if count >= MAX_SCORED:
            break
        score = _score(masked, s, e, value, grouped, strict, titled, meeting)
        if score >= THRESHOLD:
            found.append(_Candidate(value, score, _snippet(text, s, e), order_base + s))
    return found


def _candidate_spans(text: str) -> Iterator[tuple[int, int, str, bool, bool]]:
    """Code-shaped spans not ruled out by the characters around them:
    (start, end, value as typed, printed in groups, strict)."""
    done_until = -1
    long_until = -1
    n = len(text)
    for count, m in enumerate(_CLUSTER.finditer(text)):
        if count >= MAX_CLUSTERS:
            break
        s, e = m.span()
        if long_until >= 0 and s - long_until <= 3 and _CLUSTER_JOIN.fullmatch(text, long_until, s):
            long_until = e  # the rest of a run too long to be a code, cut by _CLUSTER's bounds
            continue
        long_until = e if e - s > CLUSTER_CHARS else -1
        if s < done_until:
            continue
        p1 = text[s - 1] if s else " "
        n1 = text[e] if e < n else " "
        glued = (
            _is_ascii_letter(p1)
            or _is_ascii_letter(n1)
            or (p1 == "-" and s > 1 and _is_ascii_letter(text[s - 2]))
            or (n1 == "-" and e + 1 < n and _is_ascii_letter(text[e + 1]))
        )
        if glued:
            span = _alnum_span(text, s, e)
            done_until = span[1] if span else e
            candidate = _alnum_candidate(text, *span) if span else None
            if candidate is not None and not _hard_reject(text, candidate[0], candidate[1]):
                yield (*candidate[:3], False, candidate[3])
        elif 4 <= e - s <= CLUSTER_CHARS:  # longer runs are tables of numbers or noise
            for cs, ce, value, grouped in _digit_spans(m.group(), s):
                if not _hard_reject(text, cs, ce):
                    yield cs, ce, value, grouped, len(value) > 8
    yield from _letter_spans(text)


def _letter_spans(text: str) -> Iterator[tuple[int, int, str, bool, bool]]:
    """Codes of letters only ("KXQ-ZTP", "KXQZTPWM") and of words ("amber-falcon-river"), which
    have no digit to find them by. Like lower-case codes they count only right after a strong
    label or set apart under one, and words of the language never count."""
    n = len(text)
    for pattern, sign in (
        (_LETTER_CODE, _LETTER_CODE_SIGN),
        (_CAPS_CODE, None),
        (_WORD_CODE, _WORD_CODE_SIGN),
    ):
        if sign is not None and sign.search(text) is None:
            continue
        for count, m in enumerate(pattern.finditer(text)):
            if count >= MAX_CLUSTERS:
                break
            s, e = m.span()
            if s > 0 and text[s - 1] in _TOKEN_CHARS or e < n and text[e] in _TOKEN_CHARS:
                continue
            if pattern is _CAPS_CODE and _reads_as_a_word(m.group()):
                continue
            if not _hard_reject(text, s, e):
                yield s, e, m.group(), False, True


def _alnum_candidate(text: str, lo: int, hi: int) -> tuple[int, int, str, bool] | None:
    token = text[lo:hi]
    groups = token.split("-")
    if len(groups) > 4:
        return None
    # A letters prefix before a long digit group is a label, not part of the code ("G-482913").
    if len(groups) == 2 and groups[0].isalpha() and groups[1].isdigit() and len(groups[1]) >= 4:
        cs = lo + len(groups[0]) + 1
        value = groups[1]
        return (cs, hi, value, False) if len(value) <= 8 else None
    letters_digits = token.replace("-", "")
    if not 5 <= len(letters_digits) <= 12 or any(not 1 <= len(g) <= 8 for g in groups):
        return None
    if letters_digits.isdigit() or letters_digits.isalpha():
        return None
    if _UPPER_TOKEN.fullmatch(token):
        return lo, hi, token, False
    if _LOWER_TOKEN.fullmatch(token) and len(letters_digits) <= 10:
        return lo, hi, token, True
    if _MIXED_TOKEN.fullmatch(token) and not token.isupper() and not token.islower():
        # "aB3dE6fG": both cases and a digit, which no word of prose has.
        return lo, hi, token, True
    return None


def _reads_as_a_word(caps: str) -> bool:
    """A run of capitals that is a word ("WELCOME", "PASSWORD") rather than a code: a common
    word of a heading or a button, or letters that read as a word (a vowel for every third
    letter or more, no more than three consonants in a row). Codes drawn from random letters
    seldom do both; those that do are given up for precision."""
    if caps in CAPS_WORDS:
        return True
    vowels = 0
    run = longest = 0
    for ch in caps:
        if ch in _VOWELS:
            vowels += 1
            run = 0
        else:
            run += 1
            longest = max(longest, run)
    return vowels * 3 >= len(caps) and longest <= 3


def _names_a_code(subject: str) -> bool:
    """Whether a subject line is about a code: it has a code label no other word qualifies."""
    negative_end = -1
    for start, end, weight in code_labels(normalise(subject).lower()):
        if weight == QUALIFIER:
            negative_end = end
        elif weight >= 0.85 and not (negative_end >= 0 and start - negative_end <= 2):
            return True
    return False


def _invites_to_a_meeting(sources: list[str]) -> bool:
    """Whether the message invites to a video call ("Meeting ID: ...", "Join the meeting"): its
    passcode and PIN are for the call, not one-time codes. Read in the first `MEETING_CHARS`
    of each text, where invitations say so."""
    for source in sources:
        if source and MEETING.search(normalise(source[:MEETING_CHARS]).lower()):
            return True
    return False


def collect_codes(sources: list[str]) -> list[Code]:
    """Scan the subject and the bodies; merge the candidates by value."""
    merged: dict[str, _Candidate] = {}
    in_subject: set[str] = set()
    in_body: set[str] = set()
    titled = _names_a_code(sources[0])
    meeting = _invites_to_a_meeting(sources)
    for index, source in enumerate(sources):
        if not source:
            continue
        for cand in _scan_codes(source, index * 10_000_000, titled and index > 0, meeting):
            (in_body if index else in_subject).add(cand.value)
            seen = merged.get(cand.value)
            if seen is None or cand.score > seen.score:
                if seen is not None:
                    cand.order = min(cand.order, seen.order)
                merged[cand.value] = cand
    for value in in_subject & in_body:
        merged[value].score += 0.1  # stated in the subject and again in the body
    ranked = sorted(merged.values(), key=lambda c: (-c.score, c.order))
    return [
        Code(c.value, round(min(0.99, 0.35 + c.score * 0.45), 3), c.snippet)
        for c in ranked[:MAX_CODES]
    ]
