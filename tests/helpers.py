"""Test helpers: start the real service on free ports; send real SMTP; talk real HTTP."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx

from inboxkit.app import running
from inboxkit.config import Settings
from inboxkit.runtime import Runtime

__all__ = ["RunningServer", "start_server", "make_message", "smtp_wire_bytes", "update_plan"]


@dataclass
class RunningServer:
    settings: Settings
    runtime: Runtime
    base_url: str
    http_port: int
    smtp_port: int
    http: httpx.AsyncClient  # base_url = …/api/v1

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def create_inbox(self, token: str | None = None, **body: Any) -> dict[str, Any]:
        headers = self.auth(token) if token else {}
        response = await self.http.post("/mailboxes", json=body, headers=headers)
        assert response.status_code == 201, response.text
        return response.json()["data"]

    async def create_key(self, name: str = "tenant", scopes: list[str] | None = None) -> str:
        key = await self.runtime.auth.create_key(name=name, scopes=scopes)
        return key["token"]

    async def send(
        self,
        to: str | list[str],
        raw: bytes | EmailMessage | None = None,
        *,
        mail_from: str = "sender@example.com",
        subject: str = "hello",
        body: str = "hi there",
    ) -> tuple[dict[str, Any], str]:
        recipients = [to] if isinstance(to, str) else to
        message = raw if raw is not None else make_message(recipients[0], subject, body, mail_from)
        return await aiosmtplib.send(
            message,
            sender=mail_from,
            recipients=recipients,
            hostname="127.0.0.1",
            port=self.smtp_port,
            timeout=30,
        )


def make_message(
    to: str, subject: str, body: str, mail_from: str = "sender@example.com"
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


def smtp_wire_bytes(raw: bytes) -> bytes:
    """What a receiver stores for `raw` sent by smtplib/aiosmtplib: CRLF line endings and a
    final CRLF (dot-stuffing is undone by the receiver, so it does not show)."""
    normalised = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
    if not normalised.endswith(b"\r\n"):
        normalised += b"\r\n"
    return normalised


# The anonymous plan's counts and rates as shipped (3 creations a minute, 10 mailboxes per
# address…) would trip tests that create many inboxes from 127.0.0.1 for other reasons; those
# tests run with them lifted. Tests of the shipped defaults pass `plan_defaults=True`.
RELAXED_ANONYMOUS = {
    "max_mailboxes": None,
    "create_per_minute": None,
    "read_per_minute": None,
    "write_per_minute": None,
}


async def relax_anonymous_plan(runtime: Runtime) -> None:
    await update_plan(runtime, "anonymous", **RELAXED_ANONYMOUS)


async def update_plan(runtime: Runtime, name: str, **limits: Any) -> None:
    """Change a plan's limits in the database (effective on the next request)."""
    from inboxkit.store import plans

    async with runtime.db.write() as conn:
        await plans.update_plan(conn, name, limits)


@contextlib.asynccontextmanager
async def start_server(
    settings: Settings, role: str = "all", *, plan_defaults: bool = False
) -> AsyncIterator[RunningServer]:
    async with running(settings, role, http=True) as server:
        if not plan_defaults:
            await relax_anonymous_plan(server.runtime)
        base_url = f"http://127.0.0.1:{server.http_port}"
        async with httpx.AsyncClient(base_url=f"{base_url}/api/v1", timeout=90) as client:
            yield RunningServer(
                settings=settings,
                runtime=server.runtime,
                base_url=base_url,
                http_port=server.http_port or 0,
                smtp_port=server.smtp_port or 0,
                http=client,
            )
