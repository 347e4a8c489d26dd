"""Who may send, and how much: anonymous inboxes cannot send at all, account inboxes can, and
a server-wide budget caps everything sent, whichever process queues it."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from inboxkit.store.tables import outbox
from tests.helpers import RunningServer, start_server
from tests.outbound.inboxes import sending_inbox
from tests.outbound.relay import RelaySink, relay_settings


async def _outbound(server: RunningServer, inbox: dict) -> list[dict]:
    listing = await server.http.get(
        f"/mailboxes/{inbox['id']}/messages",
        headers=server.auth(inbox["token"]),
        params={"direction": "outbound"},
    )
    assert listing.status_code == 200, listing.text
    return listing.json()["data"]


async def test_anonymous_mailbox_token_cannot_send_or_reply(mail: RunningServer, relay: RelaySink):
    inbox = await mail.create_inbox()  # no API key: an anonymous inbox
    headers = mail.auth(inbox["token"])
    await mail.send(inbox["address"], subject="Please answer", mail_from="alice@example.com")
    (received,) = (
        await mail.http.get(f"/mailboxes/{inbox['id']}/messages", headers=headers)
    ).json()["data"]

    sent = await mail.http.post(
        f"/mailboxes/{inbox['id']}/send",
        headers=headers,
        json={"to": ["victim@example.com"] * 3, "subject": "spam", "text": "x"},
    )
    replied = await mail.http.post(
        f"/mailboxes/{inbox['id']}/messages/{received['id']}/reply",
        headers=headers,
        json={"text": "x"},
    )

    for response in (sent, replied):
        assert response.status_code == 403, response.text
        error = response.json()["error"]
        assert error["code"] == "forbidden"
        assert "cannot send" in error["message"] and "API key" in error["message"]
    assert await _outbound(mail, inbox) == []
    async with mail.runtime.db.read() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(outbox)) == 0
    assert relay.data_attempts == 0


async def test_account_mailbox_token_still_sends(mail: RunningServer, relay: RelaySink):
    inbox = await sending_inbox(mail)
    response = await mail.http.post(
        f"/mailboxes/{inbox['id']}/send",
        headers=mail.auth(inbox["token"]),  # the inbox's own token, not the account's key
        json={"to": "bob@example.com", "text": "from an account's inbox"},
    )
    assert response.status_code == 202, response.text
    (relayed,) = await relay.wait_for(1)
    assert relayed.mail_from == inbox["address"] and relayed.rcpt_tos == ["bob@example.com"]


async def test_server_wide_send_budget_holds_across_two_processes(settings, relay: RelaySink):
    """Two service instances on one database, each with its own memory, share one budget:
    the count comes from the outbox, not from either process."""
    limited = relay_settings(
        settings, relay, send_rate_limit_global=4, send_rate_limit=100, send_rate_window=3600.0
    )
    async with start_server(limited) as first, start_server(limited, role="api") as second:
        senders = [await sending_inbox(first) for _ in range(3)]

        async def send(server: RunningServer, inbox: dict, number: int) -> int:
            response = await server.http.post(
                f"/mailboxes/{inbox['id']}/send",
                headers=server.auth(inbox["token"]),
                json={"to": f"user{number}@example.com", "text": "x"},
            )
            if response.status_code == 429:
                assert response.json()["error"]["code"] == "rate_limited"
                assert "server" in response.json()["error"]["message"]
                assert 3500 <= int(response.headers["Retry-After"]) <= 3600
            return response.status_code

        # Twelve sends at once, spread over both processes and three mailboxes.
        statuses = await asyncio.gather(
            *(send((first, second)[n % 2], senders[n % 3], n) for n in range(12))
        )
        assert sorted(statuses) == [202] * 4 + [429] * 8
        async with first.runtime.db.read() as conn:
            assert await conn.scalar(sa.select(sa.func.count()).select_from(outbox)) == 4
        # Still closed a moment later, from either process.
        assert await send(second, senders[0], 99) == 429
        assert await send(first, senders[1], 100) == 429
