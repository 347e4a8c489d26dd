"""Spam filtering of inbound mail (DESIGN §9): an engine's score, then each mailbox's allow and
block lists.

The engine (`build_engine`: rspamd over HTTP when a URL is set, else the built-in rules) scores
a message once; `SpamFilter` is what the delivery pipeline calls, and the verdicts
(`verdicts.SpamResult`) are stored on each message row, hiding the message in agent mailboxes
when spam or blocked.

A leaf package: it imports nothing of ours but `metrics`, so the pipeline and the services can
both use it.
"""

from inboxkit.spam.builtin import BuiltinScorer
from inboxkit.spam.filter import ListSource, MailboxVerdict, Receiver, SpamFilter
from inboxkit.spam.lists import ListEntry, ListType, normalise_entry
from inboxkit.spam.rspamd import RspamdEngine
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
    "BuiltinScorer",
    "Engine",
    "EngineName",
    "ListEntry",
    "ListSource",
    "ListType",
    "MailboxVerdict",
    "Receiver",
    "RspamdEngine",
    "ScoredMessage",
    "SpamFilter",
    "SpamResult",
    "Verdict",
    "build_engine",
    "hides",
    "normalise_entry",
]


def build_engine(
    *,
    enabled: bool,
    rspamd_url: str | None,
    rspamd_password: str | None = None,
    rspamd_timeout: float = 2.0,
) -> Engine | None:
    """The engine the settings ask for: None when filtering is off (`spam_filter=false`),
    rspamd when `rspamd_url` is set, else the built-in rules."""
    if not enabled:
        return None
    if rspamd_url and rspamd_url.strip():
        return RspamdEngine(rspamd_url.strip(), password=rspamd_password, timeout=rspamd_timeout)
    return BuiltinScorer()
