"""Fixtures for sending: a real relay, and the service configured to use it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from inboxkit.config import Settings
from tests.helpers import RunningServer, start_server
from tests.outbound.relay import RelaySink

FAST_RETRIES = [0, 0.2, 0.2, 0.2]


@pytest.fixture
async def relay() -> AsyncIterator[RelaySink]:
    sink = RelaySink()
    await sink.start()
    yield sink
    await sink.stop()


def relay_settings(settings: Settings, relay: RelaySink | None, **extra: Any) -> Settings:
    update: dict[str, Any] = {
        "smtp_relay_url": relay.url if relay else None,
        "outbox_retry_schedule": FAST_RETRIES,
        "outbox_poll_interval": 1.0,
        "smtp_relay_timeout": 10.0,
        **extra,
    }
    return settings.model_copy(update=update)


@pytest.fixture
async def mail(settings: Settings, relay: RelaySink) -> AsyncIterator[RunningServer]:
    """The whole service, sending through the test relay."""
    async with start_server(relay_settings(settings, relay)) as running:
        yield running
