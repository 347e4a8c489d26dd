"""Real-time tests use a short ping interval so a ping can be observed quickly."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from inboxkit.config import Settings
from tests.helpers import RunningServer, start_server
from tests.realtime.support import PING_INTERVAL


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"ping_interval": PING_INTERVAL})


@pytest.fixture
async def server_without_catchup(settings: Settings) -> AsyncIterator[RunningServer]:
    """The database catch-up would only look again after ten minutes: within a test, waits and
    streams can only be woken by the bus event the delivery publishes."""
    async with start_server(settings.model_copy(update={"wait_poll_interval": 600.0})) as running:
        yield running
