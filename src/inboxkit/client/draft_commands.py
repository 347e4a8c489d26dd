"""`inboxkit drafts …`: keep, show, change, schedule, send and approve drafts (DESIGN §13)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from inboxkit.client.commands import _connection, _echo, _json_option, _print_json, _table, _when
from inboxkit.client.models import Draft
from inboxkit.client.sync import InboxKit

__all__ = ["drafts_group"]

F = TypeVar("F", bound=Callable[..., Any])


@click.group("drafts")
def drafts_group() -> None:
    """Drafts of a mailbox: kept, scheduled (--send-at) or awaiting review.

    \b
    inboxkit drafts create ADDRESS --to bob@example.com --text "Hi" --send-at 2030-01-01T09:00:00Z
    inboxkit drafts list ADDRESS --status pending_review
    inboxkit drafts show ADDRESS DRAFT_ID
    inboxkit drafts update ADDRESS DRAFT_ID --subject "Hello" --unschedule
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


def _review_state(draft: Draft) -> str:
    if draft.review is None:
        return "-"
    if draft.review.state == "approved":
        by = f" by {draft.review.approved_by}" if draft.review.approved_by else ""
        return f"approved {_when(draft.review.approved_at)}{by}"
    return f"{draft.review.state} (NOT sent until an account approves it)"


def _show_draft(draft: Draft) -> None:
    """The whole draft: its fields as a table, then its text body."""
    rows = [
        ("id", draft.id),
        ("status", draft.status),
        ("to", ", ".join(draft.to) or "-"),
        ("cc", ", ".join(draft.cc) or "-"),
        ("bcc", ", ".join(draft.bcc) or "-"),
        ("subject", draft.subject or "(no subject)"),
        ("send at", draft.send_at.isoformat() if draft.send_at else "not scheduled"),
        ("review", _review_state(draft)),
    ]
    if draft.in_reply_to:
        rows.append(("in reply to", draft.in_reply_to))
    if draft.forward_of:
        rows.append(("forward of", draft.forward_of))
    if draft.attachments:
        names = ", ".join(f"{a.filename} ({a.size} bytes)" for a in draft.attachments)
        rows.append(("attachments", names))
    if draft.sent_message_id:
        rows.append(("sent message", draft.sent_message_id))
    if draft.error:
        rows.append(("error", draft.error))
    # `updated` exactly, as `drafts approve --updated-at` takes it.
    rows += [("created", _when(draft.created_at)), ("updated", draft.updated_at.isoformat())]
    # One line per field, whatever line breaks a value carries.
    _table([(name, value.replace("\n", " ")) for name, value in rows])
    click.echo()
    if draft.text is not None:
        _echo(draft.text)
    else:
        _echo("(no text body; the HTML body is in --json)" if draft.html else "(no body)")


def _send_at(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """--send-at as an aware datetime; anything else is a usage error saying what to give."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().upper())
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise click.BadParameter(
            f"{value!r} is not an RFC 3339 time with a time zone, e.g. 2030-01-01T09:00:00Z.",
            ctx,
            param,
        )
    return moment


def _draft_options(fn: F) -> F:
    """The message fields `drafts create` and `drafts update` share."""
    options: list[Callable[[Any], Any]] = [
        click.option("--to", multiple=True, help="Recipient; repeatable."),
        click.option("--cc", multiple=True, help="Repeatable."),
        click.option("--bcc", multiple=True, help="Repeatable."),
        click.option("--subject", default=None, help="The subject line."),
        click.option("--text", default=None, help="Plain-text body."),
        click.option(
            "--text-file",
            default=None,
            type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path),
            help="Plain-text body from a UTF-8 file ('-' reads stdin); instead of --text.",
        ),
        click.option("--html", default=None, help="HTML body."),
        click.option(
            "--send-at",
            default=None,
            metavar="TIME",
            callback=_send_at,
            help="RFC 3339 time with a zone: schedules it.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _read_text(path: Path) -> str:
    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except OSError as exc:
        raise click.BadParameter(
            f"cannot read {path}: {exc.strerror}", param_hint="--text-file"
        ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise click.BadParameter(
            f"{path} is not UTF-8 text; convert it or attach it instead.",
            param_hint="--text-file",
        ) from None


def _draft_fields(
    to: tuple[str, ...],
    cc: tuple[str, ...],
    bcc: tuple[str, ...],
    subject: str | None,
    text: str | None,
    text_file: Path | None,
    html: str | None,
    send_at: datetime | None,
) -> dict[str, Any]:
    """The fields given on the command line (`_draft_options`), as SDK keyword arguments; those
    not given are left out."""
    if text is not None and text_file is not None:
        raise click.UsageError("Give the text body with --text or --text-file, not both.")
    if text_file is not None:
        text = _read_text(text_file)
    given = {
        "to": list(to),
        "cc": list(cc),
        "bcc": list(bcc),
        "subject": subject,
        "text": text,
        "html": html,
        "send_at": send_at,
    }
    return {name: value for name, value in given.items() if value not in (None, [])}


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


@drafts_group.command("show")
@click.argument("mailbox")
@click.argument("draft_id")
@_json_option
@_connection
def show_command(client: InboxKit, mailbox: str, draft_id: str, as_json: bool) -> None:
    """One draft: status, recipients, subject, schedule, review and text body."""
    draft = client.draft(mailbox, draft_id)
    if as_json:
        _print_json(draft)
    else:
        _show_draft(draft)


@drafts_group.command("create")
@click.argument("mailbox")
@_draft_options
@click.option("--in-reply-to", default=None, help="A message id of the mailbox to reply to.")
@_json_option
@_connection
def create_command(
    client: InboxKit, mailbox: str, in_reply_to: str | None, as_json: bool, **options: Any
) -> None:
    """Keep a message as a draft (scheduled with --send-at)."""
    draft = client.create_draft(mailbox, in_reply_to=in_reply_to, **_draft_fields(**options))
    _show(draft, as_json)


@drafts_group.command("update")
@click.argument("mailbox")
@click.argument("draft_id")
@_draft_options
@click.option("--unschedule", is_flag=True, help="Clear send_at: back to a kept draft.")
@_json_option
@_connection
def update_command(
    client: InboxKit,
    mailbox: str,
    draft_id: str,
    unschedule: bool,
    as_json: bool,
    **options: Any,
) -> None:
    """Change a draft: only the fields given change (--to, --cc and --bcc replace the list).
    Under review, an edit takes back its approval."""
    changes = _draft_fields(**options)
    if unschedule:
        if "send_at" in changes:
            raise click.UsageError("Give --send-at (reschedule) or --unschedule, not both.")
        changes["send_at"] = None
    if not changes:
        raise click.UsageError(
            "Nothing to change: give at least one of --to, --cc, --bcc, --subject, --text, "
            "--text-file, --html, --send-at or --unschedule."
        )
    _show(client.update_draft(mailbox, draft_id, **changes), as_json)


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
@click.option(
    "--updated-at",
    "updated_at",
    metavar="TIME",
    callback=_send_at,
    help="The draft's `updated` time exactly as `drafts show` printed it: if the draft was "
    "edited since, nothing is approved.",
)
@_json_option
@_connection
def approve_command(
    client: InboxKit, mailbox: str, draft_id: str, updated_at: datetime | None, as_json: bool
) -> None:
    """Approve a draft awaiting review (an account's API key, never the mailbox's token).
    With --updated-at, only the version you read is approved."""
    _show(client.approve_draft(mailbox, draft_id, updated_at=updated_at), as_json)


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
