"""The search query language (DESIGN §14), parsed once into one tree for every backend.

A query is terms separated by spaces, all of which must match (implicit AND):

- free text: `invoice`, a phrase `"reset your password"`; a word with punctuation inside
  (`alice@example.com`, `foo-bar`) is the phrase of its words;
- fields: `from:`, `to:`, `subject:` with a word or a quoted phrase (`subject:"your code"`);
- flags: `has:attachment`, `has:code`, `is:unread`, `is:read`;
- dates: `after:2025-01-31` (from the start of that day, UTC, inclusive) and `before:` (up to
  the start of that day, exclusive), as Gmail does;
- sizes: `larger:10K`, `smaller:2M` (bytes; K = 1024, M = 1024²);
- labels: `label:work`, `label:"to do"` (case-insensitive, as labels are; `label:sent` and
  `label:spam` are the system labels, and `label:spam` searches the spam folder);
- `-` before any term negates it.

There is no `OR`: the word is searched as text. Anything else shaped like an operator
(`foo:bar`, letters before a colon) is refused, naming the position, with the advice to quote
it; `12:30` or `"re:hello"` are text.

Parsing is one forward scan over at most MAX_QUERY characters, yielding at most MAX_TERMS
terms. A term with no letters or digits (`*`, `_`, `""`) is in no message, so the query
matches nothing; negated, it is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

from inboxkit.labels import SPAM, LabelError, normalise
from inboxkit.search.words import words

__all__ = [
    "MAX_QUERY",
    "MAX_TERMS",
    "MAX_SIZE",
    "Field",
    "Text",
    "Flag",
    "Received",
    "Size",
    "Label",
    "Term",
    "Query",
    "QueryError",
    "parse",
]

MAX_QUERY = 500
MAX_TERMS = 20
MAX_SIZE = 1 << 40  # a size beyond any message: `larger:` past it is refused as a typo

_OPERATOR = re.compile(r"[A-Za-z]+(?=:)")
_SIZE = re.compile(r"(\d{1,13})([KkMm]?)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class Field(StrEnum):
    """Where text must appear: anywhere, or in one field."""

    ANY = "any"
    SUBJECT = "subject"
    FROM = "from"  # the sender's address and display name
    TO = "to"  # To, Cc and the envelope recipients


class Flag(StrEnum):
    """A yes-or-no property of a message."""

    ATTACHMENT = "attachment"
    CODE = "code"
    UNREAD = "unread"
    READ = "read"


@dataclass(frozen=True, slots=True)
class Text:
    """These words, consecutive (one word, or a phrase), in `field`."""

    words: tuple[str, ...]
    field: Field = Field.ANY


@dataclass(frozen=True, slots=True)
class Received:
    """Received at or after `at` (`after:`), or before it (`before:`)."""

    at: datetime
    before: bool


@dataclass(frozen=True, slots=True)
class Size:
    """Larger (or smaller) than `bytes`."""

    bytes: int
    larger: bool


@dataclass(frozen=True, slots=True)
class Label:
    """Carries this label (normalised: labels.py), user or system."""

    name: str


Node = Text | Flag | Received | Size | Label


@dataclass(frozen=True, slots=True)
class Term:
    """One term of a query, its negation, and where it starts in the query (from 1)."""

    node: Node
    negated: bool = False
    position: int = 1


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: every term must match."""

    terms: tuple[Term, ...] = ()
    # A term with no letters or digits (`*`, `_`, `"?"`) is in no message's words: the query
    # matches nothing. Negated, it excludes nothing and is simply dropped.
    matches_nothing: bool = False

    @property
    def text(self) -> list[Term]:
        """The terms the full-text index answers."""
        return [t for t in self.terms if isinstance(t.node, Text)]

    @property
    def filters(self) -> list[Term]:
        """The terms answered by the message's own columns (flags, dates, sizes)."""
        return [t for t in self.terms if not isinstance(t.node, Text)]

    @property
    def asks_spam(self) -> bool:
        """Whether a term asks for the system label `spam`: the search then reads the spam
        folder (the hidden mail) instead of the default view."""
        return any(t.node == Label(SPAM) and not t.negated for t in self.terms)

    @property
    def highlighted(self) -> list[Text]:
        """The text a result's highlights mark: every text term not negated."""
        return [t.node for t in self.terms if isinstance(t.node, Text) and not t.negated]


class QueryError(ValueError):
    """A query that cannot be read: `message` says what and where (`position`, from 1)."""

    def __init__(self, message: str, position: int):
        super().__init__(message)
        self.message = message
        self.position = position


_FIELDS = {"from": Field.FROM, "to": Field.TO, "subject": Field.SUBJECT}
_FLAGS = {
    "has": {"attachment": Flag.ATTACHMENT, "code": Flag.CODE},
    "is": {"unread": Flag.UNREAD, "read": Flag.READ},
}
_KNOWN = ", ".join(
    [
        "from:",
        "to:",
        "subject:",
        "label:",
        "has:",
        "is:",
        "after:",
        "before:",
        "larger:",
        "smaller:",
    ]
)


def parse(q: str) -> Query:
    """`q` as a Query, or QueryError saying what is wrong and at which character."""
    if len(q) > MAX_QUERY:
        raise QueryError(
            f"The query is {len(q)} characters long; at most {MAX_QUERY} are allowed. Shorten it.",
            MAX_QUERY + 1,
        )
    terms: list[Term] = []
    nothing = False
    i, n = 0, len(q)
    while i < n:
        if q[i].isspace():
            i += 1
            continue
        start = i
        negated = q[i] == "-"
        if negated:
            i += 1
            if i == n or q[i].isspace():
                continue  # a lone "-": nothing to negate, restricts nothing
        operator = _OPERATOR.match(q, i)
        if operator is not None:
            name = operator.group().lower()
            value_at = operator.end() + 1
            value, i = _value(q, value_at, name)
            node = _operator(name, value, start, value_at)
        elif q[i] == '"':
            value, i = _quoted(q, i)
            node = Text(tuple(words(value)))
        else:
            value, i = _bare(q, i)
            node = Text(tuple(words(value)))
        if isinstance(node, Text) and not node.words:
            nothing = nothing or not negated
            continue
        if len(terms) == MAX_TERMS:
            raise QueryError(
                f"The query has more than {MAX_TERMS} terms (the one at character {start + 1} "
                f"is the {MAX_TERMS + 1}st); use fewer.",
                start + 1,
            )
        terms.append(Term(node, negated, start + 1))
    return Query(tuple(terms), nothing)


def _bare(q: str, i: int) -> tuple[str, int]:
    """A word up to the next space (quotes inside it are plain characters)."""
    end = i
    while end < len(q) and not q[end].isspace():
        end += 1
    return q[i:end], end


def _quoted(q: str, i: int) -> tuple[str, int]:
    """The phrase between the quote at `i` and the next one."""
    close = q.find('"', i + 1)
    if close < 0:
        raise QueryError(f'Unbalanced quote at character {i + 1}: close the phrase with ".', i + 1)
    return q[i + 1 : close], close + 1


def _value(q: str, at: int, name: str) -> tuple[str, int]:
    """An operator's value: a quoted phrase or a bare word; never empty."""
    if at < len(q) and q[at] == '"':
        value, end = _quoted(q, at)
    else:
        value, end = _bare(q, at)
    if not value.strip():
        raise QueryError(
            f"'{name}:' at character {at - len(name)} has no value: write it without a space, "
            f"e.g. {name}:{_EXAMPLES.get(name, 'value')}.",
            at - len(name),
        )
    return value, end


_EXAMPLES = {
    "from": "alice@example.com",
    "to": "me@example.com",
    "subject": '"your code"',
    "has": "attachment",
    "is": "unread",
    "after": "2025-01-31",
    "before": "2025-01-31",
    "larger": "100K",
    "smaller": "2M",
    "label": "work",
}


def _operator(name: str, value: str, start: int, value_at: int) -> Node:
    """The node of `name:value`; `start` and `value_at` are 0-based offsets in the query."""
    where = start + 1
    if name in _FIELDS:
        found = tuple(words(value))
        if not found:
            raise QueryError(
                f"'{name}:' at character {where} has no letters or digits to search for.", where
            )
        return Text(found, _FIELDS[name])
    if name in _FLAGS:
        flag = _FLAGS[name].get(value.lower())
        if flag is None:
            allowed = " or ".join(f"{name}:{v}" for v in _FLAGS[name])
            raise QueryError(
                f"'{name}:{value[:40]}' at character {where} is not known; use {allowed}.", where
            )
        return flag
    if name in ("after", "before"):
        return Received(_day(value, value_at + 1), before=name == "before")
    if name in ("larger", "smaller"):
        return Size(_size(value, value_at + 1), larger=name == "larger")
    if name == "label":
        try:
            return Label(normalise(value))
        except LabelError as exc:
            raise QueryError(f"'label:' at character {where}: {exc.message}", where) from None
    raise QueryError(
        f"Unknown operator '{name}:' at character {where}; the operators are {_KNOWN}. "
        'To search for the text itself, quote it: "' + f'{name}:…".',
        where,
    )


def _day(value: str, at: int) -> datetime:
    """The start (UTC) of the day `value` names, YYYY-MM-DD."""
    parsed: date | None = None
    if _DATE.fullmatch(value):
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            parsed = None
    if parsed is None:
        raise QueryError(
            f"'{value[:40]}' at character {at} is not a date; write YYYY-MM-DD, e.g. 2025-01-31.",
            at,
        )
    return datetime(parsed.year, parsed.month, parsed.day, tzinfo=UTC)


def _size(value: str, at: int) -> int:
    """Bytes from `value`: digits with an optional K (1024) or M (1024²) suffix."""
    match = _SIZE.fullmatch(value)
    if match is not None:
        number = int(match.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20}[match.group(2).lower()]
        if number <= MAX_SIZE:
            return number
    raise QueryError(
        f"'{value[:40]}' at character {at} is not a size; write bytes, or a number with K or "
        "M, e.g. 100K or 2M.",
        at,
    )
