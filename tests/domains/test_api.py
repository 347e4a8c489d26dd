"""Custom domains over REST (DESIGN §10): adding one and the records it must publish, the zone
file, verification against a real DNS server, DKIM rotation, and every refusal."""

from __future__ import annotations

from typing import Any

import dns.zone
import pytest

from inboxkit.services.domains import MAX_RETIRED_SELECTORS
from tests.domains.support import MX_HOST, add_domain, publish, verified_domain, verify
from tests.helpers import RunningServer, update_plan
from tests.senders.dnsserver import DnsServer


def _records(domain: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in domain["records"] if r["type"] == kind]


async def test_an_added_domain_is_pending_with_every_record_to_publish(hosted: RunningServer):
    key = await hosted.create_key()
    domain = await add_domain(hosted, key, "Mail.Acme.TEST.")
    assert domain["domain"] == "mail.acme.test"
    assert domain["status"] == "pending" and domain["wildcard"] is False
    assert domain["verified_at"] is None
    verification = domain["verification"]
    assert verification["name"] == "_inboxkit.mail.acme.test" and verification["type"] == "TXT"
    assert verification["value"].startswith("inboxkit-verify=")
    assert len(verification["value"]) > len("inboxkit-verify=") + 20

    (mx,) = _records(domain, "MX")
    assert mx == {
        "type": "MX",
        "name": "mail.acme.test",
        "value": MX_HOST,
        "priority": 10,
        "purpose": mx["purpose"],
    }
    txt = {r["name"]: r["value"] for r in _records(domain, "TXT")}
    assert txt["_inboxkit.mail.acme.test"] == verification["value"]
    assert txt["mail.acme.test"].startswith("v=spf1 ")
    assert txt["_dmarc.mail.acme.test"].startswith("v=DMARC1; ")
    dkim_name = f"{domain['dkim_selector']}._domainkey.mail.acme.test"
    assert txt[dkim_name].startswith("v=DKIM1; k=rsa; p=")
    assert all(r["purpose"] for r in domain["records"])

    listed = await hosted.http.get("/domains", headers=hosted.auth(key))
    assert listed.json()["data"] == [domain]
    one = await hosted.http.get(f"/domains/{domain['id']}", headers=hosted.auth(key))
    assert one.json()["data"] == domain


async def test_a_wildcard_domain_also_publishes_a_wildcard_mx(hosted: RunningServer):
    key = await hosted.create_key()
    domain = await add_domain(hosted, key, "acme.test", wildcard=True)
    assert domain["wildcard"] is True
    assert sorted(r["name"] for r in _records(domain, "MX")) == ["*.acme.test", "acme.test"]


async def test_the_zone_file_parses_and_holds_every_record(hosted: RunningServer):
    key = await hosted.create_key()
    domain = await add_domain(hosted, key, "acme.test", wildcard=True)
    response = await hosted.http.get(f"/domains/{domain['id']}/zone-file", headers=hosted.auth(key))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    # No SOA or NS: the records are added to a zone whose host keeps its own.
    zone = dns.zone.from_text(response.text, relativize=False, check_origin=False)
    for record in domain["records"]:
        rdataset = zone.find_rdataset(record["name"] + ".", record["type"])
        if record["type"] == "MX":
            assert [(r.preference, r.exchange.to_text()) for r in rdataset] == [
                (record["priority"], record["value"] + ".")
            ]
        else:
            values = [b"".join(r.strings).decode() for r in rdataset]
            assert record["value"] in values
    published = sum(len(rdataset) for _, rdataset in zone.iterate_rdatasets())
    assert published == len(domain["records"])


async def test_a_domain_with_its_records_published_verifies(hosted: RunningServer, zone: DnsServer):
    key = await hosted.create_key()
    domain = await add_domain(hosted, key, "acme.test")
    publish(zone, domain)
    response = await verify(hosted, key, domain)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["status"] == "verified" and data["verified_at"] is not None
    assert ("_inboxkit.acme.test", "TXT") in zone.queries and ("acme.test", "MX") in zone.queries


async def test_verify_without_the_txt_record_is_422_naming_it(
    hosted: RunningServer, zone: DnsServer
):
    key = await hosted.create_key()
    domain = await add_domain(hosted, key, "acme.test")
    publish(zone, domain, only={"mx"})
    response = await verify(hosted, key, domain)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert "No TXT record at _inboxkit.acme.test" in error["message"]
    assert domain["verification"]["value"] in error["message"]
    assert "MX" not in error["message"]
    again = await hosted.http.get(f"/domains/{domain['id']}", headers=hosted.auth(key))
    assert again.json()["data"]["status"] == "pending"


async def test_verify_with_a_wrong_txt_record_is_422_quoting_it(
    hosted: RunningServer, zone: DnsServer
):
    key = await hosted.create_key()
    domain = await add_domain(hosted, key, "acme.test")
    publish(zone, domain, only={"mx"})
    zone.add_txt("_inboxkit.acme.test", "inboxkit-verify=somebody-elses-token")
    response = await verify(hosted, key, domain)
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert "The TXT record at _inboxkit.acme.test is" in message
    assert "somebody-elses-token" in message and domain["verification"]["value"] in message


async def test_verify_without_an_mx_record_is_422_naming_the_mx(
    hosted: RunningServer, zone: DnsServer
):
    key = await hosted.create_key()
    domain = await add_domain(hosted, key, "acme.test")
    publish(zone, domain, only={"verify"})
    response = await verify(hosted, key, domain)
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert f"No MX record at acme.test: publish MX acme.test 10 {MX_HOST}" in message
    assert "TXT" not in message


async def test_verify_with_an_mx_elsewhere_is_422_naming_where_it_points(
    hosted: RunningServer, zone: DnsServer
):
    key = await hosted.create_key()
    domain = await add_domain(hosted, key, "acme.test")
    publish(zone, domain, only={"verify"})
    zone.add("acme.test", "MX", "10 mx.other-provider.example.")
    response = await verify(hosted, key, domain)
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert 'points at "mx.other-provider.example", not ' + MX_HOST in message


async def test_another_account_sees_none_of_a_domain(hosted: RunningServer, zone: DnsServer):
    owner, other = await hosted.create_key("owner"), await hosted.create_key("other")
    domain = await verified_domain(hosted, zone, owner, "acme.test")
    base = f"/domains/{domain['id']}"
    for method, path in [
        ("GET", base),
        ("GET", f"{base}/zone-file"),
        ("POST", f"{base}/verify"),
        ("POST", f"{base}/dkim/rotate"),
        ("DELETE", f"{base}/dkim/retired/{domain['dkim_selector']}"),
        ("DELETE", base),
    ]:
        response = await hosted.http.request(method, path, headers=hosted.auth(other))
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "not_found"
    assert (await hosted.http.get("/domains", headers=hosted.auth(other))).json()["data"] == []
    still = await hosted.http.get(base, headers=hosted.auth(owner))
    assert still.json()["data"]["status"] == "verified"


async def test_managing_domains_needs_an_api_key_with_the_scopes(hosted: RunningServer):
    reader = await hosted.create_key("reader", scopes=["mailboxes:read"])
    refused = await hosted.http.post(
        "/domains", json={"domain": "acme.test"}, headers=hosted.auth(reader)
    )
    assert refused.status_code == 403 and "mailboxes:write" in refused.json()["error"]["message"]
    assert (await hosted.http.get("/domains", headers=hosted.auth(reader))).status_code == 200

    writer = await hosted.create_key("writer", scopes=["mailboxes:write"])
    listing = await hosted.http.get("/domains", headers=hosted.auth(writer))
    assert listing.status_code == 403 and "mailboxes:read" in listing.json()["error"]["message"]

    inbox = await hosted.create_inbox()
    as_mailbox = await hosted.http.post(
        "/domains", json={"domain": "acme.test"}, headers=hosted.auth(inbox["token"])
    )
    assert as_mailbox.status_code == 403
    assert "API key" in as_mailbox.json()["error"]["message"]
    anonymous = await hosted.http.get("/domains")
    assert anonymous.status_code == 401


async def test_the_plans_max_domains_is_enforced(hosted: RunningServer):
    await update_plan(hosted.runtime, "default", max_domains=2)
    key = await hosted.create_key()
    await add_domain(hosted, key, "one.test")
    await add_domain(hosted, key, "two.test")
    response = await hosted.http.post(
        "/domains", json={"domain": "three.test"}, headers=hosted.auth(key)
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert error["details"] == {"limit": "max_domains", "allowed": 2, "used": 2}
    assert "2 custom domains on plan 'default'" in error["message"]


async def test_the_same_domain_twice_in_one_account_is_409(hosted: RunningServer):
    key = await hosted.create_key()
    await add_domain(hosted, key, "acme.test")
    response = await hosted.http.post(
        "/domains", json={"domain": "ACME.test"}, headers=hosted.auth(key)
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "conflict"


@pytest.mark.parametrize(
    ("domain", "says"),
    [
        ("192.0.2.10", "domain name such as example.com"),
        ("localhost", "domain name such as example.com"),
        ("co.uk", "public suffix"),
        ("inboxkit.localhost", "this server's own domains"),
        ("mail.inboxkit.localhost", "this server's own domains"),
        ("under_score.example", "domain name such as example.com"),
        ("*.acme.test", "domain name such as example.com"),
        ("bücher.example", "xn--"),
        ("a" * 64 + ".example", "domain name such as example.com"),
        (("abcdefghi." * 26) + "example", "253"),
    ],
)
async def test_a_domain_that_cannot_be_one_is_422_naming_why(
    hosted: RunningServer, domain: str, says: str
):
    key = await hosted.create_key()
    response = await hosted.http.post("/domains", json={"domain": domain}, headers=hosted.auth(key))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error" and says in error["message"], error
    assert (await hosted.http.get("/domains", headers=hosted.auth(key))).json()["data"] == []


async def test_domains_are_listed_a_page_at_a_time(hosted: RunningServer):
    key = await hosted.create_key()
    added = [await add_domain(hosted, key, f"d{i}.test") for i in range(3)]
    first = (await hosted.http.get("/domains?limit=2", headers=hosted.auth(key))).json()
    assert [d["domain"] for d in first["data"]] == ["d2.test", "d1.test"]
    cursor = first["meta"]["next_cursor"]
    second = (
        await hosted.http.get(f"/domains?limit=2&cursor={cursor}", headers=hosted.auth(key))
    ).json()
    assert [d["id"] for d in second["data"]] == [added[0]["id"]]
    assert second["meta"]["next_cursor"] is None


async def test_rotating_dkim_keeps_the_old_selector_published_until_it_is_dropped(
    hosted: RunningServer,
):
    key = await hosted.create_key()
    domain = await add_domain(hosted, key, "acme.test")
    old = domain["dkim_selector"]
    response = await hosted.http.post(
        f"/domains/{domain['id']}/dkim/rotate", headers=hosted.auth(key)
    )
    assert response.status_code == 200, response.text
    rotated = response.json()["data"]
    assert rotated["dkim_selector"] != old and rotated["retired_selectors"] == [old]
    names = [r["name"] for r in rotated["records"]]
    assert f"{old}._domainkey.acme.test" in names
    assert f"{rotated['dkim_selector']}._domainkey.acme.test" in names

    current = await hosted.http.delete(
        f"/domains/{domain['id']}/dkim/retired/{rotated['dkim_selector']}", headers=hosted.auth(key)
    )
    assert current.status_code == 409 and "rotate" in current.json()["error"]["message"]
    unknown = await hosted.http.delete(
        f"/domains/{domain['id']}/dkim/retired/ik19990101abcdef", headers=hosted.auth(key)
    )
    assert unknown.status_code == 404
    dropped = await hosted.http.delete(
        f"/domains/{domain['id']}/dkim/retired/{old}", headers=hosted.auth(key)
    )
    assert dropped.status_code == 200
    assert dropped.json()["data"]["retired_selectors"] == []
    assert f"{old}._domainkey.acme.test" not in [
        r["name"] for r in dropped.json()["data"]["records"]
    ]


async def test_rotation_past_the_retired_selector_limit_is_409(hosted: RunningServer):
    key = await hosted.create_key()
    domain = await add_domain(hosted, key, "acme.test")
    path = f"/domains/{domain['id']}/dkim/rotate"
    for _ in range(MAX_RETIRED_SELECTORS):
        assert (await hosted.http.post(path, headers=hosted.auth(key))).status_code == 200
    response = await hosted.http.post(path, headers=hosted.auth(key))
    assert response.status_code == 409
    assert (
        "DELETE /api/v1/domains/{id}/dkim/retired/{selector}" in response.json()["error"]["message"]
    )


async def test_a_deleted_domain_is_gone(hosted: RunningServer):
    key = await hosted.create_key()
    domain = await add_domain(hosted, key, "acme.test")
    gone = await hosted.http.delete(f"/domains/{domain['id']}", headers=hosted.auth(key))
    assert gone.status_code == 204
    again = await hosted.http.get(f"/domains/{domain['id']}", headers=hosted.auth(key))
    assert again.status_code == 404
