"""The SDK is usable where only its own dependencies (httpx, pydantic) are installed: importing
it, and the CLI's client commands, must not pull in the server's stack."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SERVER_ONLY = (
    "fastapi",
    "starlette",
    "sqlalchemy",
    "aiosmtpd",
    "aiosmtplib",
    "uvicorn",
    "alembic",
    "asyncpg",
    "aiosqlite",
    "redis",
    "mcp",
)


def _run_without_server_packages(code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter where importing any server-only package fails."""
    blocker = textwrap.dedent(
        f"""
        import sys

        class Blocker:
            blocked = {SERVER_ONLY!r}

            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in self.blocked:
                    raise ImportError(f"{{name}} is not installed here")
                return None

        sys.meta_path.insert(0, Blocker())
        """
    )
    return subprocess.run(
        [sys.executable, "-c", blocker + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_sdk_imports_and_builds_clients_without_the_server_stack():
    result = _run_without_server_packages(
        """
        import inboxkit.client
        from inboxkit.client import AsyncInboxKit, InboxKit

        InboxKit("http://127.0.0.1:9", "ik_test").close()
        AsyncInboxKit("http://127.0.0.1:9", "ik_test")
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_the_cli_client_commands_load_without_the_server_stack():
    result = _run_without_server_packages(
        """
        from click.testing import CliRunner

        from inboxkit.cli import cli

        outcome = CliRunner().invoke(cli, ["--help"])
        assert outcome.exit_code == 0, outcome.output
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
