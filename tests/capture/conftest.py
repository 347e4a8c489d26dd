"""Fixtures for capture tests: the service with SMTP capture on."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from inboxkit.config import Settings
from tests.helpers import RunningServer, start_server


@pytest.fixture
async def capturing(settings: Settings) -> AsyncIterator[RunningServer]:
    """The whole service with SMTP AUTH capture on (INBOXKIT_SMTP_CAPTURE=true)."""
    async with start_server(settings.model_copy(update={"smtp_capture": True})) as running:
        yield running
