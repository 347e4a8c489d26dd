"""The spam verdict of a message, as every surface shows it, and what an engine is given.

An engine scores a message once, however many mailboxes it reached; each receiving mailbox
then has its own verdict (its allow and block lists apply, spam/lists.py), and the verdict
hides the message only in an agent mailbox (a test or capture mailbox must see everything).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, TypedDict

__all__ = [
    "HIDING",
    "NOT_SCORED",
    "Engine",
    "EngineName",
    "ScoredMessage",
    "SpamResult",
    "Verdict",
    "hides",
]


class Verdict(StrEnum):
    """What a message is judged to be, for one mailbox."""

    CLEAN = "clean"
    QUARANTINE = "quarantine"  # delivered, flagged
    SPAM = "spam"  # stored, hidden in agent mailboxes
    BLOCKED = "blocked"  # a block-listed sender: stored, hidden in agent mailboxes


class EngineName(StrEnum):
    """Who judged it."""

    RSPAMD = "rspamd"
    BUILTIN = "builtin"
    UNAVAILABLE = "unavailable"  # the configured engine failed or was too slow: fail open
    NONE = "none"  # not scored (sent mail, or filtering turned off)


# Verdicts that hide a message from an agent mailbox's default views.
HIDING = frozenset({Verdict.SPAM, Verdict.BLOCKED})


class SpamResult(TypedDict):
    """The summary field `spam`."""

    verdict: str
    score: float | None
    reason: str | None
    engine: str


NOT_SCORED: SpamResult = {
    "verdict": Verdict.CLEAN.value,
    "score": None,
    "reason": None,
    "engine": EngineName.NONE.value,
}


@dataclass(slots=True)
class ScoredMessage:
    """What an engine may look at: the bytes as received, the envelope, what parsing found and
    the sender authentication results (None when not evaluated)."""

    raw: bytes
    mail_from: str
    rcpt_tos: list[str]
    remote_addr: str | None
    helo: str | None
    from_addr: str
    subject: str
    text: str | None
    html: str | None
    authentication: dict[str, Any] | None = None
    # The message's header fields, in order, as parsing decoded them.
    headers: list[list[str]] = field(default_factory=list)


class Engine(Protocol):
    """Scores one message. Never raises and never takes longer than its own bound: a failure
    or timeout is answered with `engine: "unavailable"` and verdict clean (fail open)."""

    name: str

    async def score(self, message: ScoredMessage) -> SpamResult: ...

    async def close(self) -> None: ...


def hides(verdict: str, mailbox_mode: str | None) -> bool:
    """Whether a message with `verdict` is hidden from a mailbox of `mailbox_mode`."""
    return mailbox_mode == "agent" and verdict in HIDING
