"""Helpers for custom domain tests: add a domain, publish its records in the test DNS server,
verify it."""

from __future__ import annotations

from typing import Any

from tests.helpers import RunningServer
from tests.senders.dnsserver import DnsServer

__all__ = ["MX_HOST", "add_domain", "publish", "verified_domain", "verify"]

MX_HOST = "mx.inboxkit.test"


async def add_domain(server: RunningServer, key: str, domain: str, **body: Any) -> dict[str, Any]:
    response = await server.http.post(
        "/domains", json={"domain": domain, **body}, headers=server.auth(key)
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]


def publish(zone: DnsServer, domain: dict[str, Any], *, only: set[str] | None = None) -> None:
    """Publish the domain's records (`only` keeps the given purposes: "verify", "mx", "dkim")."""
    for record in domain["records"]:
        name = record["name"]
        kind = (
            "verify"
            if name.startswith("_inboxkit.")
            else "dkim"
            if "._domainkey." in name
            else "mx"
            if record["type"] == "MX"
            else "other"
        )
        if only is not None and kind not in only:
            continue
        if record["type"] == "MX":
            zone.add(name, "MX", f"{record['priority']} {record['value']}.")
        else:
            zone.add_txt(name, record["value"])


async def verify(server: RunningServer, key: str, domain: dict[str, Any]) -> Any:
    return await server.http.post(f"/domains/{domain['id']}/verify", headers=server.auth(key))


async def verified_domain(
    server: RunningServer, zone: DnsServer, key: str, name: str, **body: Any
) -> dict[str, Any]:
    """A domain of `key`'s account, its records published and verified."""
    domain = await add_domain(server, key, name, **body)
    publish(zone, domain)
    response = await verify(server, key, domain)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["status"] == "verified"
    return response.json()["data"]
