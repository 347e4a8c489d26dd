"""pytest plugin: fixtures for testing email flows against inboxkit.

Installed with the package (entry point `pytest11`), so these fixtures need no import:

- `inbox`: a fresh inbox for the test, deleted afterwards (`inbox.address`,
  `inbox.wait_for_code()`, `inbox.wait_for_link("verify")`, …).
- `inboxkit`: an `InboxKit` client for the session. It talks to the server named by
  `INBOXKIT_URL` (or the `inboxkit_url` ini option), else to the embedded server below.
- `inboxkit_server`: an inboxkit server running inside the test process (HTTP and SMTP on free
  ports, SQLite in a temporary directory). Your application sends its mail to
  `inboxkit_server.smtp_host` / `inboxkit_server.smtp_port`.

Environment variables win over ini options: `INBOXKIT_URL` / `inboxkit_url`,
`INBOXKIT_API_KEY` / `inboxkit_api_key`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from inboxkit.client import Inbox, InboxKit
    from inboxkit.testing import EmbeddedServer

__all__ = ["inbox", "inboxkit", "inboxkit_server"]


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
