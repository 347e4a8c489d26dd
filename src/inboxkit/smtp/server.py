"""The SMTP listener: aiosmtpd's protocol class served by our own event loop.

aiosmtpd's threaded Controller would run a second event loop in another thread; using the
protocol as a factory keeps SMTP, HTTP, the database and the bus on one loop.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import logging
import re
import ssl
from typing import Any, AnyStr

from aiosmtpd.proxy_protocol import get_proxy
from aiosmtpd.smtp import SMTP, syntax

from inboxkit import __version__
from inboxkit.config import Settings
from inboxkit.errors import Forbidden, RateLimited, Unauthorized
from inboxkit.services.throttle import Bucket, RateLimiter
from inboxkit.smtp.faults import ends_session
from inboxkit.smtp.gate import ConnectionGate, peer_key
from inboxkit.smtp.handler import InboxHandler, method_table_names
from inboxkit.smtp.lines import READ_WINDOW, CommandLineGuard, line_too_long, read_data
from inboxkit.smtp.session import InboxSession
from inboxkit.smtp.tls import Certificates

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

# RFC 3207 §4 / RFC 3463 5.7.0: this server requires STARTTLS before a mail transaction.
TLS_REQUIRED = "530 5.7.0 Must issue a STARTTLS command first"
# RFC 3463 5.7.0 (policy): a PROXY header from a peer that is not a trusted proxy, or a
# trusted proxy's connection without a valid one.
PROXY_NOT_TRUSTED = "554 5.7.0 PROXY is accepted only from trusted proxies"
PROXY_HEADER_INVALID = "421 4.7.0 A valid PROXY protocol header was expected"

# A path in angle brackets whose local part and domain are dot-atoms (RFC 5321 §4.1.2), the
# form nearly every client sends, optionally followed by parameters. aiosmtpd reads every path
# with the email package's header parser, which was a tenth of the event loop's time with a
# new connection per message; for this form the parser's answer is the text between the
# brackets and the parameters after the spaces, so it is taken directly. Anything else
# (quoted local parts, comments, domain literals, non-ASCII, no brackets) goes to aiosmtpd.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_PATH = re.compile(
    rf"<({_ATOM}(?:\.{_ATOM})*@{_ATOM}(?:\.{_ATOM})*)>(?: +([^ \t(\r\n][^\r\n]*))?", re.ASCII
)

# AUTH (RFC 4954) exists only for capture (DESIGN §11); these are its replies.
AUTH_SUCCEEDED = "235 2.7.0 Authentication successful: this session's mail is captured"
# 535 5.7.8: credentials invalid (RFC 4954 §6).
AUTH_INVALID = (
    "535 5.7.8 Authentication credentials invalid: the password must be an inboxkit API key "
    "with the 'capture' scope"
)
AUTH_NO_SCOPE = (
    "535 5.7.8 This API key lacks the 'capture' scope; create a key with it and use that"
)
# 502 5.5.1: command not implemented — AUTH is never offered for relaying.
AUTH_NOT_OFFERED = (
    "502 5.5.1 AUTH is not offered here: this server takes mail only for its own mailboxes"
)
# 538 5.7.11: encryption required for the requested mechanism (RFC 4954 §6).
AUTH_NEEDS_TLS = "538 5.7.11 Encryption required for requested authentication mechanism"
AUTH_UNKNOWN_MECHANISM = "504 5.5.4 Unrecognized authentication type: use PLAIN or LOGIN"
AUTH_ALREADY = "503 5.5.1 Already authenticated"
AUTH_BAD_BASE64 = "501 5.5.2 Cannot decode the base64 response"
AUTH_BAD_PLAIN = "501 5.5.2 PLAIN credentials are authzid NUL username NUL password"
# 454 4.7.0: temporary authentication failure (RFC 4954 §6).
AUTH_TRY_AGAIN = "454 4.7.0 Temporary authentication failure, try again later"
AUTH_TOO_MANY = "421 4.7.0 Too many failed sign-ins ({detail}); check the API key, then reconnect"
# A session may fail this often before it is closed; across sessions the failures are
# limited per address by `capture_auth_failures_per_minute`.
MAX_AUTH_FAILURES_PER_SESSION = 3


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
        tls_context: ssl.SSLContext | None = None,
    ):
        super().__init__(
            handler,
            tls_context=tls_context,
            # Whether AUTH is offered is decided per connection (`may_authenticate`).
            auth_require_tls=False,
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
        self._started = False  # aiosmtpd's connection_made ran (not refused at connect)
        # The client's address: the socket peer, or the one a trusted proxy's PROXY header
        # names. Kept here, not on the session, which STARTTLS replaces.
        self.client_host: str | None = None
        self._expects_proxy = False
        self._session_timer: asyncio.TimerHandle | None = None
        self._lines = CommandLineGuard()
        self._in_data = False
        self._cut_off = False

    def _create_session(self) -> InboxSession:
        return InboxSession(self.loop)

    def __dir__(self) -> list[str]:
        # aiosmtpd builds its tables of auth_* and smtp_* methods for every connection from
        # dir() of the session (`inspect.getmembers` reads every attribute, properties
        # included): with a new connection per message that was ~4% of the event loop's time.
        # Only those prefixes are looked up and they are fixed per class, so dir() lists just
        # them, computed once per class.
        return method_table_names(type(self))

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        found = _PLAIN_PATH.fullmatch(arg) if arg else None
        if found is None:
            return super()._getaddr(arg)
        address = found[1]
        if self.local_part_limit and len(address.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return address, found[2] or ""

    def connection_made(self, transport: Any) -> None:
        if self._started:  # STARTTLS: the session starts over on the encrypted transport
            super().connection_made(transport)
            return
        peername = transport.get_extra_info("peername")
        self.client_host = _host(peername)
        self._expects_proxy = self._settings.smtp_proxy_protocol and _trusted(
            self.client_host, self._settings
        )
        # A trusted proxy carries many clients: its connection is counted under a key of its
        # own until the PROXY header names the client it is counted under from then on.
        peer = f"proxy:{id(self)}" if self._expects_proxy else peer_key(peername)
        refusal = self._gate.admit(peer)
        if refusal is not None:
            log.info("refused an SMTP connection from %s: %s", peer, refusal)
            transport.write(refusal.encode() + b"\r\n")
            transport.close()
            return
        # From here on connection_lost gives the slot back: every way a session ends (client
        # close or reset, QUIT, timeouts, our own refusals) closes the transport, which calls it.
        self._peer = peer
        self._started = True
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
        # (started by connection_made) sends the 220, so the PROXY header is read and the
        # connect rate checked first. aiosmtpd's own PROXY support expects the header from
        # every peer; here only trusted proxies send one, and it re-keys the connection caps.
        if self._expects_proxy and not await self._read_proxy_header():
            return
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

    async def _read_proxy_header(self) -> bool:
        """Read a trusted proxy's PROXY v1/v2 header and adopt the client it names; False
        (connection closed) for a missing or malformed header or a client over its caps."""
        self._reset_timeout(self._settings.smtp_proxy_timeout)
        data = await get_proxy(self._reader)
        self._reset_timeout()
        if not data:
            log.info("closing an SMTP connection from %s: no valid PROXY header", self._peer)
            self._close_with(PROXY_HEADER_INVALID)
            return False
        src = data.src_addr
        if src is None:  # v1 UNKNOWN / v2 LOCAL: the proxy's own connection (a health check)
            return True
        host = str(src)
        client = peer_key(host)
        if self._peer is not None:
            self._gate.release(self._peer)
            self._peer = None
        refusal = self._gate.admit(client)
        if refusal is not None:
            log.info("refused an SMTP connection from %s (via proxy): %s", client, refusal)
            self._close_with(refusal)
            return False
        self._peer, self.client_host = client, host
        return True

    @syntax("PROXY")
    async def smtp_PROXY(self, arg: str) -> None:
        # A PROXY line where none is expected: the peer is not a trusted proxy (or the protocol
        # is off), so it may not claim another client address.
        log.info("refused a PROXY header from untrusted %s", self.client_host)
        self._close_with(PROXY_NOT_TRUSTED)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._started:
            return  # refused at connect: aiosmtpd never started on this one
        self._started = False
        self._release_holds()
        if self._peer is not None:
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

    # -- AUTH (capture) -------------------------------------------------------------------

    def may_authenticate(self) -> bool:
        """Whether this connection may AUTH: capture is on, and the connection is encrypted,
        or (when no certificate is configured) it comes from loopback or plain-text AUTH is
        allowed (INBOXKIT_SMTP_AUTH_ALLOW_PLAIN). With TLS configured, AUTH follows STARTTLS."""
        if self.event_handler.capture is None:
            return False
        if self._tls_protocol is not None:
            return True
        if self.tls_context is not None:
            return False
        return self._settings.smtp_auth_allow_plain or _is_loopback(self.client_host)

    @syntax("AUTH <mechanism> [initial-response]")
    async def smtp_AUTH(self, arg: str | None) -> None:
        # aiosmtpd's AUTH checks credentials with a synchronous callback; ours is a database
        # read, so the exchange is ours, on aiosmtpd's challenge helper.
        if await self.check_helo_needed("EHLO"):
            return
        session = self.session
        assert isinstance(session, InboxSession)
        if not session.extended_smtp or self.event_handler.capture is None:
            await self.push(AUTH_NOT_OFFERED)
            return
        if not self.may_authenticate():
            await self.push(AUTH_NEEDS_TLS)
            return
        if session.capture is not None:
            await self.push(AUTH_ALREADY)
            return
        if self.envelope is not None and self.envelope.mail_from is not None:
            await self.push("503 5.5.1 AUTH is not allowed during a mail transaction")
            return
        args = (arg or "").split()
        if not args or len(args) > 2:
            await self.push("501 5.5.4 Syntax: AUTH PLAIN|LOGIN [initial-response]")
            return
        mechanism = args[0].upper()
        if mechanism == "PLAIN":
            password = await self._plain_password(args[1] if len(args) == 2 else None)
        elif mechanism == "LOGIN":
            password = await self._login_password(args[1] if len(args) == 2 else None)
        else:
            await self.push(AUTH_UNKNOWN_MECHANISM)
            return
        if password is None:
            return  # the exchange already answered (bad base64, aborted, malformed)
        await self._check_capture_key(session, password)

    async def _plain_password(self, initial: str | None) -> str | None:
        """RFC 4616: authzid NUL authcid NUL passwd, as the initial response or after an
        empty challenge. The username is free; the password is the key."""
        if initial is None:
            answer = await self.challenge_auth("")
            if not isinstance(answer, bytes):
                return None  # aborted or undecodable: challenge_auth has answered
            blob = answer
        elif initial == "=":
            blob = b""
        else:
            decoded = _b64(initial)
            if decoded is None:
                await self.push(AUTH_BAD_BASE64)
                return None
            blob = decoded
        parts = blob.split(b"\x00")
        if len(parts) != 3:
            await self.push(AUTH_BAD_PLAIN)
            return None
        return parts[2].decode("utf-8", "replace")

    async def _login_password(self, initial: str | None) -> str | None:
        """The LOGIN exchange: username (free) then password, each base64."""
        if initial is not None and _b64(initial) is None:
            await self.push(AUTH_BAD_BASE64)
            return None
        if initial is None:
            username = await self.challenge_auth("Username:")
            if not isinstance(username, bytes):
                return None
        password = await self.challenge_auth("Password:")
        if not isinstance(password, bytes):
            return None
        return password.decode("utf-8", "replace")

    async def _check_capture_key(self, session: InboxSession, password: str) -> None:
        capture = self.event_handler.capture
        assert capture is not None
        try:
            principal = await capture.authenticate(password, client_ip=self.client_host)
        except RateLimited as refused:
            self._close_with(AUTH_TOO_MANY.format(detail=refused.message.rstrip(".")))
            return
        except (Unauthorized, Forbidden) as exc:
            session.auth_failures += 1
            if session.auth_failures >= MAX_AUTH_FAILURES_PER_SESSION:
                self._close_with(
                    AUTH_TOO_MANY.format(detail=f"{session.auth_failures} in this session")
                )
                return
            await self.push(AUTH_NO_SCOPE if isinstance(exc, Forbidden) else AUTH_INVALID)
            return
        except Exception:
            log.exception("capture sign-in failed")
            await self.push(AUTH_TRY_AGAIN)
            return
        session.capture = principal
        session.authenticated = True
        session.login_data = b"capture"
        await self.push(AUTH_SUCCEEDED)

    @syntax("MAIL FROM: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_MAIL(self, arg: str | None) -> None:
        if self._settings.smtp_require_tls and self._tls_protocol is None:
            await self.push(TLS_REQUIRED)
            return
        await super().smtp_MAIL(arg)

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


def _host(peername: Any) -> str | None:
    host = peername[0] if isinstance(peername, tuple) and peername else peername
    return None if host is None else str(host)


def _trusted(host: str | None, settings: Settings) -> bool:
    """Whether `host` is one of INBOXKIT_TRUSTED_PROXIES (allowed to send a PROXY header)."""
    try:
        address = ipaddress.ip_address(str(host).split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in settings.trusted_proxies)


def _is_loopback(host: object) -> bool:
    try:
        address = ipaddress.ip_address(str(host).split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None


async def start_smtp_server(
    settings: Settings, handler: InboxHandler, limiter: RateLimiter | None = None
) -> asyncio.Server:
    """Listen for SMTP; `limiter` counts new sessions per peer (`smtp_connect_rate_per_ip`)."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    gate = ConnectionGate(settings.smtp_max_connections, settings.smtp_max_connections_per_ip)
    certificates = None
    if settings.smtp_tls_cert is not None and settings.smtp_tls_key is not None:
        certificates = Certificates(settings.smtp_tls_cert, settings.smtp_tls_key)

    def session() -> InboxSMTP:
        context = certificates.context() if certificates is not None else None
        return InboxSMTP(handler, settings, gate, limiter, context)

    loop = asyncio.get_running_loop()
    return await loop.create_server(
        session,
        host=settings.smtp_host,
        port=settings.smtp_port,
        reuse_address=True,
        # Several ingest processes listen on one port (INBOXKIT_SMTP_PROCESSES).
        reuse_port=settings.smtp_processes > 1,
    )
