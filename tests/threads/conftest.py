"""The service for thread tests: local delivery between mailboxes, no relay."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from inboxkit.client import InboxKit
from inboxkit.config import Settings
from tests.client.conftest import Sdk
from tests.helpers import RunningServer, start_server
from tests.outbound.relay import relay_settings
from tests.webhooks.conftest import receiver  # noqa: F401  (the webhook receiver fixture)


@pytest.fixture
async def mail_server(settings: Settings) -> AsyncIterator[RunningServer]:
    async with start_server(relay_settings(settings, None)) as running:
        yield running


@pytest.fixture(params=["sync", "async"])
async def sdk(request: pytest.FixtureRequest, mail_server: RunningServer) -> AsyncIterator[Sdk]:
    """Both SDK clients against the thread tests' server (see tests/client/conftest.py)."""
    helper = Sdk(request.param, mail_server.base_url, [])
    yield helper
    for client in helper.opened:
        if isinstance(client, InboxKit):
            client.close()
        else:
            await client.aclose()
