"""deliver(): resolve mailboxes -> parse -> extract -> store (one commit) -> publish.

SMTP DATA, HTTP ingest and local delivery of sent mail all call `Pipeline.deliver`. It returns
only after the commit, so a caller that acknowledges on return (SMTP's 250) never acknowledges
mail that is not on disk. Publishing happens after the commit and is only a wake-up.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from inboxkit.bus import Bus
from inboxkit.errors import InboxKitError
from inboxkit.mail.parse import ParsedMessage
from inboxkit.mail.pool import ParserPool
from inboxkit.pipeline.recipients import Recipient, RecipientResolver, RecipientStatus
from inboxkit.records import MessageSummary, jsonable
from inboxkit.senders import SenderVerifier
from inboxkit.spam import Receiver, ScoredMessage, SpamFilter
from inboxkit.store.batch import CommitBatcher
from inboxkit.store.messages import StoreHook, Target, encode_content, new_delivery

__all__ = ["Authenticated", "Envelope", "NoRecipients", "Pipeline", "StoreHook"]

log = logging.getLogger(__name__)


class NoRecipients(InboxKitError):
    """None of a delivery's recipients is a live mailbox (any more): SMTP answers 550, so the
    sender does not retry."""

    code, status, default_message = "not_found", 404, "None of the recipients is a live mailbox."


@dataclass(frozen=True, slots=True)
class Authenticated:
    """Sender authentication another MTA already did (SES's verdicts), stored as the
    message's `authentication` and `from_verified`."""

    results: dict[str, Any]
    from_verified: bool


@dataclass(slots=True)
class Envelope:
    """The SMTP envelope of a delivery (or its equivalent for HTTP ingest and sent mail), stored
    with each message."""

    mail_from: str
    rcpt_tos: list[str]
    remote_addr: str | None = None
    helo: str | None = None
    # How captured mail reached us (`smtp`, `esp:postmark`, …); None for mail received as such.
    via: str | None = None
    # The TLS version and cipher of an encrypted SMTP session; None in clear.
    tls: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        recorded: dict[str, Any] = {
            "mail_from": self.mail_from,
            "rcpt_to": self.rcpt_tos,
            "remote_addr": self.remote_addr,
            "helo": self.helo,
        }
        if self.via is not None:
            recorded["via"] = self.via
        if self.tls is not None:
            recorded["tls"] = self.tls
        return recorded


class Pipeline:
    """The one path by which mail is stored: resolve recipients, parse, extract, commit, publish
    (see the module doc)."""

    def __init__(
        self,
        recipients: RecipientResolver,
        parser: ParserPool,
        batcher: CommitBatcher,
        bus: Bus,
        senders: SenderVerifier | None = None,
        spam: SpamFilter | None = None,
    ):
        self.recipients = recipients
        self.parser = parser
        self.batcher = batcher
        self.bus = bus
        # SPF/DKIM/DMARC for mailboxes whose mode asks for it (INBOXKIT_VERIFY_SENDERS).
        self.senders = senders
        # Scores inbound mail and applies allow and block lists (INBOXKIT_SPAM_FILTER).
        self.spam = spam

    async def _targets(
        self, rcpt_tos: list[str], resolved: list[Recipient] | None = None
    ) -> list[Target]:
        """Live recipient mailboxes, one target per mailbox with every +tag it was sent to."""
        if resolved is None:
            resolved = [await self.recipients.resolve_recipient(address) for address in rcpt_tos]
        targets: dict[str, Target] = {}
        for found in resolved:
            if (
                found.status is not RecipientStatus.OK
                or found.mailbox_id is None
                or found.address is None
            ):
                continue
            target = targets.setdefault(
                found.mailbox_id,
                Target(
                    found.mailbox_id,
                    found.address,
                    authenticate=self.senders is not None and self.senders.wants(found.mode),
                    account_id=found.account_id,
                    mode=found.mode,
                ),
            )
            if found.tag and found.tag not in target.tags:
                target.tags.append(found.tag)
        return list(targets.values())

    async def deliver(
        self,
        envelope: Envelope,
        raw: bytes,
        *,
        direction: str = "inbound",
        extra: dict[str, Any] | None = None,
        also: StoreHook | None = None,
        resolved: list[Recipient] | None = None,
        authentication: Authenticated | None = None,
    ) -> list[MessageSummary]:
        """Store `raw` once and give every live recipient mailbox its own message row.

        Returns the stored summaries; raises NoRecipients when no recipient is live any more,
        and whatever the store raised when the commit failed (nothing is acknowledged then).
        `also` runs inside the same transaction after the store hooks; if it raises, nothing
        is stored. `resolved` passes recipients already resolved (SMTP resolves them at RCPT
        time); the storing transaction re-checks that each mailbox still exists either way.
        `authentication` is what the receiving MTA concluded (Amazon SES): it is kept for
        every target instead of checking here, where neither the client address nor the
        original SMTP session is known.
        """
        targets = await self._targets(envelope.rcpt_tos, resolved)
        if not targets:
            raise NoRecipients()
        if authentication is not None:
            for target in targets:
                target.authenticate = True
        return await self._store(
            targets, envelope, raw, direction, extra or {}, also, authentication
        )

    async def store_sent(
        self,
        mailbox_id: str,
        address: str,
        envelope: Envelope,
        raw: bytes,
        *,
        extra: dict[str, Any] | None = None,
        also: StoreHook | None = None,
    ) -> MessageSummary:
        """Store a message this server sends as one `outbound` row in the sender's mailbox,
        through the same parse-and-store path as received mail; `also` runs in the same
        transaction (the outbox row is queued there, so a stored message is never unsent)."""
        target = Target(mailbox_id, address)
        (stored,) = await self._store([target], envelope, raw, "outbound", extra or {}, also)
        return stored

    async def _store(
        self,
        targets: list[Target],
        envelope: Envelope,
        raw: bytes,
        direction: str,
        extra: dict[str, Any],
        also: StoreHook | None,
        given: Authenticated | None = None,
    ) -> list[MessageSummary]:
        authentication: dict[str, Any] | None = None
        from_verified = False
        if given is not None:
            authentication, from_verified = dict(given.results), given.from_verified
            parsed = await self.parser.parse(raw)
        elif (
            self.senders is not None
            and direction == "inbound"
            and envelope.via is None
            and any(target.authenticate for target in targets)
        ):
            # SPF and DKIM need only the envelope and the bytes: they run while the message
            # is parsed; DMARC then needs the From header. All within the DNS budget.
            parsed, checks = await asyncio.gather(
                self.parser.parse(raw),
                self.senders.check(envelope.mail_from, envelope.helo, envelope.remote_addr, raw),
            )
            if checks is not None:
                auth, from_verified = await self.senders.conclude(checks, parsed.from_addr)
                authentication = dict(auth)
        else:
            parsed = await self.parser.parse(raw)
        verdicts: dict[str, tuple[dict[str, Any], bool]] | None = None
        if self.spam is not None and direction == "inbound":
            verdicts = await self._judge(targets, envelope, raw, parsed, authentication)
        delivery = new_delivery(
            parsed,
            raw,
            await encode_content(raw, parsed),
            envelope=envelope.to_dict(),
            targets=targets,
            direction=direction,
            extra=extra,
            also=also,
            authentication=authentication,
            from_verified=from_verified,
            spam=verdicts,
        )
        stored = await self.batcher.store(delivery)
        if not stored:
            raise NoRecipients()
        addresses = {target.mailbox_id: target.address for target in targets}
        for item in stored:
            if verdicts is not None and verdicts[item["mailbox_id"]][1]:
                # Hidden (spam in an agent mailbox): stored, but nobody waiting is woken.
                continue
            await self.bus.publish(
                {
                    "event": "message.received" if direction == "inbound" else "message.stored",
                    "mailbox_id": item["mailbox_id"],
                    "mailbox": addresses[item["mailbox_id"]],
                    "message": jsonable(item),
                }
            )
        return stored

    async def _judge(
        self,
        targets: list[Target],
        envelope: Envelope,
        raw: bytes,
        parsed: ParsedMessage,
        authentication: dict[str, Any] | None,
    ) -> dict[str, tuple[dict[str, Any], bool]]:
        """Each target's spam verdict and whether it hides the message: one engine score for
        the message, then each mailbox's allow and block lists."""
        assert self.spam is not None
        result = await self.spam.score(
            ScoredMessage(
                raw=raw,
                mail_from=envelope.mail_from,
                rcpt_tos=envelope.rcpt_tos,
                remote_addr=envelope.remote_addr,
                helo=envelope.helo,
                from_addr=parsed.from_addr,
                subject=parsed.subject,
                text=parsed.text,
                html=parsed.html,
                authentication=authentication,
                headers=parsed.headers,
            )
        )
        receivers = [Receiver(t.mailbox_id, t.account_id, t.mode) for t in targets]
        senders = [envelope.mail_from, parsed.from_addr]
        decided = await self.spam.verdicts(result, receivers, senders)
        return {key: (dict(v.spam), v.hidden) for key, v in decided.items()}
