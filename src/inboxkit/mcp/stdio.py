"""`inboxkit mcp`: the inbox tools over stdio, for desktop MCP clients.

stdout carries the protocol, so everything else (logs, the start-up line) goes to stderr.

- Connected (`--url`, `INBOXKIT_API_KEY`): the tools call a running inboxkit server's REST API
  with that key, so they see exactly what the key may see.
- Embedded (`--embedded`): this process is the whole service minus HTTP (SMTP receiver,
  storage, background workers), for one machine with nothing else running. The tools call the
  services as a local account; its API key is created on first start and kept in the data
  directory (it also works against `inboxkit serve` on the same data directory).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from inboxkit.config import Settings
from inboxkit.errors import Unauthorized
from inboxkit.mcp.backends import RestBackend, ServiceBackend
from inboxkit.mcp.tools import build_server
from inboxkit.runtime import Runtime
from inboxkit.services.auth import Principal

__all__ = ["run_connected", "run_embedded", "embedded_settings", "local_principal", "KEY_FILE"]

log = logging.getLogger(__name__)

KEY_FILE = "mcp-embedded.key"
DEFAULT_EMBEDDED_DATA_DIR = Path("~/.inboxkit")


async def run_connected(url: str, token: str) -> None:
    """Serve the tools over stdio, answered by the server at `url` (until stdin closes)."""
    async with RestBackend(url, token) as backend:
        await build_server(lambda ctx: backend).run_stdio_async()


def embedded_settings(settings: Settings) -> Settings:
    """Desktop clients start servers from an unpredictable working directory, so the embedded
    store lives in the user's home unless a data directory was chosen."""
    if "data_dir" in settings.model_fields_set:
        return settings
    return settings.model_copy(update={"data_dir": DEFAULT_EMBEDDED_DATA_DIR.expanduser()})


async def local_principal(runtime: Runtime) -> Principal:
    """The embedded server's own account: its key is read from the data directory, or created
    there (readable by this user only) on first start or after it was revoked."""
    path = runtime.settings.data_dir / KEY_FILE
    if path.exists():
        try:
            return await runtime.auth.authenticate(path.read_text().strip())
        except Unauthorized:
            log.warning("the key in %s is no longer valid; creating a new one", path)
    key = await runtime.auth.create_key(name="inboxkit mcp --embedded")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # a new data dir is private
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key["token"] + "\n")
    return await runtime.auth.authenticate(key["token"])


async def run_embedded(settings: Settings) -> None:
    """Run SMTP, storage and workers here and serve the tools over stdio (until stdin closes)."""
    from inboxkit.app import running

    async with running(settings, "all", http=False) as server:
        principal = await local_principal(server.runtime)
        print(
            f"inboxkit mcp (embedded): receiving mail on {settings.smtp_host}:"
            f"{server.smtp_port} for {', '.join(settings.domains)}; data in "
            f"{settings.data_dir}",
            file=sys.stderr,
            flush=True,
        )
        backend = ServiceBackend(server.runtime, principal)
        await build_server(lambda ctx: backend).run_stdio_async()
