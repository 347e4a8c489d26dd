"""The `inboxkit` command."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from typing import Any

import click

from inboxkit import __version__
from inboxkit.config import Settings

__all__ = ["main", "cli"]


def _settings(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _banner(settings: Settings, role: str) -> str:
    api = settings.base_url
    domain = settings.default_domain
    lines = [f"inboxkit {__version__} ({role}) on {settings.effective_database_url.split('?')[0]}"]
    if role in ("all", "api"):
        lines.append(f"  HTTP API   {api}/api/v1   (docs: {api}/docs)")
    if role in ("all", "smtp"):
        lines.append(
            f"  SMTP       {settings.smtp_host}:{settings.smtp_port}   (domains: {', '.join(settings.domains)})"
        )
    if role in ("all", "api"):
        lines += [
            "",
            "Try it:",
            f"  curl -s -X POST {api}/api/v1/mailboxes",
            f"  python3 -c \"import smtplib; smtplib.SMTP('{settings.smtp_host}', {settings.smtp_port})"
            f".sendmail('me@example.com', ['<address>'], 'Subject: hi\\\\r\\\\n\\\\r\\\\nYour code is 123456')\"",
            f"  curl -s -H 'Authorization: Bearer <token>' {api}/api/v1/mailboxes/<address>/messages",
            f"  (no mailbox yet? any address @{domain} is refused until created)",
        ]
    return "\n".join(lines)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="inboxkit")
def cli() -> None:
    """inboxkit: real, programmable email inboxes for agents and tests."""


@cli.command()
@click.option(
    "--role",
    type=click.Choice(["all", "api", "smtp", "worker"]),
    default="all",
    show_default=True,
    help="What this process runs.",
)
@click.option("--http-host", default=None, help="[INBOXKIT_HTTP_HOST] default 127.0.0.1")
@click.option("--http-port", type=int, default=None, help="[INBOXKIT_HTTP_PORT] default 8025")
@click.option("--smtp-host", default=None, help="[INBOXKIT_SMTP_HOST] default 127.0.0.1")
@click.option("--smtp-port", type=int, default=None, help="[INBOXKIT_SMTP_PORT] default 2525")
@click.option("--data-dir", default=None, help="[INBOXKIT_DATA_DIR] default ./data")
@click.option(
    "--database-url", default=None, help="[INBOXKIT_DATABASE_URL] default SQLite in the data dir"
)
@click.option("--redis-url", default=None, help="[INBOXKIT_REDIS_URL] default in-process bus")
@click.option(
    "--domains", default=None, help="[INBOXKIT_DOMAINS] comma list, default inboxkit.localhost"
)
@click.option(
    "--smtp-processes",
    type=click.IntRange(1, 32),
    default=None,
    help="[INBOXKIT_SMTP_PROCESSES] SMTP ingest processes sharing the port, default 1",
)
@click.option("--no-migrate", is_flag=True, help="Do not apply database migrations at start.")
# One of the extra SMTP processes a `serve` starts (app.SmtpProcesses): its settings come on
# standard input, `ready` goes to standard output.
@click.option("--smtp-process", is_flag=True, hidden=True)
def serve(role: str, no_migrate: bool, smtp_process: bool, **options: Any) -> None:
    """Run the service (HTTP API, SMTP receiver and workers, by role)."""
    from inboxkit import app

    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if smtp_process:
        _serve_smtp_process(app)
        return
    settings = _settings(**options, auto_migrate=False if no_migrate else None)
    try:
        _run(
            app.serve(
                settings, role, on_ready=lambda _: click.echo(_banner(settings, role), err=True)
            )
        )
    except KeyboardInterrupt:
        pass


def _serve_smtp_process(app: Any) -> None:
    settings = Settings.model_validate_json(sys.stdin.buffer.readline())

    def ready(_serving: Any) -> None:
        sys.stdout.write("ready\n")
        sys.stdout.flush()

    with contextlib.suppress(KeyboardInterrupt):
        _run(app.serve(settings, "smtp", on_ready=ready, under_parent=True))


def _run(main: Any) -> None:
    """Run on uvloop when it is installed (it comes with uvicorn[standard]): the event loop
    carries SMTP, HTTP and the database for the whole process."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


@cli.command()
@click.option("--database-url", default=None)
@click.option("--data-dir", default=None)
def migrate(**options: Any) -> None:
    """Apply database migrations and exit."""
    from inboxkit.runtime import migrate_database

    asyncio.run(migrate_database(_settings(**options)))
    click.echo("database is at the newest schema", err=True)


@cli.group()
def keys() -> None:
    """Manage API keys directly in the database (no server needed)."""


def _keys(options: dict[str, Any], call: Any) -> Any:
    """`await call(auth)` with an AuthService on the migrated database; its errors become
    command errors."""
    from inboxkit.errors import InboxKitError
    from inboxkit.runtime import admin_auth

    settings = _settings(**options)

    async def run() -> Any:
        async with admin_auth(settings) as auth:
            return await call(auth)

    try:
        return asyncio.run(run())
    except InboxKitError as exc:
        raise click.ClickException(exc.message) from None


def _emit(data: Any, as_json: bool, human: str) -> None:
    if as_json:
        click.echo(json.dumps(data, default=str, indent=2))
    else:
        click.echo(human)


def _modes(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> list[str] | None:
    """`--modes test`, `--modes test,agent` or `--modes test --modes agent`; None if not given."""
    modes = [mode.strip() for value in values for mode in value.split(",") if mode.strip()]
    for mode in modes:
        if mode not in ("test", "agent"):
            raise click.BadParameter(f"{mode!r} is not a mode; use test and/or agent.")
    return modes or None


@keys.command("create")
@click.option("--name", required=True, help="A label for the key.")
@click.option(
    "--scope", "scopes", multiple=True, help="Repeatable; default: all but admin and ingest."
)
@click.option(
    "--account", "account_id", default=None, help="Add to this account (default: a new one)."
)
@click.option(
    "--modes",
    "modes",
    multiple=True,
    callback=_modes,
    metavar="MODE[,MODE]",
    help="Limit the key to test or agent mailboxes (default: both).",
)
@click.option("--database-url", default=None)
@click.option("--data-dir", default=None)
@click.option("--json", "as_json", is_flag=True)
def keys_create(
    name: str,
    scopes: tuple[str, ...],
    account_id: str | None,
    modes: list[str] | None,
    as_json: bool,
    **options: Any,
) -> None:
    """Create an API key and print it (shown once)."""
    key = _keys(
        options,
        lambda auth: auth.create_key(
            name=name, scopes=list(scopes) or None, account_id=account_id, modes=modes
        ),
    )
    _emit(key, as_json, key["token"])
    if not as_json:
        click.echo(
            f"key {key['id']} in account {key['account_id']}; scopes: {' '.join(key['scopes'])}; "
            f"modes: {' '.join(key['modes'])}",
            err=True,
        )


@keys.command("list")
@click.option("--database-url", default=None)
@click.option("--data-dir", default=None)
@click.option("--json", "as_json", is_flag=True)
def keys_list(as_json: bool, **options: Any) -> None:
    """List API keys (never their secrets)."""
    items = _keys(options, lambda auth: auth.list_keys())
    human = (
        "\n".join(
            f"{k['id']}  {k['prefix']}…  {k['name']}  {'revoked' if k['revoked_at'] else 'active'}  {' '.join(k['scopes'])}  modes: {','.join(k['modes'])}"
            for k in items
        )
        or "no keys"
    )
    _emit(items, as_json, human)


@keys.command("revoke")
@click.argument("key_id")
@click.option("--database-url", default=None)
@click.option("--data-dir", default=None)
def keys_revoke(key_id: str, **options: Any) -> None:
    """Revoke an API key."""
    _keys(options, lambda auth: auth.revoke_key(key_id))
    click.echo(f"revoked {key_id}", err=True)


@cli.command("mcp")
@click.option(
    "--url",
    envvar="INBOXKIT_URL",
    default=None,
    help="[INBOXKIT_URL] A running inboxkit server, e.g. http://127.0.0.1:8025.",
)
@click.option(
    "--api-key",
    envvar="INBOXKIT_API_KEY",
    default=None,
    help="[INBOXKIT_API_KEY] An API key (ik_…) or mailbox token (ikm_…) for --url.",
)
@click.option(
    "--embedded",
    is_flag=True,
    help="Run the SMTP receiver and storage in this process instead of using --url.",
)
@click.option(
    "--data-dir", default=None, help="[INBOXKIT_DATA_DIR] --embedded: default ~/.inboxkit"
)
@click.option("--database-url", default=None, help="[INBOXKIT_DATABASE_URL] --embedded only")
@click.option(
    "--smtp-host", default=None, help="[INBOXKIT_SMTP_HOST] --embedded: default 127.0.0.1"
)
@click.option(
    "--smtp-port", type=int, default=None, help="[INBOXKIT_SMTP_PORT] --embedded: default 2525"
)
@click.option("--domains", default=None, help="[INBOXKIT_DOMAINS] --embedded: comma list")
def mcp_command(url: str | None, api_key: str | None, embedded: bool, **options: Any) -> None:
    """Serve the inbox tools to an MCP client over stdio (for Claude Desktop, Cursor, …).

    stdout is the protocol; logs go to stderr. Either connect to a running server (--url and
    INBOXKIT_API_KEY) or run everything in this process (--embedded).
    """
    from inboxkit.mcp.stdio import embedded_settings, run_connected, run_embedded

    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if embedded:
        runner = run_embedded(embedded_settings(_settings(**options)))
    elif not url:
        raise click.UsageError(
            "Pass --url (or set INBOXKIT_URL) to use a running server, or --embedded."
        )
    elif not api_key:
        raise click.UsageError("Set INBOXKIT_API_KEY (or --api-key) to use --url.")
    else:
        runner = run_connected(url, api_key)
    try:
        asyncio.run(runner)
    except KeyboardInterrupt:
        pass


def _add_client_commands() -> None:
    from inboxkit.client.commands import register

    register(cli)


_add_client_commands()


def main() -> None:
    try:
        cli(standalone_mode=True)
    except BrokenPipeError:
        sys.exit(1)
