"""pytest plugin: fixtures for testing email flows against inboxkit.

Installed with the package (entry point `pytest11`), so these fixtures need no import:

- `inbox`: a fresh inbox for the test, deleted afterwards (`inbox.address`,
  `inbox.wait_for_code()`, `inbox.wait_for_link("verify")`, …).
- `inboxkit`: an `InboxKit` client for the session. It talks to the server named by
  `INBOXKIT_URL` (or the `inboxkit_url` ini option), else to the embedded server below.
- `inboxkit_server`: an inboxkit server running inside the test process (HTTP and SMTP on free
  ports, SQLite in a temporary directory). Your application sends its mail to
  `inboxkit_server.smtp_host` / `inboxkit_server.smtp_port`.
- `captured`: the capture mailbox of an account made for this test alone (deleted with it
  afterwards). Point your application's SMTP at `captured.smtp_host` / `captured.smtp_port`
  with `captured.smtp_username` / `captured.smtp_password`, then
  `captured.wait_for_code(to="alice@example.com")`. Tests running side by side (pytest-xdist)
  each see only their own mail. On a configured server it needs an API key with the `admin`
  scope (to make the accounts) and that server's SMTP address: `INBOXKIT_SMTP_HOST` /
  `inboxkit_smtp_host` (default: the host of the URL) and `INBOXKIT_SMTP_PORT` /
  `inboxkit_smtp_port` (default 2525).

Environment variables win over ini options: `INBOXKIT_URL` / `inboxkit_url`,
`INBOXKIT_API_KEY` / `inboxkit_api_key`, `INBOXKIT_SMTP_HOST` / `inboxkit_smtp_host`,
`INBOXKIT_SMTP_PORT` / `inboxkit_smtp_port`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from inboxkit.client import Inbox, InboxKit
    from inboxkit.testing import Captured, EmbeddedServer

__all__ = ["inbox", "inboxkit", "inboxkit_server", "captured"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "inboxkit_url",
        "inboxkit server for the `inboxkit` and `inbox` fixtures (env INBOXKIT_URL wins; "
        "default: an embedded server started for the session)",
        default="",
    )
    parser.addini(
        "inboxkit_api_key",
        "API key for that server (env INBOXKIT_API_KEY wins; default: anonymous inboxes)",
        default="",
    )
    parser.addini(
        "inboxkit_smtp_host",
        "that server's SMTP host as applications reach it, for the `captured` fixture (env "
        "INBOXKIT_SMTP_HOST wins; default: the host of inboxkit_url)",
        default="",
    )
    parser.addini(
        "inboxkit_smtp_port",
        "that server's SMTP port, for the `captured` fixture (env INBOXKIT_SMTP_PORT wins; "
        "default 2525)",
        default="",
    )


def _setting(config: pytest.Config, env: str, ini: str) -> str | None:
    return os.environ.get(env) or str(config.getini(ini) or "") or None


@pytest.fixture(scope="session")
def inboxkit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    """An inboxkit server inside this test process, for the whole session."""
    from inboxkit.testing import EmbeddedServer

    with EmbeddedServer(tmp_path_factory.mktemp("inboxkit")) as server:
        yield server


@pytest.fixture(scope="session")
def inboxkit(request: pytest.FixtureRequest) -> Iterator[InboxKit]:
    """A client for INBOXKIT_URL (or the `inboxkit_url` ini option), else the embedded server."""
    from inboxkit.client import InboxKit

    url = _setting(request.config, "INBOXKIT_URL", "inboxkit_url")
    if url:
        client = InboxKit(url, _setting(request.config, "INBOXKIT_API_KEY", "inboxkit_api_key"))
    else:
        server: EmbeddedServer = request.getfixturevalue("inboxkit_server")
        client = server.client()
    with client:
        yield client


ANONYMOUS_LIMIT_NOTE = (
    "inboxkit: without an API key, this server's 'anonymous' plan limits how many inboxes each "
    "client address may create and hold. Give the fixtures an API key: INBOXKIT_API_KEY or the "
    "inboxkit_api_key ini option."
)


@pytest.fixture
def inbox(inboxkit: InboxKit, request: pytest.FixtureRequest) -> Iterator[Inbox]:
    """A fresh inbox for this test (named after it), deleted when the test ends."""
    from inboxkit.client import QuotaExceeded, RateLimited

    try:
        fresh = inboxkit.create_inbox(name=request.node.nodeid[-200:])
    except (RateLimited, QuotaExceeded) as exc:
        if not inboxkit.api_key:
            exc.add_note(ANONYMOUS_LIMIT_NOTE)
        raise
    with fresh:
        yield fresh


CAPTURED_NEEDS_ADMIN = (
    "inboxkit: the `captured` fixture makes an account for each test, which takes an API key "
    "with the admin scope. Give the fixtures one: INBOXKIT_API_KEY or the inboxkit_api_key ini "
    "option (inboxkit keys create --name tests --scope admin)."
)


@pytest.fixture
def captured(inboxkit: InboxKit, request: pytest.FixtureRequest) -> Iterator[Captured]:
    """The capture mailbox of an account made for this test alone, with the SMTP settings an
    application sends into it with; the account, its key and its mail are deleted afterwards."""
    from inboxkit.client import Forbidden, InboxKit, Unauthorized
    from inboxkit.client.capture import DEFAULT_SMTP_PORT, smtp_host_for
    from inboxkit.testing import CAPTURED_KEY_SCOPES, Captured

    if _setting(request.config, "INBOXKIT_URL", "inboxkit_url"):
        host = smtp_host_for(
            inboxkit.url, _setting(request.config, "INBOXKIT_SMTP_HOST", "inboxkit_smtp_host")
        )
        port = int(
            _setting(request.config, "INBOXKIT_SMTP_PORT", "inboxkit_smtp_port")
            or DEFAULT_SMTP_PORT
        )
    else:
        server: EmbeddedServer = request.getfixturevalue("inboxkit_server")
        host, port = server.smtp_host, server.smtp_port
    name = f"captured {request.node.nodeid}"[:200]
    try:
        account = inboxkit.create_account(name)
    except (Forbidden, Unauthorized) as exc:
        exc.add_note(CAPTURED_NEEDS_ADMIN)
        raise
    assert account.id is not None
    try:
        key = inboxkit.create_key(name, scopes=CAPTURED_KEY_SCOPES, account_id=account.id)
        with InboxKit(inboxkit.url, key.token) as client:
            mailbox = client.capture_mailbox()
            yield Captured(client, mailbox, account_id=account.id, smtp_host=host, smtp_port=port)
    finally:
        inboxkit.delete_account(account.id)
