"""The SMTP listener: aiosmtpd's protocol class served by our own event loop.

aiosmtpd's threaded Controller would run a second event loop in another thread; using the
protocol as a factory keeps SMTP, HTTP, the database and the bus on one loop.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, AnyStr

from aiosmtpd.smtp import SMTP, syntax

from inboxkit import __version__
from inboxkit.config import Settings
from inboxkit.errors import RateLimited
from inboxkit.services.throttle import Bucket, RateLimiter
from inboxkit.smtp.faults import ends_session
from inboxkit.smtp.gate import ConnectionGate, peer_key
from inboxkit.smtp.handler import InboxHandler
from inboxkit.smtp.lines import READ_WINDOW, CommandLineGuard, line_too_long, read_data
from inboxkit.smtp.session import InboxSession

__all__ = ["InboxSMTP", "start_smtp_server"]

log = logging.getLogger(__name__)

# RFC 3463 4.4.2: the connection is dropped; the sender retries what it had not finished.
SESSION_TOO_LONG = "421 4.4.2 Session time limit reached, closing connection"
# RFC 5321 §3.8 lets the server close with 421; 4.7.0 is a policy refusal. Addresses guessed
# one RCPT after another are refused this way once the session has had enough wrong ones.
TOO_MANY_REFUSED = (
    "421 4.7.0 Too many unknown recipients in one session ({limit}); "
    "check the addresses, then reconnect"
)
# RFC 5321 §3.8: the server may decline a connection with 421; RFC 3463 4.7.0, a temporary
# refusal for policy reasons. A peer opening sessions faster than the rate limit allows.
CONNECTING_TOO_OFTEN = (
    "421 4.7.0 Too many connections from your address (at most {limit} new ones a minute); "
    "try again in {retry} seconds"
)
# RFC 3463 5.3.4: message too big for the system; 552 per RFC 5321 §4.5.3.1.10.
MESSAGE_TOO_BIG = "552 5.3.4 Message too big: at most {limit} octets are accepted"


class InboxSMTP(SMTP):
    """aiosmtpd with our limits: connections in total and per peer, new connections per peer a
    minute, session time, command-line length, refused recipients; and DATA read so that long
    lines are accepted."""

    # aiosmtpd sizes the session's StreamReader from this (see smtp/lines.py).
    line_length_limit = READ_WINDOW

    def __init__(
        self,
        handler: InboxHandler,
        settings: Settings,
        gate: ConnectionGate,
        limiter: RateLimiter | None = None,
    ):
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
        self._limiter = limiter
        self._peer: str | None = None  # set while this connection holds a slot in the gate
        self._session_timer: asyncio.TimerHandle | None = None
        self._lines = CommandLineGuard()
        self._in_data = False
        self._cut_off = False

    def _create_session(self) -> InboxSession:
        return InboxSession(self.loop)

    def connection_made(self, transport: Any) -> None:
        if self._peer is not None:  # STARTTLS: the same session on a new transport
            super().connection_made(transport)
            return
        peer = peer_key(transport.get_extra_info("peername"))
        refusal = self._gate.admit(peer)
        if refusal is not None:
            log.info("refused an SMTP connection from %s: %s", peer, refusal)
            transport.write(refusal.encode() + b"\r\n")
            transport.close()
            return
        # From here on connection_lost gives the slot back: every way a session ends (client
        # close or reset, QUIT, timeouts, our own refusals) closes the transport, which calls it.
        self._peer = peer
        try:
            super().connection_made(transport)
        except BaseException:
            transport.close()
            raise
        self._session_timer = self.loop.call_later(
            self._settings.smtp_session_timeout, self._close_with, SESSION_TOO_LONG
        )

    async def _handle_client(self) -> None:
        # aiosmtpd has no hook between accepting a connection and greeting it; this coroutine
        # (started by connection_made) sends the 220, so the connect rate is checked first.
        if self._limiter is not None and self._peer is not None:
            limit = self._settings.smtp_connect_rate_per_ip
            try:
                await self._limiter.hit(Bucket.SMTP_CONNECT, f"ip:{self._peer}", limit)
            except RateLimited as refused:
                log.info("refused an SMTP connection from %s: over %d a minute", self._peer, limit)
                self._close_with(
                    CONNECTING_TOO_OFTEN.format(limit=limit, retry=refused.retry_after)
                )
                return
        await super()._handle_client()

    def _set_post_data_state(self) -> None:
        self._release_holds()
        super()._set_post_data_state()

    def _set_rset_state(self) -> None:
        self._release_holds()
        super()._set_rset_state()

    def _release_holds(self) -> None:
        # Every way a mail transaction ends (DATA answered, RSET, the connection gone) gives
        # back the quota slots its recipients held.
        if isinstance(self.session, InboxSession):
            self.session.release_holds()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._peer is None:
            return  # refused at connect: aiosmtpd never started on this one
        self._release_holds()
        self._gate.release(self._peer)
        self._peer = None
        if self._session_timer is not None:
            self._session_timer.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._cut_off:
            return
        if self._lines.over_limit(data, commands=not self._in_data):
            # Not handed to the reader: a command line never grows past the limit in memory.
            self._close_with(line_too_long())
            return
        if self._in_data:
            # aiosmtpd restarts its idle timer only when a command arrives, so a large message
            # uploaded slowly would be cut off mid-DATA; bytes arriving prove the client is
            # there. The total session time still bounds it.
            self._reset_timeout()
        super().data_received(data)

    async def push(self, status: AnyStr) -> None:
        await super().push(status)
        if ends_session(self.session):
            # An injected fault's reply that ends the session (smtp/faults.py): sent, then
            # the connection closed, and anything the client pipelined after it unanswered.
            self._cut_off = True
            if self.transport is not None:
                self.transport.close()

    def _close_with(self, reply: str) -> None:
        """Answer `reply` and end the session; the reply is flushed before the socket closes."""
        if self._cut_off:
            return  # a command already in the buffer when the session ended gets no answer
        self._cut_off = True
        transport = self.transport
        if isinstance(transport, asyncio.WriteTransport):
            transport.write(reply.encode() + b"\r\n")
        if transport is not None:
            transport.close()

    @syntax("RCPT TO: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_RCPT(self, arg: str | None) -> None:
        assert isinstance(self.session, InboxSession)
        limit = self._settings.smtp_max_refused_recipients
        if self.session.refused_recipients >= limit:
            log.info("closing an SMTP session from %s: %d recipients refused", self._peer, limit)
            self._close_with(TOO_MANY_REFUSED.format(limit=limit))
            return
        await super().smtp_RCPT(arg)

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        # The checks before 354 are aiosmtpd's; reading the data is ours (smtp/lines.py).
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        limit = self._settings.max_message_bytes
        self._in_data = True  # before the 354 goes out: the client may answer it at once
        try:
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            content = await read_data(self._reader, limit)
        finally:
            self._in_data = False
        if content is None:
            self._set_post_data_state()
            await self.push(MESSAGE_TOO_BIG.format(limit=limit))
            return
        self.envelope.content = self.envelope.original_content = content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push(status)


async def start_smtp_server(
    settings: Settings, handler: InboxHandler, limiter: RateLimiter | None = None
) -> asyncio.Server:
    """Listen for SMTP; `limiter` counts new sessions per peer (`smtp_connect_rate_per_ip`)."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    gate = ConnectionGate(settings.smtp_max_connections, settings.smtp_max_connections_per_ip)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: InboxSMTP(handler, settings, gate, limiter),
        host=settings.smtp_host,
        port=settings.smtp_port,
        reuse_address=True,
    )
