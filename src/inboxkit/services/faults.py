"""Fault injection: an account asks SMTP to answer its own mail with a chosen reply.

A test of an application's retry logic needs the mail server to fail on cue: `451` at RCPT for
the next two messages, `421` as the session starts, `554` after DATA. A fault names the stage
(`connect`, `mail`, `rcpt`, `data`), the reply code and text, a probability and optionally a
count, and applies to the account's mailboxes (its capture mailbox included) or to one of them.
How each stage is answered over SMTP is `smtp/faults.py`; this module keeps the faults, decides
which one fires, and counts it.

Cost when nobody injects faults: every SMTP process keeps a view of the live faults of every
account, read in one query and refreshed at most once a second, and only when mail asks; a
RCPT for an account with no fault is a dictionary lookup. The process that creates or deletes a
fault drops its view at once; other processes see the change within `REFRESH_SECONDS`.

Counting is exact across processes: a fault fires only when the conditional UPDATE of
`store.faults.fire` returns a row, so `count` concurrent SMTP sessions in any number of
processes cannot fire a fault more than `count` times.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import math
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypedDict

from inboxkit.errors import (
    Forbidden,
    NotFound,
    QuotaExceeded,
    Resource,
    Unauthorized,
    ValidationFailed,
)
from inboxkit.ids import is_id, new_id
from inboxkit.services.auth import Principal, PrincipalKind
from inboxkit.services.mailboxes import MailboxService
from inboxkit.store import faults as rows
from inboxkit.store.db import Database
from inboxkit.store.dialect import Dialect
from inboxkit.store.tables import utcnow

__all__ = [
    "CODES_ACCEPTED",
    "Fault",
    "FaultInfo",
    "FaultService",
    "FaultStage",
    "MAX_COUNT",
    "MAX_LIVE_FAULTS",
    "MAX_MESSAGE_CHARS",
    "smtp_reply",
]

log = logging.getLogger(__name__)

# Live faults an account may hold at once; exhausted ones are kept (their `fired` figure is
# what a test asserts on) up to KEEP_EXHAUSTED, the oldest removed as new faults are made.
MAX_LIVE_FAULTS = 50
KEEP_EXHAUSTED = 50
MAX_COUNT = 10_000
MAX_MESSAGE_CHARS = 200
# How stale an SMTP process's view of the live faults may be (faults made in another process).
REFRESH_SECONDS = 1.0
CODES_ACCEPTED = "421, 450-459 or 550-559"


class FaultStage(StrEnum):
    """Where in an SMTP session a fault is answered (the SMTP rules: smtp/faults.py)."""

    CONNECT = "connect"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"


# RFC 3463 enhanced status codes a reply carries when the fault gives no text of its own,
# with RFC 5321's meaning of the reply code (§4.2.2, §4.2.3).
_DEFAULT_TEXT = {
    421: "4.3.2 Service not available, closing transmission channel",
    450: "4.2.0 Mailbox unavailable, try again later",
    451: "4.3.0 Local error in processing, try again later",
    452: "4.3.1 Insufficient system storage, try again later",
    550: "5.2.0 Mailbox unavailable",
    551: "5.1.6 User not local",
    552: "5.2.2 Exceeded storage allocation",
    553: "5.1.3 Mailbox name not allowed",
    554: "5.3.0 Transaction failed",
}
_ENHANCED_PREFIX = {4: "4.0.0", 5: "5.0.0"}


def code_accepted(code: int) -> bool:
    """421 (service closing), 450-459 (transient) or 550-559 (permanent): replies a server
    gives to refuse a session, a sender, a recipient or a message (RFC 5321 §4.2)."""
    return code == 421 or 450 <= code <= 459 or 550 <= code <= 559


def _enhanced(code: int) -> str:
    return _DEFAULT_TEXT.get(code, _ENHANCED_PREFIX[code // 100]).split(" ", 1)[0]


def _starts_with_enhanced(code: int, text: str) -> bool:
    """Whether `text` begins with an RFC 3463 status code of the reply's class ("4.7.1 …")."""
    head = text.split(" ", 1)[0]
    parts = head.split(".")
    return (
        len(parts) == 3
        and parts[0] == str(code // 100)
        and all(p.isdigit() and 1 <= len(p) <= 3 for p in parts[1:])
    )


def smtp_reply(code: int, message: str | None) -> str:
    """The reply line a fault answers: `451 4.3.0 <message>`; without a message, RFC 5321's
    text for the code; a message that starts with its own enhanced code keeps it."""
    if not message:
        default = _DEFAULT_TEXT.get(code)
        if default is None:
            default = f"{_ENHANCED_PREFIX[code // 100]} Injected failure"
        return f"{code} {default}"
    if _starts_with_enhanced(code, message):
        return f"{code} {message}"
    return f"{code} {_enhanced(code)} {message}"


@dataclass(frozen=True, slots=True)
class Fault:
    """A live fault as the SMTP side sees it."""

    id: str
    account_id: str
    mailbox_id: str | None
    stage: FaultStage
    code: int
    message: str | None
    probability: float

    @property
    def reply(self) -> str:
        return smtp_reply(self.code, self.message)

    @property
    def closes_session(self) -> bool:
        """A fault at connect, or any 421 (RFC 5321 §3.8: the server closes after a 421)."""
        return self.stage is FaultStage.CONNECT or self.code == 421

    def covers(self, mailbox_id: str | None) -> bool:
        return self.mailbox_id is None or self.mailbox_id == mailbox_id

    @classmethod
    def from_row(cls, row: Any) -> Fault:
        return cls(
            id=row.id,
            account_id=row.account_id,
            mailbox_id=row.mailbox_id,
            stage=FaultStage(row.stage),
            code=row.code,
            message=row.message,
            probability=row.probability,
        )


class FaultInfo(TypedDict):
    """A fault as the surfaces show it."""

    id: str
    stage: str
    code: int
    message: str | None
    reply: str
    probability: float
    count: int | None
    mailbox_id: str | None
    fired: int
    remaining: int | None
    exhausted: bool
    created_at: datetime


def _info(row: Any) -> FaultInfo:
    return {
        "id": row.id,
        "stage": row.stage,
        "code": row.code,
        "message": row.message,
        "reply": smtp_reply(row.code, row.message),
        "probability": row.probability,
        "count": row.count,
        "mailbox_id": row.mailbox_id,
        "fired": row.fired,
        "remaining": row.remaining,
        "exhausted": row.remaining is not None and row.remaining <= 0,
        "created_at": row.created_at,
    }


def _check(stage: str, code: int, message: str | None, probability: float, count: int | None):
    """Every field of a new fault within its bounds, or `ValidationFailed` saying which."""
    if stage not in FaultStage.__members__.values():
        raise ValidationFailed(f"stage must be one of: {', '.join(s.value for s in FaultStage)}.")
    if isinstance(code, bool) or not isinstance(code, int) or not code_accepted(code):
        raise ValidationFailed(
            f"code must be an SMTP refusal: {CODES_ACCEPTED} (4xx: the sender retries; "
            "5xx: it gives up)."
        )
    if message is not None:
        if not 1 <= len(message) <= MAX_MESSAGE_CHARS:
            raise ValidationFailed(
                f"message must be 1-{MAX_MESSAGE_CHARS} characters, or left out for the "
                "standard text."
            )
        # One reply line of printable ASCII (RFC 5321 §4.2): no CR/LF to split it, no
        # controls or 8-bit text a client might not accept.
        if not all(" " <= ch <= "~" for ch in message):
            raise ValidationFailed(
                "message must be printable ASCII on one line (no line breaks or control "
                "characters)."
            )
    if not (isinstance(probability, int | float) and math.isfinite(probability)) or not (
        0 <= probability <= 1
    ):
        raise ValidationFailed("probability must be between 0 and 1.")
    if count is not None and (isinstance(count, bool) or not 1 <= count <= MAX_COUNT):
        raise ValidationFailed(
            f"count must be between 1 and {MAX_COUNT}, or left out for no limit."
        )


class FaultService:
    """Faults of an account (create, list, read, delete) and, for SMTP, which one fires."""

    def __init__(
        self,
        db: Database,
        dialect: Dialect,
        mailboxes: MailboxService,
        draw: Callable[[], float] = random.random,
    ):
        self.db = db
        self.dialect = dialect
        self.mailboxes = mailboxes
        # A number in [0, 1) per match: a fault fires when it is below its probability.
        self.draw = draw
        # account id -> its live faults, oldest first; fresh until `_fresh_until` (monotonic).
        self._view: dict[str, tuple[Fault, ...]] = {}
        self._fresh_until = 0.0
        self._refreshing = asyncio.Lock()

    # -- who may -------------------------------------------------------------------------------

    @staticmethod
    def _account(principal: Principal, scope: str) -> str:
        if principal.kind is PrincipalKind.ANONYMOUS:
            raise Unauthorized("Faults belong to an account: send its API key (ik_…).")
        if principal.kind is not PrincipalKind.API_KEY or principal.account_id is None:
            raise Forbidden("Faults belong to an account: use its API key, not a mailbox token.")
        principal.require(scope)
        return principal.account_id

    # -- the account's faults ------------------------------------------------------------------

    async def create(
        self,
        principal: Principal,
        *,
        stage: str,
        code: int,
        message: str | None = None,
        probability: float = 1.0,
        count: int | None = None,
        mailbox: str | None = None,
    ) -> FaultInfo:
        """Make SMTP answer `code` at `stage` for the account's mail (or one mailbox's)."""
        account_id = self._account(principal, "mailboxes:write")
        _check(stage, code, message, probability, count)
        # Any of the caller's live mailboxes, the capture mailbox included; else 404.
        mailbox_id = (await self.mailboxes.find(principal, mailbox)).id if mailbox else None
        new = rows.NewFault(
            id=new_id(),
            account_id=account_id,
            mailbox_id=mailbox_id,
            stage=stage,
            code=code,
            message=message,
            probability=float(probability),
            count=count,
            created_at=utcnow(),
        )
        async with self.db.write() as conn:
            # Count and insert as one step per account, in every process.
            await self.dialect.serialise(conn, f"faults:{account_id}")
            live = await rows.count_live(conn, account_id)
            if live >= MAX_LIVE_FAULTS:
                raise QuotaExceeded(
                    f"An account may have at most {MAX_LIVE_FAULTS} live faults; delete one "
                    "first (DELETE /api/v1/faults/{id}).",
                    limit="max_faults",
                    allowed=MAX_LIVE_FAULTS,
                    used=live,
                    resource=Resource.FAULT,
                )
            await rows.prune_exhausted(conn, account_id, KEEP_EXHAUSTED)
            await rows.insert(conn, new)
            row = await rows.find(conn, account_id, new.id)
        self.forget()
        return _info(row)

    async def list(self, principal: Principal) -> builtins.list[FaultInfo]:
        """The account's faults, newest first, live and exhausted, each with `fired`."""
        account_id = self._account(principal, "mailboxes:read")
        async with self.db.read() as conn:
            return [_info(row) for row in await rows.list_for_account(conn, account_id)]

    async def get(self, principal: Principal, fault_id: str) -> FaultInfo:
        account_id = self._account(principal, "mailboxes:read")
        row = None
        if is_id(fault_id):
            async with self.db.read() as conn:
                row = await rows.find(conn, account_id, fault_id)
        if row is None:  # another account's fault is indistinguishable from none
            raise NotFound("No such fault.", resource=Resource.FAULT)
        return _info(row)

    async def delete(self, principal: Principal, fault_id: str) -> None:
        """Remove a fault; SMTP stops answering with it (other processes within a second)."""
        account_id = self._account(principal, "mailboxes:write")
        deleted = False
        if is_id(fault_id):
            async with self.db.write() as conn:
                deleted = await rows.delete(conn, account_id, fault_id)
        if not deleted:
            raise NotFound("No such fault.", resource=Resource.FAULT)
        self.forget()

    # -- for SMTP ------------------------------------------------------------------------------

    def forget(self) -> None:
        """Read the live faults again before the next match (this process changed them)."""
        self._fresh_until = 0.0

    async def _refresh(self) -> None:
        async with self._refreshing:
            if self._fresh_until > time.monotonic():
                return  # another session refreshed it while this one waited
            view: dict[str, builtins.list[Fault]] = {}
            try:
                async with self.db.read() as conn:
                    for row in await rows.live(conn):
                        view.setdefault(row.account_id, []).append(Fault.from_row(row))
            except Exception:
                # Injected faults must never break real mail: keep the old view a while.
                log.exception("could not read the live faults; keeping the previous view")
            else:
                self._view = {account: tuple(found) for account, found in view.items()}
            self._fresh_until = time.monotonic() + REFRESH_SECONDS

    async def live_for(self, account_id: str) -> tuple[Fault, ...]:
        """The account's live faults, oldest first (from this process's view)."""
        if self._fresh_until <= time.monotonic():
            await self._refresh()
        return self._view.get(account_id, ())

    async def fire(self, fault: Fault) -> bool:
        """One match of `fault`: True when it fires (its probability drawn, then counted by
        the conditional UPDATE), False when the draw missed or it ran out meanwhile."""
        if fault.probability < 1 and not self.draw() < fault.probability:
            return False
        try:
            async with self.db.write() as conn:
                fired = await rows.fire(conn, fault.id)
        except Exception:
            log.exception("could not count a fault's firing; not injecting it")
            return False
        if fired is None or (fired.remaining is not None and fired.remaining <= 0):
            self._drop(fault)
        return fired is not None

    def _drop(self, fault: Fault) -> None:
        """Leave an exhausted (or deleted) fault out of this process's view."""
        kept = tuple(f for f in self._view.get(fault.account_id, ()) if f.id != fault.id)
        if kept:
            self._view[fault.account_id] = kept
        else:
            self._view.pop(fault.account_id, None)

    async def first_firing(self, candidates: Iterable[Fault]) -> Fault | None:
        """The first of `candidates` (in order) that fires, each drawn at most once."""
        for fault in candidates:
            if await self.fire(fault):
                return fault
        return None
