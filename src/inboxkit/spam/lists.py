"""Allow and block lists: which entries a sender matches, and what they decide for a mailbox.

A sender is both the envelope MAIL FROM and the header From; an entry matching either counts.
An entry is an exact address (`alice@example.com`) or a domain (`example.com`), which with
`subdomains` also covers `mail.example.com`. Lookups are by exact key: a sender yields at most
its address and each of its domain's suffixes (bounded by MAX_LABELS), so deciding costs one
indexed query whatever the length of the lists.

When several entries match, the most specific decides: a mailbox's own entry over an
account-wide one, then an address over a domain, then a longer domain over a shorter; left
tied, block wins (a sender both allowed and blocked at the same level is not trusted).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "ENTRY_PATTERN",
    "MAX_LABELS",
    "ListEntry",
    "ListType",
    "decide",
    "lookup_keys",
    "normalise_entry",
]

# A domain deeper than this is matched on its last MAX_LABELS labels' suffixes only.
MAX_LABELS = 10


class ListType(StrEnum):
    """Which list an entry is on."""

    ALLOW = "allow"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class ListEntry:
    """A stored entry, as matching needs it."""

    id: str
    account_id: str
    mailbox_id: str | None
    type: str
    entry: str
    subdomains: bool


# What an entry may be (the API's pattern says the same): an optional local part and `@`, then
# a domain of at least two labels of 1-63 characters, perhaps with a trailing dot.
_PART = r"[^@\s<>.\x00-\x1f\x7f]{1,63}"
ENTRY_PATTERN = rf"^([^@\s<>\x00-\x1f\x7f]{{1,64}}@)?({_PART}\.)+{_PART}\.?$"
_ENTRY = re.compile(ENTRY_PATTERN)


def normalise_entry(value: str) -> tuple[str, bool] | None:
    """(`entry`, is_address) for an entry as typed, lower-cased and without a trailing dot;
    None when it is neither an address nor a domain (ENTRY_PATTERN)."""
    value = value.strip()
    if len(value) > 320 or not _ENTRY.match(value):
        return None
    entry = value.rstrip(".").lower()
    # Lower-casing can lengthen a few characters; the column holds 320.
    return (entry, "@" in value) if len(entry) <= 320 else None


def _domain_keys(domain: str) -> list[str]:
    labels = domain.split(".")[-MAX_LABELS:]
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def lookup_keys(senders: Iterable[str]) -> set[str]:
    """Every entry that could match one of `senders` (addresses; empty ones skipped)."""
    keys: set[str] = set()
    for sender in senders:
        value = sender.strip().strip("<>").lower().rstrip(".")
        local, at, domain = value.rpartition("@")
        if not at or not local or not domain:
            continue
        keys.add(value)
        keys.update(_domain_keys(domain))
    return keys


def _specificity(entry: ListEntry, senders: list[str]) -> tuple[int, int, int, int] | None:
    """How specifically `entry` matches one of `senders`, or None when it matches none."""
    best: tuple[int, int, int, int] | None = None
    for sender in senders:
        local, _, domain = sender.rpartition("@")
        if "@" in entry.entry:
            rank = (2, 0) if entry.entry == sender else None
        elif entry.entry == domain:
            rank = (1, entry.entry.count(".") + 1)
        elif entry.subdomains and domain.endswith("." + entry.entry):
            rank = (1, entry.entry.count(".") + 1)
        else:
            rank = None
        if rank is None:
            continue
        found = (
            1 if entry.mailbox_id is not None else 0,
            *rank,
            1 if entry.type == ListType.BLOCK else 0,
        )
        if best is None or found > best:
            best = found
    return best


def decide(entries: Iterable[ListEntry], senders: Iterable[str], mailbox_id: str) -> str | None:
    """`allow`, `block`, or None: what the entries that apply to `mailbox_id` (its own and its
    account's) decide about a message from `senders`."""
    normalised = []
    for sender in senders:
        value = sender.strip().strip("<>").lower().rstrip(".")
        if "@" in value:
            normalised.append(value)
    best: tuple[tuple[int, int, int, int], str] | None = None
    for entry in entries:
        if entry.mailbox_id is not None and entry.mailbox_id != mailbox_id:
            continue
        rank = _specificity(entry, normalised)
        if rank is not None and (best is None or rank > best[0]):
            best = (rank, entry.type)
    return best[1] if best else None
