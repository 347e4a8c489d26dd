"""The outbox sender: delivers queued outbound mail, from any number of processes.

Due rows are claimed with a lease (see store/queue.py; the rows' SQL is store/outbox.py).
Recipients hosted on this server are delivered straight through `Pipeline.deliver`, in the
transaction that marks them done, so a crash cannot deliver them twice and two mailboxes here
converse with nothing external. Everyone else goes through the SMTP relay in
`INBOXKIT_SMTP_RELAY_URL`: a 4xx answer (or no answer) is retried on `outbox_retry_schedule`,
a 5xx fails the recipient with the relay's reply. Credentials in the relay URL are only ever
sent over TLS: a relay that does not offer STARTTLS (or a man in the middle who strips it)
fails the message instead. When every recipient is settled the message's `delivery_status`
becomes `sent` or `failed` in the transaction that also queues the `message.sent` / `message.failed`
webhooks, and the event is published. A relay that accepted a message just before a crash
may see it again (nothing else can know it arrived); nothing queued is ever lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.bus import Bus, EventKind
from inboxkit.config import Settings
from inboxkit.errors import MailboxFull
from inboxkit.pipeline import Envelope, NoRecipients, Pipeline
from inboxkit.pipeline.recipients import RecipientStatus
from inboxkit.records import MessageSummary, jsonable, summary
from inboxkit.services.mailboxes import MailboxService
from inboxkit.services.outbound import IDEMPOTENCY_TTL
from inboxkit.services.webhooks import WebhookService
from inboxkit.store import outbox as rows
from inboxkit.store.db import Database
from inboxkit.store.dialect import Dialect
from inboxkit.store.messages import SUMMARY_COLUMNS
from inboxkit.store.outbox import Outcomes
from inboxkit.store.tables import OutboxStatus, outbox, utcnow
from inboxkit.workers.queue import Dispatcher, Waker, retry_at

__all__ = ["OutboxSender", "Relay"]

log = logging.getLogger(__name__)
NO_RELAY = (
    "No SMTP relay is configured (INBOXKIT_SMTP_RELAY_URL), so mail to addresses outside "
    "this server's domains cannot be sent."
)
NO_SUCH_LOCAL_MAILBOX = "550 5.1.1 No such mailbox here"
DELIVERED_LOCALLY = "250 2.0.0 Delivered to a mailbox on this server"
RELAY_WITHOUT_TLS = (
    "The SMTP relay did not offer TLS (STARTTLS), and the relay credentials are never sent "
    "in clear, so the message was not sent. Use a relay that offers STARTTLS, or smtps://."
)


class LeaseLost(Exception):
    """Another worker took the outbox row over; this one must not record anything."""


class RelayWithoutTls(Exception):
    """The relay offered no STARTTLS, and we hold credentials we must not send in clear."""


@dataclass(frozen=True, slots=True)
class Relay:
    """Where mail for other domains goes: `smtp://user:pass@host:port` (STARTTLS whenever
    the relay offers it, and required when there are credentials; default port 587) or
    `smtps://…` (implicit TLS; default 465)."""

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


class RelayConnections:
    """Reuses SMTP sessions with the relay, so a message costs MAIL, RCPT and DATA rather
    than a new connection, TLS handshake, EHLO and login as well.

    Only a session whose last message went through is kept. One idle for more than a moment
    is checked with NOOP before reuse and one idle for long is dropped: relays close quiet
    sessions (RFC 5321 §4.5.3.2.7 lets them after 5 minutes), and a session found dead only
    after DATA could leave it unclear whether the relay took the message.
    """

    CHECK_AFTER_SECONDS = 2.0
    DROP_AFTER_SECONDS = 30.0

    def __init__(self, relay: Relay, settings: Settings, size: int):
        self.relay = relay
        self.settings = settings
        self.size = size
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []

    async def _session(self) -> aiosmtplib.SMTP:
        while self._idle:
            client, since = self._idle.pop()
            idle_for = time.monotonic() - since
            if not client.is_connected or idle_for > self.DROP_AFTER_SECONDS:
                client.close()
                continue
            if idle_for > self.CHECK_AFTER_SECONDS:
                try:
                    await client.noop()
                except aiosmtplib.SMTPException:
                    client.close()
                    continue
            return client
        relay = self.relay
        ca_bundle = self.settings.smtp_relay_ca_bundle
        client = aiosmtplib.SMTP(
            hostname=relay.host,
            port=relay.port,
            use_tls=relay.use_tls,
            # Without credentials STARTTLS is opportunistic (aiosmtplib's default); with them
            # we upgrade and log in ourselves below, so the client never logs in unprotected.
            start_tls=False if relay.username is not None else None,
            cert_bundle=str(ca_bundle) if ca_bundle else None,
            local_hostname=self.settings.smtp_hostname,
            timeout=self.settings.smtp_relay_timeout,
        )
        await client.connect()
        if relay.username is not None:
            try:
                await self._login(client)
            except BaseException:
                client.close()
                raise
        return client

    async def _login(self, client: aiosmtplib.SMTP) -> None:
        """AUTH only over TLS: implicit (smtps://) or STARTTLS, which must then be offered."""
        assert self.relay.username is not None
        if not self.relay.use_tls:
            await client.ehlo()
            if not client.supports_extension("starttls"):
                raise RelayWithoutTls()
            await client.starttls()
        await client.login(self.relay.username, self.relay.password or "")

    async def send(
        self, raw: bytes, sender: str, recipients: list[str]
    ) -> tuple[dict[str, Any], str]:
        client = await self._session()
        try:
            refused, reply = await client.sendmail(sender, recipients, raw)
        except BaseException:
            client.close()
            raise
        if client.is_connected and len(self._idle) < self.size:
            self._idle.append((client, time.monotonic()))
        else:
            client.close()
        return refused, reply

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client, _since in idle:
            try:
                await asyncio.wait_for(client.quit(), 2)
            except Exception:
                client.close()


def _classify(code: int, message: str) -> tuple[OutboxStatus | Literal["retry"], str]:
    """An SMTP reply as an outcome: sent (2xx), retry (4xx, or anything odd) or failed (5xx)."""
    reply = f"{code} {message}".strip()
    if 200 <= code < 300:
        return OutboxStatus.SENT, reply
    if 500 <= code < 600:
        return OutboxStatus.FAILED, reply
    return "retry", reply


class OutboxSender:
    """Delivers what `OutboundService` queued: `step` is one pass of the worker loop."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        dialect: Dialect,
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
        self.connections = (
            RelayConnections(self.relay, settings, settings.outbox_concurrency)
            if self.relay
            else None
        )
        self.dispatcher = Dispatcher(
            db,
            outbox,
            OutboxStatus.QUEUED,
            # The pipeline announces a stored outbound message as `message.stored`.
            Waker(bus, wake_on=frozenset({"message.stored"})),
            concurrency=settings.outbox_concurrency,
            poll_interval=settings.outbox_poll_interval,
            lease_seconds=settings.outbox_lease_seconds,
            dialect=dialect,
            jobs=self._deliveries,
            prune=self._prune,
            name="outbox",
            job="outbox delivery",
        )

    async def step(self) -> int:
        """One pass of the outbox worker: start deliveries for due rows (up to the concurrency
        limit), or sleep until there may be some. Returns how many it started."""
        return await self.dispatcher.step()

    async def _deliveries(
        self, claimed: Sequence[Any], token: str
    ) -> Sequence[Coroutine[Any, Any, None]]:
        raws = await rows.raw_messages(self.db, [row.message_id for row in claimed])
        return [self._process(row, token, raws.get(row.message_id)) for row in claimed]

    async def _process(self, row: Any, token: str, raw: bytes | None) -> None:
        if raw is None:  # the message was deleted before it went out
            await rows.cancel(self.db, row.id, token)
            return
        bcc = {r["address"].lower() for r in row.recipients if r.get("bcc")}
        # Configured domains and held custom ones are delivered here, through the pipeline.
        local = [a for a in row.pending if await self.mailboxes.hosts(_domain(a))]
        remote = [a for a in row.pending if a not in local]
        outcomes: Outcomes = {}
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
    ) -> Outcomes:
        """Deliver to mailboxes on this server through the pipeline. Each group is marked done
        in the very transaction that stores it. Bcc recipients get their own delivery, so
        nobody's envelope shows who else was blind-copied."""
        outcomes: Outcomes = {}
        live = []
        for address in local:
            if (await self.mailboxes.resolve_recipient(address)).status is RecipientStatus.OK:
                live.append(address)
            else:
                outcomes[address] = (OutboxStatus.FAILED, NO_SUCH_LOCAL_MAILBOX)
        groups = [[a for a in live if a.lower() not in bcc]]
        groups += [[a] for a in live if a.lower() in bcc]
        for group in (g for g in groups if g):
            done = {address: (OutboxStatus.SENT, DELIVERED_LOCALLY) for address in group}

            async def mark_done(
                conn: AsyncConnection, _stored: list[MessageSummary], done: Any = done
            ) -> None:
                if await rows.record_outcomes(conn, row.id, token, done) is None:
                    raise LeaseLost()

            try:
                await self.pipeline.deliver(
                    Envelope(mail_from=row.mail_from, rcpt_tos=group), raw, also=mark_done
                )
            except NoRecipients:
                outcomes.update({a: (OutboxStatus.FAILED, NO_SUCH_LOCAL_MAILBOX) for a in group})
            except MailboxFull:
                # The recipient's plan ceiling: like a remote 452, tried again later.
                reason = "452 4.2.2 Mailbox full; will retry"
                outcomes.update({a: ("retry", reason) for a in group})
            except LeaseLost:
                raise
            except Exception:
                log.exception("local delivery of outbox row %s failed; will retry", row.id)
                reason = "451 4.3.0 Local delivery failed; will retry"
                outcomes.update({a: ("retry", reason) for a in group})
        return outcomes

    async def _relay(self, raw: bytes, mail_from: str, recipients: list[str]) -> Outcomes:
        if self.connections is None:
            return {a: (OutboxStatus.FAILED, NO_RELAY) for a in recipients}
        try:
            refused, reply = await self.connections.send(raw, mail_from, recipients)
        except RelayWithoutTls:
            # Not retried: a relay that stops offering TLS is misconfigured or being
            # tampered with, and either way the message must not wait for it.
            log.warning("the SMTP relay offered no STARTTLS; not sending its credentials")
            return {a: (OutboxStatus.FAILED, RELAY_WITHOUT_TLS) for a in recipients}
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return {r.recipient: _classify(r.code, r.message) for r in exc.recipients}
        except aiosmtplib.SMTPResponseException as exc:
            return {a: _classify(exc.code, exc.message) for a in recipients}
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            # The tenant reads delivery_error: name the failure's kind, never the relay's address
            # or the library's text (those go to the operator's log).
            log.warning("the SMTP relay could not be reached: %s: %s", type(exc).__name__, exc)
            reason = f"The relay could not be reached ({type(exc).__name__}); will retry"
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
                _classify(answer.code, answer.message)
                if answer
                else (OutboxStatus.SENT, f"250 {reply}")
            )
        return outcomes

    async def _settle(self, row: Any, token: str, outcomes: Outcomes) -> None:
        """Record this attempt; reschedule what is still pending or, when nothing is (or the
        schedule is spent), finish the message as sent or failed."""

        async def write(conn: AsyncConnection) -> tuple[EventKind, dict[str, Any]] | None:
            state = await rows.record_outcomes(conn, row.id, token, outcomes)
            if state is None:
                raise LeaseLost()
            pending, results = state
            now = utcnow()
            if pending:
                reasons = "; ".join(f"{a}: {outcomes[a][1]}" for a in pending if a in outcomes)
                retry = retry_at(self.settings.outbox_retry_schedule, row.attempts, now)
                if retry is not None:
                    await rows.reschedule(conn, row.id, row.message_id, retry, reasons)
                    return None
                results = dict(results)
                for address in pending:
                    reply = outcomes.get(address, ("retry", "no answer"))[1]
                    results[address] = {
                        "status": OutboxStatus.FAILED,
                        "reply": f"{reply} (gave up after {row.attempts} attempts)",
                    }
            failed = [
                f"{a}: {r['reply']}"
                for a, r in results.items()
                if r["status"] == OutboxStatus.FAILED
            ]
            status = OutboxStatus.FAILED if failed else OutboxStatus.SENT
            error = "; ".join(failed)[:2000] or None
            updated = await rows.finish(
                conn, row.id, row.message_id, status, results, error, SUMMARY_COLUMNS
            )
            if updated is None:  # the message was deleted meanwhile: nobody to tell
                return None
            item = jsonable(summary(updated))
            kind: EventKind = "message.failed" if failed else "message.sent"
            await self.webhooks.on_delivery_status(conn, kind, item)
            return kind, item

        # Deliveries finishing together share one commit (and one fsync on SQLite).
        finished: tuple[EventKind, dict[str, Any]] | None = await self.pipeline.batcher.submit(
            write
        )
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

    async def _prune(self) -> None:
        """Forget finished outbox rows well outside the rate window, and expired keys."""
        keep = max(timedelta(seconds=2 * self.settings.send_rate_window), timedelta(days=1))
        await rows.prune(self.db, keep, IDEMPOTENCY_TTL)

    async def close(self) -> None:
        """Stop in-flight deliveries and hand their rows back for the next worker."""
        await self.dispatcher.close()
        if self.connections is not None:
            await self.connections.close()


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower()
