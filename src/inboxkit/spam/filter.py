"""`SpamFilter`: one engine score per message, then each mailbox's verdict.

The pipeline calls `score` once per inbound message (after parsing and sender
authentication) and `verdicts` with the receiving mailboxes: their allow and block lists
(account-wide and their own) turn the engine's verdict into each mailbox's, and the verdict
hides the message only where the mailbox is an agent mailbox.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from inboxkit.metrics import Metrics
from inboxkit.spam.lists import ListEntry, ListType, decide, lookup_keys
from inboxkit.spam.verdicts import (
    NOT_SCORED,
    Engine,
    EngineName,
    ScoredMessage,
    SpamResult,
    Verdict,
    hides,
)

__all__ = ["ListSource", "MailboxVerdict", "SpamFilter", "Receiver"]

log = logging.getLogger(__name__)


class ListSource(Protocol):
    """The allow and block list entries that could match a sender (services/lists.py)."""

    async def entries_for(self, account_ids: set[str], keys: set[str]) -> list[ListEntry]: ...


@dataclass(frozen=True, slots=True)
class Receiver:
    """A receiving mailbox, as far as spam is concerned."""

    mailbox_id: str
    account_id: str | None
    mode: str | None


@dataclass(frozen=True, slots=True)
class MailboxVerdict:
    """One receiving mailbox's verdict, and whether it hides the message there."""

    spam: SpamResult
    hidden: bool


class SpamFilter:
    """Scores with `engine` (None: filtering off, every message `engine: "none"`) and applies
    the lists from `lists` (see module doc)."""

    def __init__(
        self, engine: Engine | None, lists: ListSource | None, metrics: Metrics | None = None
    ):
        self.engine = engine
        self.lists = lists
        self.metrics = metrics or Metrics()

    async def score(self, message: ScoredMessage) -> SpamResult:
        if self.engine is None:
            return dict(NOT_SCORED)  # type: ignore[return-value]
        started = time.perf_counter()
        try:
            result = await self.engine.score(message)
        except Exception:  # an engine must not raise; if it does, fail open all the same
            log.exception("spam engine %s failed; delivering unscored", self.engine.name)
            result = {
                "verdict": Verdict.CLEAN.value,
                "score": None,
                "reason": "the spam engine failed",
                "engine": EngineName.UNAVAILABLE.value,
            }
        self.metrics.spam_seconds.labels(result["engine"]).observe(time.perf_counter() - started)
        return result

    async def verdicts(
        self, result: SpamResult, receivers: Sequence[Receiver], senders: Sequence[str]
    ) -> dict[str, MailboxVerdict]:
        """Each receiving mailbox's verdict on a message the engine judged `result`."""
        entries: list[ListEntry] = []
        accounts = {r.account_id for r in receivers if r.account_id is not None}
        keys = lookup_keys(senders)
        if self.lists is not None and accounts and keys:
            entries = await self.lists.entries_for(accounts, keys)
        decided: dict[str, MailboxVerdict] = {}
        for receiver in receivers:
            applying = [e for e in entries if e.account_id == receiver.account_id]
            listed = decide(applying, senders, receiver.mailbox_id) if applying else None
            spam = result
            if listed == ListType.BLOCK:
                spam = {**result, "verdict": Verdict.BLOCKED.value, "reason": "block list"}
            elif listed == ListType.ALLOW and result["verdict"] != Verdict.CLEAN:
                spam = {**result, "verdict": Verdict.CLEAN.value, "reason": "allow list"}
            decided[receiver.mailbox_id] = MailboxVerdict(
                spam, hides(spam["verdict"], receiver.mode)
            )
            self.metrics.spam_verdicts.labels(spam["engine"], spam["verdict"]).inc()
        return decided

    async def close(self) -> None:
        if self.engine is not None:
            await self.engine.close()
