"""Mail sent from a custom domain is signed with the domain's own DKIM key (DESIGN §10): it
reaches a real relay and verifies with dkimpy against the record published in a real DNS
server; after a rotation new mail uses the new selector and both keys still verify."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import dkim
import dns.resolver
import pytest

from inboxkit.config import Settings
from tests.domains.conftest import domain_settings
from tests.domains.support import publish, verified_domain
from tests.helpers import RunningServer, start_server
from tests.outbound.relay import RelaySink, relay_settings
from tests.senders.dnsserver import DnsServer


@pytest.fixture
async def relay() -> AsyncIterator[RelaySink]:
    sink = RelaySink()
    await sink.start()
    yield sink
    await sink.stop()


@pytest.fixture
async def sending(
    settings: Settings, zone: DnsServer, relay: RelaySink
) -> AsyncIterator[RunningServer]:
    async with start_server(relay_settings(domain_settings(settings, zone), relay)) as running:
        yield running


def resolving_through(zone: DnsServer) -> Callable[..., bytes]:
    """dkimpy's `dnsfunc`: the TXT record at a name, asked of the test's DNS server."""
    host, port = zone.address.split(":")
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [host]
    resolver.port = int(port)

    def txt(name: bytes, timeout: int = 5) -> bytes:
        try:
            answer = resolver.resolve(name.decode().rstrip("."), "TXT", lifetime=timeout)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return b""
        return b"".join(answer[0].strings)

    return txt


async def _send(server: RunningServer, inbox: dict[str, Any], subject: str) -> None:
    response = await server.http.post(
        f"/mailboxes/{inbox['id']}/send",
        headers=server.auth(inbox["token"]),
        json={"to": ["alice@example.com"], "subject": subject, "text": "Your order shipped."},
    )
    assert response.status_code == 202, response.text


def _signature_tags(raw: bytes) -> dict[str, str]:
    header = raw.split(b"\r\n\r\n", 1)[0].decode()
    unfolded = header.replace("\r\n ", " ").replace("\r\n\t", " ")
    (line,) = [h for h in unfolded.split("\r\n") if h.lower().startswith("dkim-signature:")]
    tags = {}
    for part in line.split(":", 1)[1].split(";"):
        name, _, value = part.strip().partition("=")
        tags[name] = value.strip()
    return tags


async def test_mail_from_a_custom_domain_is_signed_with_its_key_and_verifies(
    sending: RunningServer, zone: DnsServer, relay: RelaySink
):
    key = await sending.create_key()
    domain = await verified_domain(sending, zone, key, "acme.test")
    inbox = await sending.create_inbox(key, mode="agent", handle="orders", domain="acme.test")
    await _send(sending, inbox, "Order 1182")
    (first,) = await relay.wait_for(1)
    assert first.mail_from == "orders@acme.test"
    tags = _signature_tags(first.data)
    assert tags["d"] == "acme.test" and tags["s"] == domain["dkim_selector"]
    assert dkim.verify(first.data, dnsfunc=resolving_through(zone))

    response = await sending.http.post(
        f"/domains/{domain['id']}/dkim/rotate", headers=sending.auth(key)
    )
    rotated = response.json()["data"]
    publish(zone, rotated, only={"dkim"})  # the new key; the old one stays published
    await _send(sending, inbox, "Order 1183")
    _, second = await relay.wait_for(2)
    assert _signature_tags(second.data)["s"] == rotated["dkim_selector"] != tags["s"]
    lookup = resolving_through(zone)
    assert dkim.verify(second.data, dnsfunc=lookup)
    assert dkim.verify(first.data, dnsfunc=lookup)  # the retired key still verifies old mail


async def test_mail_from_a_wildcard_subdomain_is_signed_for_the_domain(
    sending: RunningServer, zone: DnsServer, relay: RelaySink
):
    key = await sending.create_key()
    await verified_domain(sending, zone, key, "acme.test", wildcard=True)
    inbox = await sending.create_inbox(key, mode="agent", handle="ci", domain="eu.acme.test")
    await _send(sending, inbox, "Build 42")
    (relayed,) = await relay.wait_for(1)
    assert _signature_tags(relayed.data)["d"] == "acme.test"
    assert dkim.verify(relayed.data, dnsfunc=resolving_through(zone))


async def test_a_mailbox_whose_domain_was_deleted_cannot_send(
    sending: RunningServer, zone: DnsServer, relay: RelaySink
):
    key = await sending.create_key()
    domain = await verified_domain(sending, zone, key, "acme.test")
    inbox = await sending.create_inbox(key, mode="agent", handle="orders", domain="acme.test")
    await sending.http.delete(f"/domains/{domain['id']}", headers=sending.auth(key))
    response = await sending.http.post(
        f"/mailboxes/{inbox['id']}/send",
        headers=sending.auth(inbox["token"]),
        json={"to": ["alice@example.com"], "subject": "x", "text": "x"},
    )
    assert response.status_code == 403
    assert "not a verified domain of this account" in response.json()["error"]["message"]
    assert relay.received == []


async def test_mail_sent_to_a_custom_domain_is_delivered_here_not_relayed(
    sending: RunningServer, zone: DnsServer, relay: RelaySink
):
    key = await sending.create_key()
    await verified_domain(sending, zone, key, "acme.test")
    receiving = await sending.create_inbox(key, mode="agent", handle="desk", domain="acme.test")
    sender = await sending.create_inbox(key)
    response = await sending.http.post(
        f"/mailboxes/{sender['id']}/send",
        headers=sending.auth(sender["token"]),
        json={"to": ["desk@acme.test"], "subject": "Local hop", "text": "hi"},
    )
    assert response.status_code == 202
    waited = await sending.http.get(
        f"/mailboxes/{receiving['id']}/wait", params={"timeout": 20}, headers=sending.auth(key)
    )
    assert waited.json()["data"]["message"]["subject"] == "Local hop"
    assert relay.received == []
