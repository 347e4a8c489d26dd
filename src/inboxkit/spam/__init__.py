"""Spam filtering of inbound mail: an engine's score, then each mailbox's allow and block lists.

`SpamFilter` is what the delivery pipeline calls; the verdicts (`verdicts.SpamResult`) are
stored on each message row, and hide the message in agent mailboxes when spam or blocked.
"""

from inboxkit.spam.filter import ListSource, MailboxVerdict, Receiver, SpamFilter
from inboxkit.spam.lists import ListEntry, ListType, normalise_entry
from inboxkit.spam.verdicts import (
    HIDING,
    NOT_SCORED,
    Engine,
    EngineName,
    ScoredMessage,
    SpamResult,
    Verdict,
    hides,
)

__all__ = [
    "HIDING",
    "NOT_SCORED",
    "Engine",
    "EngineName",
    "ListEntry",
    "ListSource",
    "ListType",
    "MailboxVerdict",
    "Receiver",
    "ScoredMessage",
    "SpamFilter",
    "SpamResult",
    "Verdict",
    "hides",
    "normalise_entry",
]
