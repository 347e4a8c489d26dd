"""Spam filtering of inbound mail (DESIGN §9): the engines that score a message (rspamd over
HTTP, or the built-in rules), the verdict records, allow and block lists, and the filter that
turns one engine score into each receiving mailbox's verdict.

A leaf package: it imports nothing of ours but `metrics`, so the pipeline and the services can
both use it.
"""

from inboxkit.spam.builtin import BuiltinScorer
from inboxkit.spam.filter import ListSource, MailboxVerdict, Receiver, SpamFilter
from inboxkit.spam.lists import ListEntry, ListType
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
