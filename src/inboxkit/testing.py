"""A whole inboxkit server inside your process, for tests on a machine with nothing installed.

`EmbeddedServer` runs the HTTP API and the SMTP receiver in a background thread with its own
event loop, on free ports, with SQLite in a (temporary) directory. Your code talks to it over
real sockets, exactly as it would to a deployed server:

    with EmbeddedServer() as server, server.client() as client:
        inbox = client.create_inbox()
        # your app sends mail to inbox.address via server.smtp_host:server.smtp_port

The pytest plugin's `inboxkit_server` fixture is one of these, shared by the test session.

`Captured` is what the plugin's `captured` fixture gives a test: the capture mailbox of an
account made for that test alone, with the SMTP settings its application should send with.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inboxkit.client.capture import ANY_USERNAME, SmtpSettings
from inboxkit.client.inbox import Inbox
from inboxkit.client.models import Mailbox
from inboxkit.client.sync import InboxKit

if TYPE_CHECKING:
    from inboxkit.app import Serving

__all__ = ["EmbeddedServer", "Captured", "CAPTURED_KEY_SCOPES"]

# The scopes of a `Captured` account's key: it is the application's SMTP password (capture)
# and the test's way to read what was captured.
CAPTURED_KEY_SCOPES = ("capture", "mailboxes:read", "messages:read", "messages:write")

START_TIMEOUT = 60.0


class EmbeddedServer:
    """An in-process server. Extra keyword arguments are `Settings` fields (e.g. `domains`).

    It uses its own admin key (`admin_key`), so `client()` can do everything; anonymous inbox
    creation works as on any default server, and SMTP AUTH capture is on."""

    def __init__(self, data_dir: str | Path | None = None, **settings: Any):
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        if data_dir is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="inboxkit-")
            data_dir = self._tempdir.name
        self.data_dir = Path(data_dir)
        self.admin_key = (
            settings.pop("admin_key", None) or f"ik_embedded_{secrets.token_urlsafe(24)}"
        )
        self._overrides = settings
        self.http_port = 0
        self.smtp_port = 0
        self.smtp_host = "127.0.0.1"
        self.domain = ""
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._serving: Serving | None = None

    @property
    def url(self) -> str:
        """The base URL, as for `INBOXKIT_URL`."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v1"

    def client(self, **options: Any) -> InboxKit:
        """A sync client for this server, authenticated with its admin key."""
        return InboxKit(self.url, options.pop("api_key", self.admin_key), **options)

    def start(self) -> EmbeddedServer:
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._run, name="inboxkit-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise RuntimeError(f"the embedded inboxkit server did not start in {START_TIMEOUT:g}s")
        if self._failure is not None:
            self._thread.join(5)
            raise RuntimeError("the embedded inboxkit server failed to start") from self._failure
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._loop is not None and self._serving is not None:
            self._loop.call_soon_threadsafe(self._serving.stop)
        self._thread.join(30)
        self._thread = None
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<EmbeddedServer {self.url} smtp={self.smtp_host}:{self.smtp_port}>"

    # -- the server thread -----------------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start(); a thread cannot raise to its caller
            self._failure = exc
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        # Imported here: the server's dependencies load only when a server is started.
        from inboxkit.app import serve
        from inboxkit.config import Settings

        settings = Settings(
            **{
                "data_dir": self.data_dir,
                "database_url": None,
                "redis_url": None,
                "http_host": "127.0.0.1",
                "http_port": 0,
                "smtp_host": self.smtp_host,
                "smtp_port": 0,
                "admin_key": self.admin_key,
                # Parse in a thread: a process pool would re-import the user's main module.
                "parse_workers": 0,
                # Applications under test send with SMTP AUTH into their capture mailboxes
                # (the `captured` fixture); the listener is on loopback, so AUTH needs no TLS.
                "smtp_capture": True,
                **self._overrides,
            }
        )

        def ready(serving: Serving) -> None:
            # The database is migrated and SMTP listens: report the ports.
            self._serving = serving
            self.smtp_port = serving.smtp_port or 0
            self.domain = settings.default_domain
            self._ready.set()

        # Bound before serving, so the port is known and early connections wait in the backlog.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.http_port = sock.getsockname()[1]
        self._loop = asyncio.get_running_loop()
        try:
            await serve(settings, "all", sockets=[sock], on_ready=ready)
        finally:
            sock.close()


class Captured(Inbox):
    """The capture mailbox of an account of the test's own, as an `Inbox`
    (`captured.wait_for_code(to="alice@example.com")`, `captured.messages(to=…)`, …), with what
    the application under test needs to send into it:

    - `smtp_host`, `smtp_port`, `smtp_username` (any), `smtp_password` (the key), or all four
      as `smtp`;
    - `api_key`: the account's key, with the `capture` scope (also what a provider SDK pointed
      at inboxkit takes);
    - `client`: an `InboxKit` authenticated with that key.

    Mail the application sends with these settings, to any address, lands here and nowhere
    else: another test's `Captured` belongs to another account.
    """

    def __init__(
        self,
        client: InboxKit,
        mailbox: Mailbox,
        *,
        account_id: str,
        smtp_host: str,
        smtp_port: int,
    ):
        super().__init__(client, mailbox)
        self.client = client
        self.account_id = account_id
        self.smtp_host = smtp_host
        self.smtp_port = smtp_port
        self.smtp_username = ANY_USERNAME

    @property
    def api_key(self) -> str:
        """The account's API key (`ik_…`, with the `capture` scope)."""
        return str(self.client.api_key)

    @property
    def smtp_password(self) -> str:
        return self.api_key

    @property
    def smtp(self) -> SmtpSettings:
        return SmtpSettings(self.smtp_host, self.smtp_port, self.smtp_username, self.api_key)

    def __repr__(self) -> str:
        return f"<Captured {self.address} smtp={self.smtp_host}:{self.smtp_port}>"
