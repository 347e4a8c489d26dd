"""Custom domains through the SDK (both clients) and the `inboxkit domains` commands (real
subprocesses), against a real server resolving through a real DNS server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import dns.zone
import pytest

from inboxkit.client import Conflict, Domain, NotFound, ValidationError
from tests.cli.test_client_commands import run
from tests.client.conftest import Sdk
from tests.domains.support import publish
from tests.helpers import RunningServer
from tests.senders.dnsserver import DnsServer


@pytest.fixture(params=["sync", "async"])
async def sdk(request: pytest.FixtureRequest, hosted: RunningServer) -> AsyncIterator[Sdk]:
    helper = Sdk(request.param, hosted.base_url, [])
    yield helper
    for client in helper.opened:
        if request.param == "sync":
            client.close()
        else:
            await client.aclose()


async def test_the_sdk_adds_verifies_rotates_and_deletes_a_domain(
    hosted: RunningServer, zone: DnsServer, sdk: Sdk
):
    client = sdk.client(await hosted.create_key())
    added = await sdk.run(client.add_domain, "acme.test", wildcard=True)
    assert isinstance(added, Domain)
    assert (added.domain, added.status, added.wildcard) == ("acme.test", "pending", True)
    assert added.verification.name == "_inboxkit.acme.test"

    with pytest.raises(ValidationError) as missing:
        await sdk.run(client.verify_domain, added.id)
    assert "_inboxkit.acme.test" in str(missing.value)

    publish(zone, {"records": [r.to_json() for r in added.records]})
    verified = await sdk.run(client.verify_domain, added.id)
    assert verified.status == "verified" and verified.verified_at is not None

    page = await sdk.run(client.list_domains)
    assert [d.id for d in page] == [added.id] and page.next_cursor is None
    assert (await sdk.run(client.get_domain, added.id)).status == "verified"
    text = await sdk.run(client.domain_zone_file, added.id)
    assert dns.zone.from_text(text, relativize=False, check_origin=False).find_rdataset(
        "*.acme.test.", "MX"
    )

    rotated = await sdk.run(client.rotate_dkim, added.id)
    assert rotated.retired_selectors == [added.dkim_selector]
    dropped = await sdk.run(client.drop_dkim_selector, added.id, added.dkim_selector)
    assert dropped.retired_selectors == []
    with pytest.raises(Conflict):
        await sdk.run(client.add_domain, "ACME.test")

    await sdk.run(client.delete_domain, added.id)
    with pytest.raises(NotFound):
        await sdk.run(client.get_domain, added.id)


async def test_the_sdk_sends_an_internationalised_name_in_its_xn_form(
    hosted: RunningServer, sdk: Sdk
):
    client = sdk.client(await hosted.create_key())
    added = await sdk.run(client.add_domain, "bücher.example")
    assert added.domain == "xn--bcher-kva.example"


async def test_the_domains_commands_round_trip(hosted: RunningServer, zone: DnsServer):
    env = {"INBOXKIT_API_KEY": await hosted.create_key("cli")}
    added = await run(hosted, "domains", "add", "acme.test", **env)
    assert added.code == 0, added.stderr
    domain_id = added.stdout.strip()
    assert "acme.test added (pending)" in added.stderr
    assert f"inboxkit domains verify {domain_id}" in added.stderr

    early = await run(hosted, "domains", "verify", domain_id, **env)
    assert early.code == 1 and "No TXT record at _inboxkit.acme.test" in early.stderr

    zone_file = await run(hosted, "domains", "zone", domain_id, **env)
    assert zone_file.code == 0, zone_file.stderr
    parsed = dns.zone.from_text(zone_file.stdout, relativize=False, check_origin=False)
    shown = json.loads((await run(hosted, "domains", "show", domain_id, "--json", **env)).stdout)
    publish(zone, shown)
    assert len(list(parsed.iterate_rdatas())) == len(shown["records"])

    verified = await run(hosted, "domains", "verify", domain_id, **env)
    assert verified.code == 0 and verified.stdout.strip() == "acme.test is verified"
    table = await run(hosted, "domains", "list", **env)
    header, row = table.stdout.splitlines()
    assert header.split() == ["id", "status", "wildcard", "domain"]
    assert row.split() == [domain_id, "verified", "no", "acme.test"]
    details = await run(hosted, "domains", "show", domain_id, **env)
    assert "_inboxkit.acme.test" in details.stdout and "verified" in details.stdout

    rotated = await run(hosted, "domains", "rotate-dkim", domain_id, **env)
    assert rotated.code == 0, rotated.stderr
    assert "._domainkey.acme.test  v=DKIM1; k=rsa; p=" in rotated.stdout

    deleted = await run(hosted, "domains", "delete", domain_id, **env)
    assert deleted.code == 0 and f"deleted domain {domain_id}" in deleted.stderr
    gone = await run(hosted, "domains", "show", domain_id, **env)
    assert gone.code == 1 and "No such domain" in gone.stderr
