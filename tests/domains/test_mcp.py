"""Custom domains as MCP tools (`add_domain`, `list_domains`, `domain_zone_file`,
`verify_domain`), through the official MCP client: over `/mcp` and alike from the in-process
and the REST backends."""

from __future__ import annotations

import dns.zone

from tests.domains.support import publish
from tests.helpers import RunningServer
from tests.mcp.conftest import call, call_error, http_client
from tests.mcp.test_plans import both_backends
from tests.senders.dnsserver import DnsServer


async def test_a_model_adds_publishes_and_verifies_a_domain_then_uses_it(
    hosted: RunningServer, zone: DnsServer
):
    key = await hosted.create_key("agent")
    async with http_client(f"{hosted.base_url}/mcp", hosted.auth(key)) as client:
        added = await call(client, "add_domain", domain="acme.test")
        assert added["added"] is True
        domain = added["domain"]
        assert domain["status"] == "pending" and domain["domain"] == "acme.test"
        assert {r["type"] for r in domain["records"]} == {"MX", "TXT"}

        early = await call_error(client, "verify_domain", domain="acme.test")
        assert "No TXT record at _inboxkit.acme.test" in early
        assert "verify_domain again" in early

        zone_text = (await call(client, "domain_zone_file", domain="acme.test"))["zone_file"]
        parsed = dns.zone.from_text(zone_text, relativize=False, check_origin=False)
        assert parsed.find_rdataset("_inboxkit.acme.test.", "TXT")

        publish(zone, {"records": domain["records"]})
        verified = await call(client, "verify_domain", domain=domain["id"])
        assert verified["verified"] is True and verified["domain"]["status"] == "verified"
        listed = await call(client, "list_domains")
        assert [d["status"] for d in listed["domains"]] == ["verified"]

        inbox = await call(client, "create_inbox", mode="agent", handle="bot", domain="acme.test")
        assert inbox["address"] == "bot@acme.test"
        unknown = await call_error(client, "verify_domain", domain="other.test")
        assert "list_domains" in unknown


async def test_the_domain_tools_answer_alike_through_both_backends(hosted: RunningServer):
    key = await hosted.create_key("agent")
    async with both_backends(hosted, key) as clients:
        shapes = []
        for number, client in enumerate(clients):
            added = await call(client, "add_domain", domain=f"d{number}.test", wildcard=True)
            listed = await call(client, "list_domains")
            assert listed["domains"][0] == added["domain"]
            zone_text = await call(client, "domain_zone_file", domain=f"d{number}.test")
            assert f"*.d{number}.test." in zone_text["zone_file"]
            twice = await call_error(client, "add_domain", domain=f"d{number}.test")
            assert "already" in twice
            shapes.append(sorted(added["domain"]))
        assert shapes[0] == shapes[1]
