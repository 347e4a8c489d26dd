"""`inboxkit domains add | list | show | verify | zone | delete | rotate-dkim`: custom domains
(docs/domains.md), through the SDK like every client command (`client/commands.py`)."""

from __future__ import annotations

import click

from inboxkit.client.commands import _connection, _echo, _json_option, _print_json, _table, _when
from inboxkit.client.models import Domain
from inboxkit.client.sync import InboxKit

__all__ = ["domains_group"]


@click.group("domains")
def domains_group() -> None:
    """Receive and send mail on your own domains (needs an API key). Add a domain, publish the
    records it prints (or `inboxkit domains zone ID`) at your DNS host, then verify it.

    \b
    inboxkit domains add example.com [--wildcard]
    inboxkit domains zone ID > example.com.zone
    inboxkit domains verify ID
    """


def _show(domain: Domain) -> None:
    _table(
        [
            ("id", domain.id),
            ("domain", domain.domain),
            ("status", domain.status),
            ("wildcard", "yes" if domain.wildcard else "no"),
            ("dkim selector", domain.dkim_selector),
            ("retired selectors", ", ".join(domain.retired_selectors) or "none"),
            ("created", _when(domain.created_at)),
            ("verified", _when(domain.verified_at)),
        ]
    )
    click.echo()
    _records(domain)


def _records(domain: Domain) -> None:
    rows = []
    for record in domain.records:
        value = record.value if record.priority is None else f"{record.priority} {record.value}"
        rows.append((record.type, record.name, value))
    _table(rows, ("type", "name", "value"))


@domains_group.command("add")
@click.argument("domain")
@click.option("--wildcard", is_flag=True, help="Also serve every subdomain.")
@_json_option
@_connection
def domains_add(client: InboxKit, domain: str, wildcard: bool, as_json: bool) -> None:
    """Add DOMAIN; prints its id, and the records to publish on stderr."""
    added = client.add_domain(domain, wildcard=wildcard)
    if as_json:
        _print_json(added)
        return
    click.echo(added.id)
    _echo(f"{added.domain} added (pending). Publish these records, then:", err=True)
    _echo(f"  inboxkit domains verify {added.id}", err=True)
    for record in added.records:
        value = record.value if record.priority is None else f"{record.priority} {record.value}"
        _echo(f"  {record.type:4} {record.name}  {value}", err=True)


@domains_group.command("list")
@_json_option
@_connection
def domains_list(client: InboxKit, as_json: bool) -> None:
    """List the account's domains, newest first."""
    found: list[Domain] = []
    cursor = None
    while True:
        page = client.list_domains(limit=200, cursor=cursor)
        found += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    if as_json:
        _print_json(found)
        return
    if not found:
        click.echo("no domains", err=True)
        return
    _table(
        [(d.id, d.status, "yes" if d.wildcard else "no", d.domain) for d in found],
        ("id", "status", "wildcard", "domain"),
    )


@domains_group.command("show")
@click.argument("domain_id")
@_json_option
@_connection
def domains_show(client: InboxKit, domain_id: str, as_json: bool) -> None:
    """Show a domain and the records it publishes."""
    domain = client.get_domain(domain_id)
    _print_json(domain) if as_json else _show(domain)


@domains_group.command("verify")
@click.argument("domain_id")
@_json_option
@_connection
def domains_verify(client: InboxKit, domain_id: str, as_json: bool) -> None:
    """Check the domain's TXT and MX records; says which is missing or wrong."""
    domain = client.verify_domain(domain_id)
    if as_json:
        _print_json(domain)
    else:
        _echo(f"{domain.domain} is {domain.status}")


@domains_group.command("zone")
@click.argument("domain_id")
@_connection
def domains_zone(client: InboxKit, domain_id: str) -> None:
    """Print the records as BIND zone text (no SOA or NS: your DNS host keeps its own)."""
    click.echo(client.domain_zone_file(domain_id), nl=False)


@domains_group.command("rotate-dkim")
@click.argument("domain_id")
@_json_option
@_connection
def domains_rotate(client: InboxKit, domain_id: str, as_json: bool) -> None:
    """Make a new DKIM key; publish its record (the old one stays until you drop it)."""
    domain = client.rotate_dkim(domain_id)
    if as_json:
        _print_json(domain)
        return
    current = next(r for r in domain.records if r.name.startswith(f"{domain.dkim_selector}."))
    _echo(f"new selector {domain.dkim_selector}; publish:", err=True)
    _echo(f"  TXT {current.name}  {current.value}")


@domains_group.command("delete")
@click.argument("domain_ids", metavar="ID...", nargs=-1, required=True)
@_connection
def domains_delete(client: InboxKit, domain_ids: tuple[str, ...]) -> None:
    """Remove domains: their mail is refused from then on."""
    for domain_id in domain_ids:
        client.delete_domain(domain_id)
        click.echo(f"deleted domain {domain_id}", err=True)
