"""Fixtures for sending: a real relay, and the service configured to use it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from inboxkit.config import Settings
from tests.helpers import RunningServer, start_server
from tests.outbound.relay import RelaySink, relay_settings


@pytest.fixture
async def relay() -> AsyncIterator[RelaySink]:
    sink = RelaySink()
    await sink.start()
    yield sink
    await sink.stop()


@pytest.fixture
async def mail(settings: Settings, relay: RelaySink) -> AsyncIterator[RunningServer]:
    """The whole service, sending through the test relay."""
    async with start_server(relay_settings(settings, relay)) as running:
        yield running
