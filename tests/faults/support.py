"""Helpers for the fault tests: make a fault over HTTP, send with a retrying SMTP client."""

from __future__ import annotations

from typing import Any

import aiosmtplib

from tests.helpers import RunningServer, make_message


async def add_fault(server: RunningServer, key: str, **body: Any) -> dict[str, Any]:
    response = await server.http.post("/faults", json=body, headers=server.auth(key))
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def get_fault(server: RunningServer, key: str, fault_id: str) -> dict[str, Any]:
    response = await server.http.get(f"/faults/{fault_id}", headers=server.auth(key))
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def stored_subjects(server: RunningServer, key: str, mailbox: str) -> list[str]:
    response = await server.http.get(f"/mailboxes/{mailbox}/messages", headers=server.auth(key))
    assert response.status_code == 200, response.text
    return [m["subject"] for m in response.json()["data"]]


def _temporary(code: int) -> bool:
    return 400 <= code < 500


async def send_retrying(
    server: RunningServer, to: list[str], subject: str, *, tries: int = 5
) -> tuple[int, list[str]]:
    """Send one message the way a careful application does: on a 4xx answer (at any command)
    try again, up to `tries` times. Returns (the attempt that was accepted, the replies that
    made it retry); a 5xx answer is raised."""
    refusals: list[str] = []
    for attempt in range(1, tries + 1):
        try:
            await server.send(to, make_message(to[0], subject, "retry me"))
            return attempt, refusals
        except aiosmtplib.SMTPRecipientsRefused as exc:
            if not all(_temporary(r.code) for r in exc.recipients):
                raise
            refusals += [f"{r.code} {r.message}" for r in exc.recipients]
        except aiosmtplib.SMTPResponseException as exc:
            if not _temporary(exc.code):
                raise
            refusals.append(f"{exc.code} {exc.message}")
    raise AssertionError(f"not accepted in {tries} tries: {refusals}")
