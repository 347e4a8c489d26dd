"""Fixtures for mail over HTTP: an operator key with `ingest`, and tenants on plans."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from inboxkit.services.auth import SCOPES
from tests.helpers import RunningServer
from tests.plans.support import tenant_on_plan

Tenant = dict[str, Any]


@pytest.fixture
async def admin(server: RunningServer) -> dict[str, str]:
    """Headers of an API key with every scope, admin included."""
    return server.auth(await server.create_key("operator", scopes=list(SCOPES)))


@pytest.fixture
async def ingester(server: RunningServer) -> dict[str, str]:
    """Headers of an operator's key with the `ingest` scope alone (an MTA's credential)."""
    return server.auth(await server.create_key("mta", scopes=["ingest"]))


@pytest.fixture
def tenant_on(server: RunningServer, admin: dict[str, str]) -> Callable[..., Awaitable[Tenant]]:
    """An account on plan `plan` (made with `limits`) with a key; {"account", "headers"}."""
    admin_token = admin["Authorization"].removeprefix("Bearer ")

    async def make(plan: str, **limits: Any) -> Tenant:
        account, key = await tenant_on_plan(server.http, admin_token, plan, limits)
        return {"account": account, "headers": server.auth(key)}

    return make
