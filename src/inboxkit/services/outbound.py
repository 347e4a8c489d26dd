"""Sending, replying and forwarding: compose, store as outbound, queue (delivery:
workers/outbox.py).

`send`, `reply` and `forward` build the message (mail/compose.py; a forward's draft comes
from mail/forward.py), optionally DKIM-sign it, and store it
through the delivery pipeline as an `outbound` message in the sender's mailbox. In that same
transaction they queue an outbox row, check the send rates (per mailbox and server-wide) and
record the Idempotency-Key, so a stored message is always queued and a queued one is always
stored.

A mailbox under review (`outbound_review`, DESIGN §13) sends nothing directly: `send` and
`reply` validate the message as usual and then hand it to `review` (services/drafts.py), which
keeps it as a draft awaiting an account's approval; they answer with a `Held` instead of the
stored message. Approved and scheduled drafts come back through `send_draft`.

Who may send: only mailboxes that belong to an account. An anonymous mailbox's token is
refused whatever the surface (REST, MCP, SDK, CLI all come through here), so that anybody who
can create an inbox cannot also use this server as an open sender.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import dkim
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.config import Settings
from inboxkit.errors import (
    Conflict,
    Forbidden,
    PayloadTooLarge,
    QuotaExceeded,
    RateLimited,
    ValidationFailed,
)
from inboxkit.ids import new_id
from inboxkit.mail.addresses import split_address
from inboxkit.mail.compose import (
    SUBJECT_CHARS,
    ComposeError,
    Draft,
    OutgoingAttachment,
    check_address,
    check_body,
    check_line,
    compose,
    reply_subject,
    unique_addresses,
)
from inboxkit.mail.forward import ForwardedMessage, forward_draft
from inboxkit.mail.parse import Limits
from inboxkit.pipeline import Envelope, Pipeline
from inboxkit.pipeline.recipients import RecipientStatus
from inboxkit.plan import Plan, SendPolicy
from inboxkit.records import MessageSummary, jsonable
from inboxkit.services.auth import Principal
from inboxkit.services.domains import DomainService, SigningKey
from inboxkit.services.mailboxes import MailboxService
from inboxkit.services.messages import forwardable, message_in
from inboxkit.store import sends, usage
from inboxkit.store.db import Database
from inboxkit.store.dialect import Dialect
from inboxkit.store.tables import OutboxStatus, utcnow

__all__ = [
    "DraftFields",
    "Held",
    "IDEMPOTENCY_TTL",
    "MAX_ADDRESS_CHARS",
    "MAX_ATTACHMENTS",
    "MAX_LISTED_ADDRESSES",
    "MAX_SUBJECT_CHARS",
    "OutboundService",
    "Remember",
    "Review",
    "SentHook",
]

log = logging.getLogger(__name__)

# How long an Idempotency-Key is remembered; the outbox sender prunes older ones.
IDEMPOTENCY_TTL = timedelta(hours=24)
MAX_IDEMPOTENCY_KEY_CHARS = 255
# Hard bounds on a request, checked before any work (the request schemas declare the same).
# The recipient limit proper (INBOXKIT_MAX_SEND_RECIPIENTS) counts distinct addresses; these
# bound what is read at all, duplicates included.
MAX_LISTED_ADDRESSES = 1000  # per field: to, cc, bcc
MAX_ADDRESS_CHARS = 254  # RFC 5321 §4.5.3.1.3: a path is at most 256 octets with its brackets
MAX_SUBJECT_CHARS = SUBJECT_CHARS
MAX_ATTACHMENTS = 100
# Headers the DKIM signature covers. Listing ones a message lacks is deliberate (RFC 6376
# §5.4.2): it stops anyone on the way from adding them without breaking the signature.
DKIM_HEADERS = [
    b"from",
    b"to",
    b"cc",
    b"subject",
    b"date",
    b"message-id",
    b"in-reply-to",
    b"references",
    b"mime-version",
    b"content-type",
    b"content-transfer-encoding",
]


@dataclass(frozen=True, slots=True)
class DraftFields:
    """What a draft holds: a send request as given (attachments still base64), or a reply's,
    with the recipients and subject the reply was given when it was held."""

    to: list[str]
    cc: list[str]
    bcc: list[str]
    subject: str
    text: str | None
    html: str | None
    attachments: list[dict[str, Any]]
    in_reply_to: str | None = None
    reply_all: bool = False
    forward_of: str | None = None


@dataclass(frozen=True, slots=True)
class Held:
    """A send or reply kept for review instead of sent: the draft, and the note that says it
    was not sent and how it is approved."""

    draft: dict[str, Any]
    review: dict[str, Any]

    def jsonable(self) -> dict[str, Any]:
        return {"draft": jsonable(self.draft), "review": self.review}

    def remembered(self) -> dict[str, Any]:
        """How it is recorded under an Idempotency-Key (`_replay` reads it back)."""
        return {"held": self.jsonable()}


@dataclass(frozen=True, slots=True)
class Remember:
    """An Idempotency-Key to record with a held send, in the transaction that keeps it."""

    key_id: str
    fingerprint: str


class Review(Protocol):
    """Keeps sends of a mailbox under review as drafts (`DraftService`)."""

    async def hold(
        self, principal: Principal, box: Any, fields: DraftFields, remember: Remember | None
    ) -> Held: ...


# Run in the transaction that stores and queues a sent message, with its id (a draft being
# sent marks itself sent there, or raises to roll the send back).
SentHook = Callable[[AsyncConnection, str], Awaitable[None]]


def _may_send(principal: Principal, box: Any) -> None:
    """Sending policy, first half: a plan whose `send` is "none" sends nothing (the anonymous
    plan's default, so an inbox anybody can create is never an open sender)."""
    plan = principal.plan
    if plan is None:
        if box.account_id is None:  # no plan and no account: never
            raise Forbidden("Inboxes created without an account cannot send.")
        return
    if plan.send_policy is SendPolicy.NONE:
        if box.account_id is None:
            raise Forbidden(
                f"Inboxes on plan '{plan.name}' cannot send; create the inbox with an "
                "account's API key and send with that key or the new inbox's token."
            )
        raise Forbidden(
            f"Mailboxes on plan '{plan.name}' cannot send; ask for a plan that allows sending."
        )


def _seconds_to_month_end(now: datetime) -> int:
    return max(1, math.ceil((usage.month_bounds(now)[1] - now).total_seconds()))


def _bounded(**fields: list[Any]) -> None:
    """Refuse over-long lists before looking at their items."""
    for name, items in fields.items():
        limit = MAX_ATTACHMENTS if name == "attachments" else MAX_LISTED_ADDRESSES
        if len(items) > limit:
            raise ValidationFailed(f"`{name}` may list at most {limit} items; it has {len(items)}.")


def _addresses(values: list[str], field_name: str) -> list[str]:
    checked = []
    for value in values:
        if isinstance(value, str) and len(value) > MAX_ADDRESS_CHARS:
            raise ValidationFailed(
                f"{field_name} has an address longer than {MAX_ADDRESS_CHARS} characters."
            )
        checked.append(check_address(value, field_name))
    return checked


def _fingerprint(operation: str, request: dict[str, Any]) -> str:
    canonical = json.dumps({"op": operation, "request": request}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _attachments(items: list[dict[str, Any]]) -> list[OutgoingAttachment]:
    decoded = []
    for index, item in enumerate(items):
        try:
            data = base64.b64decode(item["content"], validate=True)
        except (binascii.Error, ValueError):
            raise ValidationFailed(f"attachments[{index}].content is not valid base64.") from None
        attachment = OutgoingAttachment(
            filename=item["filename"],
            content_type=item.get("content_type") or "application/octet-stream",
            data=data,
            content_id=item.get("content_id"),
        )
        try:
            attachment.check(index)
        except ComposeError as exc:
            raise ValidationFailed(str(exc)) from None
        decoded.append(attachment)
    return decoded


class OutboundService:
    """Sending and replying: composes, signs and stores outgoing mail, and queues it for the
    outbox in the same transaction."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        dialect: Dialect,
        mailboxes: MailboxService,
        pipeline: Pipeline,
        domains: DomainService | None = None,
    ):
        self.settings = settings
        self.db = db
        self.dialect = dialect
        self.mailboxes = mailboxes
        self.pipeline = pipeline
        self.domains = domains
        # Set by the runtime: where sends of a mailbox under review go instead.
        self.review: Review | None = None
        self._dkim_key = self._load_dkim_key()
        self.limits = Limits(
            max_depth=settings.max_mime_depth,
            max_parts=settings.max_mime_parts,
            max_header_bytes=settings.max_header_bytes,
        )

    def _load_dkim_key(self) -> bytes | None:
        path, selector = self.settings.dkim_private_key_path, self.settings.dkim_selector
        if path is None and selector is None:
            return None
        if path is None or not selector:
            raise ValueError(
                "DKIM signing needs both INBOXKIT_DKIM_SELECTOR and INBOXKIT_DKIM_PRIVATE_KEY_PATH."
            )
        key = path.read_bytes()
        # Fail at start-up, not on the first message, if the key cannot sign.
        dkim.sign(b"From: a@b.example\r\n\r\n", selector.encode(), b"b.example", key)
        return key

    @staticmethod
    def _sign(raw: bytes, key: SigningKey) -> bytes:
        signature = dkim.sign(
            raw,
            key.selector.encode(),
            key.domain.encode(),
            key.private_pem,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=DKIM_HEADERS,
        )
        return signature + raw

    async def _signing_key(self, box: Any) -> SigningKey | None:
        """The key mail from `box` is signed with: a configured domain's is the global one
        (INBOXKIT_DKIM_*, if set); a custom domain's is its own (DESIGN §10), and a mailbox
        whose custom domain its account no longer holds may not send at all."""
        if box.domain in self.settings.domains:
            if self._dkim_key is None or not self.settings.dkim_selector:
                return None
            return SigningKey(box.domain, self.settings.dkim_selector, self._dkim_key)
        key = await self.domains.signing_key(box.account_id, box.domain) if self.domains else None
        if key is None:
            raise Forbidden(
                f"{box.domain} is not a verified domain of this account any more, so nothing "
                "may be sent from it; verify it again (POST /api/v1/domains/{id}/verify)."
            )
        return key

    # -- composing and queueing ------------------------------------------------------------

    async def send(
        self,
        principal: Principal,
        ref: str,
        *,
        to: list[str],
        cc: list[str] | None = None,
        bcc: list[str] | None = None,
        subject: str = "",
        text: str | None = None,
        html: str | None = None,
        attachments: list[dict[str, Any]] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any] | Held:
        """Queue a new message from the mailbox's own address; returns its summary with
        `delivery_status: "queued"` and its `message_id` (or, for a mailbox under review, the
        `Held` draft)."""
        principal.require("send")
        box = await self.mailboxes.find(principal, ref)
        _may_send(principal, box)
        _bounded(to=to, cc=cc or [], bcc=bcc or [], attachments=attachments or [])
        request = {
            "to": to,
            "cc": cc or [],
            "bcc": bcc or [],
            "subject": subject,
            "text": text,
            "html": html,
            "attachments": attachments or [],
        }
        replayed = await self._replay(box.id, idempotency_key, "send", request)
        if replayed is not None:
            return replayed
        fields = DraftFields(
            to=to,
            cc=cc or [],
            bcc=bcc or [],
            subject=subject,
            text=text,
            html=html,
            attachments=attachments or [],
        )
        draft = self._new_message(box, fields)
        if box.outbound_review and self.review is not None:
            self._check(draft)
            return await self._hold(principal, box, fields, idempotency_key, "send", request)
        return await self._submit(principal, box, draft, idempotency_key, "send", request)

    def _new_message(self, box: Any, fields: DraftFields) -> Draft:
        """A new message from the fields, every address and line checked (ValidationFailed)."""
        try:
            # Each address once, in the first field that names it: a recipient listed in
            # both `to` and `bcc` is not blind-copied, and repeats cost nothing later.
            seen: set[str] = set()
            draft = Draft(
                from_address=box.address,
                from_name=box.name,
                to=unique_addresses(_addresses(fields.to, "to"), seen),
                cc=unique_addresses(_addresses(fields.cc, "cc"), seen),
                bcc=unique_addresses(_addresses(fields.bcc, "bcc"), seen),
                subject=check_line("subject", fields.subject),
                text=check_body("text", fields.text),
                html=check_body("html", fields.html),
            )
        except ComposeError as exc:
            raise ValidationFailed(str(exc)) from None
        draft.attachments = _attachments(fields.attachments)
        return draft

    async def _hold(
        self,
        principal: Principal,
        box: Any,
        fields: DraftFields,
        idempotency_key: str | None,
        operation: str,
        request: dict[str, Any],
    ) -> dict[str, Any] | Held:
        """Keep the message as a draft awaiting review; the key, if any, is recorded with it."""
        assert self.review is not None
        remember = (
            Remember(self._key_id(box.id, idempotency_key), _fingerprint(operation, request))
            if idempotency_key
            else None
        )
        try:
            return await self.review.hold(principal, box, fields, remember)
        except IntegrityError:
            # The same key committed first in another request: answer as it did.
            replayed = await self._replay(box.id, idempotency_key, operation, request)
            if replayed is not None:
                return replayed
            raise

    def may_send(self, principal: Principal, box: Any) -> None:
        """Forbidden when the mailbox may not send at all (its plan's send policy): what a
        draft checks before it is kept, so a mailbox that cannot send keeps no drafts."""
        _may_send(principal, box)

    async def check_draft(self, principal: Principal, box: Any, fields: DraftFields) -> None:
        """Whether the draft could be sent as it is (recipients, body, addresses, sizes):
        ValidationFailed saying what is missing, before anything is scheduled or held."""
        draft = await self._draft_message(box, fields)
        self._check(draft)

    async def send_draft(
        self, principal: Principal, box: Any, fields: DraftFields, also: SentHook
    ) -> dict[str, Any]:
        """Send a kept draft now, as `send` or `reply` would (the mailbox's review is already
        satisfied); `also` runs in the transaction that stores and queues it.

        The one place a draft becomes a send call: a draft that forwards a message
        (`forward_of`) is composed again from the original (mail/forward.py)."""
        principal.require("send")
        _may_send(principal, box)
        draft = await self._draft_message(box, fields)
        return await self._submit(principal, box, draft, None, "draft", {}, also=also)

    async def _draft_message(self, box: Any, fields: DraftFields) -> Draft:
        """The message a draft sends: a forward of `forward_of` composed again from the
        original, a reply to `in_reply_to`, or a new message."""
        if fields.forward_of is not None:
            return await self._forward_message(box, fields)
        if fields.in_reply_to is not None:
            async with self.db.read() as conn:
                original = await message_in(conn, box.id, fields.in_reply_to)
            return self._reply_message(box, fields, original)
        return self._new_message(box, fields)

    def _reply_message(self, box: Any, fields: DraftFields, original: Any) -> Draft:
        """A reply kept as a draft: to the recipients it holds (those a reply computed when it
        was held, or as edited since), else to the original's sender as `reply` would."""
        if fields.to:
            message = self._new_message(box, fields)
        else:
            to, cc = _reply_recipients(original, box.address, fields.reply_all)
            message = self._new_message(box, replace(fields, to=to, cc=cc or fields.cc))
        try:
            message.subject = reply_subject(fields.subject or original.subject or "")
        except ComposeError as exc:
            raise ValidationFailed(str(exc)) from None
        message.in_reply_to = original.message_id
        message.references = list(original.references or [])
        return message

    async def reply(
        self,
        principal: Principal,
        ref: str,
        message_id: str,
        *,
        text: str | None = None,
        html: str | None = None,
        attachments: list[dict[str, Any]] | None = None,
        reply_all: bool = False,
        idempotency_key: str | None = None,
    ) -> dict[str, Any] | Held:
        """Reply to a message in the mailbox: to its Reply-To (or From), and with `reply_all`
        also to its other recipients; threaded with In-Reply-To, References and `Re:` (for a
        mailbox under review, kept as a `Held` draft instead)."""
        principal.require("send")
        async with self.db.read() as conn:
            box = await self.mailboxes.find(principal, ref, conn)
            _may_send(principal, box)
            original = await message_in(conn, box.id, message_id)
        _bounded(attachments=attachments or [])
        request = {
            "text": text,
            "html": html,
            "attachments": attachments or [],
            "reply_all": reply_all,
        }
        operation = f"reply:{message_id}"
        replayed = await self._replay(box.id, idempotency_key, operation, request)
        if replayed is not None:
            return replayed
        to, cc = _reply_recipients(original, box.address, reply_all)
        try:
            text, html = check_body("text", text), check_body("html", html)
        except ComposeError as exc:
            raise ValidationFailed(str(exc)) from None
        draft = Draft(
            from_address=box.address,
            from_name=box.name,
            to=to,
            cc=cc,
            subject=reply_subject(original.subject),
            text=text,
            html=html,
            attachments=_attachments(attachments or []),
            in_reply_to=original.message_id,
            references=list(original.references or []),
        )
        if box.outbound_review and self.review is not None:
            self._check(draft)
            fields = DraftFields(
                to=to,
                cc=cc,
                bcc=[],
                subject=draft.subject,
                text=text,
                html=html,
                attachments=attachments or [],
                in_reply_to=original.id,
                reply_all=reply_all,
            )
            return await self._hold(principal, box, fields, idempotency_key, operation, request)
        return await self._submit(principal, box, draft, idempotency_key, operation, request)

    async def forward(
        self,
        principal: Principal,
        ref: str,
        message_id: str,
        *,
        to: list[str],
        cc: list[str] | None = None,
        bcc: list[str] | None = None,
        text: str | None = None,
        html: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any] | Held:
        """Forward a message of the mailbox to `to` (and `cc`, `bcc`): the original inline
        below the sender's own `text`/`html`, its attachments attached again byte for byte,
        `Fwd:` subject, the original's References chain kept (mail/forward.py). Queued and
        held to the same rules as `send` (for a mailbox under review, kept as a `Held` draft
        whose `forward_of` names the original)."""
        principal.require("send")
        async with self.db.read() as conn:
            box = await self.mailboxes.find(principal, ref, conn)
            _may_send(principal, box)
            row = await message_in(conn, box.id, message_id)
        _bounded(to=to, cc=cc or [], bcc=bcc or [])
        request = {"to": to, "cc": cc or [], "bcc": bcc or [], "text": text, "html": html}
        operation = f"forward:{message_id}"
        replayed = await self._replay(box.id, idempotency_key, operation, request)
        if replayed is not None:
            return replayed
        async with self.db.read() as conn:
            original = await forwardable(conn, row, self.limits)
        draft = self.forward_draft(box, original, to=to, cc=cc, bcc=bcc, text=text, html=html)
        if box.outbound_review and self.review is not None:
            self._check(draft)
            fields = DraftFields(
                to=to,
                cc=cc or [],
                bcc=bcc or [],
                subject=draft.subject,
                text=text,
                html=html,
                attachments=[],
                forward_of=row.id,
            )
            return await self._hold(principal, box, fields, idempotency_key, operation, request)
        return await self._submit(principal, box, draft, idempotency_key, operation, request)

    async def _forward_message(self, box: Any, fields: DraftFields) -> Draft:
        """A kept forward as it is sent: the original (`forward_of`) read again, inline below
        the draft's note, to the draft's recipients."""
        assert fields.forward_of is not None
        async with self.db.read() as conn:
            row = await message_in(conn, box.id, fields.forward_of)
            original = await forwardable(conn, row, self.limits)
        return self.forward_draft(
            box,
            original,
            to=fields.to,
            cc=fields.cc,
            bcc=fields.bcc,
            text=fields.text,
            html=fields.html,
        )

    def forward_draft(
        self,
        box: Any,
        original: ForwardedMessage,
        *,
        to: list[str],
        cc: list[str] | None = None,
        bcc: list[str] | None = None,
        text: str | None = None,
        html: str | None = None,
    ) -> Draft:
        """The draft forwarding `original` from the mailbox `box`: the recipients and the
        note checked as `send` checks them (ValidationFailed), the rest from
        mail/forward.py. Anything that queues a forward (now, or once reviewed) builds it
        here."""
        try:
            seen: set[str] = set()
            return forward_draft(
                original,
                from_address=box.address,
                from_name=box.name,
                to=unique_addresses(_addresses(to, "to"), seen),
                cc=unique_addresses(_addresses(cc or [], "cc"), seen),
                bcc=unique_addresses(_addresses(bcc or [], "bcc"), seen),
                text=check_body("text", text),
                html=check_body("html", html),
            )
        except ComposeError as exc:
            raise ValidationFailed(str(exc)) from None

    def _key_id(self, mailbox_id: str, key: str) -> str:
        if len(key) > MAX_IDEMPOTENCY_KEY_CHARS or not key.isprintable() or not key.strip():
            raise ValidationFailed(
                f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY_CHARS} printable characters."
            )
        return hashlib.sha256(f"{mailbox_id}\n{key}".encode()).hexdigest()

    async def _replay(
        self, mailbox_id: str, key: str | None, operation: str, request: dict[str, Any]
    ) -> dict[str, Any] | Held | None:
        """The answer first given for this Idempotency-Key (within 24 h), Conflict if the key
        came with a different request, None if it is new."""
        if key is None:
            return None
        key_id = self._key_id(mailbox_id, key)
        async with self.db.read() as conn:
            row = await sends.remembered_response(conn, key_id, utcnow() - IDEMPOTENCY_TTL)
        if row is None:
            return None
        if row.request_hash != _fingerprint(operation, request):
            raise Conflict(
                "This Idempotency-Key was already used with a different request; use a new key "
                "for a new message."
            )
        response = dict(row.response)
        if "held" in response:
            return Held(**response["held"])
        return response

    async def _sent_recently(
        self, conn: AsyncConnection, mailbox_id: str | None
    ) -> tuple[int, datetime | None]:
        """Outbox rows queued within the rate window (by this mailbox, or by anyone), and the
        oldest one's time. The outbox rows are the count, so every process sees the same."""
        window_start = utcnow() - timedelta(seconds=self.settings.send_rate_window)
        return await sends.sent_since(conn, window_start, mailbox_id)

    def _retry_after(self, oldest: datetime | None) -> int:
        """Seconds until the oldest counted message leaves the window (and frees a place)."""
        window = self.settings.send_rate_window
        wait = (oldest + timedelta(seconds=window) - utcnow()).total_seconds() if oldest else window
        return math.ceil(max(wait, 1))

    async def _check_rate(self, conn: AsyncConnection, mailbox_id: str, *, lock: bool) -> None:
        """Sliding windows over the outbox rows themselves, so they hold across processes: the
        mailbox's own limit, then the server-wide budget."""
        if lock:
            # Serialise every sender's check-and-insert until commit, or N processes could each see room for the last message. One
            # advisory lock rather than a lock on the mailbox row: the pipeline has already
            # share-locked that row, and upgrading a share lock is how two processes sending
            # from one mailbox deadlock. Only this code takes it, and what a sender writes
            # after taking it (new outbox and idempotency rows) waits on nobody who could be
            # waiting for it, so it cannot close a deadlock cycle.
            await self.dialect.serialise(conn, sends.SEND_BUDGET_KEY)
        window = self.settings.send_rate_window
        count, oldest = await self._sent_recently(conn, mailbox_id)
        if count >= self.settings.send_rate_limit:
            wait = self._retry_after(oldest)
            raise RateLimited(
                f"This mailbox may send {self.settings.send_rate_limit} messages per "
                f"{window:g} seconds; retry in {wait} s.",
                retry_after=wait,
            )
        count, oldest = await self._sent_recently(conn, None)
        if count >= self.settings.send_rate_limit_global:
            wait = self._retry_after(oldest)
            raise RateLimited(
                f"This server sends at most {self.settings.send_rate_limit_global} messages "
                f"per {window:g} seconds from all its mailboxes together; retry in {wait} s.",
                retry_after=wait,
            )

    async def _check_local(self, principal: Principal, recipients: list[str]) -> None:
        """Sending policy, second half: a plan whose `send` is "local" sends only to
        mailboxes hosted here; anything else is refused before anything is queued."""
        plan = principal.plan
        if plan is None or plan.send_policy is not SendPolicy.LOCAL:
            return
        foreign = []
        for address in recipients:
            found = await self.mailboxes.resolve_recipient(address)
            if found.status is not RecipientStatus.OK:
                foreign.append(address)
        if foreign:
            raise Forbidden(
                f"Plan '{plan.name}' sends only to mailboxes hosted here; not hosted: "
                f"{', '.join(foreign[:10])}{' …' if len(foreign) > 10 else ''}. Remove them "
                "or ask for a plan that sends anywhere."
            )

    async def _count_sent(self, conn: AsyncConnection, principal: Principal, box: Any) -> None:
        """Count one send this month in the transaction that queues it; past the plan's
        `sent_per_month` the transaction is rolled back and the caller told when it lifts."""
        now = utcnow()
        subject = usage.owner_subject(box.account_id, box.id)
        figures = await usage.add(conn, subject, usage.month(now), sent=1)
        plan = principal.plan
        if plan is not None and plan.sent_per_month is not None:
            if figures["sent"] > plan.sent_per_month:
                raise self._sent_quota(plan, figures["sent"] - 1, now)

    async def _precheck_sent(self, conn: AsyncConnection, principal: Principal, box: Any) -> None:
        plan = principal.plan
        if plan is None or plan.sent_per_month is None:
            return
        now = utcnow()
        subject = usage.owner_subject(box.account_id, box.id)
        month = usage.month(now)
        sent = (await usage.figures(conn, subject, [month]))[month]["sent"]
        if sent >= plan.sent_per_month:
            raise self._sent_quota(plan, sent, now)

    @staticmethod
    def _sent_quota(plan: Plan, used: int, now: datetime) -> QuotaExceeded:
        wait = _seconds_to_month_end(now)
        return QuotaExceeded(
            f"Plan '{plan.name}' sends at most {plan.sent_per_month} messages a month and "
            f"this month's are used; sending resumes at the start of next month (in {wait} s) "
            "or on a larger plan.",
            limit="sent_per_month",
            allowed=plan.sent_per_month,
            used=used,
            retry_after=wait,
        )

    def _check(self, draft: Draft) -> None:
        """A message needs a body and a recipient in `to`, and at most the recipient limit."""
        if draft.text is None and draft.html is None:
            raise ValidationFailed("Give the message a body: `text`, `html` or both.")
        recipients = draft.to + draft.cc + draft.bcc
        if not draft.to:
            raise ValidationFailed("Give at least one recipient in `to`.")
        if len(recipients) > self.settings.max_send_recipients:
            raise ValidationFailed(
                f"A message may have at most {self.settings.max_send_recipients} recipients "
                f"(to, cc and bcc together); this one has {len(recipients)}."
            )

    async def _submit(
        self,
        principal: Principal,
        box: Any,
        draft: Draft,
        idempotency_key: str | None,
        operation: str,
        request: dict[str, Any],
        also: SentHook | None = None,
    ) -> dict[str, Any]:
        self._check(draft)
        # The drafts' lists are already free of repeats, within and across the fields.
        recipients = draft.to + draft.cc + draft.bcc
        await self._check_local(principal, recipients)
        signing_key = await self._signing_key(box)
        async with self.db.read() as conn:
            await self._check_rate(conn, box.id, lock=False)  # fail fast, before composing
            await self._precheck_sent(conn, principal, box)

        now = utcnow()
        message_id = f"<{new_id().lower()}@{box.domain}>"
        raw = await asyncio.to_thread(compose, draft, message_id=message_id, date=now)
        if signing_key is not None:
            raw = await asyncio.to_thread(self._sign, raw, signing_key)
        if len(raw) > self.settings.max_send_bytes:
            raise PayloadTooLarge(
                f"The message would be {len(raw)} bytes; the limit is "
                f"{self.settings.max_send_bytes} bytes (attachments grow by a third in base64)."
            )

        key_id = self._key_id(box.id, idempotency_key) if idempotency_key else None
        fingerprint = _fingerprint(operation, request)
        send = sends.QueuedSend(
            id=new_id(),
            mailbox_id=box.id,
            mail_from=box.address,
            recipients=recipients,
            bcc=frozenset(a.lower() for a in draft.bcc),
            next_attempt_at=now + timedelta(seconds=self.settings.outbox_retry_schedule[0]),
            created_at=now,
        )

        async def queue(conn: AsyncConnection, stored: list[MessageSummary]) -> None:
            await self._check_rate(conn, box.id, lock=True)
            await self._count_sent(conn, principal, box)
            await sends.queue(conn, send, stored[0]["id"])
            if also is not None:
                await also(conn, stored[0]["id"])
            if key_id is not None:
                remembered_at = utcnow()
                await sends.remember_response(
                    conn,
                    key_id,
                    fingerprint,
                    _result(stored[0], message_id),
                    now=remembered_at,
                    expired_at_or_before=remembered_at - IDEMPOTENCY_TTL,
                )

        envelope = Envelope(mail_from=box.address, rcpt_tos=recipients)
        try:
            stored = await self.pipeline.store_sent(
                box.id,
                box.address,
                envelope,
                raw,
                # Read already: a waiter on this mailbox is waiting for replies, not for this.
                extra={"delivery_status": OutboxStatus.QUEUED, "is_read": True},
                also=queue,
            )
        except IntegrityError:
            # The same key committed first in another request: answer as it did.
            replayed = await self._replay(box.id, idempotency_key, operation, request)
            if isinstance(replayed, dict):
                return replayed
            raise
        return _result(stored, message_id)


def _result(item: Mapping[str, Any], message_id: str) -> dict[str, Any]:
    return jsonable({**item, "message_id": message_id})


def _reply_recipients(
    original: Any, own_address: str, reply_all: bool
) -> tuple[list[str], list[str]]:
    """Who a reply goes to. Addresses come from received mail, so each is checked like user
    input and unusable ones are left out; our own address never receives the reply."""

    # Received headers can list thousands of addresses: one shared set keeps this linear.
    seen: set[str] = set()

    def usable(addresses: list[str]) -> list[str]:
        found = []
        for address in addresses:
            try:
                checked = check_address(address)
            except ComposeError:
                continue
            parsed = split_address(checked)
            if parsed is not None and parsed.address != own_address:
                found.append(checked)
        return unique_addresses(found, seen)

    if original.direction == "outbound":  # replying to our own message: same audience again
        to = usable(list(original.to_addrs))
        cc = usable(list(original.cc_addrs)) if reply_all else []
    else:
        to = usable(list(original.reply_to) or [original.from_addr])
        cc = usable(list(original.to_addrs) + list(original.cc_addrs)) if reply_all else []
    if not to:
        raise ValidationFailed(
            "The original message has no address a reply can go to (its sender is missing "
            "or not a valid address)."
        )
    return to, cc
