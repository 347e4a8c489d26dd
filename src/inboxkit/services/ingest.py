"""Mail over HTTP: a message's bytes and its recipients handed over by an operator's system
(`POST /inbound/raw`) or by Amazon SES (`services/sns.py`), delivered through the one pipeline.

Each recipient is admitted by the rules SMTP answers RCPT with (`services/admission.py`), so
the answer names every refused recipient with the reason SMTP would have given; the admitted
ones get the message in one delivery, which returns only after its commit. A delivery that
cannot be stored raises `Unavailable` (503): nothing is claimed delivered that is not on disk.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parseaddr
from typing import Any

from sqlalchemy.exc import IntegrityError

from inboxkit.config import Settings
from inboxkit.errors import (
    MailboxFull,
    MessageTooLarge,
    PayloadTooLarge,
    Unavailable,
    ValidationFailed,
)
from inboxkit.metrics import Metrics
from inboxkit.pipeline import Authenticated, Envelope, NoRecipients, Pipeline, Recipient
from inboxkit.pipeline.deliver import StoreHook
from inboxkit.services.admission import (
    NO_SUCH_MAILBOX,
    Admission,
    Refusal,
    over_quota,
    unresolved,
)
from inboxkit.services.auth import Principal
from inboxkit.services.quotas import Hold

__all__ = ["IngestResult", "IngestService", "RefusedRecipient", "DeliveredRecipient"]

log = logging.getLogger(__name__)

# Where a header From is looked for when no envelope sender is given: the header section is
# at its start, and a From past this many bytes is not worth finding.
HEADER_SCAN_BYTES = 64 * 1024
MAX_ADDRESS_CHARS = 320
# What `check_recipients` accepts, as the API documents it: an "@" and no control characters.
ADDRESS_PATTERN = r"^[^\x00-\x1f\x7f]*@[^\x00-\x1f\x7f]*$"


@dataclass(frozen=True, slots=True)
class DeliveredRecipient:
    """A recipient that received the message: the address as given and its message's id."""

    address: str
    message_id: str


@dataclass(frozen=True, slots=True)
class RefusedRecipient:
    """A recipient that did not receive the message, and why."""

    address: str
    refusal: Refusal

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "reason": self.refusal.reason.value,
            "message": self.refusal.message,
            "smtp": self.refusal.smtp,
        }


@dataclass(slots=True)
class IngestResult:
    """Every recipient of one ingested message: delivered or refused."""

    delivered: list[DeliveredRecipient] = field(default_factory=list)
    refused: list[RefusedRecipient] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "delivered": [
                {"address": d.address, "message_id": d.message_id} for d in self.delivered
            ],
            "refused": [r.to_dict() for r in self.refused],
        }


def header_sender(raw: bytes) -> str:
    """The address of the message's From header, or "" (read from the header section's first
    HEADER_SCAN_BYTES only: linear and bounded whatever the message)."""
    head = raw[:HEADER_SCAN_BYTES]
    try:
        headers = BytesHeaderParser(policy=compat32).parsebytes(head, headersonly=True)
        _name, address = parseaddr(str(headers.get("From", "")))
    except Exception:  # malformed headers: the parsed message will say more
        return ""
    # PostgreSQL's JSON cannot hold a NUL; an address never holds a control character.
    if len(address) > MAX_ADDRESS_CHARS or any(ord(c) < 0x20 or ord(c) == 0x7F for c in address):
        return ""
    return address


class IngestService:
    """Delivers mail handed over HTTP to the recipients it names (see the module doc)."""

    def __init__(
        self,
        settings: Settings,
        admission: Admission,
        pipeline: Pipeline,
        metrics: Metrics | None = None,
    ):
        self.settings = settings
        self.admission = admission
        self.pipeline = pipeline
        self.metrics = metrics or Metrics()

    def check_recipients(self, to: list[str]) -> list[str]:
        """The distinct recipients (first spelling kept), or ValidationFailed for none, too
        many, or one that is not a plausible address."""
        distinct = list({address.lower(): address for address in to}.values())
        if not distinct:
            raise ValidationFailed("Name at least one recipient with `to`.")
        if len(distinct) > self.settings.max_recipients:
            raise ValidationFailed(
                f"At most {self.settings.max_recipients} recipients per message; send the "
                "rest in another request."
            )
        for address in distinct:
            if (
                not 3 <= len(address) <= MAX_ADDRESS_CHARS
                or "@" not in address
                or any(ord(char) < 0x20 or ord(char) == 0x7F for char in address)
            ):
                raise ValidationFailed(f"{address[:80]!r} is not an email address.")
        return distinct

    async def ingest_raw(
        self,
        principal: Principal,
        raw: bytes,
        to: list[str],
        *,
        mail_from: str | None = None,
        remote_addr: str | None = None,
    ) -> IngestResult:
        """Deliver `raw`, exactly as given, to each of `to` that is a live mailbox here (any
        account's: an `ingest` key stands for an MTA). Needs the `ingest` scope."""
        principal.require("ingest")
        if len(raw) > self.settings.max_message_bytes:
            raise PayloadTooLarge(
                f"Messages may be at most {self.settings.max_message_bytes} bytes; this one "
                f"is {len(raw)}."
            )
        recipients = self.check_recipients(to)
        envelope = Envelope(
            mail_from=mail_from if mail_from is not None else header_sender(raw),
            rcpt_tos=recipients,
            remote_addr=remote_addr,
            helo="http",
        )
        return await self.deliver(envelope, raw)

    async def deliver(
        self,
        envelope: Envelope,
        raw: bytes,
        *,
        authentication: Authenticated | None = None,
        also: StoreHook | None = None,
    ) -> IngestResult:
        """Admit each of `envelope.rcpt_tos`, deliver to the admitted in one commit and say
        what became of each. `also` runs in the storing transaction (nothing is stored if it
        raises). Raises Unavailable when nothing could be stored for a storage reason."""
        result = IngestResult()
        admitted: list[tuple[str, Recipient]] = []
        holds: list[Hold] = []
        try:
            try:
                for address in envelope.rcpt_tos:
                    found = await self.admission.recipients.resolve_recipient(address)
                    refusal = unresolved(found)
                    if refusal is None and all(
                        found.mailbox_id != earlier.mailbox_id for _, earlier in admitted
                    ):
                        # One hold per mailbox however many of its +tags are named (as SMTP).
                        held = await self.admission.hold(found, len(raw))
                        if isinstance(held, Refusal):
                            refusal = held
                        elif held is not None:
                            holds.append(held)
                    if refusal is not None:
                        result.refused.append(RefusedRecipient(address, refusal))
                    else:
                        admitted.append((address, found))
            except Exception:
                log.exception("recipient lookup failed during HTTP ingest")
                raise Unavailable() from None
            if not admitted:
                return result
            stored = await self._store(envelope, raw, admitted, holds, authentication, also)
        finally:
            for hold in holds:
                hold.release()
        if isinstance(stored, Refusal):
            result.refused.extend(RefusedRecipient(address, stored) for address, _ in admitted)
            return result
        by_mailbox = {item["mailbox_id"]: item["id"] for item in stored}
        for address, found in admitted:
            message_id = by_mailbox.get(found.mailbox_id or "")
            if message_id is None:  # its mailbox was deleted between lookup and commit
                result.refused.append(RefusedRecipient(address, NO_SUCH_MAILBOX))
            else:
                result.delivered.append(DeliveredRecipient(address, message_id))
        self.metrics.delivered.inc(len(stored))
        return result

    async def _store(
        self,
        envelope: Envelope,
        raw: bytes,
        admitted: list[tuple[str, Recipient]],
        holds: list[Hold],
        authentication: Authenticated | None,
        also: StoreHook | None,
    ) -> list[Any] | Refusal:
        """The stored summaries, or the refusal that applies to every admitted recipient."""
        delivery = Envelope(
            mail_from=envelope.mail_from,
            rcpt_tos=[address for address, _ in admitted],
            remote_addr=envelope.remote_addr,
            helo=envelope.helo,
        )

        async def counted(conn: Any, stored: Any) -> None:
            if also is not None:
                await also(conn, stored)
            # The storing transaction has counted the message: the holds are redundant now.
            for hold in holds:
                hold.release(counted=True)

        try:
            return await self.pipeline.deliver(
                delivery,
                raw,
                resolved=[found for _, found in admitted],
                also=counted,
                authentication=authentication,
            )
        except (MailboxFull, MessageTooLarge) as exc:
            # Another process's deliveries took the last slots since the check: never stored.
            return self.admission.refused(over_quota(exc))
        except NoRecipients:
            return NO_SUCH_MAILBOX
        except Exception as exc:
            if also is not None and isinstance(exc, IntegrityError):
                raise  # the caller's claim (services/sns.py) was taken: it decides
            log.exception("could not store a message received over HTTP")
            raise Unavailable() from None
