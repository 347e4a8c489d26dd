"""Where an SMTP session answers an account's injected faults (services/faults.py).

A plain SMTP session does not say whose mail it carries until RCPT names a mailbox, and a
fault must never touch another account's mail. So every stage is decided at a point where the
account is known and nothing of another account is at stake:

- `rcpt`: each RCPT naming a mailbox the fault covers is answered with the fault's reply
  (the recipient is not added; the transaction goes on).
- `mail`: at the first recipient of a transaction (no recipient accepted yet) that the fault
  covers, the RCPT is answered with the fault's reply and the transaction is reset, as if MAIL
  had been refused: the client starts again with MAIL. Drawn once per transaction.
- `connect`: at the same point, the reply is sent and the session closed, as a server that
  refuses a session does (RFC 5321 §3.1). Drawn once per session.
- `data`: after the message data is read, when the fault covers every recipient of the message,
  DATA is answered with the fault's reply and nothing is stored. A message that also goes to
  mailboxes it does not cover is delivered normally: one DATA reply cannot refuse part of it.

Any `421` reply ends the session after it is sent (RFC 5321 §3.8). An SMTP AUTH capture session
knows its account from AUTH and delivers every recipient to the capture mailbox, so there
`connect` and `mail` are answered at MAIL itself (`FaultReplies.at_mail`), `rcpt` at each RCPT
and `data` at DATA.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiosmtpd.smtp import SMTP, Session
from aiosmtpd.smtp import Envelope as SMTPEnvelope

from inboxkit.pipeline.recipients import Recipient
from inboxkit.services.faults import Fault, FaultService, FaultStage

__all__ = ["FaultReplies", "ends_session"]

log = logging.getLogger(__name__)

_SESSION_STATE = "inboxkit_faults"
_TRANSACTION_STATE = "inboxkit_faults_drawn"


@dataclass
class _SessionFaults:
    """What faults did to one connection: connect faults already drawn, and whether the reply
    being sent is the session's last."""

    drawn: set[str] = field(default_factory=set)
    closing: bool = False


def _session_state(session: Session) -> _SessionFaults:
    state = getattr(session, _SESSION_STATE, None)
    if state is None:
        state = _SessionFaults()
        setattr(session, _SESSION_STATE, state)
    return state


def _drawn_in_transaction(envelope: SMTPEnvelope) -> set[str]:
    """Mail faults already drawn in this transaction (kept on aiosmtpd's per-transaction
    envelope, so a new MAIL starts afresh)."""
    drawn: set[str] | None = getattr(envelope, _TRANSACTION_STATE, None)
    if drawn is None:
        drawn = set()
        setattr(envelope, _TRANSACTION_STATE, drawn)
    return drawn


def ends_session(session: Session | None) -> bool:
    """Whether the reply just sent was a fault's that closes the connection."""
    state = getattr(session, _SESSION_STATE, None)
    return state is not None and state.closing


class FaultReplies:
    """The SMTP handler's side of fault injection: the reply a command gets, if a fault fires."""

    def __init__(self, faults: FaultService):
        self.faults = faults

    def _answer(self, session: Session, fault: Fault) -> str:
        if fault.closes_session:
            _session_state(session).closing = True
        log.info("answering with injected fault %s: %s", fault.id, fault.reply)
        return fault.reply

    async def _session_start(
        self,
        session: Session,
        envelope: SMTPEnvelope,
        faults: tuple[Fault, ...],
        mailbox_id: str | None,
    ) -> Fault | None:
        """The connect or mail fault that fires at the start of a transaction, if any."""
        state = _session_state(session)
        drawn = _drawn_in_transaction(envelope)
        candidates: list[Fault] = []
        for stage, seen in ((FaultStage.CONNECT, state.drawn), (FaultStage.MAIL, drawn)):
            for fault in faults:
                if fault.stage is stage and fault.covers(mailbox_id) and fault.id not in seen:
                    seen.add(fault.id)
                    candidates.append(fault)
        return await self.faults.first_firing(candidates)

    async def at_rcpt(
        self, server: SMTP, session: Session, envelope: SMTPEnvelope, found: Recipient
    ) -> str | None:
        """The reply to a RCPT that reached a live mailbox, when one of its account's faults
        fires; None (the usual case, a dictionary lookup) to go on."""
        if found.account_id is None:
            return None  # an anonymous mailbox: no account, no faults
        faults = await self.faults.live_for(found.account_id)
        if not faults:
            return None
        if not envelope.rcpt_tos:
            fault = await self._session_start(session, envelope, faults, found.mailbox_id)
            if fault is not None:
                if fault.stage is FaultStage.MAIL and not fault.closes_session:
                    # As if MAIL had been refused: aiosmtpd's RSET state (which ours extends to
                    # give back quota holds) drops the sender and the transaction's state.
                    server._set_rset_state()
                return self._answer(session, fault)
        candidates = [
            f for f in faults if f.stage is FaultStage.RCPT and f.covers(found.mailbox_id)
        ]
        fault = await self.faults.first_firing(candidates)
        return None if fault is None else self._answer(session, fault)

    async def at_mail(
        self,
        session: Session,
        envelope: SMTPEnvelope,
        account_id: str | None,
        capture_mailbox: Callable[[str], Awaitable[Recipient]],
    ) -> str | None:
        """For an SMTP AUTH capture session, whose account is known before RCPT and whose every
        recipient reaches the account's capture mailbox: the reply to MAIL when a connect or
        mail fault covering that mailbox fires, else None. The caller leaves the sender unset
        on a reply, so the client must send MAIL again (or reconnect, after `connect`)."""
        if account_id is None:
            return None
        faults = await self.faults.live_for(account_id)
        if not faults:
            return None  # the usual case: no lookup of the capture mailbox at all
        try:
            mailbox_id = (await capture_mailbox(account_id)).mailbox_id
        except Exception:
            log.exception("could not find the capture mailbox; no fault injected at MAIL")
            return None
        fault = await self._session_start(session, envelope, faults, mailbox_id)
        return None if fault is None else self._answer(session, fault)

    async def at_data(self, session: Session, envelope: SMTPEnvelope) -> str | None:
        """The reply to DATA (the data read, nothing stored yet) when a data fault covering
        every recipient of the message fires; None to deliver it."""
        resolved: list[Recipient] = getattr(envelope, "inboxkit_resolved", None) or []
        accounts = {found.account_id for found in resolved}
        if len(accounts) != 1 or None in accounts:
            return None  # no recipient, or several accounts (or an anonymous mailbox) share it
        (account_id,) = accounts
        assert account_id is not None
        faults = await self.faults.live_for(account_id)
        if not faults:
            return None
        candidates = [
            f
            for f in faults
            if f.stage is FaultStage.DATA and all(f.covers(r.mailbox_id) for r in resolved)
        ]
        fault = await self.faults.first_firing(candidates)
        return None if fault is None else self._answer(session, fault)
