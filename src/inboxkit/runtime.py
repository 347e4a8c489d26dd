"""The runtime: one process of inboxkit. Every long-lived object the surfaces share, built
once from Settings, plus what its role runs (the SMTP listener, the workers).

Roles let one deployment split work across processes: `api` serves HTTP/WebSocket/MCP, `smtp`
receives mail, `worker` runs background jobs. `all` (the default of `inboxkit serve`) does
everything in one. HTTP is served around the runtime (`app.serve`); the runtime itself starts
the SMTP listener (`all`, `smtp`) and the worker loops (`all`, `worker`). Every role runs the
wait catch-up, since any process may hold long-polls and streams.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import StrEnum

from inboxkit.bus import create_bus
from inboxkit.config import Settings
from inboxkit.mail.parse import Limits
from inboxkit.mail.pool import ParserPool
from inboxkit.metrics import Metrics
from inboxkit.pipeline import Pipeline
from inboxkit.senders import SenderVerifier
from inboxkit.senders.verifier import VerifyScope
from inboxkit.services.accounts import AccountService, UsageService
from inboxkit.services.admission import Admission
from inboxkit.services.auth import AuthService
from inboxkit.services.capture import CaptureService
from inboxkit.services.domains import DomainService
from inboxkit.services.drafts import DraftService
from inboxkit.services.faults import FaultService
from inboxkit.services.inbound_ses import SesInbound
from inboxkit.services.ingest import IngestService
from inboxkit.services.lists import ListService
from inboxkit.services.mailboxes import MailboxService
from inboxkit.services.messages import MessageService
from inboxkit.services.outbound import OutboundService
from inboxkit.services.plans import PlanService
from inboxkit.services.quotas import DeliveryQuotas
from inboxkit.services.sessions import SessionService
from inboxkit.services.sns import SnsVerifier
from inboxkit.services.threads import ThreadService
from inboxkit.services.throttle import RateLimiter
from inboxkit.services.wait import WaitService
from inboxkit.services.webhooks import WebhookService
from inboxkit.smtp.handler import InboxHandler
from inboxkit.smtp.server import start_smtp_server
from inboxkit.spam import SpamFilter, build_engine
from inboxkit.store.batch import CommitBatcher
from inboxkit.store.db import Database
from inboxkit.store.dialect import create_dialect
from inboxkit.store.migrate import upgrade
from inboxkit.workers import start_workers
from inboxkit.workers.catchup import CatchUp
from inboxkit.workers.drafts import DraftScheduler
from inboxkit.workers.outbox import OutboxSender
from inboxkit.workers.webhooks import WebhookDispatcher

__all__ = ["Role", "Runtime", "admin_auth", "migrate_database"]

log = logging.getLogger(__name__)


class Role(StrEnum):
    """What one process runs."""

    ALL = "all"
    API = "api"
    SMTP = "smtp"
    WORKER = "worker"

    @property
    def serves_http(self) -> bool:
        return self in (Role.ALL, Role.API)

    @property
    def receives_mail(self) -> bool:
        return self in (Role.ALL, Role.SMTP)

    @property
    def runs_workers(self) -> bool:
        return self in (Role.ALL, Role.WORKER)


class Runtime:
    """Built once per process; `start` and `close` bring everything up and down together.

    A runtime built on its own (a script, a test) takes the `api` role: the shared objects
    alone, with no SMTP listener and no worker loop."""

    def __init__(self, settings: Settings, role: Role | str = Role.API):
        self.settings: Settings = settings
        self.role = Role(role)
        self.metrics = Metrics()
        self.db = Database(settings.effective_database_url)
        self.bus = create_bus(settings.redis_url)
        self.parser = ParserPool(
            settings.parse_workers,
            settings.parse_timeout,
            Limits(settings.max_mime_depth, settings.max_mime_parts, settings.max_header_bytes),
        )
        self.batcher = CommitBatcher(self.db)
        self.dialect = create_dialect(self.db, self.batcher)
        self.plans = PlanService(self.db)
        self.auth = AuthService(settings, self.db, self.plans)
        self.sessions = SessionService(self.db)
        # Rate limits per plan (and SMTP connects per peer): in Redis when configured.
        self.throttle = RateLimiter(settings.redis_url, self.metrics)
        self.domains = DomainService(settings, self.db)
        self.mailboxes = MailboxService(settings, self.db, self.bus, self.domains)
        self.plans.changed_hooks.append(self.mailboxes.forget_all)
        self.domains.changed_hooks.append(self.mailboxes.forget_all)
        self.accounts = AccountService(self.db, self.bus, self.plans, self.mailboxes)
        self.usage = UsageService(self.db, self.plans)
        self.quotas = DeliveryQuotas(self.db)
        self.messages = MessageService(settings, self.db, self.mailboxes)
        self.search = self.messages.search
        self.threads = ThreadService(self.db, self.mailboxes)
        self.waits = WaitService(
            settings, self.db, self.bus, self.mailboxes, self.dialect, metrics=self.metrics
        )
        self.catchup = CatchUp(self.db, self.bus, settings.wait_poll_interval)
        self.senders = (
            SenderVerifier(
                VerifyScope(settings.verify_senders),
                settings.dns_resolver_address,
                settings.dns_budget_seconds,
                self.metrics,
            )
            if settings.verify_senders != "none"
            else None
        )
        self.lists = ListService(self.db, self.mailboxes)
        engine = build_engine(
            enabled=settings.spam_filter,
            rspamd_url=settings.rspamd_url,
            rspamd_password=settings.rspamd_password,
            rspamd_timeout=settings.rspamd_timeout,
        )
        self.spam = SpamFilter(engine, self.lists, self.metrics)
        self.pipeline = Pipeline(
            self.mailboxes,
            self.parser,
            self.batcher,
            self.bus,
            senders=self.senders,
            spam=self.spam,
        )
        self.capture = CaptureService(settings, self.db, self.auth, self.pipeline, self.throttle)
        self.webhooks = WebhookService(settings, self.db, self.dialect, self.mailboxes)
        # Built in every role: the API's "test this endpoint" makes its first attempt here.
        self.webhook_dispatcher = WebhookDispatcher(
            settings, self.db, self.dialect, self.bus, self.batcher, vet=self.webhooks.vet
        )
        self.webhooks.deliverer = self.webhook_dispatcher
        # Run in every storing transaction; the batcher runs them, a group commit at a time.
        self.batcher.store_hooks.append(self.webhooks.on_store)
        self.mailboxes.end_hooks.append(self.webhooks.on_mailbox_end)
        self.mailboxes.end_hooks.append(self.capture.on_mailbox_end)
        self.domains.event_hooks.append(self.webhooks.on_account_event)
        self.plans.changed_hooks.append(self.capture.forget)
        self.faults = FaultService(self.db, self.dialect, self.mailboxes)
        self.outbound = OutboundService(
            settings, self.db, self.dialect, self.mailboxes, self.pipeline, self.domains
        )
        # Drafts, scheduled and reviewed sending (DESIGN §13): a mailbox under review hands
        # its sends to the drafts service instead of sending them.
        self.drafts = DraftService(
            settings, self.db, self.bus, self.mailboxes, self.outbound, self.webhooks
        )
        self.outbound.review = self.drafts
        self.mailboxes.review_hook = self.drafts.hold_scheduled
        self.draft_scheduler = DraftScheduler(
            settings, self.db, self.dialect, self.bus, self.drafts
        )
        self.outbox = OutboxSender(
            settings, self.db, self.dialect, self.bus, self.mailboxes, self.pipeline, self.webhooks
        )
        # Mail over HTTP (DESIGN §10): raw ingest and SES through SNS, admitted by the rules
        # SMTP's RCPT answers with.
        self.ingest = IngestService(
            settings,
            Admission(self.mailboxes, self.quotas, self.metrics),
            self.pipeline,
            self.metrics,
        )
        self.sns = SnsVerifier(settings)
        self.ses_inbound = SesInbound(settings, self.db, self.sns, self.ingest, self.metrics)
        self.smtp_server: asyncio.Server | None = None
        self.worker_tasks: list[asyncio.Task[None]] = []

    @property
    def smtp_port(self) -> int | None:
        """The port the SMTP listener is bound to (None when this role receives no mail)."""
        if self.smtp_server is None or not self.smtp_server.sockets:
            return None
        port: int = self.smtp_server.sockets[0].getsockname()[1]
        return port

    async def start(self, *, migrate: bool | None = None) -> None:
        if self.settings.auto_migrate if migrate is None else migrate:
            await upgrade(self.db)
        await self.bus.start()
        await self.waits.start()
        self.catchup.start()
        await self.auth.ensure_admin_account()
        if self.role.receives_mail:
            handler = InboxHandler(
                self.settings,
                self.mailboxes,
                self.pipeline,
                self.metrics,
                self.quotas,
                capture=self.capture if self.settings.smtp_capture else None,
                faults=self.faults,
            )
            self.smtp_server = await start_smtp_server(self.settings, handler, self.throttle)
        if self.role.runs_workers:
            self.worker_tasks = start_workers(self)

    async def close(self) -> None:
        if self.smtp_server is not None:
            self.smtp_server.close()
            try:
                await asyncio.wait_for(self.smtp_server.wait_closed(), 5)
            except TimeoutError:
                pass
            self.smtp_server = None
        for task in self.worker_tasks:
            task.cancel()
        await asyncio.gather(*self.worker_tasks, return_exceptions=True)
        self.worker_tasks = []
        await self.outbox.close()
        await self.draft_scheduler.close()
        await self.webhook_dispatcher.close()
        await self.sns.close()
        await self.waits.close()
        await self.throttle.close()
        await self.catchup.close()
        await self.batcher.close()
        await self.bus.close()
        await self.parser.close()
        if self.senders is not None:
            self.senders.close()
        await self.spam.close()
        await self.db.close()


async def migrate_database(settings: Settings) -> None:
    """Bring the configured database to the newest schema (the `inboxkit migrate` command)."""
    db = Database(settings.effective_database_url)
    try:
        await upgrade(db)
    finally:
        await db.close()


@asynccontextmanager
async def admin_auth(settings: Settings) -> AsyncIterator[AuthService]:
    """Key management on the migrated database without a running server (`inboxkit keys`)."""
    db = Database(settings.effective_database_url)
    try:
        await upgrade(db)
        yield AuthService(settings, db)
    finally:
        await db.close()
