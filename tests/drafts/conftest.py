"""Fixtures for drafts: the service sending through a real relay, reaching a real webhook
receiver on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from inboxkit.config import Settings
from tests.drafts.support import draft_settings
from tests.helpers import RunningServer, start_server
from tests.outbound.relay import RelaySink
from tests.webhooks.receiver import Receiver, serve_receiver


@pytest.fixture
async def relay() -> AsyncIterator[RelaySink]:
    sink = RelaySink()
    await sink.start()
    yield sink
    await sink.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serve_receiver(Receiver()) as running:
        yield running


@pytest.fixture
async def mail(settings: Settings, relay: RelaySink) -> AsyncIterator[RunningServer]:
    """The whole service, sending through the test relay."""
    async with start_server(draft_settings(settings, relay)) as running:
        yield running
