"""The runtime: every long-lived object the surfaces share, built once from Settings."""

from __future__ import annotations

import logging

from inboxkit.bus import create_bus
from inboxkit.config import Settings
from inboxkit.mail.parse import Limits
from inboxkit.mail.pool import ParserPool
from inboxkit.metrics import Metrics
from inboxkit.pipeline import Pipeline
from inboxkit.services.auth import AuthService
from inboxkit.services.mailboxes import MailboxService
from inboxkit.services.messages import MessageService
from inboxkit.services.outbound import OutboundService
from inboxkit.services.wait import WaitService
from inboxkit.services.webhooks import WebhookService
from inboxkit.store.batch import CommitBatcher
from inboxkit.store.db import Database
from inboxkit.store.migrate import upgrade

__all__ = ["Runtime"]

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.metrics = Metrics()
        self.db = Database(settings.effective_database_url)
        self.bus = create_bus(settings.redis_url)
        self.parser = ParserPool(
            settings.parse_workers,
            settings.parse_timeout,
            Limits(settings.max_mime_depth, settings.max_mime_parts, settings.max_header_bytes),
        )
        self.batcher = CommitBatcher(self.db)
        self.auth = AuthService(settings, self.db)
        self.mailboxes = MailboxService(settings, self.db, self.bus)
        self.messages = MessageService(settings, self.db, self.mailboxes)
        self.waits = WaitService(settings, self.db, self.bus, self.mailboxes, self.batcher)
        self.pipeline = Pipeline(self.mailboxes, self.parser, self.batcher, self.bus)
        self.webhooks = WebhookService(settings, self.db, self.bus, self.mailboxes, self.batcher)
        self.pipeline.store_hooks.append(self.webhooks.on_store)
        self.mailboxes.end_hooks.append(self.webhooks.on_mailbox_end)
        self.outbound = OutboundService(
            settings, self.db, self.bus, self.mailboxes, self.pipeline, self.webhooks
        )

    async def start(self, *, migrate: bool | None = None) -> None:
        if self.settings.auto_migrate if migrate is None else migrate:
            await upgrade(self.db)
        await self.bus.start()
        await self.waits.start()
        await self.auth.ensure_admin_account()

    async def close(self) -> None:
        await self.outbound.close()
        await self.webhooks.close()
        await self.waits.close()
        await self.batcher.close()
        await self.bus.close()
        await self.parser.close()
        await self.db.close()
