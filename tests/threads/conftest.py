"""The service for thread tests: local delivery between mailboxes, no relay."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from inboxkit.config import Settings
from tests.helpers import RunningServer, start_server
from tests.outbound.relay import relay_settings


@pytest.fixture
async def mail_server(settings: Settings) -> AsyncIterator[RunningServer]:
    async with start_server(relay_settings(settings, None)) as running:
        yield running
