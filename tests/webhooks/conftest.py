"""Fixtures for webhooks: a real receiver, and the service allowed to reach it on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from inboxkit.config import Settings
from tests.helpers import RunningServer, start_server
from tests.webhooks.receiver import Receiver, serve_receiver
from tests.webhooks.support import hook_settings


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serve_receiver(Receiver()) as running:
        yield running


@pytest.fixture
async def hooks(settings: Settings) -> AsyncIterator[RunningServer]:
    async with start_server(hook_settings(settings)) as running:
        yield running
