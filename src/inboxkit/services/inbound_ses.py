"""Receiving through Amazon SES: the SNS subscription endpoint's use case (DESIGN §10).

SES receives the mail, and a receipt rule's SNS action publishes it to a topic whose HTTPS
subscription is `POST /api/v1/inbound/ses`. Every request is verified (`services/sns.py`) and
must come from a topic in INBOXKIT_SNS_TOPICS; then:

- `SubscriptionConfirmation`: its SubscribeURL is visited, which confirms the subscription;
- `Notification` with an SES receipt (`notificationType: "Received"`) that carries `content`
  (the SNS action; base64 or UTF-8 as the action's `encoding` says): the message is delivered
  to `receipt.recipients` through the one pipeline, SES's verdicts kept as its
  `authentication`. Without `content` (an S3 action's notice) nothing is stored.

SNS delivers at least once and retries anything but a 2xx, so a notification's MessageId is
claimed in `sns_messages` by the transaction that stores the message: a redelivery finds the
claim and stores nothing, and two processes storing the same redelivery at once cannot both
commit (the primary key). Refused recipients are final (SES has accepted the mail; the answer
is 200 and the refusal is logged); only a storage failure answers 503, so SNS tries again.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from enum import StrEnum
from typing import Any

from sqlalchemy.exc import IntegrityError

from inboxkit.config import Settings
from inboxkit.errors import BadRequest, Forbidden
from inboxkit.metrics import Metrics
from inboxkit.pipeline import Authenticated, Envelope
from inboxkit.services.ingest import IngestService
from inboxkit.services.sns import SnsMessage, SnsVerifier, parse_message
from inboxkit.store import sns as rows
from inboxkit.store.db import Database
from inboxkit.store.tables import utcnow

__all__ = ["SesInbound", "SnsOutcome", "ses_authentication"]

log = logging.getLogger(__name__)

PURGE_BATCH = 1000
MAX_CLOCK_SKEW = timedelta(minutes=15)


class SnsOutcome(StrEnum):
    """What a verified SNS request came to (the `inboxkit_sns_messages` metric's label)."""

    DELIVERED = "delivered"
    REFUSED = "refused"  # no recipient took it (unknown, full, too large)
    DUPLICATE = "duplicate"
    NO_CONTENT = "no_content"
    IGNORED = "ignored"  # not an SES receipt, or an UnsubscribeConfirmation
    CONFIRMED = "confirmed"


# SES verdict statuses as RFC 8601 result words: GRAY means nothing to check (no SPF record,
# no DKIM signature), PROCESSING_FAILED a check SES could not finish.
_WORDS = {"PASS": "pass", "FAIL": "fail", "GRAY": "none", "PROCESSING_FAILED": "temperror"}
_POLICIES = {"none", "quarantine", "reject"}


def _object(value: object) -> dict[str, Any]:
    """A JSON object of the notice, or an empty one for anything else."""
    return value if isinstance(value, dict) else {}


def _status(receipt: dict[str, Any], name: str) -> str | None:
    verdict = receipt.get(name)
    status = verdict.get("status") if isinstance(verdict, dict) else None
    return status if isinstance(status, str) and len(status) <= 32 else None


def _domain(address: str) -> str | None:
    _local, at, domain = address.rpartition("@")
    return domain.lower()[:253] if at and domain else None


def ses_authentication(receipt: dict[str, Any], mail: dict[str, Any]) -> Authenticated:
    """SES's verdicts in the `authentication` shape SMTP mail gets (spf, dkim, dmarc, as RFC
    8601 words), with SES's own words for all five checks under `ses`."""
    spf = _WORDS.get(_status(receipt, "spfVerdict") or "", "none")
    dkim = _WORDS.get(_status(receipt, "dkimVerdict") or "", "none")
    dmarc = _WORDS.get(_status(receipt, "dmarcVerdict") or "", "none")
    source = mail.get("source") if isinstance(mail.get("source"), str) else ""
    headers = mail.get("commonHeaders")
    senders = headers.get("from") if isinstance(headers, dict) else None
    header_from = senders[0] if isinstance(senders, list) and senders else ""
    from_domain = _domain(parseaddr(header_from)[1]) if isinstance(header_from, str) else None
    policy = receipt.get("dmarcPolicy")
    results: dict[str, Any] = {
        "spf": {"result": spf, "domain": _domain(str(source))},
        # SES gives one verdict for every signature and names none of them.
        "dkim": [] if dkim == "none" else [{"result": dkim, "domain": None, "selector": None}],
        "dmarc": {
            "result": dmarc,
            "policy": policy.lower()
            if isinstance(policy, str) and policy.lower() in _POLICIES
            else None,
            "domain": from_domain,
        },
        "ses": {
            check: _status(receipt, f"{check}Verdict")
            for check in ("spam", "virus", "spf", "dkim", "dmarc")
        },
    }
    return Authenticated(results, from_verified=dmarc == "pass")


class SesInbound:
    """The `POST /inbound/ses` use case (see the module doc)."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        verifier: SnsVerifier,
        ingest: IngestService,
        metrics: Metrics | None = None,
    ):
        self.settings = settings
        self.db = db
        self.verifier = verifier
        self.ingest = ingest
        self.metrics = metrics or Metrics()
        self.topics = frozenset(settings.sns_topics)

    async def receive(self, body: bytes) -> SnsOutcome:
        """Verify and act on one SNS request; Forbidden (nothing stored) for an unsigned or
        badly signed one or a topic not listed, Unavailable when it should be sent again."""
        if not self.topics:
            raise Forbidden(
                "This server accepts SNS messages from no topic; its operator lists the SES "
                "topics in INBOXKIT_SNS_TOPICS."
            )
        message = parse_message(body)
        if message["TopicArn"] not in self.topics:
            log.warning("SNS message from a topic not listed: %.256s", message["TopicArn"])
            raise Forbidden("This server does not accept messages from that SNS topic.")
        await self.verifier.verify(message)
        self._check_age(message)
        if message.type == "SubscriptionConfirmation":
            await self.verifier.confirm(message["SubscribeURL"])
            log.info("SNS subscription to %s confirmed", message["TopicArn"])
            outcome = SnsOutcome.CONFIRMED
        elif message.type == "UnsubscribeConfirmation":
            log.info("SNS topic %s unsubscribed this endpoint", message["TopicArn"])
            outcome = SnsOutcome.IGNORED
        else:
            outcome = await self._notification(message)
        self.metrics.sns_messages.labels(outcome.value).inc()
        return outcome

    def _check_age(self, message: SnsMessage) -> None:
        """Refuse a signed message older than the MessageIds kept to deduplicate (or dated in
        the future): once its id is purged, a replay of it would otherwise be stored again.
        SNS's own retries end within an hour, far inside the window."""
        try:
            stamp = datetime.fromisoformat(message["Timestamp"].replace("Z", "+00:00"))
        except ValueError:
            raise BadRequest("The SNS Timestamp is not an ISO 8601 time.") from None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        now = utcnow()
        if stamp < now - timedelta(days=self.settings.sns_dedupe_days):
            raise Forbidden(
                "This SNS message is older than INBOXKIT_SNS_DEDUPE_DAYS and is refused as a "
                "replay; SNS sends only new messages."
            )
        if stamp > now + MAX_CLOCK_SKEW:
            raise Forbidden("This SNS message is dated in the future; check the sender's clock.")

    async def _notification(self, message: SnsMessage) -> SnsOutcome:
        message_id, topic = message["MessageId"], message["TopicArn"]
        async with self.db.read() as conn:
            if await rows.outcome(conn, message_id) is not None:
                return SnsOutcome.DUPLICATE
        try:
            notice = json.loads(message["Message"])
        except ValueError:
            notice = None
        if not isinstance(notice, dict) or notice.get("notificationType") != "Received":
            log.info("SNS notification %s is not an SES receipt; ignored", message_id)
            return SnsOutcome.IGNORED
        receipt = _object(notice.get("receipt"))
        mail = _object(notice.get("mail"))
        content = notice.get("content")
        if not isinstance(content, str):
            log.info(
                "SES notification %s carries no content (an S3 action?); nothing stored",
                message_id,
            )
            await self._claim(message_id, topic, SnsOutcome.NO_CONTENT)
            return SnsOutcome.NO_CONTENT
        raw = self._content(receipt, content)
        recipients = receipt.get("recipients")
        if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
            raise BadRequest("The SES receipt names no recipients.")
        source = mail.get("source")
        envelope = Envelope(
            mail_from=source if isinstance(source, str) and source.isprintable() else "",
            rcpt_tos=self.ingest.check_recipients(recipients),
            helo="amazonses",
        )

        async def claim(conn: Any, _stored: Any) -> None:
            await rows.record(conn, message_id, topic, SnsOutcome.DELIVERED, utcnow())

        try:
            result = await self.ingest.deliver(
                envelope, raw, authentication=ses_authentication(receipt, mail), also=claim
            )
        except IntegrityError:
            # Another process stored this redelivery first; its commit is the one kept.
            return SnsOutcome.DUPLICATE
        for refused in result.refused:
            log.info(
                "SES notification %s: %s refused (%s)",
                message_id,
                refused.address,
                refused.refusal.reason,
            )
        if not result.delivered:
            await self._claim(message_id, topic, SnsOutcome.REFUSED)
            return SnsOutcome.REFUSED
        return SnsOutcome.DELIVERED

    def _content(self, receipt: dict[str, Any], content: str) -> bytes:
        action = _object(receipt.get("action"))
        limit = self.settings.max_message_bytes
        if action.get("encoding") == "BASE64":
            try:
                raw = base64.b64decode(content, validate=True)
            except (binascii.Error, ValueError):
                raise BadRequest("The SES content is not valid base64.") from None
        else:
            raw = content.encode("utf-8", "surrogateescape")
        if len(raw) > limit:
            raise BadRequest(f"The SES content is over {limit} bytes.")
        return raw

    async def _claim(self, message_id: str, topic: str, outcome: SnsOutcome) -> None:
        """Record a notification that stored nothing (a redelivery then does nothing)."""
        try:
            async with self.db.write() as conn:
                await rows.record(conn, message_id, topic, outcome, utcnow())
        except IntegrityError:
            pass  # handled meanwhile by another process

    async def purge(self) -> int:
        """Forget message ids older than INBOXKIT_SNS_DEDUPE_DAYS (one batch); how many."""
        cutoff = utcnow() - timedelta(days=self.settings.sns_dedupe_days)
        async with self.db.write() as conn:
            return await rows.purge_older(conn, cutoff, PURGE_BATCH)
