"""The aiosmtpd handler: RCPT decisions and DATA -> pipeline. Hooks return the SMTP reply."""

from __future__ import annotations

import logging
from typing import Any

from aiosmtpd.smtp import SMTP, Session
from aiosmtpd.smtp import Envelope as SMTPEnvelope

from inboxkit.config import Settings
from inboxkit.errors import MailboxFull, RateLimited
from inboxkit.mail.addresses import split_address
from inboxkit.metrics import Metrics
from inboxkit.pipeline import Envelope, NoRecipients, Pipeline
from inboxkit.pipeline.recipients import Recipient
from inboxkit.services.admission import Admission, Refusal, over_quota, unresolved
from inboxkit.services.capture import CaptureService
from inboxkit.services.faults import FaultService
from inboxkit.services.mailboxes import MailboxService
from inboxkit.services.quotas import DeliveryQuotas
from inboxkit.smtp.faults import FaultReplies
from inboxkit.smtp.session import InboxSession
from inboxkit.smtp.tls import tls_details

__all__ = ["InboxHandler"]

log = logging.getLogger(__name__)

# RFC 5321 §4.5.3.1.8 lets a server cap recipients with 452; clients send the rest later.
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
# Unknown mailbox (550 5.1.1), foreign domain (550 5.7.1), mailbox full (452 4.2.2) and too
# big for the plan (552 5.3.4) are answered from services/admission.py, which HTTP ingest
# shares.
# RFC 3463 4.3.0: a transient system problem. Never carries internal detail.
TRY_AGAIN = "451 4.3.0 Temporary failure, please try again later"
# RFC 3463 5.1.3: bad destination mailbox address syntax (a captured recipient is any
# address, but it must be one).
NOT_AN_ADDRESS = "553 5.1.3 That is not an email address"
# RFC 3463 4.7.0: a temporary refusal for policy reasons: the plan's write rate.
CAPTURE_TOO_FAST = "451 4.7.0 {message}"


def _declared_size(options: list[str]) -> int | None:
    """The size a client declared with MAIL FROM's SIZE= (RFC 1870), if any."""
    for option in options:
        name, _, value = option.partition("=")
        if name.upper() == "SIZE" and value.isdigit():
            return int(value)
    return None


# aiosmtpd looks up methods by these prefixes when it builds a session's tables.
_TABLE_PREFIXES = ("auth_", "smtp_", "handle_")


_TABLE_NAMES: dict[type, list[str]] = {}


def method_table_names(cls: type) -> list[str]:
    """What dir() lists for a session or this handler (`InboxSMTP.__dir__`): the class's
    attributes with the prefixes aiosmtpd looks up, which is where those methods live. aiosmtpd
    walks dir() of both for every connection; computed once per class."""
    names = _TABLE_NAMES.get(cls)
    if names is None:
        names = sorted(name for name in dir(cls) if name.startswith(_TABLE_PREFIXES))
        _TABLE_NAMES[cls] = names
    return names


class InboxHandler:
    """The aiosmtpd handler: accepts RCPT only for live mailboxes and hands DATA to the
    pipeline, answering 250 only once the message is committed."""

    def __dir__(self) -> list[str]:
        return method_table_names(type(self))

    def __init__(
        self,
        settings: Settings,
        mailboxes: MailboxService,
        pipeline: Pipeline,
        metrics: Metrics | None = None,
        quotas: DeliveryQuotas | None = None,
        *,
        capture: CaptureService | None = None,
        faults: FaultService | None = None,
    ):
        self.settings = settings
        self.mailboxes = mailboxes
        self.pipeline = pipeline
        self.metrics = metrics or Metrics()
        self.quotas = quotas
        self.admission = Admission(mailboxes, quotas, self.metrics)
        # Replies an account injected into its own mail (smtp/faults.py).
        self.faults = FaultReplies(faults) if faults is not None else None
        # Set when SMTP capture is on (INBOXKIT_SMTP_CAPTURE): AUTH is offered and an
        # authenticated session's mail goes to its account's capture mailbox.
        self.capture = capture

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: SMTPEnvelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        # aiosmtpd lists AUTH whenever its own TLS rule allows; whether we offer it depends
        # on capture being on and on the connection (smtp/server.py `may_authenticate`).
        session.host_name = hostname
        offered = getattr(server, "may_authenticate", None)
        if offered is not None and offered():
            return responses
        return [line for line in responses if not line.startswith("250-AUTH")]

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: SMTPEnvelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        captured = session.capture if isinstance(session, InboxSession) else None
        if captured is not None and self.capture is not None:
            # Each captured message counts against the plan's write rate.
            try:
                await self.capture.admit(captured)
            except RateLimited as exc:
                return CAPTURE_TOO_FAST.format(message=exc.message)
            if self.faults is not None:
                injected = await self.faults.at_mail(
                    session, envelope, captured.account_id, self.capture.recipient
                )
                if injected is not None:
                    return injected  # MAIL refused: the sender is not set
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: SMTPEnvelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if len(envelope.rcpt_tos) >= self.settings.max_recipients:
            return TOO_MANY_RECIPIENTS
        captured = session.capture if isinstance(session, InboxSession) else None
        try:
            if captured is not None and captured.account_id is not None and self.capture:
                if split_address(address) is None:
                    return NOT_AN_ADDRESS
                found = await self.capture.recipient(captured.account_id)
            else:
                found = await self.mailboxes.resolve_recipient(address)
        except Exception:
            log.exception("recipient lookup failed")
            return TRY_AGAIN
        refusal = unresolved(found)
        if refusal is not None:
            # Counted so a session guessing addresses can be ended (InboxSMTP.smtp_RCPT).
            if isinstance(session, InboxSession):
                session.refused_recipients += 1
            return refusal.reply
        if self.faults is not None:
            injected = await self.faults.at_rcpt(server, session, envelope, found)
            if injected is not None:
                return injected
        # Kept on the (per-transaction) envelope so DATA does not resolve the address again.
        resolved: list[Recipient] | None = getattr(envelope, "inboxkit_resolved", None)
        if resolved is None:
            resolved = envelope.inboxkit_resolved = []  # type: ignore[attr-defined]
        # One message (and one hold) per mailbox however many recipients reach it: captured
        # mail names many addresses that all land in the one capture mailbox.
        if all(earlier.mailbox_id != found.mailbox_id for earlier in resolved):
            refused = await self._hold(session, envelope, found)
            if refused is not None:
                return refused
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        resolved.append(found)
        return "250 2.1.5 OK"

    async def _hold(self, session: Session, envelope: SMTPEnvelope, found: Recipient) -> str | None:
        """Take the recipient's quota hold, or the reply refusing it (services/admission.py)."""
        if self.quotas is None:
            return None
        hold = await self.admission.hold(found, _declared_size(envelope.mail_options))
        if isinstance(hold, Refusal):
            return hold.reply
        if hold is not None and isinstance(session, InboxSession):
            session.holds.append(hold)
        return None

    async def handle_exception(self, error: Exception) -> str:
        # aiosmtpd's default answer names the exception and its text; a client must never see
        # internals, so an unexpected failure in any command is a plain temporary failure.
        log.error("SMTP command failed", exc_info=error)
        self.metrics.smtp_replies.labels("451").inc()
        return TRY_AGAIN

    async def handle_DATA(self, server: SMTP, session: Session, envelope: SMTPEnvelope) -> str:
        if self.faults is not None:
            injected = await self.faults.at_data(session, envelope)
            if injected is not None:
                self.metrics.smtp_replies.labels(injected[:3]).inc()
                return injected
        raw: Any = envelope.original_content or b""
        # The real client (after a trusted proxy's PROXY header), else the socket peer.
        peer = getattr(server, "client_host", None) or (
            session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        )
        tls = tls_details((session.ssl or {}).get("ssl_object")) if session.ssl else None
        captured = session.capture if isinstance(session, InboxSession) else None
        delivery = Envelope(
            mail_from=envelope.mail_from or "",
            rcpt_tos=list(envelope.rcpt_tos),
            remote_addr=peer,
            helo=session.host_name,
            via="smtp" if captured is not None else None,
            tls=tls,
        )
        resolved: list[Recipient] | None = getattr(envelope, "inboxkit_resolved", None)
        for found in resolved or ():
            refusal = self.admission.check_size(found, len(raw))
            if refusal is not None:
                self.metrics.smtp_replies.labels("552").inc()
                return refusal.reply

        async def counted(_conn: Any, _stored: Any) -> None:
            # The storing transaction has counted the message: the holds are redundant now.
            if isinstance(session, InboxSession):
                session.release_holds(counted=True)

        try:
            stored = await self.pipeline.deliver(
                delivery, bytes(raw), resolved=resolved, also=counted
            )
        except MailboxFull as exc:
            # Another process's sessions took the last slots after RCPT: still never stored.
            self.metrics.smtp_replies.labels("452").inc()
            return self.admission.refused(over_quota(exc)).reply
        except NoRecipients:
            self.metrics.smtp_replies.labels("550").inc()
            return "550 5.1.1 No recipient mailbox is live any more"
        except Exception:
            log.exception("could not store a message; answering 451")
            self.metrics.smtp_replies.labels("451").inc()
            return TRY_AGAIN
        self.metrics.smtp_replies.labels("250").inc()
        self.metrics.delivered.inc(len(stored))
        return f"250 2.0.0 OK: queued as {stored[0]['id']}"
