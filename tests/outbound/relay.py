"""A real SMTP relay for tests: an aiosmtpd server on a free port in the test's event loop
that records what it receives and answers as the test scripts it to."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from inboxkit.config import Settings
from tests.certificates import self_signed

__all__ = ["FAST_RETRIES", "RelaySink", "Relayed", "relay_settings", "relay_tls"]

FAST_RETRIES = [0, 0.2, 0.2, 0.2]


@dataclass
class Relayed:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str | None

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


def relay_tls(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A self-signed certificate for 127.0.0.1: the relay's server TLS context, and the PEM
    file a client trusts it with (INBOXKIT_SMTP_RELAY_CA_BUNDLE)."""
    cert_path, key_path = self_signed(directory, "127.0.0.1", "relay")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context, cert_path


class RelaySink:
    """Records every accepted message. `data_replies` are answered to DATA in order (then
    250); `rcpt_replies` maps a recipient to the answer its RCPT gets. With `credentials` it
    offers AUTH (in clear, as a careless or hostile relay would, unless `tls` is given); with
    `tls` (a server context) it offers STARTTLS and takes AUTH only after it."""

    def __init__(
        self,
        *,
        credentials: tuple[str, str] | None = None,
        tls: ssl.SSLContext | None = None,
    ):
        self.received: list[Relayed] = []
        self.data_replies: list[str] = []
        self.rcpt_replies: dict[str, str] = {}
        self.data_attempts = 0
        self.sessions = 0  # EHLO greetings: one per connection, two with STARTTLS
        self.auth_attempts = 0  # credentials received, accepted or not
        self.credentials = credentials
        self.tls = tls
        self._changed = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self.port = 0

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        self.auth_attempts += 1
        if (
            isinstance(data, LoginPassword)
            and self.credentials is not None
            and (data.login.decode(), data.password.decode()) == self.credentials
        ):
            return AuthResult(success=True, auth_data=data.login.decode())
        return AuthResult(success=False, handled=False)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()

        def protocol() -> SMTP:
            return SMTP(
                self,
                hostname="relay.test",
                decode_data=False,
                authenticator=self._authenticate if self.credentials else None,
                auth_require_tls=self.tls is not None,
                tls_context=self.tls,
            )

        self._server = await loop.create_server(protocol, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def url(self) -> str:
        if self.credentials:
            return f"smtp://{self.credentials[0]}:{self.credentials[1]}@127.0.0.1:{self.port}"
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        reply = self.rcpt_replies.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_attempts += 1
        if self.data_replies:
            reply = self.data_replies.pop(0)
            if not reply.startswith("250"):
                return reply
        login = session.auth_data if isinstance(session.auth_data, str) else None
        async with self._changed:
            self.received.append(
                Relayed(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content), login)
            )
            self._changed.notify_all()
        return f"250 2.0.0 Queued as relay-{len(self.received)}"

    async def wait_for(self, count: int, timeout: float = 20.0) -> list[Relayed]:
        """Wait until at least `count` messages arrived; return them all."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.received) >= count), timeout
            )
        return list(self.received)


def relay_settings(settings: Settings, relay: RelaySink | None, **extra: Any) -> Settings:
    """`settings` sending through `relay` (None: no relay at all), retrying quickly."""
    update: dict[str, Any] = {
        "smtp_relay_url": relay.url if relay else None,
        "outbox_retry_schedule": FAST_RETRIES,
        "outbox_poll_interval": 1.0,
        "smtp_relay_timeout": 10.0,
        **extra,
    }
    return settings.model_copy(update=update)
