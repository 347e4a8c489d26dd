"""Sending and replying: compose, store as outbound, queue (delivery: outbox.py).

`send` and `reply` build the message (mail/compose.py), optionally DKIM-sign it, and store it
through the delivery pipeline as an `outbound` message in the sender's mailbox. In that same
transaction they queue an outbox row, check the per-mailbox send rate and record the
Idempotency-Key, so a stored message is always queued and a queued one is always stored.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
import math
from datetime import timedelta
from typing import Any

import dkim
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.bus import Bus
from inboxkit.config import Settings
from inboxkit.errors import (
    Conflict,
    PayloadTooLarge,
    RateLimited,
    ValidationFailed,
)
from inboxkit.ids import new_id
from inboxkit.mail.compose import (
    ComposeError,
    Draft,
    OutgoingAttachment,
    check_address,
    check_line,
    compose,
    reply_subject,
)
from inboxkit.pipeline import Envelope, Pipeline
from inboxkit.services.addresses import split_address
from inboxkit.services.auth import Principal
from inboxkit.services.mailboxes import MailboxService
from inboxkit.services.messages import jsonable, message_in
from inboxkit.services.outbox import IDEMPOTENCY_TTL, Outbox
from inboxkit.services.webhooks import WebhookService
from inboxkit.store.db import Database
from inboxkit.store.tables import idempotency_keys, mailboxes, outbox, utcnow

__all__ = ["OutboundService"]

log = logging.getLogger(__name__)

MAX_IDEMPOTENCY_KEY_CHARS = 255
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


def _dedupe(addresses: list[str]) -> list[str]:
    seen: set[str] = set()
    unique = []
    for address in addresses:
        if address.lower() not in seen:
            seen.add(address.lower())
            unique.append(address)
    return unique


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
    def __init__(
        self,
        settings: Settings,
        db: Database,
        bus: Bus,
        mailboxes: MailboxService,
        pipeline: Pipeline,
        webhooks: WebhookService,
    ):
        self.settings = settings
        self.db = db
        self.mailboxes = mailboxes
        self.pipeline = pipeline
        self._dkim_key = self._load_dkim_key()
        # The worker side: delivers what this side queues (run by the worker role).
        self.outbox = Outbox(settings, db, bus, mailboxes, pipeline, webhooks)

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

    def _sign(self, raw: bytes, domain: str) -> bytes:
        assert self._dkim_key is not None and self.settings.dkim_selector
        signature = dkim.sign(
            raw,
            self.settings.dkim_selector.encode(),
            domain.encode(),
            self._dkim_key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=DKIM_HEADERS,
        )
        return signature + raw

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
    ) -> dict[str, Any]:
        """Queue a new message from the mailbox's own address; returns its summary with
        `delivery_status: "queued"` and its `message_id`."""
        principal.require("send")
        box = await self.mailboxes.find(principal, ref)
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
        try:
            draft = Draft(
                from_address=box.address,
                from_name=box.name,
                to=[check_address(a, "to") for a in to],
                cc=[check_address(a, "cc") for a in cc or []],
                bcc=[check_address(a, "bcc") for a in bcc or []],
                subject=check_line("subject", subject),
                text=text,
                html=html,
            )
        except ComposeError as exc:
            raise ValidationFailed(str(exc)) from None
        draft.attachments = _attachments(attachments or [])
        return await self._submit(box, draft, idempotency_key, "send", request)

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
    ) -> dict[str, Any]:
        """Reply to a message in the mailbox: to its Reply-To (or From), and with `reply_all`
        also to its other recipients; threaded with In-Reply-To, References and `Re:`."""
        principal.require("send")
        async with self.db.read() as conn:
            box = await self.mailboxes.find(principal, ref, conn)
            original = await message_in(conn, box.id, message_id)
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
        return await self._submit(box, draft, idempotency_key, operation, request)

    def _key_id(self, mailbox_id: str, key: str) -> str:
        if len(key) > MAX_IDEMPOTENCY_KEY_CHARS or not key.isprintable() or not key.strip():
            raise ValidationFailed(
                f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY_CHARS} printable characters."
            )
        return hashlib.sha256(f"{mailbox_id}\n{key}".encode()).hexdigest()

    async def _replay(
        self, mailbox_id: str, key: str | None, operation: str, request: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The answer first given for this Idempotency-Key (within 24 h), Conflict if the key
        came with a different request, None if it is new."""
        if key is None:
            return None
        key_id = self._key_id(mailbox_id, key)
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(idempotency_keys).where(
                        idempotency_keys.c.id == key_id,
                        idempotency_keys.c.created_at > utcnow() - IDEMPOTENCY_TTL,
                    )
                )
            ).first()
        if row is None:
            return None
        if row.request_hash != _fingerprint(operation, request):
            raise Conflict(
                "This Idempotency-Key was already used with a different request; use a new key "
                "for a new message."
            )
        return dict(row.response)

    async def _sent_recently(self, conn: AsyncConnection, mailbox_id: str) -> tuple[int, Any]:
        window_start = utcnow() - timedelta(seconds=self.settings.send_rate_window)
        row = (
            await conn.execute(
                sa.select(sa.func.count(), sa.func.min(outbox.c.created_at)).where(
                    outbox.c.mailbox_id == mailbox_id, outbox.c.created_at > window_start
                )
            )
        ).one()
        return int(row[0]), row[1]

    def _rate_error(self, oldest: Any) -> RateLimited:
        window = self.settings.send_rate_window
        wait = (oldest + timedelta(seconds=window) - utcnow()).total_seconds() if oldest else window
        return RateLimited(
            f"This mailbox may send {self.settings.send_rate_limit} messages per {window:g} "
            f"seconds; retry in {math.ceil(max(wait, 1))} s.",
            retry_after=math.ceil(max(wait, 1)),
        )

    async def _check_rate(self, conn: AsyncConnection, mailbox_id: str, *, lock: bool) -> None:
        """A sliding window over the outbox rows themselves, so it holds across processes."""
        if lock and not self.db.is_sqlite:
            # Serialise senders of one mailbox (SQLite's write lock already does). NO KEY
            # UPDATE leaves inbound deliveries, which only reference the row, unblocked.
            await conn.execute(
                sa.select(mailboxes.c.id)
                .where(mailboxes.c.id == mailbox_id)
                .with_for_update(key_share=True)
            )
        count, oldest = await self._sent_recently(conn, mailbox_id)
        if count >= self.settings.send_rate_limit:
            raise self._rate_error(oldest)

    async def _submit(
        self,
        box: Any,
        draft: Draft,
        idempotency_key: str | None,
        operation: str,
        request: dict[str, Any],
    ) -> dict[str, Any]:
        if draft.text is None and draft.html is None:
            raise ValidationFailed("Give the message a body: `text`, `html` or both.")
        if any("\x00" in body for body in (draft.text or "", draft.html or "")):
            raise ValidationFailed("text and html must not contain NUL characters.")
        recipients = _dedupe(draft.to + draft.cc + draft.bcc)
        if not draft.to:
            raise ValidationFailed("Give at least one recipient in `to`.")
        if len(recipients) > self.settings.max_send_recipients:
            raise ValidationFailed(
                f"A message may have at most {self.settings.max_send_recipients} recipients "
                f"(to, cc and bcc together); this one has {len(recipients)}."
            )
        async with self.db.read() as conn:
            await self._check_rate(conn, box.id, lock=False)  # fail fast, before composing

        now = utcnow()
        message_id = f"<{new_id().lower()}@{box.domain}>"
        raw = await asyncio.to_thread(compose, draft, message_id=message_id, date=now)
        if self._dkim_key is not None:
            raw = await asyncio.to_thread(self._sign, raw, box.domain)
        if len(raw) > self.settings.max_send_bytes:
            raise PayloadTooLarge(
                f"The message would be {len(raw)} bytes; the limit is "
                f"{self.settings.max_send_bytes} bytes (attachments grow by a third in base64)."
            )

        bcc = {a.lower() for a in draft.bcc}
        key_id = self._key_id(box.id, idempotency_key) if idempotency_key else None
        fingerprint = _fingerprint(operation, request)
        outbox_row = {
            "id": new_id(),
            "mailbox_id": box.id,
            "mail_from": box.address,
            "recipients": [{"address": a, "bcc": a.lower() in bcc} for a in recipients],
            "pending": recipients,
            "results": {},
            "status": "queued",
            "attempts": 0,
            "next_attempt_at": now + timedelta(seconds=self.settings.outbox_retry_schedule[0]),
            "created_at": now,
            "updated_at": now,
        }

        async def queue(conn: AsyncConnection, stored: list[dict[str, Any]]) -> None:
            await self._check_rate(conn, box.id, lock=True)
            await conn.execute(outbox.insert().values(**outbox_row, message_id=stored[0]["id"]))
            if key_id is not None:
                await conn.execute(
                    idempotency_keys.delete().where(
                        idempotency_keys.c.id == key_id,
                        idempotency_keys.c.created_at <= utcnow() - IDEMPOTENCY_TTL,
                    )
                )
                await conn.execute(
                    idempotency_keys.insert().values(
                        id=key_id,
                        request_hash=fingerprint,
                        response=_result(stored[0], message_id),
                        created_at=utcnow(),
                    )
                )

        envelope = Envelope(mail_from=box.address, rcpt_tos=recipients)
        try:
            stored = await self.pipeline.store_sent(
                box.id,
                box.address,
                envelope,
                raw,
                # Read already: a waiter on this mailbox is waiting for replies, not for this.
                extra={"delivery_status": "queued", "is_read": True},
                also=queue,
            )
        except IntegrityError:
            # The same key committed first in another request: answer as it did.
            replayed = await self._replay(box.id, idempotency_key, operation, request)
            if replayed is not None:
                return replayed
            raise
        return _result(stored, message_id)

    async def close(self) -> None:
        await self.outbox.close()


def _result(item: dict[str, Any], message_id: str) -> dict[str, Any]:
    return jsonable({**item, "message_id": message_id})


def _reply_recipients(
    original: Any, own_address: str, reply_all: bool
) -> tuple[list[str], list[str]]:
    """Who a reply goes to. Addresses come from received mail, so each is checked like user
    input and unusable ones are left out; our own address never receives the reply."""

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
        return _dedupe(found)

    if original.direction == "outbound":  # replying to our own message: same audience again
        to = usable(list(original.to_addrs))
        cc = usable(list(original.cc_addrs)) if reply_all else []
    else:
        to = usable(list(original.reply_to) or [original.from_addr])
        cc = usable(list(original.to_addrs) + list(original.cc_addrs)) if reply_all else []
    cc = [a for a in cc if a.lower() not in {t.lower() for t in to}]
    if not to:
        raise ValidationFailed(
            "The original message has no address a reply can go to (its sender is missing "
            "or not a valid address)."
        )
    return to, cc
