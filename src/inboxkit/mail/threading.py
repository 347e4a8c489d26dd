"""The pure parts of conversation threading: which messages a message refers to, the subject
a conversation keeps however many replies and forwards prefix it, and who takes part.

A message joins a thread of its mailbox by reference first (a stored message whose Message-ID
is its In-Reply-To or one of its References), else by subject among the same participants
(`store/threads.py` decides, with these keys). Every function here bounds its input first, so
its cost is linear in a capped slice of the header whatever a sender puts in it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

__all__ = [
    "MAX_PARTICIPANTS",
    "MAX_REFERENCES",
    "SUBJECT_CHARS",
    "message_key",
    "normalise_subject",
    "participants",
    "participants_key",
    "reference_chain",
    "subject_key",
]

# Only the last 50 References count: a long chain's recent ids are the ones that find a thread,
# and each candidate costs an index probe.
MAX_REFERENCES = 50
# A subject is normalised from its first 1,000 characters (a header line is at most 998).
SUBJECT_CHARS = 1_000
# A thread shows (and a key covers) at most this many participants.
MAX_PARTICIPANTS = 50
_ADDRESS_CHARS = 320

# Reply and forward prefixes of the common mail clients and languages: English (Re, Fwd, Fw),
# German (AW, WG), Scandinavian (SV, VS), Dutch (Antw), French (Réf, TR), Italian (RIF, R),
# Chinese (回复, 答复, 转发), each optionally numbered (`Re[2]:`, `Re(2):`, `Re^2:`), with an
# ASCII or full-width colon. One prefix per match; the loop strips them repeatedly.
_PREFIX = re.compile(
    r"\s*(?:re|fwd?|aw|wg|sv|vs|antw|réf|ref|tr|rif|r|回复|答复|转发)"
    r"\s{0,3}(?:\[\d{1,6}\]|\(\d{1,6}\)|\^\d{1,6})?\s{0,3}[:：]",
    re.IGNORECASE,
)
# A mailing list's tag, `[list-name]`, anywhere before the text.
_LIST_TAG = re.compile(r"\s*\[[^\[\]]{0,100}\]")
_SPACES = re.compile(r"\s+")


def normalise_subject(subject: str | None) -> str:
    """The subject a conversation keeps: reply and forward prefixes (`Re:`, `Fwd:`, `AW:`,
    `Re[2]:`, `回复：`, …) and mailing-list tags (`[list]`) stripped from the front however often
    they repeat, whitespace runs made one space, case-folded. "" when nothing is left."""
    text = (subject or "")[:SUBJECT_CHARS]
    while True:
        stripped = _PREFIX.match(text) or _LIST_TAG.match(text)
        if stripped is None or stripped.end() == 0:
            break
        text = text[stripped.end() :]
    return _SPACES.sub(" ", text).strip().casefold()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def subject_key(subject: str | None) -> str | None:
    """A fixed-length key of the normalised subject; None when it is empty (an empty subject
    never joins a thread by subject)."""
    normalised = normalise_subject(subject)
    return _digest(normalised) if normalised else None


def _bare(address: str) -> str:
    address = address.strip()[:_ADDRESS_CHARS]
    if "<" in address and address.endswith(">"):
        address = address[address.rindex("<") + 1 : -1]
    return address.strip().lower()


def participants(addresses: Iterable[str], limit: int = MAX_PARTICIPANTS) -> list[str]:
    """The distinct lower-cased bare addresses, sorted, at most `limit` (of the first
    `4 * limit` given)."""
    found: set[str] = set()
    for count, address in enumerate(addresses):
        if count >= 4 * limit:
            break
        bare = _bare(address)
        if "@" in bare:
            found.add(bare)
    return sorted(found)[:limit]


def participants_key(addresses: Iterable[str]) -> str:
    """A fixed-length key of the set of participants: equal exactly when the sets are."""
    return _digest("\n".join(participants(addresses)))


def message_key(message_id: str | None) -> str | None:
    """The fixed-length key a Message-ID is indexed by (ids may be up to 998 characters of any
    script, too long for an index entry on every backend); None without an id."""
    return _digest(message_id) if message_id else None


def reference_chain(in_reply_to: str | None, references: Iterable[str]) -> list[str]:
    """The Message-IDs a message refers to, most recent first: In-Reply-To, then the last
    MAX_REFERENCES of References from the end; duplicates dropped."""
    recent = list(references)[-MAX_REFERENCES:]
    chain: list[str] = []
    for value in [in_reply_to, *reversed(recent)]:
        if value and value not in chain:
            chain.append(value)
    return chain
