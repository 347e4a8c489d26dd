"""Spam filtering end to end (DESIGN §9): real SMTP in, a real rspamd or the built-in scorer,
and what each mailbox then shows — hidden in agent mailboxes, listed in test mailboxes, never
lost when the engine is down."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import pytest
from websockets.asyncio.client import connect

from inboxkit.config import Settings
from tests.helpers import RunningServer, make_message, start_server
from tests.rspamd import Rspamd
from tests.senders.dnsserver import DnsServer
from tests.senders.test_authentication import letter, send

# The standard string every spam filter treats as spam, so filters can be tested end to end.
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
SPAMMY = f"Limited offer!\n\n{GTUBE}\n"


@pytest.fixture
async def with_rspamd(settings: Settings, rspamd: Rspamd) -> AsyncIterator[RunningServer]:
    async with start_server(settings.model_copy(update={"rspamd_url": rspamd.url})) as running:
        yield running


@pytest.fixture
async def builtin(settings: Settings) -> AsyncIterator[RunningServer]:
    async with start_server(settings.model_copy(update={"rspamd_url": None})) as running:
        yield running


async def _account_inboxes(server: RunningServer, handle: str) -> tuple[str, dict, dict]:
    key = await server.create_key()
    agent = await server.create_inbox(key, mode="agent", handle=handle)
    test = await server.create_inbox(key)
    return key, agent, test


async def _listed(server: RunningServer, inbox: dict, key: str, **params: Any) -> list[dict]:
    response = await server.http.get(
        f"/mailboxes/{inbox['id']}/messages", params=params, headers=server.auth(key)
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def _unread(server: RunningServer, inbox: dict, key: str) -> int:
    response = await server.http.get(f"/mailboxes/{inbox['id']}", headers=server.auth(key))
    return int(response.json()["data"]["unread_count"])


async def test_gtube_to_an_agent_inbox_is_hidden_from_list_wait_and_websocket_but_kept(
    with_rspamd: RunningServer,
):
    server = with_rspamd
    key, agent, _ = await _account_inboxes(server, "spam-desk")
    url = f"ws://127.0.0.1:{server.http_port}/ws/inbox/{quote(agent['address'])}"
    async with connect(url, additional_headers=server.auth(key)) as ws:
        await server.send(agent["address"], subject="win big", body=SPAMMY)
        # Nothing to claim: the spam is not what `wait` answers with.
        waited = await server.http.get(
            f"/mailboxes/{agent['id']}/wait",
            params={"timeout": 1, "since": "2000-01-01T00:00:00Z"},
            headers=server.auth(key),
        )
        assert waited.json()["data"]["timed_out"] is True
        await server.send(agent["address"], subject="your code", body="Code: 551 204")
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if event["event"] != "ping":
                break
    # The first thing the socket pushed is the clean message that followed the spam.
    assert event["event"] == "message.received"
    assert event["message"]["subject"] == "your code"

    assert [m["subject"] for m in await _listed(server, agent, key)] == ["your code"]
    assert await _unread(server, agent, key) == 1
    (spam,) = await _listed(server, agent, key, spam="true")
    assert spam["subject"] == "win big"
    assert spam["spam"]["verdict"] == "spam" and spam["spam"]["engine"] == "rspamd"
    assert spam["spam"]["score"] is not None and spam["spam"]["reason"]
    # Stored whole: the raw bytes are there to read.
    raw = await server.http.get(
        f"/mailboxes/{agent['id']}/messages/{spam['id']}/raw", headers=server.auth(key)
    )
    assert GTUBE.encode() in raw.content


async def test_gtube_to_a_test_inbox_is_listed_with_its_verdict(with_rspamd: RunningServer):
    server = with_rspamd
    key, _, test = await _account_inboxes(server, "spam-desk-two")
    await server.send(test["address"], subject="win big", body=SPAMMY)
    await server.send(test["address"], subject="hello", body="See you at noon.")
    listed = {m["subject"]: m["spam"] for m in await _listed(server, test, key)}
    assert listed["win big"]["verdict"] == "spam" and listed["win big"]["engine"] == "rspamd"
    assert listed["hello"]["verdict"] == "clean" and listed["hello"]["engine"] == "rspamd"
    assert await _unread(server, test, key) == 2
    assert await _listed(server, test, key, spam="true") == []


@pytest.fixture
def own_rspamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rspamd]:
    """An rspamd this test alone may stop."""
    server = Rspamd(tmp_path_factory.mktemp("rspamd-own"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_with_rspamd_stopped_mail_is_delivered_as_unavailable(
    settings: Settings, own_rspamd: Rspamd
):
    update = {"rspamd_url": own_rspamd.url, "rspamd_timeout": 2.0}
    async with start_server(settings.model_copy(update=update)) as server:
        key, agent, _ = await _account_inboxes(server, "fail-open")
        await server.send(agent["address"], subject="while up", body=SPAMMY)
        own_rspamd.stop()
        await server.send(agent["address"], subject="while down", body=SPAMMY)
        (delivered,) = await _listed(server, agent, key)
        (hidden,) = await _listed(server, agent, key, spam="true")
    assert hidden["subject"] == "while up"
    assert delivered["subject"] == "while down"
    assert delivered["spam"]["engine"] == "unavailable"
    assert delivered["spam"]["verdict"] == "clean"


async def test_an_allow_listed_sender_is_never_spam_and_a_block_listed_one_is_blocked(
    builtin: RunningServer,
):
    server = builtin
    key, agent, _ = await _account_inboxes(server, "listed-desk")
    for kind, entry in (("allow", "friend@partner.example"), ("block", "pest.example")):
        response = await server.http.post(
            "/lists", json={"type": kind, "entry": entry}, headers=server.auth(key)
        )
        assert response.status_code == 201, response.text
    friend = make_message(agent["address"], "forwarded test", SPAMMY, "friend@partner.example")
    await server.send(agent["address"], friend, mail_from="friend@partner.example")
    stranger = make_message(agent["address"], "same text", SPAMMY, "someone@other.example")
    await server.send(agent["address"], stranger, mail_from="someone@other.example")
    pest = make_message(agent["address"], "hello again", "Nothing wrong here.", "a@pest.example")
    await server.send(agent["address"], pest, mail_from="a@pest.example")

    (kept,) = await _listed(server, agent, key)
    assert kept["subject"] == "forwarded test"
    assert kept["spam"] == {
        "verdict": "clean",
        "score": kept["spam"]["score"],
        "reason": "allow list",
        "engine": "builtin",
    }
    hidden = {m["subject"]: m["spam"] for m in await _listed(server, agent, key, spam="true")}
    assert hidden["same text"]["verdict"] == "spam" and hidden["same text"]["engine"] == "builtin"
    assert hidden["hello again"]["verdict"] == "blocked"


@pytest.fixture
def guarded_zone() -> Iterator[DnsServer]:
    """guarded.test: SPF that leaves 127.0.0.1 out and DMARC p=reject; bare.test: nothing."""
    zone = DnsServer()
    zone.add_txt("guarded.test", "v=spf1 ip4:192.0.2.10 -all")
    zone.add_txt("_dmarc.guarded.test", "v=DMARC1; p=reject")
    zone.start()
    yield zone
    zone.stop()


async def test_a_dmarc_reject_failure_is_spam_and_a_domain_without_records_is_not(
    settings: Settings, guarded_zone: DnsServer
):
    update = {
        "rspamd_url": None,
        "verify_senders": "agent",
        "dns_resolver": guarded_zone.address,
        "dns_budget_seconds": 10.0,
    }
    async with start_server(settings.model_copy(update=update)) as server:
        key, agent, _ = await _account_inboxes(server, "dmarc-desk")
        forged = letter("ceo@guarded.test", agent["address"], "wire the money")
        await send(server, forged, "ceo@guarded.test", [agent["address"]])
        plain = letter("someone@bare.test", agent["address"], "lunch")
        await send(server, plain, "someone@bare.test", [agent["address"]])
        (listed,) = await _listed(server, agent, key)
        (hidden,) = await _listed(server, agent, key, spam="true")
    assert listed["subject"] == "lunch" and listed["spam"]["verdict"] == "clean"
    assert hidden["subject"] == "wire the money"
    assert hidden["spam"]["verdict"] == "spam" and hidden["spam"]["engine"] == "builtin"
    assert "dmarc" in hidden["spam"]["reason"].lower()


async def test_with_filtering_off_nothing_is_scored(settings: Settings):
    async with start_server(settings.model_copy(update={"spam_filter": False})) as server:
        key, agent, _ = await _account_inboxes(server, "unfiltered")
        await server.send(agent["address"], subject="win big", body=SPAMMY)
        (listed,) = await _listed(server, agent, key)
    assert listed["spam"] == {"verdict": "clean", "score": None, "reason": None, "engine": "none"}
