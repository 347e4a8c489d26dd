"""Fixtures for custom domains: a real authoritative DNS server on 127.0.0.1 that the service
resolves through (INBOXKIT_DNS_RESOLVER), and the service pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from inboxkit.config import Settings
from tests.domains.support import MX_HOST
from tests.helpers import RunningServer, start_server
from tests.senders.dnsserver import DnsServer


@pytest.fixture
def zone() -> Iterator[DnsServer]:
    server = DnsServer()
    server.start()
    yield server
    server.stop()


def domain_settings(settings: Settings, zone: DnsServer, **extra: object) -> Settings:
    update: dict[str, object] = {"dns_resolver": zone.address, "mx_host": MX_HOST, **extra}
    return settings.model_copy(update=update)


@pytest.fixture
async def hosted(settings: Settings, zone: DnsServer) -> AsyncIterator[RunningServer]:
    """The whole service, resolving custom domains' records through `zone`."""
    async with start_server(domain_settings(settings, zone)) as running:
        yield running
