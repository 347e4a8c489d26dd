"""Ingest with spam filtering and sender authentication, each setting side by side in one run.

    .venv/bin/python bench/spam.py                       # SQLite, 3 rounds of 300 messages
    .venv/bin/python bench/spam.py --rounds 5 --messages 500 --concurrency 20

Four embedded servers (SQLite, in this process), each receiving the same DKIM-signed 4 KiB
messages to an agent mailbox over SMTP (aiosmtplib, one connection per message, `--concurrency`
at once):

- `off` (the baseline): `INBOXKIT_VERIFY_SENDERS=none`, `INBOXKIT_SPAM_FILTER=false`;
- `builtin`: the built-in scorer, no sender authentication;
- `verify+builtin`: SPF, DKIM and DMARC against a DNS server on 127.0.0.1 (the responder the
  tests use), then the built-in scorer — the default for agent mailboxes;
- `verify+rspamd`: the same with Debian's rspamd (started here as the tests start it,
  tests/rspamd.py) scoring every message over HTTP.

Rounds rotate which server goes first. Printed: msg/s per round, the medians and each median's
ratio to `off`. Client, servers, DNS and rspamd share the machine's cores, so the figures
compare the settings; they are not the server's capacity (bench/ingest.py measures that).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import uuid
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from bench.senders import keys, message, one_round, sending_zone  # noqa: E402
from tests.rspamd import Rspamd, rspamd_binary  # noqa: E402

from inboxkit.app import running  # noqa: E402
from inboxkit.config import Settings  # noqa: E402

SETTINGS = ("off", "builtin", "verify+builtin", "verify+rspamd")


def settings_for(name: str, data_dir: str, dns: str, rspamd: str, admin: str) -> Settings:
    chosen: dict[str, Any] = {
        "http_port": 0,
        "smtp_port": 0,
        "admin_key": admin,
        # One client address sends everything: lift the per-address connect rate.
        "smtp_connect_rate_per_ip": 1_000_000,
        "data_dir": data_dir,
        "verify_senders": "agent" if name.startswith("verify") else "none",
        "dns_resolver": dns,
        "spam_filter": name != "off",
        "rspamd_url": rspamd if name.endswith("rspamd") else None,
    }
    return Settings(_env_file=None, **chosen)  # type: ignore[call-arg]


async def main(args: argparse.Namespace) -> None:
    if rspamd_binary() is None:
        sys.exit("rspamd is not installed: apt-get install -y rspamd")
    private, public = keys()
    dns = sending_zone(public)
    scratch = tempfile.TemporaryDirectory()
    rspamd = Rspamd(Path(scratch.name) / "rspamd")
    rspamd.start()
    rates: dict[str, list[float]] = {name: [] for name in SETTINGS}
    admin = f"ik_bench_{uuid.uuid4().hex}"
    try:
        async with AsyncExitStack() as stack:
            targets: dict[str, tuple[int, str]] = {}
            for name in SETTINGS:
                data_dir = Path(scratch.name) / name.replace("+", "-")
                data_dir.mkdir()
                config = settings_for(name, str(data_dir), dns.address, rspamd.url, admin)
                server = await stack.enter_async_context(running(config, "all", http=True))
                async with httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{server.http_port}/api/v1",
                    headers={"Authorization": f"Bearer {admin}"},
                ) as http:
                    made = await http.post("/mailboxes", json={"mode": "agent", "handle": "bench"})
                    made.raise_for_status()
                    targets[name] = (server.smtp_port, made.json()["data"]["address"])
            # A short round each first, uncounted: parser processes and connections warm up.
            for port, address in targets.values():
                await one_round(port, message(address, private, args.size), address, 20, 5)
            for number in range(args.rounds):
                shift = number % len(SETTINGS)
                for name in SETTINGS[shift:] + SETTINGS[:shift]:
                    port, address = targets[name]
                    raw = message(address, private, args.size)
                    rate = await one_round(port, raw, address, args.messages, args.concurrency)
                    rates[name].append(rate)
                    print(f"round {number + 1} {name:15}: {rate:7.1f} msg/s", flush=True)
    finally:
        rspamd.stop()
        dns.stop()
        scratch.cleanup()
    baseline = statistics.median(rates["off"])
    print()
    print(f"{'setting':15} {'median msg/s':>12} {'vs off':>7}  per round")
    for name in SETTINGS:
        median = statistics.median(rates[name])
        rounds = ", ".join(f"{rate:.1f}" for rate in rates[name])
        print(f"{name:15} {median:12.1f} {median / baseline:7.2f}  {rounds}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--size", type=int, default=4000, help="body bytes per message")
    asyncio.run(main(parser.parse_args()))
