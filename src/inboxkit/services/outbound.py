"""Sending and replying: compose, store as outbound, queue; the outbox worker delivers.

`send` and `reply` build the message (mail/compose.py), optionally DKIM-sign it, and store it
through the delivery pipeline as an `outbound` message in the sender's mailbox. In that same
transaction they queue an outbox row, check the per-mailbox send rate and record the
Idempotency-Key, so a stored message is always queued and a queued one is always stored.

The outbox worker (any number of processes, see queue.py) claims due rows and delivers:
recipients hosted on this server straight through `Pipeline.deliver` (in the transaction that
marks them done, so a crash cannot deliver them twice), everyone else through the SMTP relay
in `INBOXKIT_SMTP_RELAY_URL`. A 4xx answer is retried on `outbox_retry_schedule`, a 5xx fails
the recipient with the relay's reply. When every recipient is settled the message's
`delivery_status` becomes `sent` or `failed`, in the transaction that also queues the
`message.sent` / `message.failed` webhooks, and the event is published.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib
import dkim
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.bus import Bus
from inboxkit.config import Settings
from inboxkit.errors import (
    Conflict,
    NotFound,
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
from inboxkit.pipeline import Envelope, NoRecipients, Pipeline
from inboxkit.services.addresses import split_address
from inboxkit.services.auth import Principal
from inboxkit.services.mailboxes import MailboxService
from inboxkit.services.messages import SUMMARY_COLUMNS, jsonable, summary
from inboxkit.services.queue import Waker, claim, next_due, release, retry_at, until
from inboxkit.services.webhooks import WebhookService
from inboxkit.store.db import Database
from inboxkit.store.tables import contents, idempotency_keys, mailboxes, messages, outbox, utcnow

__all__ = ["OutboundService", "Relay"]

log = logging.getLogger(__name__)

IDEMPOTENCY_TTL = timedelta(hours=24)
MAX_IDEMPOTENCY_KEY_CHARS = 255
PRUNE_EVERY_SECONDS = 600.0
NO_RELAY = (
    "No SMTP relay is configured (INBOXKIT_SMTP_RELAY_URL), so mail to addresses outside "
    "this server's domains cannot be sent."
)
NO_SUCH_LOCAL_MAILBOX = "550 5.1.1 No such mailbox here"
DELIVERED_LOCALLY = "250 2.0.0 Delivered to a mailbox on this server"
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


class LeaseLost(Exception):
    """Another worker took the outbox row over; this one must not record anything."""


@dataclass(frozen=True, slots=True)
class Relay:
    """Where mail for other domains goes: `smtp://user:pass@host:port` (STARTTLS whenever
    the relay offers it; default port 587) or `smtps://…` (implicit TLS; default 465)."""

    host: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool

    @classmethod
    def from_url(cls, url: str) -> Relay:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(
                "INBOXKIT_SMTP_RELAY_URL must look like smtp://user:pass@host:587 or "
                "smtps://user:pass@host:465."
            )
        implicit = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if implicit else 587),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=implicit,
        )


def _classify(code: int, message: str) -> tuple[str, str]:
    """An SMTP reply as an outcome: sent (2xx), retry (4xx, or anything odd) or failed (5xx)."""
    reply = f"{code} {message}".strip()
    if 200 <= code < 300:
        return "sent", reply
    if 500 <= code < 600:
        return "failed", reply
    return "retry", reply


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
        self.bus = bus
        self.mailboxes = mailboxes
        self.pipeline = pipeline
        self.webhooks = webhooks
        self.relay = Relay.from_url(settings.smtp_relay_url) if settings.smtp_relay_url else None
        self._dkim_key = self._load_dkim_key()
        self.waker = Waker(bus)
        self._inflight: dict[asyncio.Task[None], tuple[str, str]] = {}
        self._last_prune = 0.0

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
            original = (
                await conn.execute(
                    sa.select(messages).where(
                        messages.c.id == message_id, messages.c.mailbox_id == box.id
                    )
                )
            ).first()
        if original is None:
            raise NotFound("No such message in this mailbox.")
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

    # -- the outbox worker -----------------------------------------------------------------

    async def work_step(self) -> int:
        """One pass of the outbox worker: start deliveries for due rows (up to the concurrency
        limit), or sleep until there may be some. Returns how many it started."""
        self.waker.start()
        await self._prune()
        free = self.settings.outbox_concurrency - len(self._inflight)
        taken = await claim(self.db, outbox, "queued", free, self.settings.outbox_lease_seconds)
        for row in taken.rows:
            task = asyncio.create_task(
                self._process(row, taken.token), name=f"inboxkit-outbox-{row.id}"
            )
            self._inflight[task] = (row.id, taken.token)
            task.add_done_callback(self._finished)
        if taken.rows:
            return len(taken.rows)
        due = await next_due(self.db, outbox, "queued") if free > 0 else None
        await self.waker.wait(until(due, self.settings.outbox_poll_interval))
        return 0

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._inflight.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("outbox delivery crashed", exc_info=task.exception())
        self.waker.nudge()

    async def _process(self, row: Any, token: str) -> None:
        async with self.db.read() as conn:
            raw = await conn.scalar(
                sa.select(contents.c.raw)
                .select_from(messages.join(contents, contents.c.id == messages.c.content_id))
                .where(messages.c.id == row.message_id)
            )
        if raw is None:
            await self._cancel(row, token)
            return
        raw = bytes(raw)
        bcc = {r["address"].lower() for r in row.recipients if r.get("bcc")}
        local = [a for a in row.pending if _domain(a) in self.settings.domains]
        remote = [a for a in row.pending if a not in local]
        outcomes: dict[str, tuple[str, str]] = {}
        try:
            if local:
                outcomes.update(await self._deliver_locally(row, token, raw, local, bcc))
            if remote:
                outcomes.update(await self._relay(raw, row.mail_from, remote))
            await self._settle(row, token, outcomes)
        except LeaseLost:
            log.info("outbox row %s was taken over by another worker", row.id)

    async def _deliver_locally(
        self, row: Any, token: str, raw: bytes, local: list[str], bcc: set[str]
    ) -> dict[str, tuple[str, str]]:
        """Deliver to mailboxes on this server through the pipeline. Each group is marked done
        in the very transaction that stores it. Bcc recipients get their own delivery, so
        nobody's envelope shows who else was blind-copied."""
        outcomes: dict[str, tuple[str, str]] = {}
        live = []
        for address in local:
            if (await self.mailboxes.resolve_recipient(address)).status == "ok":
                live.append(address)
            else:
                outcomes[address] = ("failed", NO_SUCH_LOCAL_MAILBOX)
        groups = [[a for a in live if a.lower() not in bcc]]
        groups += [[a] for a in live if a.lower() in bcc]
        for group in (g for g in groups if g):
            done = {address: ("sent", DELIVERED_LOCALLY) for address in group}

            async def mark_done(
                conn: AsyncConnection, _stored: list[dict[str, Any]], done: Any = done
            ) -> None:
                if await self._apply(conn, row.id, token, done) is None:
                    raise LeaseLost()

            try:
                await self.pipeline.deliver(
                    Envelope(mail_from=row.mail_from, rcpt_tos=group), raw, also=mark_done
                )
            except NoRecipients:
                outcomes.update({a: ("failed", NO_SUCH_LOCAL_MAILBOX) for a in group})
            except LeaseLost:
                raise
            except Exception:
                log.exception("local delivery of outbox row %s failed; will retry", row.id)
                reason = "451 4.3.0 Local delivery failed; will retry"
                outcomes.update({a: ("retry", reason) for a in group})
        return outcomes

    async def _relay(
        self, raw: bytes, mail_from: str, recipients: list[str]
    ) -> dict[str, tuple[str, str]]:
        relay = self.relay
        if relay is None:
            return {a: ("failed", NO_RELAY) for a in recipients}
        try:
            refused, reply = await aiosmtplib.send(
                raw,
                sender=mail_from,
                recipients=recipients,
                hostname=relay.host,
                port=relay.port,
                username=relay.username,
                password=relay.password,
                use_tls=relay.use_tls,
                local_hostname=self.settings.smtp_hostname,
                timeout=self.settings.smtp_relay_timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return {r.recipient: _classify(r.code, r.message) for r in exc.recipients}
        except aiosmtplib.SMTPResponseException as exc:
            return {a: _classify(exc.code, exc.message) for a in recipients}
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            reason = f"The relay could not be reached ({type(exc).__name__}: {exc}); will retry"
            return {a: ("retry", reason) for a in recipients}
        except Exception:
            log.exception("unexpected error talking to the relay; will retry")
            return {
                a: ("retry", "451 4.3.0 Unexpected error talking to the relay") for a in recipients
            }
        outcomes = {}
        for address in recipients:
            answer = refused.get(address)
            outcomes[address] = (
                _classify(answer.code, answer.message) if answer else ("sent", f"250 {reply}")
            )
        return outcomes

    async def _apply(
        self, conn: AsyncConnection, row_id: str, token: str, outcomes: dict[str, tuple[str, str]]
    ) -> tuple[list[str], dict[str, Any]] | None:
        """Record settled recipients on the row, if it is still ours; (pending, results)."""
        row = (
            await conn.execute(
                sa.select(outbox.c.pending, outbox.c.results).where(
                    outbox.c.id == row_id, outbox.c.lock_token == token
                )
            )
        ).first()
        if row is None:
            return None
        results = dict(row.results)
        pending = []
        for address in row.pending:
            kind, reply = outcomes.get(address, ("retry", ""))
            if kind == "retry":
                pending.append(address)
            else:
                results[address] = {"status": kind, "reply": reply}
        await conn.execute(
            outbox.update()
            .where(outbox.c.id == row_id)
            .values(pending=pending, results=results, updated_at=utcnow())
        )
        return pending, results

    async def _settle(self, row: Any, token: str, outcomes: dict[str, tuple[str, str]]) -> None:
        """Record this attempt; reschedule what is still pending or, when nothing is (or the
        schedule is spent), finish the message as sent or failed."""

        async def write(conn: AsyncConnection) -> tuple[str, dict[str, Any]] | None:
            state = await self._apply(conn, row.id, token, outcomes)
            if state is None:
                raise LeaseLost()
            pending, results = state
            now = utcnow()
            if pending:
                reasons = "; ".join(f"{a}: {outcomes[a][1]}" for a in pending if a in outcomes)
                retry = retry_at(self.settings.outbox_retry_schedule, row.attempts, now)
                if retry is not None:
                    await conn.execute(
                        outbox.update()
                        .where(outbox.c.id == row.id)
                        .values(
                            next_attempt_at=retry,
                            locked_until=None,
                            lock_token=None,
                            last_error=reasons or None,
                        )
                    )
                    await conn.execute(
                        messages.update()
                        .where(messages.c.id == row.message_id)
                        .values(delivery_error=f"Temporary failure, retrying: {reasons}"[:2000])
                    )
                    return None
                results = dict(results)
                for address in pending:
                    reply = outcomes.get(address, ("retry", "no answer"))[1]
                    results[address] = {
                        "status": "failed",
                        "reply": f"{reply} (gave up after {row.attempts} attempts)",
                    }
            failed = [f"{a}: {r['reply']}" for a, r in results.items() if r["status"] == "failed"]
            status = "failed" if failed else "sent"
            error = "; ".join(failed)[:2000] or None
            await conn.execute(
                outbox.update()
                .where(outbox.c.id == row.id)
                .values(
                    status=status,
                    pending=[],
                    results=results,
                    last_error=error,
                    locked_until=None,
                    lock_token=None,
                    updated_at=now,
                )
            )
            updated = (
                await conn.execute(
                    messages.update()
                    .where(messages.c.id == row.message_id)
                    .values(delivery_status=status, delivery_error=error)
                    .returning(*SUMMARY_COLUMNS)
                )
            ).first()
            if updated is None:  # the message was deleted meanwhile: nobody to tell
                return None
            item = jsonable(summary(updated))
            await self.webhooks.on_delivery_status(conn, f"message.{status}", item)
            return f"message.{status}", item

        # Deliveries finishing together share one commit (and one fsync on SQLite).
        finished = await self.pipeline.batcher.submit(write)
        if finished is not None:
            event, item = finished
            await self.bus.publish(
                {
                    "event": event,
                    "mailbox_id": row.mailbox_id,
                    "mailbox": row.mail_from,
                    "message": item,
                }
            )

    async def _cancel(self, row: Any, token: str) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                outbox.update()
                .where(outbox.c.id == row.id, outbox.c.lock_token == token)
                .values(
                    status="cancelled",
                    last_error="The message was deleted before it was sent.",
                    locked_until=None,
                    lock_token=None,
                    updated_at=utcnow(),
                )
            )

    async def _prune(self) -> None:
        """Forget finished outbox rows well outside the rate window, and expired keys."""
        moment = time.monotonic()
        if moment - self._last_prune < PRUNE_EVERY_SECONDS:
            return
        self._last_prune = moment
        now = utcnow()
        keep = max(timedelta(seconds=2 * self.settings.send_rate_window), timedelta(days=1))
        async with self.db.write() as conn:
            await conn.execute(
                outbox.delete().where(outbox.c.status != "queued", outbox.c.updated_at < now - keep)
            )
            await conn.execute(
                idempotency_keys.delete().where(
                    idempotency_keys.c.created_at < now - IDEMPOTENCY_TTL
                )
            )

    async def close(self) -> None:
        """Stop in-flight deliveries and hand their rows back for the next worker."""
        interrupted = list(self._inflight.items())
        for task, _ in interrupted:
            task.cancel()
        await asyncio.gather(*(task for task, _ in interrupted), return_exceptions=True)
        await release(self.db, outbox, "queued", [pair for _, pair in interrupted])
        self.waker.close()


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


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
