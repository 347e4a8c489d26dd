"""SPF, DKIM and DMARC on inbound mail (DESIGN §9 "Sender authentication"), against a real
authoritative DNS server on 127.0.0.1 that publishes the test domains' records, with messages
signed in the test by dkimpy."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import socket
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from inboxkit.client import AsyncInboxKit
from inboxkit.config import Settings
from tests.helpers import RunningServer, start_server
from tests.mcp.conftest import call, http_client
from tests.senders.dnsserver import DnsServer
from tests.smtp.test_proxy_protocol import _session, v1_header

SELECTOR = "mail2026"


@pytest.fixture(scope="module")
def signing_key() -> tuple[bytes, str]:
    """A DKIM key pair: the private key (PEM) and the `p=` value of its DNS record."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, base64.b64encode(public).decode()


@pytest.fixture
def zone(signing_key: tuple[bytes, str]) -> Iterator[DnsServer]:
    """The test domains:
    - aligned.test: SPF allows 127.0.0.1, DKIM key, DMARC p=reject (everything passes);
    - nodmarc.test: DKIM key only, no SPF or DMARC record;
    - softly.test / strictly.test: SPF that leaves 127.0.0.1 out (~all / -all);
    - guarded.test: SPF without 127.0.0.1 and DMARC p=reject;
    - proxied.test: SPF allowing only 203.0.113.7;
    - bare.test publishes nothing at all (NXDOMAIN for every name)."""
    server = DnsServer()
    _, public = signing_key
    key_record = f"v=DKIM1; k=rsa; p={public}"
    server.add_txt("aligned.test", "v=spf1 ip4:127.0.0.1 -all")
    server.add_txt(f"{SELECTOR}._domainkey.aligned.test", key_record)
    server.add_txt("_dmarc.aligned.test", "v=DMARC1; p=reject; adkim=r; aspf=r")
    server.add_txt(f"{SELECTOR}._domainkey.nodmarc.test", key_record)
    server.add_txt("softly.test", "v=spf1 ip4:192.0.2.10 ~all")
    server.add_txt("strictly.test", "v=spf1 ip4:192.0.2.10 -all")
    server.add_txt("guarded.test", "v=spf1 ip4:192.0.2.10 -all")
    server.add_txt("_dmarc.guarded.test", "v=DMARC1; p=reject")
    server.add_txt("proxied.test", "v=spf1 ip4:203.0.113.7 -all")
    server.add_txt("_dmarc.proxied.test", "v=DMARC1; p=quarantine")
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def verifying(settings: Settings, zone: DnsServer) -> AsyncIterator[RunningServer]:
    """The service with sender authentication at its default scope (agent mailboxes),
    resolving through the test's DNS server."""
    update = {
        "verify_senders": "agent",
        "dns_resolver": zone.address,
        "dns_budget_seconds": 10.0,
    }
    async with start_server(settings.model_copy(update=update)) as running:
        yield running


@pytest.fixture
async def behind_proxy(settings: Settings, zone: DnsServer) -> AsyncIterator[RunningServer]:
    """The same, behind a trusted PROXY-protocol proxy on loopback."""
    update = {
        "verify_senders": "agent",
        "dns_resolver": zone.address,
        "smtp_proxy_protocol": True,
        "trusted_proxies": [ipaddress.ip_network("127.0.0.0/8")],
    }
    async with start_server(settings.model_copy(update=update)) as running:
        yield running


def letter(mail_from: str, to: str, subject: str, body: str = "Your code is 482910.") -> bytes:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{subject.replace(' ', '-')}@sender.example>"
    message.set_content(body)
    return message.as_bytes().replace(b"\n", b"\r\n")


def signed(raw: bytes, domain: str, private_key: bytes) -> bytes:
    signature = dkim.sign(
        raw,
        SELECTOR.encode(),
        domain.encode(),
        private_key,
        include_headers=[b"from", b"to", b"subject", b"message-id"],
    )
    return signature + raw


async def agent_inbox(server: RunningServer, handle: str) -> tuple[dict[str, Any], str]:
    key = await server.create_key()
    inbox = await server.create_inbox(key, mode="agent", handle=handle)
    return inbox, key


async def send(server: RunningServer, raw: bytes, mail_from: str, to: list[str]) -> str:
    _, reply = await aiosmtplib.send(
        raw, sender=mail_from, recipients=to, hostname="127.0.0.1", port=server.smtp_port
    )
    return reply


async def only_message(
    server: RunningServer, inbox: dict[str, Any], key: str, *, spam: bool = False
) -> dict[str, Any]:
    headers = server.auth(key)
    listed = await server.http.get(
        f"/mailboxes/{inbox['id']}/messages", params={"spam": spam}, headers=headers
    )
    (summary,) = listed.json()["data"]
    full = await server.http.get(
        f"/mailboxes/{inbox['id']}/messages/{summary['id']}", headers=headers
    )
    message = full.json()["data"]
    assert message["from_verified"] == summary["from_verified"]
    return message


async def test_signed_mail_from_an_allowed_address_passes_spf_dkim_and_dmarc(
    verifying: RunningServer, signing_key: tuple[bytes, str]
):
    inbox, key = await agent_inbox(verifying, "verified-desk")
    raw = signed(
        letter("alice@aligned.test", inbox["address"], "welcome"), "aligned.test", signing_key[0]
    )
    await send(verifying, raw, "alice@aligned.test", [inbox["address"]])

    message = await only_message(verifying, inbox, key)
    assert message["authentication"] == {
        "spf": {"result": "pass", "domain": "aligned.test"},
        "dkim": [{"result": "pass", "domain": "aligned.test", "selector": SELECTOR}],
        "dmarc": {"result": "pass", "policy": "reject", "domain": "aligned.test"},
        "ses": None,  # only mail received through Amazon SES has SES's verdicts
    }
    assert message["from_verified"] is True
    assert message["authentication_results"] == (
        f"{verifying.settings.smtp_hostname}; spf=pass smtp.mailfrom=alice@aligned.test; "
        f"dkim=pass header.d=aligned.test header.s={SELECTOR}; "
        "dmarc=pass policy.dmarc=reject header.from=aligned.test"
    )
    # The raw bytes are kept exactly as received: the header is a view, never added.
    raw_back = await verifying.http.get(
        f"/mailboxes/{inbox['id']}/messages/{message['id']}/raw", headers=verifying.auth(key)
    )
    assert b"Authentication-Results" not in raw_back.content

    waited = await verifying.http.get(
        f"/mailboxes/{inbox['id']}/wait",
        params={"timeout": 5, "mark_read": "false", "since": "2000-01-01T00:00:00Z"},
        headers=verifying.auth(key),
    )
    assert waited.json()["data"]["message"]["from_verified"] is True

    metrics = (await verifying.http.get(f"{verifying.base_url}/metrics")).text
    assert 'inboxkit_sender_auth_results_total{method="dmarc",result="pass"} 1.0' in metrics
    assert "inboxkit_sender_auth_dns_seconds_count 1.0" in metrics


async def test_a_body_changed_after_signing_fails_dkim(
    verifying: RunningServer, signing_key: tuple[bytes, str]
):
    inbox, key = await agent_inbox(verifying, "tamper-desk")
    raw = signed(
        letter("bob@aligned.test", inbox["address"], "invoice"), "aligned.test", signing_key[0]
    )
    tampered = raw.replace(b"482910", b"999999")
    await send(verifying, tampered, "bob@aligned.test", [inbox["address"]])

    auth = (await only_message(verifying, inbox, key))["authentication"]
    assert auth["dkim"] == [{"result": "fail", "domain": "aligned.test", "selector": SELECTOR}]
    # SPF still passes for the aligned envelope domain, so DMARC does too.
    assert auth["spf"]["result"] == "pass"
    assert auth["dmarc"]["result"] == "pass"


@pytest.mark.parametrize(
    ("domain", "expected"), [("softly.test", "softfail"), ("strictly.test", "fail")]
)
async def test_a_client_address_outside_the_spf_record_is_softfail_or_fail(
    verifying: RunningServer, domain: str, expected: str
):
    inbox, key = await agent_inbox(verifying, f"spf-{expected}")
    sender = f"carol@{domain}"
    await send(verifying, letter(sender, inbox["address"], "hello"), sender, [inbox["address"]])

    message = await only_message(verifying, inbox, key)
    assert message["authentication"]["spf"] == {"result": expected, "domain": domain}
    assert message["authentication"]["dmarc"] == {
        "result": "none",
        "policy": None,
        "domain": domain,
    }
    assert message["from_verified"] is False


async def test_the_proxy_protocol_client_is_the_address_spf_checks(behind_proxy: RunningServer):
    inbox, key = await agent_inbox(behind_proxy, "proxy-desk")
    reader, writer, greeting = await _session(behind_proxy.smtp_port, v1_header("203.0.113.7"))
    assert greeting.startswith(b"220")

    async def say(line: bytes) -> bytes:
        writer.write(line + b"\r\n")
        await writer.drain()
        reply = await reader.readline()
        while reply[3:4] == b"-":
            reply = await reader.readline()
        return reply

    # proxied.test's SPF allows only 203.0.113.7: the client the proxy names, not its own
    # address (127.0.0.1).
    assert (await say(b"EHLO relay.proxied.test")).startswith(b"250")
    assert (await say(b"MAIL FROM:<news@proxied.test>")).startswith(b"250")
    assert (await say(f"RCPT TO:<{inbox['address']}>".encode())).startswith(b"250")
    assert (await say(b"DATA")).startswith(b"354")
    body = letter("news@proxied.test", inbox["address"], "weekly").rstrip(b"\r\n")
    assert (await say(body + b"\r\n.")).startswith(b"250")
    await say(b"QUIT")
    writer.close()

    message = await only_message(behind_proxy, inbox, key)
    assert message["envelope"]["remote_addr"] == "203.0.113.7"
    assert message["authentication"]["spf"] == {"result": "pass", "domain": "proxied.test"}
    assert message["authentication"]["dmarc"] == {
        "result": "pass",
        "policy": "quarantine",
        "domain": "proxied.test",
    }
    assert message["from_verified"] is True


async def test_dmarc_reject_domain_without_aligned_pass_fails_dmarc(
    verifying: RunningServer, signing_key: tuple[bytes, str]
):
    inbox, key = await agent_inbox(verifying, "guarded-desk")
    # Signed by another domain (a valid signature, but not the From domain's) and sent from
    # an address the From domain's SPF leaves out.
    raw = signed(
        letter("ceo@guarded.test", inbox["address"], "wire transfer"),
        "nodmarc.test",
        signing_key[0],
    )
    await send(verifying, raw, "ceo@guarded.test", [inbox["address"]])

    # The owner of guarded.test asks receivers to refuse such mail: it is kept as spam.
    message = await only_message(verifying, inbox, key, spam=True)
    assert message["spam"]["verdict"] == "spam"
    auth = message["authentication"]
    assert auth["spf"] == {"result": "fail", "domain": "guarded.test"}
    assert auth["dkim"] == [{"result": "pass", "domain": "nodmarc.test", "selector": SELECTOR}]
    assert auth["dmarc"] == {"result": "fail", "policy": "reject", "domain": "guarded.test"}
    assert message["from_verified"] is False


async def test_an_aligned_dkim_pass_verifies_a_domain_without_dmarc(
    verifying: RunningServer, signing_key: tuple[bytes, str]
):
    inbox, key = await agent_inbox(verifying, "nodmarc-desk")
    raw = signed(
        letter("dan@nodmarc.test", inbox["address"], "receipt"), "nodmarc.test", signing_key[0]
    )
    await send(verifying, raw, "dan@nodmarc.test", [inbox["address"]])

    message = await only_message(verifying, inbox, key)
    assert message["authentication"]["spf"]["result"] == "none"
    assert message["authentication"]["dmarc"]["result"] == "none"
    assert message["from_verified"] is True


async def test_a_domain_with_no_records_is_none_and_not_verified(verifying: RunningServer):
    inbox, key = await agent_inbox(verifying, "bare-desk")
    await send(
        verifying,
        letter("eve@bare.test", inbox["address"], "hi"),
        "eve@bare.test",
        [inbox["address"]],
    )

    message = await only_message(verifying, inbox, key)
    assert message["authentication"] == {
        "spf": {"result": "none", "domain": "bare.test"},
        "dkim": [],
        "dmarc": {"result": "none", "policy": None, "domain": "bare.test"},
        "ses": None,  # only mail received through Amazon SES has SES's verdicts
    }
    assert message["from_verified"] is False
    assert "dkim=none" in message["authentication_results"]


async def test_test_mailboxes_are_not_evaluated_by_default(
    verifying: RunningServer, signing_key: tuple[bytes, str], zone: DnsServer
):
    agent, key = await agent_inbox(verifying, "both-desk")
    test_box = await verifying.create_inbox(key)
    raw = signed(
        letter("alice@aligned.test", agent["address"], "to both"), "aligned.test", signing_key[0]
    )
    await send(verifying, raw, "alice@aligned.test", [agent["address"], test_box["address"]])

    for_test = await only_message(verifying, test_box, key)
    assert for_test["authentication"] is None
    assert for_test["authentication_results"] is None
    assert for_test["from_verified"] is False
    # The same message, evaluated once, for the agent mailbox beside it.
    assert (await only_message(verifying, agent, key))["from_verified"] is True

    zone.queries.clear()
    await send(
        verifying,
        letter("x@aligned.test", test_box["address"], "only test"),
        "x@aligned.test",
        [test_box["address"]],
    )
    assert zone.queries == []  # nothing looked up for a test mailbox alone


@pytest.fixture
def deaf_resolver() -> Iterator[str]:
    """A UDP socket that takes DNS queries and never answers them."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield f"127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


async def test_a_resolver_that_never_answers_gives_temperror_and_the_mail_is_still_accepted(
    settings: Settings, deaf_resolver: str, signing_key: tuple[bytes, str]
):
    update = {"verify_senders": "agent", "dns_resolver": deaf_resolver, "dns_budget_seconds": 1.0}
    async with start_server(settings.model_copy(update=update)) as server:
        inbox, key = await agent_inbox(server, "deaf-desk")
        raw = signed(
            letter("alice@aligned.test", inbox["address"], "slow dns"),
            "aligned.test",
            signing_key[0],
        )
        reply = await asyncio.wait_for(
            send(server, raw, "alice@aligned.test", [inbox["address"]]), 30
        )
        assert reply.startswith("2.0.0 OK")
        message = await only_message(server, inbox, key)
    assert message["authentication"] == {
        "spf": {"result": "temperror", "domain": "aligned.test"},
        "dkim": [{"result": "temperror", "domain": "aligned.test", "selector": SELECTOR}],
        "dmarc": {"result": "temperror", "policy": None, "domain": "aligned.test"},
        "ses": None,  # only mail received through Amazon SES has SES's verdicts
    }
    assert message["from_verified"] is False


async def test_scope_all_evaluates_test_mailboxes_too(settings: Settings, zone: DnsServer):
    update = {"verify_senders": "all", "dns_resolver": zone.address}
    async with start_server(settings.model_copy(update=update)) as server:
        key = await server.create_key()
        box = await server.create_inbox(key)
        await send(
            server,
            letter("f@softly.test", box["address"], "scoped"),
            "f@softly.test",
            [box["address"]],
        )
        message = await only_message(server, box, key)
    assert message["authentication"]["spf"]["result"] == "softfail"


async def test_the_sdk_and_mcp_tools_show_whether_the_sender_is_verified(
    verifying: RunningServer, signing_key: tuple[bytes, str]
):
    inbox, key = await agent_inbox(verifying, "sdk-desk")
    raw = signed(
        letter("alice@aligned.test", inbox["address"], "sign in"), "aligned.test", signing_key[0]
    )
    await send(verifying, raw, "alice@aligned.test", [inbox["address"]])
    await send(
        verifying,
        letter("mallory@strictly.test", inbox["address"], "sign in too", "Code 771234."),
        "mallory@strictly.test",
        [inbox["address"]],
    )

    async with AsyncInboxKit(verifying.base_url, key) as client:
        first = await client.wait_for_message(inbox["address"], timeout=10, mark_read=False)
        assert first.from_verified is True
        assert first.authentication is not None
        assert first.authentication.dmarc.policy == "reject"
        listed = await client.list_messages(inbox["address"])
        assert {m.subject: m.from_verified for m in listed.items} == {
            "sign in": True,
            "sign in too": False,
        }

    async with http_client(f"{verifying.base_url}/mcp", verifying.auth(key)) as mcp:
        code = await call(mcp, "wait_for_code", inbox=inbox["address"], timeout_seconds=10)
        assert (code["code"], code["from_verified"]) == ("482910", True)
        code = await call(mcp, "wait_for_code", inbox=inbox["address"], timeout_seconds=10)
        assert (code["code"], code["from_verified"]) == ("771234", False)
        read = await call(
            mcp, "read_message", inbox=inbox["address"], message_id=code["message_id"]
        )
        assert read["authentication"]["spf"]["result"] == "fail"


async def test_only_the_topmost_five_signatures_are_verified_and_a_missing_key_is_permerror(
    verifying: RunningServer, signing_key: tuple[bytes, str]
):
    inbox, key = await agent_inbox(verifying, "many-desk")
    raw = letter("alice@aligned.test", inbox["address"], "many signatures")
    for _ in range(6):
        raw = signed(raw, "aligned.test", signing_key[0])
    # The topmost signature names a selector with no key published.
    raw = (
        dkim.sign(raw, b"retired", b"aligned.test", signing_key[0], include_headers=[b"from"]) + raw
    )
    await send(verifying, raw, "alice@aligned.test", [inbox["address"]])

    dkim_results = (await only_message(verifying, inbox, key))["authentication"]["dkim"]
    assert dkim_results == [
        {"result": "permerror", "domain": "aligned.test", "selector": "retired"},
        *[{"result": "pass", "domain": "aligned.test", "selector": SELECTOR}] * 4,
    ]
