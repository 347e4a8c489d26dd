"""The SMTP listener: aiosmtpd's protocol class served by our own event loop.

aiosmtpd's threaded Controller would run a second event loop in another thread; using the
protocol as a factory keeps SMTP, HTTP, the database and the bus on one loop.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP

from inboxkit import __version__
from inboxkit.config import Settings
from inboxkit.smtp.handler import InboxHandler

__all__ = ["InboxSMTP", "start_smtp_server"]

log = logging.getLogger(__name__)

TOO_MANY_CONNECTIONS = b"421 4.7.0 Too many connections, try again later\r\n"
SESSION_TOO_LONG = b"421 4.4.2 Session time limit reached, closing connection\r\n"


class _ConnectionGate:
    def __init__(self, limit: int):
        self.limit = limit
        self.active = 0


class InboxSMTP(SMTP):
    """aiosmtpd with our limits: connection cap, total session time, long lines."""

    def __init__(self, handler: InboxHandler, settings: Settings, gate: _ConnectionGate):
        # RFC 5321 caps lines at 1,000 octets, but real senders exceed it (Outlook, long HTML)
        # and refusing their mail would lose it, so lines may be as long as a message may be.
        self.line_length_limit = settings.max_message_bytes + 1024
        super().__init__(
            handler,
            data_size_limit=settings.max_message_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=settings.smtp_hostname,
            ident=f"inboxkit {__version__}",
            timeout=settings.smtp_idle_timeout,
            command_call_limit=settings.smtp_max_commands,
        )
        self._settings = settings
        self._gate = gate
        self._admitted = False
        self._session_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        if self._gate.active >= self._gate.limit:
            transport.write(TOO_MANY_CONNECTIONS)
            transport.close()
            return
        self._gate.active += 1
        self._admitted = True
        super().connection_made(transport)
        self._session_timer = self.loop.call_later(
            self._settings.smtp_session_timeout, self._end_session
        )

    def _end_session(self) -> None:
        if self.transport is not None:
            self.transport.write(SESSION_TOO_LONG)
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._admitted:
            return
        self._admitted = False
        self._gate.active -= 1
        if self._session_timer is not None:
            self._session_timer.cancel()
        super().connection_lost(exc)


async def start_smtp_server(settings: Settings, handler: InboxHandler) -> asyncio.Server:
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    gate = _ConnectionGate(settings.smtp_max_connections)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: InboxSMTP(handler, settings, gate),
        host=settings.smtp_host,
        port=settings.smtp_port,
        reuse_address=True,
    )
