"""Ingest with sender authentication on and off, side by side in one run.

    .venv/bin/python bench/senders.py                       # SQLite, 3 rounds of 300 messages
    .venv/bin/python bench/senders.py --rounds 5 --messages 500 --concurrency 20

One embedded server (SQLite, in this process) per setting: `INBOXKIT_VERIFY_SENDERS=none`
and `agent` with a DNS server on 127.0.0.1 that publishes SPF, a DKIM key and DMARC for the
sending domain (the responder the tests use, tests/senders/dnsserver.py). Each message is
DKIM-signed once beforehand and sent with aiosmtplib (one connection per message,
`--concurrency` at once) to an agent mailbox, so with verification on every message costs an
SPF evaluation, a key lookup and a signature check, and a DMARC lookup. Rounds alternate
between the two servers. Printed: msg/s per round and the medians. Client, server and DNS
share this process and the machine's cores, so the figures compare the two settings; they are
not the server's capacity (bench/ingest.py measures that).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import statistics
import sys
import tempfile
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import aiosmtplib  # noqa: E402
import dkim  # noqa: E402
import httpx  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from tests.senders.dnsserver import DnsServer  # noqa: E402

from inboxkit.app import running  # noqa: E402
from inboxkit.config import Settings  # noqa: E402

DOMAIN = "bench-sender.test"
SELECTOR = "bench"


def keys() -> tuple[bytes, str]:
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


def message(to: str, private: bytes, size: int) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"alerts@{DOMAIN}"
    mail["To"] = to
    mail["Subject"] = "Your sign-in code"
    mail.set_content("Your code is 482910.\n" + "x" * size)
    raw = mail.as_bytes().replace(b"\n", b"\r\n")
    return dkim.sign(raw, SELECTOR.encode(), DOMAIN.encode(), private) + raw


def sending_zone(public: str) -> DnsServer:
    """A started DNS responder publishing SPF (127.0.0.1), the DKIM key and DMARC p=reject
    for DOMAIN."""
    dns = DnsServer()
    dns.add_txt(DOMAIN, "v=spf1 ip4:127.0.0.1 -all")
    dns.add_txt(f"{SELECTOR}._domainkey.{DOMAIN}", f"v=DKIM1; k=rsa; p={public}")
    dns.add_txt(f"_dmarc.{DOMAIN}", "v=DMARC1; p=reject")
    dns.start()
    return dns


async def one_round(port: int, raw: bytes, to: str, count: int, concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def send() -> None:
        async with gate:
            await aiosmtplib.send(
                raw, sender=f"alerts@{DOMAIN}", recipients=[to], hostname="127.0.0.1", port=port
            )

    started = time.perf_counter()
    await asyncio.gather(*(send() for _ in range(count)))
    return count / (time.perf_counter() - started)


async def main(args: argparse.Namespace) -> None:
    private, public = keys()
    dns = sending_zone(public)
    rates: dict[str, list[float]] = {"off": [], "on": []}
    admin = f"ik_bench_{uuid.uuid4().hex}"
    try:
        with tempfile.TemporaryDirectory() as off_dir, tempfile.TemporaryDirectory() as on_dir:
            # One client address sends everything: lift the per-address connect rate.
            common = {
                "http_port": 0,
                "smtp_port": 0,
                "admin_key": admin,
                "smtp_connect_rate_per_ip": 1_000_000,
            }
            off = Settings(_env_file=None, data_dir=off_dir, verify_senders="none", **common)  # type: ignore[call-arg]
            on = Settings(
                _env_file=None,  # type: ignore[call-arg]
                data_dir=on_dir,
                verify_senders="agent",
                dns_resolver=dns.address,
                **common,
            )
            async with (
                running(off, "all", http=True) as s_off,
                running(on, "all", http=True) as s_on,
            ):
                targets = {}
                for name, server in (("off", s_off), ("on", s_on)):
                    async with httpx.AsyncClient(
                        base_url=f"http://127.0.0.1:{server.http_port}/api/v1",
                        headers={"Authorization": f"Bearer {admin}"},
                    ) as http:
                        made = await http.post(
                            "/mailboxes", json={"mode": "agent", "handle": "bench"}
                        )
                        made.raise_for_status()
                        address = made.json()["data"]["address"]
                    targets[name] = (server.smtp_port, address)
                # A short round each first, uncounted: parser processes and connections warm up.
                for port, address in targets.values():
                    await one_round(port, message(address, private, args.size), address, 20, 5)
                for number in range(args.rounds):
                    for name in ("off", "on") if number % 2 == 0 else ("on", "off"):
                        port, address = targets[name]
                        raw = message(address, private, args.size)
                        rate = await one_round(port, raw, address, args.messages, args.concurrency)
                        rates[name].append(rate)
                        print(
                            f"round {number + 1} verification {name:3}: {rate:7.1f} msg/s",
                            flush=True,
                        )
    finally:
        dns.stop()
    off_median, on_median = statistics.median(rates["off"]), statistics.median(rates["on"])
    print(f"median verification off: {off_median:.1f} msg/s")
    print(f"median verification on:  {on_median:.1f} msg/s ({on_median / off_median:.0%} of off)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--size", type=int, default=4000, help="body bytes per message")
    asyncio.run(main(parser.parse_args()))
