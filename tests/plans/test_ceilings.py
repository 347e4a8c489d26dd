"""Every ceiling of a plan refuses at the documented place, with the documented answer, and
usage is exact afterwards. A tiny plan: 2 mailboxes, 3 messages per mailbox, 5 received and 2
sent a month."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import aiosmtplib
import pytest
import sqlalchemy as sa

from inboxkit.store.tables import mailboxes, messages
from tests.helpers import RunningServer, make_message

TINY = {
    "max_mailboxes": 2,
    "max_messages_per_mailbox": 3,
    "received_per_month": 5,
    "sent_per_month": 2,
}


async def smtp_attempt(
    server: RunningServer, to: str, body: str = "hello", *, size: int | None = None
) -> tuple[int, str]:
    """Send one message over SMTP; the reply code and text of the first refusal, or of DATA."""
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=server.smtp_port, timeout=30)
    await client.connect()
    try:
        await client.ehlo()
        options = [f"SIZE={size}"] if size is not None else []
        await client.mail("sender@example.com", options=options)
        try:
            await client.rcpt(to)
        except aiosmtplib.SMTPRecipientRefused as exc:
            return exc.code, exc.message
        message = make_message(to, "ceiling", body)
        try:
            reply = await client.data(message.as_bytes())
        except aiosmtplib.SMTPDataError as exc:
            return exc.code, exc.message
        return reply.code, reply.message
    finally:
        client.close()


async def stored_count(server: RunningServer, headers: dict[str, str], box: str) -> int:
    listed = await server.http.get(f"/mailboxes/{box}/messages", headers=headers)
    assert listed.status_code == 200, listed.text
    return len(listed.json()["data"])


async def test_a_tiny_plan_refuses_every_ceiling_where_documented_and_counts_exactly(
    server: RunningServer, tenant_on, admin
):
    tenant = await tenant_on("tiny", **TINY)
    headers = tenant["headers"]

    # Mailboxes: the third live one is refused, naming the limit and the plan.
    first = (await server.http.post("/mailboxes", json={}, headers=headers)).json()["data"]
    second = (await server.http.post("/mailboxes", json={}, headers=headers)).json()["data"]
    third = await server.http.post("/mailboxes", json={}, headers=headers)
    assert third.status_code == 403
    error = third.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert error["details"] == {"limit": "max_mailboxes", "allowed": 2, "used": 2}
    assert "'tiny'" in error["message"] and "delete one" in error["message"]

    # Messages per mailbox: the fourth is refused at RCPT with 452 4.2.2, never stored.
    for n in range(3):
        assert (await smtp_attempt(server, first["address"], f"m{n}"))[0] == 250
    code, text = await smtp_attempt(server, first["address"], "one too many")
    assert code == 452 and text.startswith("4.2.2")
    assert "'tiny'" in text
    assert await stored_count(server, headers, first["id"]) == 3

    # Received this month: 3 + 2 = 5, then the account is full whichever mailbox it is for.
    for n in range(2):
        assert (await smtp_attempt(server, second["address"], f"s{n}"))[0] == 250
    code, text = await smtp_attempt(server, second["address"], "over the month")
    assert code == 452 and text.startswith("4.2.2") and "this month" in text
    assert await stored_count(server, headers, second["id"]) == 2

    # Sends this month: two go, the third is 429 with Retry-After to the month's end.
    send = {"to": ["someone@example.com"], "subject": "out", "text": "going out"}
    for _ in range(2):
        sent = await server.http.post(f"/mailboxes/{second['id']}/send", json=send, headers=headers)
        assert sent.status_code == 202, sent.text
    refused = await server.http.post(f"/mailboxes/{second['id']}/send", json=send, headers=headers)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "quota_exceeded"
    assert refused.json()["error"]["details"]["limit"] == "sent_per_month"
    now = datetime.now(UTC)
    month_end = (now.replace(day=28) + timedelta(days=4)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    retry_after = int(refused.headers["Retry-After"])
    assert abs(retry_after - (month_end - now).total_seconds()) < 120

    usage = (await server.http.get("/usage", headers=headers)).json()["data"]
    assert usage["plan"] == "tiny"
    assert usage["usage"]["mailboxes"] == 2
    assert usage["usage"]["received_this_month"] == 5
    assert usage["usage"]["sent_this_month"] == 2
    async with server.runtime.db.read() as conn:
        held, received = (
            await conn.execute(
                sa.select(sa.func.sum(messages.c.stored_size), sa.func.sum(messages.c.size)).where(
                    messages.c.mailbox_id.in_([first["id"], second["id"]])
                )
            )
        ).one()
    # Storage counts the messages as stored (compressed), not as received.
    assert usage["usage"]["storage_bytes"] == held < received
    assert usage["limits"]["max_mailboxes"] == 2 and usage["limits"]["send"] == "any"
    assert usage["period"]["start"].startswith(now.strftime("%Y-%m-01"))

    # A plan change takes effect at once: the mailbox takes mail again.
    lifted = await server.http.patch(
        "/plans/tiny",
        json={"max_messages_per_mailbox": None, "received_per_month": None},
        headers=admin,
    )
    assert lifted.status_code == 200
    assert (await smtp_attempt(server, first["address"], "after the change"))[0] == 250
    assert await stored_count(server, headers, first["id"]) == 4


async def test_deleting_messages_and_mailboxes_gives_their_room_back(
    server: RunningServer, tenant_on
):
    tenant = await tenant_on("roomy", max_mailboxes=1, max_messages_per_mailbox=1)
    headers = tenant["headers"]
    box = (await server.http.post("/mailboxes", json={}, headers=headers)).json()["data"]
    assert (await smtp_attempt(server, box["address"]))[0] == 250
    assert (await smtp_attempt(server, box["address"]))[0] == 452
    listed = await server.http.get(f"/mailboxes/{box['id']}/messages", headers=headers)
    message_id = listed.json()["data"][0]["id"]
    deleted = await server.http.delete(
        f"/mailboxes/{box['id']}/messages/{message_id}", headers=headers
    )
    assert deleted.status_code == 204
    assert (await smtp_attempt(server, box["address"]))[0] == 250

    assert (await server.http.post("/mailboxes", json={}, headers=headers)).status_code == 403
    assert (await server.http.delete(f"/mailboxes/{box['id']}", headers=headers)).status_code == 204
    usage = (await server.http.get("/usage", headers=headers)).json()["data"]["usage"]
    assert usage["mailboxes"] == 0 and usage["storage_bytes"] == 0
    assert usage["received_this_month"] == 2  # received stays counted for the month
    assert (await server.http.post("/mailboxes", json={}, headers=headers)).status_code == 201


async def test_messages_over_the_plans_size_are_refused_552_5_3_4(server: RunningServer, tenant_on):
    tenant = await tenant_on("small-mail", max_message_bytes=2000)
    box = (await server.http.post("/mailboxes", json={}, headers=tenant["headers"])).json()["data"]
    code, text = await smtp_attempt(server, box["address"], "x" * 5000)
    assert code == 552 and text.startswith("5.3.4") and "2000" in text
    # Declared with MAIL FROM's SIZE=: refused at RCPT, before the body is sent.
    code, text = await smtp_attempt(server, box["address"], size=10_000)
    assert code == 552 and text.startswith("5.3.4")
    assert (await smtp_attempt(server, box["address"], "short"))[0] == 250
    assert await stored_count(server, tenant["headers"], box["id"]) == 1


async def test_ttl_and_agent_mode_are_held_to_the_plan(server: RunningServer, tenant_on):
    tenant = await tenant_on("brief", max_ttl_minutes=30, agent_mode=False)
    headers = tenant["headers"]
    too_long = await server.http.post("/mailboxes", json={"ttl_minutes": 90}, headers=headers)
    assert too_long.status_code == 403
    assert too_long.json()["error"]["details"]["limit"] == "max_ttl_minutes"
    box = (await server.http.post("/mailboxes", json={}, headers=headers)).json()["data"]
    expires = datetime.fromisoformat(box["expires_at"].replace("Z", "+00:00"))
    assert expires - datetime.now(UTC) <= timedelta(minutes=30, seconds=5)
    extended = await server.http.patch(
        f"/mailboxes/{box['id']}", json={"ttl_minutes": 600}, headers=headers
    )
    assert extended.status_code == 403
    assert extended.json()["error"]["details"]["limit"] == "max_ttl_minutes"
    agent = await server.http.post("/mailboxes", json={"mode": "agent"}, headers=headers)
    assert agent.status_code == 403
    assert agent.json()["error"]["code"] == "quota_exceeded"
    assert agent.json()["error"]["details"]["limit"] == "agent_mode"


async def test_sending_policy_none_and_local(server: RunningServer, tenant_on):
    silent = await tenant_on("silent", send="none")
    box = (await server.http.post("/mailboxes", json={}, headers=silent["headers"])).json()["data"]
    refused = await server.http.post(
        f"/mailboxes/{box['id']}/send",
        json={"to": ["someone@example.com"], "text": "hi"},
        headers=silent["headers"],
    )
    assert refused.status_code == 403 and "'silent'" in refused.json()["error"]["message"]

    local = await tenant_on("local-only", send="local")
    here = (await server.http.post("/mailboxes", json={}, headers=local["headers"])).json()["data"]
    foreign = await server.http.post(
        f"/mailboxes/{here['id']}/send",
        json={"to": [box["address"], "outside@example.com"], "text": "hi"},
        headers=local["headers"],
    )
    assert foreign.status_code == 403
    assert "outside@example.com" in foreign.json()["error"]["message"]
    assert box["address"] not in foreign.json()["error"]["message"]
    listed = await server.http.get(f"/mailboxes/{here['id']}/messages", headers=local["headers"])
    assert listed.json()["data"] == []  # nothing queued
    ok = await server.http.post(
        f"/mailboxes/{here['id']}/send",
        json={"to": [box["address"]], "text": "hi"},
        headers=local["headers"],
    )
    assert ok.status_code == 202, ok.text


async def test_webhooks_are_held_to_the_plan(server: RunningServer, tenant_on):
    tenant = await tenant_on("one-hook", max_webhooks=1)
    body = {"url": "https://hooks.example.com/a"}
    server.runtime.webhooks.resolver = _public_resolver
    first = await server.http.post("/webhooks", json=body, headers=tenant["headers"])
    assert first.status_code == 201, first.text
    second = await server.http.post("/webhooks", json=body, headers=tenant["headers"])
    assert second.status_code == 403
    assert second.json()["error"]["details"] == {"limit": "max_webhooks", "allowed": 1, "used": 1}


async def _public_resolver(host: str, port: int) -> list[str]:
    return ["93.184.215.14"]


async def test_plans_without_api_or_mcp_access_are_refused(server: RunningServer, tenant_on):
    no_api = await tenant_on("mcp-only", api_access=False)
    refused = await server.http.get("/mailboxes", headers=no_api["headers"])
    assert refused.status_code == 403
    assert refused.json()["error"]["details"]["limit"] == "api_access"
    no_mcp = await tenant_on("api-only", mcp_access=False)
    assert (await server.http.get("/mailboxes", headers=no_mcp["headers"])).status_code == 200
    mcp = await server.http.post(
        f"{server.base_url}/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={**no_mcp["headers"], "Accept": "application/json, text/event-stream"},
    )
    assert mcp.status_code == 403
    assert mcp.json()["error"]["code"] == "quota_exceeded"
    assert "MCP" in mcp.json()["error"]["message"]


async def test_mode_limited_keys_stay_in_their_modes(server: RunningServer, admin):
    account = (await server.http.post("/accounts", json={"name": "modes"}, headers=admin)).json()[
        "data"
    ]
    full = await server.http.post(
        "/keys", json={"name": "both", "account_id": account["id"]}, headers=admin
    )
    tests_only = await server.http.post(
        "/keys",
        json={"name": "tests", "account_id": account["id"], "modes": ["test"]},
        headers=admin,
    )
    assert tests_only.json()["data"]["modes"] == ["test"]
    both = server.auth(full.json()["data"]["token"])
    limited = server.auth(tests_only.json()["data"]["token"])
    agent = (await server.http.post("/mailboxes", json={"mode": "agent"}, headers=both)).json()[
        "data"
    ]
    refused = await server.http.post("/mailboxes", json={"mode": "agent"}, headers=limited)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert (await server.http.get(f"/mailboxes/{agent['id']}", headers=limited)).status_code == 403
    assert (await server.http.post("/mailboxes", json={}, headers=limited)).status_code == 201


async def test_mailboxes_record_how_they_were_made_and_never_show_the_address(
    server: RunningServer, tenant_on
):
    tenant = await tenant_on("default")
    owned = (await server.http.post("/mailboxes", json={}, headers=tenant["headers"])).json()
    anonymous = (await server.http.post("/mailboxes", json={})).json()
    assert "created_ip" not in owned["data"] and "created_ip" not in anonymous["data"]
    async with server.runtime.db.read() as conn:
        rows = {
            row.id: row
            for row in await conn.execute(
                sa.select(mailboxes.c.id, mailboxes.c.created_via, mailboxes.c.created_ip).where(
                    mailboxes.c.id.in_([owned["data"]["id"], anonymous["data"]["id"]])
                )
            )
        }
    assert rows[owned["data"]["id"]].created_via == "api"
    assert rows[owned["data"]["id"]].created_ip is None
    assert rows[anonymous["data"]["id"]].created_via == "anonymous"
    assert rows[anonymous["data"]["id"]].created_ip == "127.0.0.1"


async def test_retention_purges_only_old_messages_and_keeps_the_mailbox(
    server: RunningServer, tenant_on
):
    tenant = await tenant_on("forgetful", retention_days=7)
    headers = tenant["headers"]
    box = (await server.http.post("/mailboxes", json={}, headers=headers)).json()["data"]
    for n in range(3):
        assert (await smtp_attempt(server, box["address"], f"r{n}"))[0] == 250
    other = await tenant_on("default")
    kept_box = (await server.http.post("/mailboxes", json={}, headers=other["headers"])).json()
    assert (await smtp_attempt(server, kept_box["data"]["address"], "not on the plan"))[0] == 250
    listed = (await server.http.get(f"/mailboxes/{box['id']}/messages", headers=headers)).json()
    old_ids = [m["id"] for m in listed["data"][:2]]
    long_ago = datetime.now(UTC) - timedelta(days=8)
    async with server.runtime.db.write() as conn:
        await conn.execute(
            messages.update().where(messages.c.id.in_(old_ids)).values(received_at=long_ago)
        )
        await conn.execute(
            messages.update()
            .where(messages.c.mailbox_id == kept_box["data"]["id"])
            .values(received_at=long_ago)
        )
    assert await server.runtime.usage.purge_retention() == 2
    assert await server.runtime.usage.purge_retention() == 0
    left = (await server.http.get(f"/mailboxes/{box['id']}/messages", headers=headers)).json()
    assert [m["id"] for m in left["data"]] == [listed["data"][2]["id"]]
    assert (await server.http.get(f"/mailboxes/{box['id']}", headers=headers)).status_code == 200
    assert await stored_count(server, other["headers"], kept_box["data"]["id"]) == 1
    usage = (await server.http.get("/usage", headers=headers)).json()["data"]["usage"]
    async with server.runtime.db.read() as conn:
        kept = await conn.scalar(
            sa.select(messages.c.stored_size).where(messages.c.id == listed["data"][2]["id"])
        )
    assert usage["storage_bytes"] == kept


@pytest.mark.plan_defaults
async def test_the_anonymous_plan_cannot_send_claim_agent_mode_or_exceed_its_mailboxes(
    server: RunningServer, admin
):
    # The per-minute creation rate is lifted so the per-address mailbox ceiling is what is hit.
    assert (
        await server.http.patch("/plans/anonymous", json={"create_per_minute": None}, headers=admin)
    ).status_code == 200
    made = [await server.http.post("/mailboxes", json={}) for _ in range(10)]
    assert [r.status_code for r in made] == [201] * 10
    eleventh = await server.http.post("/mailboxes", json={})
    assert eleventh.status_code == 403
    assert eleventh.json()["error"]["details"] == {
        "limit": "max_mailboxes",
        "allowed": 10,
        "used": 10,
    }
    assert "address" in eleventh.json()["error"]["message"]
    token = made[0].json()["data"]["token"]
    send = await server.http.post(
        f"/mailboxes/{made[0].json()['data']['id']}/send",
        json={"to": ["x@example.com"], "text": "hi"},
        headers=server.auth(token),
    )
    assert send.status_code == 403 and "'anonymous'" in send.json()["error"]["message"]
    agent = await server.http.post("/mailboxes", json={"mode": "agent", "handle": "mine"})
    assert agent.status_code == 403
    # A mailbox token sees its own mailbox's figures on the anonymous plan.
    usage = (await server.http.get("/usage", headers=server.auth(token))).json()["data"]
    assert usage["plan"] == "anonymous" and usage["usage"]["mailboxes"] == 1
    assert usage["limits"]["send"] == "none" and usage["limits"]["max_ttl_minutes"] == 60


async def test_refusals_are_counted_by_limit_in_the_metrics(server: RunningServer, tenant_on):
    tenant = await tenant_on("counted", max_mailboxes=0, max_messages_per_mailbox=0)
    assert (
        await server.http.post("/mailboxes", json={}, headers=tenant["headers"])
    ).status_code == 403
    other = await tenant_on("counted-mail", max_messages_per_mailbox=0)
    box = (await server.http.post("/mailboxes", json={}, headers=other["headers"])).json()["data"]
    assert (await smtp_attempt(server, box["address"]))[0] == 452
    metrics = (await server.http.get(f"{server.base_url}/metrics")).text
    assert 'inboxkit_quota_refusals_total{limit="max_mailboxes"} 1.0' in metrics
    assert 'inboxkit_quota_refusals_total{limit="max_messages_per_mailbox"} 1.0' in metrics


async def test_far_from_a_ceiling_figures_are_remembered_and_near_it_the_answer_is_exact(
    server: RunningServer, tenant_on
):
    tenant = await tenant_on("dozen", max_messages_per_mailbox=12)
    box = (await server.http.post("/mailboxes", json={}, headers=tenant["headers"])).json()["data"]
    # Mail stored without an SMTP hold (a local delivery of a sent message would be one such
    # path) changes the committed figure behind the remembered one's back.
    assert (await smtp_attempt(server, box["address"], "first"))[0] == 250
    owner = await tenant_on("default")
    sender = (await server.http.post("/mailboxes", json={}, headers=owner["headers"])).json()
    for n in range(3):
        sent = await server.http.post(
            f"/mailboxes/{sender['data']['id']}/send",
            json={"to": [box["address"]], "text": f"local {n}"},
            headers=owner["headers"],
        )
        assert sent.status_code == 202
    for _ in range(100):
        if await stored_count(server, tenant["headers"], box["id"]) == 4:
            break
        await asyncio.sleep(0.1)
    codes = [(await smtp_attempt(server, box["address"], f"m{n}"))[0] for n in range(10)]
    assert codes == [250] * 8 + [452] * 2
    assert await stored_count(server, tenant["headers"], box["id"]) == 12
