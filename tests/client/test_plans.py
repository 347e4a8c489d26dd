"""Plans, accounts and usage through the SDK, sync and async, against a real server."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from inboxkit.client import (
    Account,
    Forbidden,
    NotFound,
    Plan,
    QuotaExceeded,
    RateLimited,
    Usage,
    ValidationError,
)
from tests.client.conftest import Sdk
from tests.helpers import RunningServer

ADMIN_SCOPES = ["admin", "mailboxes:read", "mailboxes:write", "messages:read", "messages:write"]


async def admin_client(sdk: Sdk, server: RunningServer, **options: object) -> object:
    return sdk.client(await server.create_key("admin", scopes=ADMIN_SCOPES), **options)


async def test_usage_shows_the_plan_the_figures_and_the_limits(
    sdk: Sdk, server: RunningServer
) -> None:
    client = sdk.client(await server.create_key())
    box = await sdk.run(client.create_mailbox)
    await server.send(box.address, subject="one")
    usage = await sdk.run(client.usage)
    assert isinstance(usage, Usage)
    assert usage.plan == "default"
    assert usage.usage.mailboxes == 1 and usage.usage.received_this_month == 1
    assert usage.usage.sent_this_month == 0 and usage.usage.storage_bytes > 0
    assert usage.period.start < usage.period.end
    assert usage.limits.max_mailboxes is None and usage.limits.send == "any"
    assert usage.to_json()["limits"]["agent_mode"] is True


async def test_an_anonymous_inbox_sees_its_own_usage_on_the_anonymous_plan(
    sdk: Sdk, server: RunningServer
) -> None:
    inbox = await sdk.run(sdk.client().create_inbox)
    await server.send(inbox.address, subject="hello")
    usage = await sdk.run(inbox.usage)
    assert usage.plan == "anonymous"
    assert usage.usage.received_this_month == 1
    assert usage.limits.send == "none" and usage.limits.agent_mode is False


async def test_account_is_the_callers_own_with_its_plans_limits(
    sdk: Sdk, server: RunningServer
) -> None:
    key = await server.runtime.auth.create_key(name="acme")
    account = await sdk.run(sdk.client(key["token"]).account)
    assert isinstance(account, Account)
    assert (account.id, account.plan) == (key["account_id"], "default")
    assert account.limits is not None and account.limits.mcp_access is True


async def test_admins_create_list_update_and_delete_plans(sdk: Sdk, server: RunningServer) -> None:
    admin = await admin_client(sdk, server)
    created = await sdk.run(
        admin.create_plan, "free", max_mailboxes=5, sent_per_month=100, send="local"
    )
    assert isinstance(created, Plan)
    assert (created.name, created.max_mailboxes, created.send) == ("free", 5, "local")
    assert created.received_per_month is None  # not given: unlimited

    names = [plan.name for plan in await sdk.run(admin.list_plans)]
    assert {"anonymous", "default", "free"} <= set(names)

    updated = await sdk.run(admin.update_plan, "free", max_mailboxes=None, agent_mode=False)
    assert (updated.max_mailboxes, updated.agent_mode, updated.sent_per_month) == (None, False, 100)
    assert (await sdk.run(admin.get_plan, "free")).agent_mode is False

    await sdk.run(admin.delete_plan, "free")
    with pytest.raises(NotFound):
        await sdk.run(admin.get_plan, "free")


async def test_a_misspelt_plan_field_is_refused_before_anything_is_sent(
    sdk: Sdk, server: RunningServer
) -> None:
    admin = await admin_client(sdk, server)
    with pytest.raises(TypeError, match="max_mailbox"):
        await sdk.run(admin.create_plan, "free", max_mailbox=5)


async def test_plan_values_the_server_refuses_raise_validation_error(
    sdk: Sdk, server: RunningServer
) -> None:
    admin = await admin_client(sdk, server)
    with pytest.raises(ValidationError):
        await sdk.run(admin.create_plan, "free", send="everyone")
    with pytest.raises(Forbidden):
        await sdk.run(admin.delete_plan, "default")  # built in: edited, never deleted


async def test_plans_and_accounts_need_the_admin_scope(sdk: Sdk, server: RunningServer) -> None:
    tenant = sdk.client(await server.create_key())
    for call, args in (
        (tenant.list_plans, ()),
        (tenant.create_plan, ("free",)),
        (tenant.list_accounts, ()),
        (tenant.create_account, ("acme",)),
    ):
        with pytest.raises(Forbidden) as caught:
            await sdk.run(call, *args)
        assert "admin" in caught.value.message


async def test_admins_manage_accounts_and_their_keys(sdk: Sdk, server: RunningServer) -> None:
    admin = await admin_client(sdk, server)
    await sdk.run(admin.create_plan, "free", max_mailboxes=1)
    account = await sdk.run(admin.create_account, "Acme", plan="free")
    assert (account.name, account.plan) == ("Acme", "free")
    assert (await sdk.run(admin.get_account, account.id)).plan == "free"

    listed = []
    cursor = None
    while True:
        page = await sdk.run(admin.list_accounts, limit=1, cursor=cursor)
        listed += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    assert account.id in [a.id for a in listed]

    key = await sdk.run(admin.create_key, "acme-ci", account_id=account.id, modes=["test"])
    assert key.account_id == account.id and key.modes == ["test"]
    acme = sdk.client(key.token)
    assert (await sdk.run(acme.usage)).plan == "free"

    moved = await sdk.run(admin.update_account, account.id, plan="default")
    assert moved.plan == "default"
    assert (await sdk.run(acme.usage)).plan == "default"  # at once

    await sdk.run(admin.delete_account, account.id)
    with pytest.raises(NotFound):
        await sdk.run(admin.get_account, account.id)


async def test_a_key_limited_to_test_mode_cannot_create_agent_mailboxes(
    sdk: Sdk, server: RunningServer
) -> None:
    admin = await admin_client(sdk, server)
    key = await sdk.run(admin.create_key, "tests-only", modes=["test"])
    client = sdk.client(key.token)
    assert (await sdk.run(client.create_mailbox)).mode == "test"
    with pytest.raises(Forbidden) as caught:
        await sdk.run(client.create_mailbox, mode="agent", handle="bot")
    assert "test" in caught.value.message


async def test_quota_exceeded_names_the_limit_what_is_allowed_and_used(
    sdk: Sdk, server: RunningServer
) -> None:
    admin = await admin_client(sdk, server)
    await sdk.run(admin.create_plan, "tiny", max_mailboxes=1)
    account = await sdk.run(admin.create_account, "Tiny", plan="tiny")
    key = await sdk.run(admin.create_key, "tiny", account_id=account.id)
    client = sdk.client(key.token)
    await sdk.run(client.create_mailbox)
    with pytest.raises(QuotaExceeded) as caught:
        await sdk.run(client.create_mailbox)
    error = caught.value
    assert (error.status, error.code) == (403, "quota_exceeded")
    assert (error.limit, error.allowed, error.used) == ("max_mailboxes", 1, 1)
    assert error.retry_after is None and "tiny" in error.message


async def test_a_rate_limited_post_is_not_sent_again(sdk: Sdk, server: RunningServer) -> None:
    admin = await admin_client(sdk, server)
    await sdk.run(admin.create_plan, "slow", create_per_minute=1)
    account = await sdk.run(admin.create_account, "Slow", plan="slow")
    key = await sdk.run(admin.create_key, "slow", account_id=account.id)
    statuses: list[int] = []
    client = sdk.client(
        key.token, http_client=sdk.http_client(lambda r: statuses.append(r.status_code))
    )
    await sdk.run(client.create_mailbox)
    with pytest.raises(RateLimited) as caught:
        await sdk.run(client.create_mailbox)
    assert caught.value.retry_after is not None and caught.value.retry_after > 0
    assert statuses == [201, 429]  # the refused creation was not repeated


async def test_a_wait_over_the_plans_concurrent_waits_is_retried_after_retry_after(
    sdk: Sdk, server: RunningServer
) -> None:
    admin = await admin_client(sdk, server)
    await sdk.run(admin.create_plan, "single", concurrent_waits=1)
    account = await sdk.run(admin.create_account, "Single", plan="single")
    key = await sdk.run(admin.create_key, "single", account_id=account.id)
    loop = asyncio.get_running_loop()
    refused = asyncio.Event()
    statuses: list[int] = []

    def seen(response: httpx.Response) -> None:
        statuses.append(response.status_code)
        if response.status_code == 429:
            loop.call_soon_threadsafe(refused.set)

    client = sdk.client(key.token, http_client=sdk.http_client(seen))
    box = await sdk.run(client.create_mailbox)
    # An event stream holds the one wait the plan allows from the moment its headers arrive.
    events = f"/mailboxes/{box.id}/events"
    async with server.http.stream("GET", events, headers=server.auth(key.token)) as stream:
        assert stream.status_code == 200
        # A wait that blocks (timeout > 0) needs a slot of its own.
        waiting = asyncio.create_task(sdk.run(client.wait, box.address, timeout=1))
        await asyncio.wait_for(refused.wait(), 30)
    # The stream is closed: the wait, refused with Retry-After, is sent again and answered.
    assert await asyncio.wait_for(waiting, 30) is None
    assert statuses[-2:] == [429, 200]


async def test_a_retry_after_longer_than_the_clients_limit_raises_at_once(
    sdk: Sdk, server: RunningServer
) -> None:
    admin = await admin_client(sdk, server)
    await sdk.run(admin.create_plan, "rare", read_per_minute=1)
    account = await sdk.run(admin.create_account, "Rare", plan="rare")
    key = await sdk.run(admin.create_key, "rare", account_id=account.id)
    client = sdk.client(key.token, max_retry_wait=5)
    box = await sdk.run(client.create_mailbox)
    with pytest.raises(RateLimited) as caught:
        for _ in range(3):
            await sdk.run(client.get_mailbox, box.address)
    assert caught.value.retry_after is not None and caught.value.retry_after > 5
