"""Fixtures for plan tests: an admin key, and accounts on plans made through the admin API."""

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
    token = await server.create_key("operator", scopes=list(SCOPES))
    return server.auth(token)


@pytest.fixture
def tenant_on(server: RunningServer, admin: dict[str, str]) -> Callable[..., Awaitable[Tenant]]:
    """Make (or change) a plan when limits are given, and an account on it with a key;
    returns {"plan", "account", "headers"}."""
    admin_token = admin["Authorization"].removeprefix("Bearer ")

    async def make(plan: str, **limits: Any) -> Tenant:
        account, key = await tenant_on_plan(server.http, admin_token, plan, limits)
        return {"plan": plan, "account": account, "headers": server.auth(key)}

    return make
