"""Hostile mail sent at once with ordinary mail: every message is answered 250 and listed, the
ordinary one parsed, and the hostile ones parsed too, within the per-message budget, with their
raw bytes kept. Each of these messages used to take longer than the budget to parse (14 s for
the bracket run, 11 s for the address lists), so they came back flagged `parse_error` while
holding the single parser worker, and everyone else's 250, for that long."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiosmtplib
import pytest

from inboxkit.config import Settings
from tests.helpers import RunningServer, make_message, smtp_wire_bytes, start_server

BUDGET = 3.0


@pytest.fixture
async def pooled_server(settings: Settings) -> AsyncIterator[RunningServer]:
    """Two parser workers and the production budget, whatever the suite's defaults."""
    update = {"parse_workers": 2, "parse_timeout": BUDGET}
    async with start_server(settings.model_copy(update=update)) as running:
        yield running


def bracket_run(index: int) -> bytes:
    """An ordinary verification link, then a URL followed by 200,000 closing brackets."""
    return (
        f"From: mallory@example.com\r\nSubject: brackets {index}\r\n\r\n"
        f"Verify your email: https://ab.example/verify?t={index}\r\n"
        "Open http://a" + ")" * 200_000 + "\r\n"
    ).encode()


def address_lists(index: int) -> bytes:
    """27 `To:` headers of 1,800 addresses each: just under the 1 MB header section limit."""
    addresses = ", ".join(f"user{i}@example.com" for i in range(1_800)).encode()
    head = f"From: mallory@example.com\r\nSubject: addresses {index}\r\n".encode()
    head += b"".join(b"To: " + addresses + b"\r\n" for _ in range(27))
    return head + b"\r\nYour code is 482913\r\n"


def parameter_parts() -> bytes:
    """40 MIME parts, each with a 10 KB Content-Type full of parameters."""
    params = "; ".join(f"p{i}={'v' * 60}" for i in range(150))
    parts = "".join(
        f"--B\r\nContent-Type: text/plain; {params}\r\n\r\npart {n}\r\n" for n in range(40)
    )
    return (
        "From: mallory@example.com\r\nSubject: parameters\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="B"\r\n\r\n' + parts + "--B--\r\n"
    ).encode()


async def _send(server: RunningServer, sender: str, address: str, raw: bytes) -> str:
    errors, reply = await aiosmtplib.send(
        raw, sender=sender, recipients=[address], hostname="127.0.0.1", port=server.smtp_port,
        timeout=60,
    )  # fmt: skip
    assert errors == {}
    return reply


async def _listed(server: RunningServer, inbox: dict) -> tuple[dict, dict, bytes]:
    headers = server.auth(inbox["token"])
    listing = await server.http.get(f"/mailboxes/{inbox['id']}/messages", headers=headers)
    assert listing.status_code == 200, listing.text
    (summary,) = listing.json()["data"]
    path = f"/mailboxes/{inbox['id']}/messages/{summary['id']}"
    full = await server.http.get(path, headers=headers)
    raw = await server.http.get(f"{path}/raw", headers=headers)
    assert full.status_code == 200 and raw.status_code == 200
    return summary, full.json()["data"], raw.content


async def test_hostile_mail_is_parsed_within_budget_while_ordinary_mail_is_accepted(
    pooled_server: RunningServer,
):
    server = pooled_server
    hostile = [bracket_run(0), bracket_run(1), address_lists(0), address_lists(1)]
    hostile.append(parameter_parts())
    hostile_inboxes = [await server.create_inbox() for _ in hostile]
    ordinary_inbox = await server.create_inbox()
    ordinary = make_message(ordinary_inbox["address"], "ordinary", "Your code is 551902")

    replies = await asyncio.gather(
        *(
            _send(server, "mallory@example.com", inbox["address"], raw)
            for inbox, raw in zip(hostile_inboxes, hostile, strict=True)
        ),
        _send(server, "alice@example.com", ordinary_inbox["address"], ordinary.as_bytes()),
    )
    assert all(reply.startswith("2.0.0 OK") for reply in replies), replies

    summary, _, _ = await _listed(server, ordinary_inbox)
    assert summary["subject"] == "ordinary" and summary["parse_error"] is False

    for index in (0, 1):
        summary, full, stored = await _listed(server, hostile_inboxes[index])
        assert stored == smtp_wire_bytes(hostile[index])
        assert summary["parse_error"] is False, full.get("parse_error_detail")
        assert [link["url"] for link in full["links"]] == [f"https://ab.example/verify?t={index}"]
    for index in (2, 3):
        summary, full, stored = await _listed(server, hostile_inboxes[index])
        assert stored == smtp_wire_bytes(hostile[index])
        assert summary["parse_error"] is False, full.get("parse_error_detail")
        assert len(full["to"]) == 200 and full["to"][0] == "user0@example.com"
        assert full["codes"] == ["482913"]
        assert [name for name, _ in full["headers"]].count("To") == 27
    summary, full, stored = await _listed(server, hostile_inboxes[4])
    assert stored == smtp_wire_bytes(hostile[4])
    assert summary["parse_error"] is False, full.get("parse_error_detail")
    assert full["text"].strip() == "part 0"
    assert len(full["attachments"]) == 39
