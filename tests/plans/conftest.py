"""Fixtures for plan tests: an admin key, and accounts on plans made through the admin API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from inboxkit.services.auth import SCOPES
from tests.helpers import RunningServer

Tenant = dict[str, Any]


@pytest.fixture
async def admin(server: RunningServer) -> dict[str, str]:
    """Headers of an API key with every scope, admin included."""
    token = await server.create_key("operator", scopes=list(SCOPES))
    return server.auth(token)


@pytest.fixture
def tenant_on(server: RunningServer, admin: dict[str, str]) -> Callable[..., Awaitable[Tenant]]:
    """Make a plan (if limits are given) and an account on it with a key; returns
    {"plan", "account", "headers"}."""

    async def make(plan: str, **limits: Any) -> Tenant:
        if limits:
            created = await server.http.post("/plans", json={"name": plan, **limits}, headers=admin)
            assert created.status_code in (201, 409), created.text
            if created.status_code == 409:
                patched = await server.http.patch(f"/plans/{plan}", json=limits, headers=admin)
                assert patched.status_code == 200, patched.text
        account = await server.http.post(
            "/accounts", json={"name": f"tenant on {plan}", "plan": plan}, headers=admin
        )
        assert account.status_code == 201, account.text
        key = await server.http.post(
            "/keys",
            json={"name": "tenant key", "account_id": account.json()["data"]["id"]},
            headers=admin,
        )
        assert key.status_code == 201, key.text
        return {
            "plan": plan,
            "account": account.json()["data"],
            "headers": server.auth(key.json()["data"]["token"]),
        }

    return make
