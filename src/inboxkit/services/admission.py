"""Whether a recipient may receive a message: the one set of rules SMTP's RCPT and DATA and
HTTP ingest (`services/ingest.py`) answer with.

A recipient is refused when its address is not one of our domains, when no live mailbox has
it, when its mailbox or account is at its plan's ceiling (`services/quotas.py` holds the slot
of an admitted recipient until the delivery is counted), or when the message is larger than its
plan allows. Each refusal carries a stable reason, the SMTP reply SMTP sends for it, and a
sentence for an HTTP caller, so the two surfaces can never disagree about what was refused and
why.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from inboxkit.errors import MailboxFull, MessageTooLarge
from inboxkit.metrics import Metrics
from inboxkit.pipeline.recipients import Recipient, RecipientResolver, RecipientStatus
from inboxkit.services.quotas import DeliveryQuotas, Hold, check_size

__all__ = ["Admission", "Admitted", "Refusal", "RefusalReason"]


class RefusalReason(StrEnum):
    """Why a recipient was refused: the stable codes HTTP ingest answers with."""

    FOREIGN_DOMAIN = "foreign_domain"
    UNKNOWN_MAILBOX = "unknown_mailbox"
    MAILBOX_FULL = "mailbox_full"
    MESSAGE_TOO_LARGE = "message_too_large"


@dataclass(frozen=True, slots=True)
class Refusal:
    """One refused recipient: why (`reason`), the full SMTP reply line SMTP answers, and the
    sentence an HTTP caller reads (what to do about it)."""

    reason: RefusalReason
    reply: str
    message: str
    # The plan field behind a quota refusal (`max_messages_per_mailbox`, …), else None.
    limit: str | None = None

    @property
    def smtp(self) -> str:
        """The reply's code and enhanced status code (`550 5.1.1`)."""
        return " ".join(self.reply.split(" ", 2)[:2])


@dataclass(slots=True)
class Admitted:
    """An accepted recipient and the quota hold it keeps until its delivery is counted."""

    recipient: Recipient
    hold: Hold | None = None


# RFC 3463 5.7.1: delivery not authorized; we are not a relay for other domains.
NOT_OUR_DOMAIN = Refusal(
    RefusalReason.FOREIGN_DOMAIN,
    "550 5.7.1 Relaying denied: this server does not receive mail for that domain",
    "This server does not receive mail for that domain; use an address of one of its domains.",
)
# RFC 3463 5.1.1: bad destination mailbox address.
NO_SUCH_MAILBOX = Refusal(
    RefusalReason.UNKNOWN_MAILBOX,
    "550 5.1.1 No such mailbox here",
    "No live mailbox has this address (never made, deleted or expired); create it first.",
)


def _full(exc: MailboxFull) -> Refusal:
    # RFC 3463 4.2.2: mailbox full — the recipient's plan ceiling; the sender keeps the
    # message and retries later.
    return Refusal(
        RefusalReason.MAILBOX_FULL,
        f"452 4.2.2 {exc.message} Try again later.",
        f"{exc.message} Delete messages or ask for a larger plan, then try again.",
        exc.limit,
    )


def _too_big(exc: MessageTooLarge) -> Refusal:
    # RFC 3463 5.3.4: message too big for the system (here: for the recipient's plan).
    return Refusal(
        RefusalReason.MESSAGE_TOO_LARGE, f"552 5.3.4 {exc.message}", exc.message, exc.limit
    )


def unresolved(found: Recipient) -> Refusal | None:
    """The refusal of an address that reaches no live mailbox, or None when it does."""
    if found.status is RecipientStatus.OK:
        return None
    return NOT_OUR_DOMAIN if found.status is RecipientStatus.FOREIGN else NO_SUCH_MAILBOX


def over_quota(exc: MailboxFull | MessageTooLarge) -> Refusal:
    """The refusal for a plan ceiling the storing transaction (or a check) raised."""
    return _full(exc) if isinstance(exc, MailboxFull) else _too_big(exc)


class Admission:
    """Resolves recipients and holds their quota slots (see the module doc)."""

    def __init__(
        self,
        recipients: RecipientResolver,
        quotas: DeliveryQuotas | None,
        metrics: Metrics | None = None,
    ):
        self.recipients = recipients
        self.quotas = quotas
        self.metrics = metrics or Metrics()

    def refused(self, refusal: Refusal) -> Refusal:
        """Count a quota refusal by its limit (`inboxkit_quota_refusals`); returns it."""
        if refusal.reason in (RefusalReason.MAILBOX_FULL, RefusalReason.MESSAGE_TOO_LARGE):
            self.metrics.quota_refusals.labels(refusal.limit or "unknown").inc()
        return refusal

    async def hold(self, found: Recipient, size: int | None = None) -> Hold | Refusal | None:
        """Take a resolved recipient's quota hold (None when its plan has no ceiling to hold),
        or the refusal: its mailbox or account is full, or `size` (declared or actual) is over
        its plan's `max_message_bytes`."""
        try:
            if self.quotas is None:
                if size is not None:
                    check_size(found.plan, size)
                return None
            return await self.quotas.reserve(found, size)
        except (MailboxFull, MessageTooLarge) as exc:
            return self.refused(over_quota(exc))

    def check_size(self, found: Recipient, size: int) -> Refusal | None:
        """The refusal of a message over the recipient's plan's `max_message_bytes`."""
        try:
            check_size(found.plan, size)
        except MessageTooLarge as exc:
            return self.refused(_too_big(exc))
        return None

    async def admit(self, address: str, size: int) -> Admitted | Refusal:
        """Resolve `address` and hold its slot for a message of `size` bytes, or refuse it.
        Lookup failures propagate (the caller answers "try again later")."""
        found = await self.recipients.resolve_recipient(address)
        refusal = unresolved(found)
        if refusal is not None:
            return refusal
        held = await self.hold(found, size)
        if isinstance(held, Refusal):
            return held
        return Admitted(found, held)
