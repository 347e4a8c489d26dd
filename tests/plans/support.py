"""Helpers for the plan tests: accounts on new plans, and SMTP deliveries whose outcome
(stored, or refused at RCPT or at DATA) is reported rather than raised."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from typing import Any

import aiosmtplib
import httpx

__all__ = [
    "Outcome",
    "account_on_plan",
    "bearer",
    "deliver_one",
    "raw_message",
    "tenant_on_plan",
]

SENDER = "sender@example.com"


@dataclass
class Outcome:
    """How one SMTP delivery ended: `stored`, or refused at `rcpt` or `data`."""

    stage: str
    code: int
    message: str


async def deliver_one(port: int, to: str, raw: bytes) -> Outcome:
    """One message over its own connection: MAIL, RCPT, DATA, QUIT."""
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=60)
    await smtp.connect()
    try:
        await smtp.mail(SENDER)
        try:
            await smtp.rcpt(to)
        except aiosmtplib.SMTPRecipientRefused as exc:
            return Outcome("rcpt", exc.code, exc.message)
        try:
            reply = await smtp.data(raw)
        except aiosmtplib.SMTPDataError as exc:
            return Outcome("data", exc.code, exc.message)
        return Outcome("stored", reply.code, reply.message)
    finally:
        with contextlib.suppress(aiosmtplib.SMTPException):
            await smtp.quit()


def raw_message(to: str, n: int) -> bytes:
    """Message `n` of a run; every one is the same length, so stored bytes are predictable."""
    return (
        f"From: {SENDER}\r\nTo: {to}\r\nSubject: delivery {n:03d}\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@example.com>\r\n\r\nMessage number {n:03d}.\r\n"
    ).encode()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def tenant_on_plan(
    api: httpx.AsyncClient, admin: str, plan: str, limits: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    """A new account on `plan` and an API key of it: (the account, the key). With `limits`
    the plan is created (or, when it exists, changed) first; without, it must exist."""
    if limits:
        created = await api.post("/plans", json={"name": plan, **limits}, headers=bearer(admin))
        if created.status_code == 409:
            created = await api.patch(f"/plans/{plan}", json=limits, headers=bearer(admin))
        assert created.status_code in (200, 201), created.text
    account = await api.post(
        "/accounts", json={"name": f"{plan} tenant", "plan": plan}, headers=bearer(admin)
    )
    assert account.status_code == 201, account.text
    key = await api.post(
        "/keys",
        json={"name": f"{plan} key", "account_id": account.json()["data"]["id"]},
        headers=bearer(admin),
    )
    assert key.status_code == 201, key.text
    return account.json()["data"], key.json()["data"]["token"]


async def account_on_plan(
    api: httpx.AsyncClient, admin: str, plan: str, limits: dict[str, Any]
) -> str:
    """An API key of a new account on a new plan with `limits`."""
    return (await tenant_on_plan(api, admin, plan, limits))[1]
