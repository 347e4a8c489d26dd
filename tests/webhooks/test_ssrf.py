"""Webhook destinations: private, loopback and wrapped addresses are refused, and requests go
to the address that was checked (no second DNS lookup)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from inboxkit.bus import Channel
from inboxkit.services.egress import UnsafeDestination, address_problem, vet
from tests.certificates import self_signed
from tests.helpers import RunningServer, start_server
from tests.webhooks.receiver import Receiver, serve_receiver
from tests.webhooks.support import attempts, hook_settings, register

HOSTILE_URLS = [
    "http://127.0.0.1/hook",
    "http://127.1/hook",
    "http://[::1]/hook",
    "http://10.0.0.7/hook",
    "http://172.16.5.4/hook",
    "http://192.168.1.1/hook",
    "http://100.64.0.1/hook",  # CGNAT
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://0.0.0.0/hook",
    "http://224.0.0.1/hook",  # multicast
    "http://240.0.0.1/hook",  # reserved
    "http://[fe80::1]/hook",
    "http://[fd00::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped
    "http://[::ffff:a9fe:a9fe]/hook",
    "http://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of 169.254.169.254
    "http://[64:ff9b::7f00:1]/hook",
    "http://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
    "http://[2002:a9fe:a9fe::1]/hook",
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook",  # Teredo client 127.0.0.1
    "http://2130706433/hook",  # decimal 127.0.0.1
    "http://0177.0.0.1/hook",  # octal
    "http://0x7f.0.0.1/hook",  # hex
    "http://017700000001/hook",
    "http://localhost/hook",
    "http://LocalHost:8080/hook",
    "https://127.0.0.1:8443/hook",
    "http://[2a00:1450::5efe:7f00:1]/hook",  # ISATAP interface id carrying 127.0.0.1
    "http://[2a00:1450::200:5efe:a9fe:a9fe]/hook",  # ISATAP (u bit set), 169.254.169.254
    "http://[3fff::1]/hook",  # RFC 9637 documentation range
    "http://[3fff:fff:ffff::1]/hook",
]


@pytest.mark.parametrize("url", HOSTILE_URLS)
async def test_hostile_destination_is_refused_at_check(url: str):
    with pytest.raises(UnsafeDestination) as refused:
        await vet(url, allow_private=False)
    assert "Refusing" in refused.value.message


async def test_hostile_destinations_are_refused_when_registering(server: RunningServer):
    key = await server.create_key("tenant")
    for url in HOSTILE_URLS:
        response = await server.http.post("/webhooks", headers=server.auth(key), json={"url": url})
        assert response.status_code == 422, url
        assert response.json()["error"]["code"] == "validation_error"
    assert (await server.http.get("/webhooks", headers=server.auth(key))).json()["data"] == []


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "64:ff9b::808:808"]
)
def test_public_addresses_pass(address: str):
    assert address_problem(ipaddress.ip_address(address)) is None


async def test_one_private_answer_among_public_ones_is_enough_to_refuse():
    async def resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.1"]

    with pytest.raises(UnsafeDestination):
        await vet("https://hooks.example/x", allow_private=False, resolver=resolver)


@pytest.mark.parametrize(
    ("address", "embedded"),
    [
        ("2a00:1450::5efe:7f00:1", "127.0.0.1"),
        ("2a00:1450::200:5efe:7f00:1", "127.0.0.1"),
        ("2a00:1450::5efe:a00:1", "10.0.0.1"),
        ("2a00:1450::200:5efe:c0a8:101", "192.168.1.1"),
    ],
)
def test_isatap_addresses_are_judged_by_the_ipv4_address_they_carry(address: str, embedded: str):
    problem = address_problem(ipaddress.ip_address(address))
    assert problem is not None and embedded in problem


def test_isatap_address_carrying_a_public_ipv4_address_passes():
    assert address_problem(ipaddress.ip_address("2a00:1450::200:5efe:808:808")) is None


def test_documentation_range_3fff_is_refused():
    assert address_problem(ipaddress.ip_address("3fff::1")) is not None
    assert address_problem(ipaddress.ip_address("3fff:fff::1")) is not None
    assert address_problem(ipaddress.ip_address("4000::1")) is not None  # reserved, as before


async def _refusal(url: str, resolver, **options) -> str:
    with pytest.raises(UnsafeDestination) as refused:
        await vet(url, allow_private=False, resolver=resolver, **options)
    return refused.value.message


async def test_refusal_says_the_same_whether_the_host_does_not_resolve_or_is_private():
    async def unresolvable(host: str, port: int) -> list[str]:
        raise OSError("[Errno -2] Name or service not known")

    async def private(host: str, port: int) -> list[str]:
        return ["10.1.2.3"]

    async def nothing(host: str, port: int) -> list[str]:
        return []

    messages = {
        await _refusal("http://db.internal.example/x", resolver)
        for resolver in (unresolvable, private, nothing)
    }
    (message,) = messages  # one message for all three: DNS answers are not disclosed
    assert "10.1.2.3" not in message and "Errno" not in message and "private" not in message
    assert "port 80 or 443" in message


async def test_ports_other_than_80_443_and_configured_ones_are_refused_before_any_lookup():
    lookups: list[str] = []

    async def public(host: str, port: int) -> list[str]:
        lookups.append(f"{host}:{port}")
        return ["93.184.216.34"]

    for port in (22, 25, 6379, 5432, 8080):
        message = await _refusal(f"http://hooks.example:{port}/x", public)
        assert message.startswith(f"Refusing hooks.example:{port}:")
    assert lookups == []  # a port scan through the webhook API learns nothing, not even DNS
    for url in ("http://hooks.example/x", "https://hooks.example/x", "http://hooks.example:443/"):
        await vet(url, allow_private=False, resolver=public)
    allowed = await vet(
        "http://hooks.example:8080/x",
        allow_private=False,
        allowed_ports=frozenset({8080}),
        resolver=public,
    )
    assert allowed.port == 8080 and allowed.address == "93.184.216.34"


async def test_port_zero_is_refused_even_for_local_development():
    with pytest.raises(UnsafeDestination) as refused:
        await vet("http://127.0.0.1:0/hook", allow_private=True)
    assert "Port 0" in refused.value.message


async def test_registration_refuses_unlisted_ports_and_accepts_configured_ones(settings):
    async def public(host: str, port: int) -> list[str]:
        return ["93.184.216.34"]

    configured = settings.model_copy(update={"webhook_allowed_ports": [8443]})
    async with start_server(configured) as server:
        server.runtime.webhooks.resolver = public
        key = await server.create_key("tenant")
        refused = await server.http.post(
            "/webhooks", headers=server.auth(key), json={"url": "http://hooks.example:6379/"}
        )
        accepted = await server.http.post(
            "/webhooks", headers=server.auth(key), json={"url": "https://hooks.example:8443/"}
        )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "validation_error"
    assert "port 80, 443 or 8443" in refused.json()["error"]["message"]
    assert accepted.status_code == 201, accepted.text


async def test_registration_refusal_does_not_reveal_what_the_name_resolved_to(
    server: RunningServer,
):
    async def internal(host: str, port: int) -> list[str]:
        return ["172.20.3.4"]

    server.runtime.webhooks.resolver = internal
    key = await server.create_key("tenant")
    response = await server.http.post(
        "/webhooks", headers=server.auth(key), json={"url": "https://grafana.corp.example/"}
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert "172.20" not in error["message"] and "private" not in error["message"]


async def test_dns_rebinding_to_loopback_after_registration_is_refused_at_delivery(settings):
    answers = iter(["93.184.216.34", "127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1"])

    async def rebinding(host: str, port: int) -> list[str]:
        return [next(answers)]

    receiver = Receiver()
    async with serve_receiver(receiver):
        configured = hook_settings(
            settings,
            webhook_allow_private=False,
            webhook_allowed_ports=[receiver.port],
            webhook_retry_schedule=[0],
        )
        async with start_server(configured) as server:
            server.runtime.webhooks.resolver = rebinding
            key = await server.create_key("tenant")
            inbox = await server.create_inbox(token=key)
            hook = await register(server, key, receiver.url(host="hooks.example"))
            with server.runtime.bus.subscribe(hook["id"], channel=Channel.WEBHOOK) as reports:
                await server.send(inbox["address"])
                (report,) = await attempts(reports, 1)
    assert report["status_code"] is None
    # Refused with the generic message: the delivery log does not say where the name pointed.
    assert report["error"].startswith("Refusing hooks.example:")
    assert "127.0.0.1" not in report["error"]
    assert receiver.hits == []


async def test_request_goes_to_the_checked_address_with_the_original_host_header(settings):
    lookups: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    receiver = Receiver()
    async with serve_receiver(receiver), start_server(hook_settings(settings)) as server:
        server.runtime.webhooks.resolver = resolver
        key = await server.create_key("tenant")
        hook = await register(server, key, receiver.url(host="hooks.example"))
        response = await server.http.post(f"/webhooks/{hook['id']}/test", headers=server.auth(key))
    assert response.json()["data"]["status"] == "delivered"
    (hit,) = receiver.hits
    # `hooks.example` exists in no DNS: the request reached 127.0.0.1 only because it was
    # sent to the address the check resolved, with the name kept in the Host header.
    assert hit.headers["host"] == f"hooks.example:{receiver.port}"
    assert lookups == ["hooks.example", "hooks.example"]  # registration, then the attempt


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for `name` (the test's own CA) and its key, as PEM files."""
    return self_signed(tmp_path, name)


async def test_https_certificate_is_checked_against_the_name_not_the_address(settings, tmp_path):
    async def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    cert, key = _certificate(tmp_path, "hooks.example")
    receiver = Receiver()
    configured = hook_settings(settings, webhook_ca_bundle=cert, webhook_retry_schedule=[0])
    async with (
        serve_receiver(receiver, ssl_certfile=str(cert), ssl_keyfile=str(key)),
        start_server(configured) as server,
    ):
        server.runtime.webhooks.resolver = resolver
        api_key = await server.create_key("tenant")
        good = await register(
            server, api_key, receiver.url(host="hooks.example").replace("http:", "https:")
        )
        wrong = await register(
            server, api_key, receiver.url(host="other.example").replace("http:", "https:")
        )
        ok = await server.http.post(f"/webhooks/{good['id']}/test", headers=server.auth(api_key))
        refused = await server.http.post(
            f"/webhooks/{wrong['id']}/test", headers=server.auth(api_key)
        )
    assert ok.json()["data"]["status"] == "delivered"
    assert refused.json()["data"]["status"] == "failed"
    assert "certificate" in refused.json()["data"]["last_error"].lower()
    (hit,) = receiver.hits
    assert hit.headers["host"] == f"hooks.example:{receiver.port}"
