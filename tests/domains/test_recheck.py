"""The worker's periodic re-check of verified domains (DESIGN §10): a TXT record that disappears
returns the domain to pending and emits `domain.unverified` to the account's webhooks; during
the grace period its mailboxes still receive, after it they do not."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiosmtplib
import pytest

from inboxkit.config import Settings
from inboxkit.services.admission import NOT_OUR_DOMAIN
from tests.domains.conftest import domain_settings
from tests.domains.support import verified_domain
from tests.helpers import RunningServer, start_server
from tests.senders.dnsserver import DnsServer
from tests.webhooks.receiver import Receiver, serve_receiver
from tests.webhooks.support import hook_settings, register


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serve_receiver(Receiver()) as running:
        yield running


def _checked_always(settings: Settings, zone: DnsServer, **extra: object) -> Settings:
    """Webhooks reach the receiver; the worker's own re-checks fall due only after an hour,
    so the test's `recheck_due(interval=0)` is the one that checks."""
    return hook_settings(domain_settings(settings, zone, **extra))


async def _status(server: RunningServer, key: str, domain: dict) -> dict:
    response = await server.http.get(f"/domains/{domain['id']}", headers=server.auth(key))
    return response.json()["data"]


async def test_a_vanished_txt_record_returns_the_domain_to_pending_and_is_announced(
    settings: Settings, zone: DnsServer, receiver: Receiver
):
    async with start_server(_checked_always(settings, zone)) as server:
        key = await server.create_key()
        account_wide = await register(server, key, receiver.url(), events=["domain.unverified"])
        inbox = await server.create_inbox(key)  # a mailbox's own endpoint hears nothing of it
        await register(server, key, receiver.url("/one-mailbox"), mailbox=inbox["id"])
        domain = await verified_domain(server, zone, key, "acme.test")
        await server.create_inbox(key, mode="agent", handle="bot", domain="acme.test")

        zone.records.pop(("_inboxkit.acme.test", "TXT"))
        assert await server.runtime.domains.recheck_due(interval=0) == 1

        hits = await receiver.wait_for_count(1)
        (hit,) = hits
        assert hit.path == "/hook"
        body = json.loads(hit.body)
        assert body["type"] == "domain.unverified"
        assert body["data"]["domain"] == {
            "id": domain["id"],
            "domain": "acme.test",
            "status": "pending",
        }
        assert "_inboxkit.acme.test is gone" in body["data"]["reason"]
        assert body["data"]["grace_ends_at"]
        now = await _status(server, key, domain)
        assert now["status"] == "pending" and now["unverified_since"] is not None
        deliveries = await server.http.get(
            f"/webhooks/{account_wide['id']}/deliveries", headers=server.auth(key)
        )
        assert [d["event"] for d in deliveries.json()["data"]] == ["domain.unverified"]

        # Within the grace period (72 hours by default) its mailboxes still receive mail,
        # but no new mailbox may be made on it.
        await server.send("bot@acme.test", subject="Still arriving")
        refused = await server.http.post(
            "/mailboxes",
            json={"mode": "agent", "handle": "new", "domain": "acme.test"},
            headers=server.auth(key),
        )
        assert refused.status_code == 422
        assert "not verified at the moment" in refused.json()["error"]["message"]

        # The record is back: the next check verifies it again, and nothing more is sent.
        zone.add_txt("_inboxkit.acme.test", domain["verification"]["value"])
        assert await server.runtime.domains.recheck_due(interval=0) == 1
        assert (await _status(server, key, domain))["status"] == "verified"
        assert len(receiver.hits) == 1


async def test_without_a_grace_period_an_unverified_domain_receives_nothing(
    settings: Settings, zone: DnsServer
):
    async with start_server(_checked_always(settings, zone, domain_grace_hours=0)) as server:
        key = await server.create_key()
        domain = await verified_domain(server, zone, key, "acme.test")
        await server.create_inbox(key, mode="agent", handle="bot", domain="acme.test")
        zone.records.pop(("_inboxkit.acme.test", "TXT"))
        assert await server.runtime.domains.recheck_due(interval=0) == 1
        assert (await _status(server, key, domain))["status"] == "pending"
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
            await server.send("bot@acme.test")
        (error,) = refused.value.recipients
        assert f"{error.code} {error.message}" == NOT_OUR_DOMAIN.reply


async def test_a_dns_server_that_does_not_answer_changes_nothing(
    settings: Settings, zone: DnsServer
):
    async with start_server(_checked_always(settings, zone)) as server:
        key = await server.create_key()
        domain = await verified_domain(server, zone, key, "acme.test")
        zone.silent = True
        assert await server.runtime.domains.recheck_due(interval=0) == 1
        assert (await _status(server, key, domain))["status"] == "verified"
