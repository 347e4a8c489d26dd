"""Plans through MCP: the get_usage tool, and quota and rate-limit errors a model can act on,
alike from the in-process backend (`/mcp`, `--embedded`) and the REST one (`--url`)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp import Client

from inboxkit.mcp.backends import RestBackend, ServiceBackend
from inboxkit.mcp.tools import build_server
from tests.helpers import RunningServer
from tests.mcp.conftest import call, call_error, http_client
from tests.plans.support import account_on_plan


async def key_on_plan(server: RunningServer, plan: str, **limits: Any) -> str:
    """An API key of a new account on a new plan with these limits."""
    admin = await server.create_key(
        "admin", scopes=["admin", "mailboxes:read", "mailboxes:write", "send"]
    )
    return await account_on_plan(server.http, admin, plan, limits)


@asynccontextmanager
async def both_backends(server: RunningServer, key: str) -> AsyncIterator[list[Client]]:
    """Official MCP clients (in memory) on the tools over each backend, for the same key."""
    principal = await server.runtime.auth.authenticate(key)
    service = ServiceBackend(server.runtime, principal)
    async with RestBackend(server.base_url, key) as rest:
        async with (
            Client(build_server(lambda ctx: service)) as in_process,
            Client(build_server(lambda ctx: rest)) as over_rest,
        ):
            yield [in_process, over_rest]


async def test_get_usage_over_mcp_shows_the_plan_figures_and_limits(server: RunningServer):
    key = await key_on_plan(server, "free", max_mailboxes=5, sent_per_month=100, send="local")
    async with http_client(f"{server.base_url}/mcp", server.auth(key)) as client:
        inbox = await call(client, "create_inbox")
        await server.send(inbox["address"], subject="hello")
        usage = await call(client, "get_usage")
    assert usage["plan"] == "free"
    assert usage["mailboxes"] == {"used": 1, "limit": 5}
    assert usage["received_this_month"] == {"used": 1, "limit": None}
    assert usage["sent_this_month"] == {"used": 0, "limit": 100}
    assert usage["limits"]["send"] == "local" and "received_per_month" not in usage["limits"]
    assert usage["summary"].startswith("Plan 'free': mailboxes: 1 of 5;")
    assert "only to inboxes on this server" in usage["summary"]


async def test_get_usage_is_the_same_from_both_backends(server: RunningServer):
    key = await key_on_plan(server, "free", max_mailboxes=3)
    async with both_backends(server, key) as (in_process, over_rest):
        await call(in_process, "create_inbox")
        assert await call(in_process, "get_usage") == await call(over_rest, "get_usage")


async def test_a_full_plan_tells_the_model_to_delete_inboxes_from_both_backends(
    server: RunningServer,
):
    key = await key_on_plan(server, "tiny", max_mailboxes=1)
    async with both_backends(server, key) as (in_process, over_rest):
        await call(in_process, "create_inbox")
        errors = [await call_error(client, "create_inbox") for client in (in_process, over_rest)]
    assert errors[0] == errors[1]
    assert "tiny" in errors[0] and "delete_inbox" in errors[0]


async def test_a_monthly_send_quota_says_when_it_resets_from_both_backends(
    server: RunningServer,
):
    key = await key_on_plan(server, "quiet", sent_per_month=1)
    async with both_backends(server, key) as (in_process, over_rest):
        inbox = await call(in_process, "create_inbox")
        mail = {"inbox": inbox["address"], "to": [inbox["address"]], "subject": "s", "text": "t"}
        await call(in_process, "send_email", **mail)
        errors = [
            await call_error(client, "send_email", **mail) for client in (in_process, over_rest)
        ]
    # The seconds to the month's end tick between the two calls: compare without them.
    same = [re.sub(r"\d+ s\b", "N s", error) for error in errors]
    assert same[0] == same[1]
    assert re.search(r"The quota resets in \d+ (day|hour|minute)s?; tell the user\.$", errors[0])


async def test_a_rate_limit_tells_the_model_how_long_to_wait_from_both_backends(
    server: RunningServer,
):
    key = await key_on_plan(server, "slow", create_per_minute=1)
    async with both_backends(server, key) as (in_process, over_rest):
        await call(in_process, "create_inbox")
        for client in (in_process, over_rest):
            error = await call_error(client, "create_inbox")
            assert re.search(r"Rate limited; wait \d+ (s|minutes?) and call again\.$", error), error


async def test_a_plan_without_mcp_access_is_a_clear_tool_error_over_the_rest_backend(
    server: RunningServer,
):
    key = await key_on_plan(server, "apionly", mcp_access=False)
    async with RestBackend(server.base_url, key) as rest:
        async with Client(build_server(lambda ctx: rest)) as client:
            error = await call_error(client, "list_inboxes")
    assert "MCP access" in error and "tell the user" in error
    # The same key still works over the REST API itself.
    response = await server.http.get("/mailboxes", headers=server.auth(key))
    assert response.status_code == 200, response.text
