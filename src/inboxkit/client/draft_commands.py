"""`inboxkit drafts …`: keep, schedule, send and approve drafts (DESIGN §13)."""

from __future__ import annotations

import click

from inboxkit.client.commands import _connection, _echo, _json_option, _print_json
from inboxkit.client.models import Draft
from inboxkit.client.sync import InboxKit

__all__ = ["drafts_group"]


@click.group("drafts")
def drafts_group() -> None:
    """Drafts of a mailbox: kept, scheduled (--send-at) or awaiting review.

    \b
    inboxkit drafts create ADDRESS --to bob@example.com --text "Hi" --send-at 2030-01-01T09:00:00Z
    inboxkit drafts list ADDRESS --status pending_review
    inboxkit drafts approve ADDRESS DRAFT_ID     (an account's API key only)
    inboxkit drafts review ADDRESS on            (hold every send for approval)
    """


def _line(draft: Draft) -> str:
    when = f" at {draft.send_at.isoformat()}" if draft.send_at else ""
    to = ", ".join(draft.to) or "(no recipient)"
    return f"{draft.id}  {draft.status}{when}  {draft.subject!r} to {to}"


def _show(draft: Draft, as_json: bool) -> None:
    if as_json:
        _print_json(draft)
        return
    click.echo(draft.id)
    _echo(_line(draft), err=True)
    if draft.status == "pending_review":
        _echo("NOT sent: awaiting approval by an account's API key or the web UI.", err=True)
    if draft.error:
        _echo(f"error: {draft.error}", err=True)


@drafts_group.command("list")
@click.argument("mailbox")
@click.option(
    "--status",
    type=click.Choice(["draft", "pending_review", "scheduled", "sent", "failed"]),
    default=None,
)
@click.option("--limit", type=click.IntRange(1, 200), default=50)
@_json_option
@_connection
def list_command(
    client: InboxKit, mailbox: str, status: str | None, limit: int, as_json: bool
) -> None:
    """The mailbox's drafts, newest first."""
    page = client.drafts(mailbox, status=status, limit=limit)
    if as_json:
        _print_json(page.items)
        return
    for draft in page.items:
        click.echo(_line(draft))


@drafts_group.command("create")
@click.argument("mailbox")
@click.option("--to", multiple=True, help="Recipient; repeatable.")
@click.option("--cc", multiple=True, help="Repeatable.")
@click.option("--bcc", multiple=True, help="Repeatable.")
@click.option("--subject", default="")
@click.option("--text", default=None, help="Plain-text body.")
@click.option("--html", default=None, help="HTML body.")
@click.option("--in-reply-to", default=None, help="A message id of the mailbox to reply to.")
@click.option("--send-at", default=None, help="RFC 3339 time with a zone: schedules it.")
@_json_option
@_connection
def create_command(
    client: InboxKit,
    mailbox: str,
    to: tuple[str, ...],
    cc: tuple[str, ...],
    bcc: tuple[str, ...],
    subject: str,
    text: str | None,
    html: str | None,
    in_reply_to: str | None,
    send_at: str | None,
    as_json: bool,
) -> None:
    """Keep a message as a draft (scheduled with --send-at)."""
    draft = client.create_draft(
        mailbox,
        to=list(to),
        cc=list(cc),
        bcc=list(bcc),
        subject=subject,
        text=text,
        html=html,
        in_reply_to=in_reply_to,
        send_at=send_at,
    )
    _show(draft, as_json)


@drafts_group.command("send")
@click.argument("mailbox")
@click.argument("draft_id")
@_json_option
@_connection
def send_command(client: InboxKit, mailbox: str, draft_id: str, as_json: bool) -> None:
    """Send a draft now (under review: submit it for approval)."""
    _show(client.send_draft(mailbox, draft_id), as_json)


@drafts_group.command("approve")
@click.argument("mailbox")
@click.argument("draft_id")
@_json_option
@_connection
def approve_command(client: InboxKit, mailbox: str, draft_id: str, as_json: bool) -> None:
    """Approve a draft awaiting review (an account's API key, never the mailbox's token)."""
    _show(client.approve_draft(mailbox, draft_id), as_json)


@drafts_group.command("delete")
@click.argument("mailbox")
@click.argument("draft_id")
@_connection
def delete_command(client: InboxKit, mailbox: str, draft_id: str) -> None:
    """Discard a draft; a scheduled one is then never sent."""
    client.delete_draft(mailbox, draft_id)
    _echo(f"deleted {draft_id}", err=True)


@drafts_group.command("review")
@click.argument("mailbox")
@click.argument("state", type=click.Choice(["on", "off"]))
@_connection
def review_command(client: InboxKit, mailbox: str, state: str) -> None:
    """Turn outbound review on or off: while on, every send, reply and forward from MAILBOX is
    kept as a draft until an account approves it (an account's API key only)."""
    box = client.update_mailbox(mailbox, outbound_review=state == "on")
    held = "held for approval" if box.outbound_review else "sent directly"
    _echo(f"{box.address}: outbound review {state}; sends are {held}", err=True)
