"""Mail on custom domains over real SMTP (DESIGN §10): a verified domain receives like a
configured one, for its account's mailboxes only; a pending or deleted one is refused at RCPT
as a foreign domain; who may create mailboxes on it, and who may take it over."""

from __future__ import annotations

import aiosmtplib
import pytest

from inboxkit.services.admission import NOT_OUR_DOMAIN
from tests.domains.support import add_domain, publish, verified_domain, verify
from tests.helpers import RunningServer
from tests.senders.dnsserver import DnsServer


async def _refused_at_rcpt(server: RunningServer, address: str) -> str:
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await server.send(address)
    (error,) = refused.value.recipients
    return f"{error.code} {error.message}"


async def _agent(server: RunningServer, key: str, handle: str, domain: str) -> dict:
    return await server.create_inbox(key, mode="agent", handle=handle, domain=domain)


async def _subjects(server: RunningServer, key: str, inbox: dict) -> list[str]:
    response = await server.http.get(f"/mailboxes/{inbox['id']}/messages", headers=server.auth(key))
    assert response.status_code == 200, response.text
    return [m["subject"] for m in response.json()["data"]]


async def test_mail_to_a_verified_domain_is_accepted_and_listed(
    hosted: RunningServer, zone: DnsServer
):
    key = await hosted.create_key()
    await verified_domain(hosted, zone, key, "acme.test")
    inbox = await _agent(hosted, key, "support-bot", "acme.test")
    assert inbox["address"] == "support-bot@acme.test"
    await hosted.send("Support-Bot+orders@ACME.test", subject="Order 1182 shipped")
    assert await _subjects(hosted, key, inbox) == ["Order 1182 shipped"]
    unknown = await _refused_at_rcpt(hosted, "nobody@acme.test")
    assert unknown.startswith("550 5.1.1")


async def test_a_pending_domain_receives_nothing(hosted: RunningServer, zone: DnsServer):
    key = await hosted.create_key()
    domain = await add_domain(hosted, key, "acme.test")
    publish(zone, domain)  # published but never verified
    refused = await _refused_at_rcpt(hosted, "support@acme.test")
    assert refused == NOT_OUR_DOMAIN.reply


async def test_mailboxes_on_a_pending_domain_are_refused(hosted: RunningServer):
    key = await hosted.create_key()
    domain = await add_domain(hosted, key, "acme.test")
    response = await hosted.http.post(
        "/mailboxes",
        json={"mode": "agent", "handle": "bot", "domain": "acme.test"},
        headers=hosted.auth(key),
    )
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert "acme.test is not verified yet" in message
    assert f"/api/v1/domains/{domain['id']}/verify" in message


async def test_a_deleted_domain_stops_receiving_and_its_mailbox_stays_readable(
    hosted: RunningServer, zone: DnsServer
):
    key = await hosted.create_key()
    domain = await verified_domain(hosted, zone, key, "acme.test")
    inbox = await _agent(hosted, key, "bot", "acme.test")
    await hosted.send("bot@acme.test", subject="Before")
    gone = await hosted.http.delete(f"/domains/{domain['id']}", headers=hosted.auth(key))
    assert gone.status_code == 204
    assert await _refused_at_rcpt(hosted, "bot@acme.test") == NOT_OUR_DOMAIN.reply
    assert await _subjects(hosted, key, inbox) == ["Before"]


async def test_another_account_may_neither_create_mailboxes_on_it_nor_add_it(
    hosted: RunningServer, zone: DnsServer
):
    owner, other = await hosted.create_key("owner"), await hosted.create_key("other")
    await verified_domain(hosted, zone, owner, "acme.test")
    for body in (
        {"mode": "agent", "handle": "ceo", "domain": "acme.test"},
        {"mode": "test", "domain": "acme.test"},
    ):
        response = await hosted.http.post("/mailboxes", json=body, headers=hosted.auth(other))
        assert response.status_code == 403, response.text
        assert "another account's verified domain" in response.json()["error"]["message"]
    handle = await hosted.http.get(
        "/handles/ceo", params={"domain": "acme.test"}, headers=hosted.auth(other)
    )
    assert handle.status_code == 403
    anonymous = await hosted.http.post("/mailboxes", json={"domain": "acme.test"})
    assert anonymous.status_code == 403

    added = await hosted.http.post(
        "/domains", json={"domain": "acme.test"}, headers=hosted.auth(other)
    )
    assert added.status_code == 409
    assert "verified by another account" in added.json()["error"]["message"]


async def test_after_the_owner_deletes_it_another_account_can_take_it_over(
    hosted: RunningServer, zone: DnsServer
):
    owner, other = await hosted.create_key("owner"), await hosted.create_key("other")
    first = await verified_domain(hosted, zone, owner, "acme.test")
    old_inbox = await _agent(hosted, owner, "sales-team", "acme.test")
    await hosted.http.delete(f"/domains/{first['id']}", headers=hosted.auth(owner))

    second = await add_domain(hosted, other, "acme.test")
    zone.records.pop(("_inboxkit.acme.test", "TXT"))
    publish(zone, second, only={"verify"})
    response = await verify(hosted, other, second)
    assert response.status_code == 200, response.text
    inbox = await _agent(hosted, other, "hello", "acme.test")
    await hosted.send("hello@acme.test", subject="For the new owner")
    assert await _subjects(hosted, other, inbox) == ["For the new owner"]
    # The old owner's mailbox is unreachable: the domain's mail is the new holder's alone.
    assert (await _refused_at_rcpt(hosted, "sales-team@acme.test")).startswith("550 5.1.1")
    assert await _subjects(hosted, owner, old_inbox) == []


async def test_whoever_verifies_a_domain_pending_in_two_accounts_first_holds_it(
    hosted: RunningServer, zone: DnsServer
):
    first, second = await hosted.create_key("first"), await hosted.create_key("second")
    mine = await add_domain(hosted, first, "acme.test")
    theirs = await add_domain(hosted, second, "acme.test")  # pending elsewhere is allowed
    publish(zone, mine)
    publish(zone, theirs, only={"verify"})
    assert (await verify(hosted, first, mine)).status_code == 200
    late = await verify(hosted, second, theirs)
    assert late.status_code == 409 and late.json()["error"]["code"] == "conflict"
    listed = await hosted.http.get(f"/domains/{theirs['id']}", headers=hosted.auth(second))
    assert listed.json()["data"]["status"] == "pending"


async def test_a_wildcard_domain_receives_and_hosts_mailboxes_on_every_subdomain(
    hosted: RunningServer, zone: DnsServer
):
    key = await hosted.create_key()
    await verified_domain(hosted, zone, key, "acme.test", wildcard=True)
    deep = await _agent(hosted, key, "ci", "build.eu.acme.test")
    assert deep["address"] == "ci@build.eu.acme.test"
    await hosted.send("ci@build.eu.acme.test", subject="Build 42 passed")
    assert await _subjects(hosted, key, deep) == ["Build 42 passed"]
    available = await hosted.http.get(
        "/handles/qa", params={"domain": "staging.acme.test"}, headers=hosted.auth(key)
    )
    assert available.json()["data"] == {
        "available": True,
        "address": "qa@staging.acme.test",
        "reason": None,
    }


async def test_a_domain_without_wildcard_does_not_serve_its_subdomains(
    hosted: RunningServer, zone: DnsServer
):
    key = await hosted.create_key()
    await verified_domain(hosted, zone, key, "acme.test")
    assert await _refused_at_rcpt(hosted, "ci@build.acme.test") == NOT_OUR_DOMAIN.reply
    response = await hosted.http.post(
        "/mailboxes",
        json={"mode": "agent", "handle": "ci", "domain": "build.acme.test"},
        headers=hosted.auth(key),
    )
    assert response.status_code == 422


async def test_raw_ingest_delivers_to_a_verified_domain_and_refuses_a_pending_one(
    hosted: RunningServer, zone: DnsServer
):
    key = await hosted.create_key()
    await verified_domain(hosted, zone, key, "acme.test")
    await add_domain(hosted, key, "pending.test")
    inbox = await _agent(hosted, key, "intake", "acme.test")
    ingest = await hosted.create_key("mta", scopes=["ingest"])
    raw = b"From: a@sender.example\r\nTo: intake@acme.test\r\nSubject: Over HTTP\r\n\r\nhello\r\n"
    response = await hosted.http.post(
        "/inbound/raw",
        params=[("to", "intake@acme.test"), ("to", "intake@pending.test")],
        content=raw,
        headers={**hosted.auth(ingest), "Content-Type": "message/rfc822"},
    )
    assert response.status_code == 202, response.text
    answer = response.json()["data"]
    assert [d["address"] for d in answer["delivered"]] == ["intake@acme.test"]
    assert [(r["address"], r["reason"]) for r in answer["refused"]] == [
        ("intake@pending.test", "foreign_domain")
    ]
    assert await _subjects(hosted, key, inbox) == ["Over HTTP"]
