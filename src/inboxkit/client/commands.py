"""The client half of the `inboxkit` command: inboxes and mail on a running server, via the SDK.

    inboxkit inbox create | list | delete
    inboxkit messages ADDRESS            inboxkit read ADDRESS [ID]
    inboxkit search QUERY [--mailbox …]  (docs/search.md)
    inboxkit wait ADDRESS [--code]       inboxkit send ADDRESS --to … --subject … --text …
    inboxkit capture                     inboxkit wait --capture --to alice@example.com --code
    inboxkit usage                       inboxkit account
    inboxkit plans create | list | show | update | delete       (admin)
    inboxkit accounts create | list | show | set-plan | delete  (admin)
    inboxkit faults add | list | show | delete                  (SMTP fault injection)
    inboxkit lists add | list | show | delete                   (allow and block senders)
    inboxkit domains add | list | show | verify | zone | delete | rotate-dkim  (custom domains)

Every command takes `--url` / `--api-key` (or INBOXKIT_URL / INBOXKIT_API_KEY) and `--token`
(INBOXKIT_TOKEN, a mailbox token from an anonymous `inbox create`). Data goes to stdout, as
JSON with `--json`; notes and errors go to stderr. Exit codes: 0 success, 1 error, 2 usage,
3 a `wait` that timed out. Mail content is printed through `terminal.printable` (or
`terminal.json_safe`): senders' text never reaches the terminal as control sequences.
"""

from __future__ import annotations

import functools
import html
import json
import shlex
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import click

from inboxkit.client.capture import DEFAULT_SMTP_PORT, smtp_host_for
from inboxkit.client.errors import InboxKitError, WaitTimeout
from inboxkit.client.models import (
    Account,
    Fault,
    ListEntry,
    Message,
    MessageSummary,
    Model,
    PendingDraft,
    Plan,
    PlanLimits,
    SentMessage,
    Usage,
)
from inboxkit.client.sync import InboxKit
from inboxkit.client.terminal import json_safe, printable, printable_bytes

__all__ = ["register", "EXIT_TIMEOUT", "Spinner"]

EXIT_TIMEOUT = 3
F = TypeVar("F", bound=Callable[..., Any])


# -- shared plumbing -----------------------------------------------------------------------------


def _connection(fn: F) -> F:
    """--url/--api-key/--token, turned into an `InboxKit` passed as `client`."""

    @click.option(
        "--url",
        envvar="INBOXKIT_URL",
        default=None,
        help="[INBOXKIT_URL] The server, default http://127.0.0.1:8025.",
    )
    @click.option(
        "--api-key",
        envvar="INBOXKIT_API_KEY",
        default=None,
        help="[INBOXKIT_API_KEY] An API key (ik_…).",
    )
    @click.option(
        "--token",
        envvar="INBOXKIT_TOKEN",
        default=None,
        help="[INBOXKIT_TOKEN] A mailbox token (ikm_…) from `inbox create`; used instead of "
        "the API key.",
    )
    @functools.wraps(fn)
    def wrapper(url: str | None, api_key: str | None, token: str | None, **kwargs: Any) -> Any:
        with InboxKit(url, token or api_key or "") as client:
            try:
                return fn(client=client, **kwargs)
            except WaitTimeout as exc:
                click.echo(str(exc), err=True)
                raise click.exceptions.Exit(EXIT_TIMEOUT) from None
            except InboxKitError as exc:
                raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]


_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _print_json(value: Any) -> None:
    if isinstance(value, Model):
        value = value.to_json()
    elif isinstance(value, list):
        value = [item.to_json() if isinstance(item, Model) else item for item in value]
    click.echo(json_safe(json.dumps(value, indent=2, ensure_ascii=False)))


def _echo(text: str, **kwargs: Any) -> None:
    """Print text that may come from a sender, without its terminal controls."""
    click.echo(printable(text), **kwargs)


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else "never"


def _summary_line(message: MessageSummary) -> str:
    codes = f"  [{', '.join(message.codes)}]" if message.codes else ""
    unread = "" if message.is_read else "  (unread)"
    if message.spam is not None and message.spam.verdict != "clean":
        unread += f"  ({message.spam.verdict})"  # quarantined, or listed with --spam
    sender = message.from_ if message.direction == "inbound" else f"to {', '.join(message.to)}"
    line = f"{message.id}  {_when(message.received_at)}  {sender}  {message.subject!r}{codes}"
    labels = f"  #{' #'.join(message.labels)}" if message.labels else ""
    return printable(line + unread + labels).replace("\n", " ")


def _show_message(message: Message) -> None:
    lines = [
        f"From: {message.from_name + ' ' if message.from_name else ''}<{message.from_}>",
        f"To: {', '.join(message.to)}",
    ]
    if message.cc:
        lines.append(f"Cc: {', '.join(message.cc)}")
    lines += [f"Subject: {message.subject}", f"Date: {_when(message.received_at)}"]
    if message.codes:
        lines.append(f"Codes: {', '.join(message.codes)}")
    # Header lines are one line each, whatever line breaks a sender slipped in.
    _echo("\n".join(line.replace("\n", " ") for line in lines) + "\n")
    _echo(message.text if message.text is not None else "(no text part; try --html)")
    if message.attachments:
        click.echo("\nAttachments:")
        for attachment in message.attachments:
            name = (attachment.filename or "(unnamed)").replace("\n", " ")
            _echo(f"  {attachment.id}  {name}  {attachment.content_type}  {attachment.size} bytes")


def _body_text(text: str | None, html: str | None) -> str | None:
    """The --text body (`-` reads stdin); a usage error when neither --text nor --html is given."""
    if text == "-":
        text = sys.stdin.read()
    if text is None and html is None:
        raise click.UsageError("Give a body with --text (or --text - for stdin) and/or --html.")
    return text


def _show_sent(sent: SentMessage | PendingDraft, as_json: bool) -> None:
    if as_json:
        _print_json(sent)
    elif isinstance(sent, PendingDraft):
        # Under review: nothing was sent. The draft's id is what an approver needs.
        click.echo(sent.draft.id)
        _echo(f"NOT sent, awaiting review: {sent.review.message}", err=True)
    else:
        click.echo(sent.id)
        _echo(f"{sent.delivery_status}: {sent.subject!r} to {', '.join(sent.to)}", err=True)


class Spinner:
    """Shows that a command is alive while it blocks: a spinner, what it waits for, and the
    time so far, redrawn in place on stderr. Only on a terminal; scripts get no noise."""

    FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
    PLAIN_FRAMES = "|/-\\"

    def __init__(self, label: str, stream: IO[str] | None = None, interval: float = 0.1):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.frames = self.FRAMES
        try:
            self.FRAMES.encode(getattr(self.stream, "encoding", None) or "ascii")
        except (UnicodeEncodeError, LookupError):
            self.frames = self.PLAIN_FRAMES

    def __enter__(self) -> Spinner:
        if self.stream.isatty():
            self._thread = threading.Thread(target=self._spin, name="spinner", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self.stream.write("\r\x1b[K")  # clear the line for whatever is printed next
            self.stream.flush()

    def _spin(self) -> None:
        started = time.monotonic()
        index = 0
        while True:
            elapsed = time.monotonic() - started
            frame = self.frames[index % len(self.frames)]
            self.stream.write(f"\r\x1b[K{frame} {self.label} {elapsed:.0f}s")
            self.stream.flush()
            index += 1
            if self._stop.wait(self.interval):
                return


def _capture_option(fn: F) -> F:
    """`--capture`: the command works on the account's capture mailbox instead of MAILBOX."""
    return click.option(
        "--capture",
        "use_capture",
        is_flag=True,
        help="Use your account's capture mailbox (what your application sent) instead of "
        "MAILBOX; pick one recipient with --to.",
    )(fn)


def _which_mailbox(client: InboxKit, mailbox: str | None, use_capture: bool) -> str:
    """MAILBOX, or with --capture the capture mailbox's address; exactly one of them."""
    if use_capture:
        if mailbox is not None:
            raise click.UsageError("Give MAILBOX or --capture, not both.")
        return client.capture_mailbox().address
    if mailbox is None:
        raise click.UsageError("Give MAILBOX (an address or id), or --capture.")
    return mailbox


# -- commands --------------------------------------------------------------------------------


@click.group("inbox")
def inbox_group() -> None:
    """Create, list and delete inboxes on a running server."""


@inbox_group.command("create")
@click.option(
    "--mode",
    type=click.Choice(["test", "agent"]),
    default="test",
    show_default=True,
    help="test: random address that expires; agent: persistent, may choose --handle.",
)
@click.option("--handle", default=None, help="Agent mode: the local part to claim.")
@click.option("--domain", default=None, help="One of the server's domains.")
@click.option("--ttl", "ttl_minutes", type=click.IntRange(min=1), default=None, help="Minutes.")
@click.option("--name", default=None, help="A label for the inbox.")
@click.option(
    "--shell",
    "as_shell",
    is_flag=True,
    help="Print `export INBOXKIT_ADDRESS=… INBOXKIT_TOKEN=…` for `eval`.",
)
@_json_option
@_connection
def inbox_create(client: InboxKit, as_json: bool, as_shell: bool, **options: Any) -> None:
    """Create an inbox and print its address (the token, shown once, goes to stderr).

    \b
    ADDRESS=$(inboxkit inbox create)
    eval "$(inboxkit inbox create --shell)"   # sets INBOXKIT_ADDRESS and INBOXKIT_TOKEN
    """
    if as_json and as_shell:
        raise click.UsageError("Choose one of --json and --shell.")
    created = client.create_mailbox(**options)
    if as_json:
        _print_json(created)
        return
    if as_shell:
        click.echo(f"export INBOXKIT_ADDRESS={shlex.quote(created.address)}")
        if created.token and not client.api_key:
            click.echo(f"export INBOXKIT_TOKEN={shlex.quote(created.token)}")
        return
    click.echo(created.address)
    if created.token:
        click.echo(f"token: {created.token}  (for this inbox only; shown once)", err=True)
    click.echo(f"expires: {_when(created.expires_at)}", err=True)


@inbox_group.command("list")
@_json_option
@_connection
def inbox_list(client: InboxKit, as_json: bool) -> None:
    """List your live inboxes, newest first."""
    mailboxes = []
    cursor = None
    while True:
        page = client.list_mailboxes(limit=200, cursor=cursor)
        mailboxes += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    if as_json:
        _print_json(mailboxes)
        return
    for mailbox in mailboxes:
        _echo(
            f"{mailbox.address}  {mailbox.message_count} messages ({mailbox.unread_count} unread)"
            f"  expires {_when(mailbox.expires_at)}"
        )
    if not mailboxes:
        click.echo("no inboxes", err=True)


@inbox_group.command("delete")
@click.argument("mailboxes", nargs=-1, required=True)
@_connection
def inbox_delete(client: InboxKit, mailboxes: tuple[str, ...]) -> None:
    """Delete inboxes (by address or id) and everything in them."""
    for mailbox in mailboxes:
        client.delete_mailbox(mailbox)
        click.echo(f"deleted {mailbox}", err=True)


@click.command("messages")
@click.argument("mailbox", required=False)
@_capture_option
@click.option("--unread", is_flag=True, help="Only unread messages.")
@click.option("--from", "sender", default=None, help="Sender contains this.")
@click.option("--subject", default=None, help="Subject contains this.")
@click.option("--to", default=None, help="A recipient (To, Cc or envelope) contains this.")
@click.option(
    "-q", "--search", "q", default=None, help="A search query (docs/search.md), body included."
)
@click.option("--spam", is_flag=True, help="Only the mail an agent inbox hides as spam or blocked.")
@click.option("--label", default=None, help="Only messages carrying this label (also: sent, spam).")
@click.option("--limit", type=click.IntRange(1, 200), default=20, show_default=True)
@_json_option
@_connection
def messages_command(
    client: InboxKit,
    mailbox: str | None,
    use_capture: bool,
    unread: bool,
    as_json: bool,
    **filters: Any,
) -> None:
    """List an inbox's messages, newest first (--capture: what your application sent)."""
    mailbox = _which_mailbox(client, mailbox, use_capture)
    page = client.list_messages(mailbox, unread=True if unread else None, **filters)
    if as_json:
        _print_json(page.items)
        return
    for message in page:
        click.echo(_summary_line(message))
    if not page.items:
        click.echo("no messages", err=True)


@click.command("threads")
@click.argument("mailbox")
@click.option("--spam", is_flag=True, help="The threads of the mail hidden as spam.")
@click.option("--limit", type=click.IntRange(1, 200), default=20, show_default=True)
@_json_option
@_connection
def threads_command(client: InboxKit, mailbox: str, spam: bool, limit: int, as_json: bool) -> None:
    """List an inbox's conversations, newest activity first, with message and unread counts."""
    page = client.list_threads(mailbox, spam=spam, limit=limit)
    if as_json:
        _print_json(page.items)
        return
    for thread in page:
        unread = f", {thread.unread_count} unread" if thread.unread_count else ""
        labels = f"  ({', '.join(thread.labels)})" if thread.labels else ""
        line = (
            f"{thread.id}  {_when(thread.last_message_at)}  {thread.subject!r}  "
            f"[{thread.message_count} messages{unread}]  {', '.join(thread.participants)}{labels}"
        )
        _echo(printable(line).replace("\n", " "))
    if not page.items:
        click.echo("no threads", err=True)


@click.command("thread")
@click.argument("mailbox")
@click.argument("thread_id")
@_json_option
@_connection
def thread_command(client: InboxKit, mailbox: str, thread_id: str, as_json: bool) -> None:
    """Print a conversation's messages, oldest first."""
    thread = client.get_thread(mailbox, thread_id)
    if as_json:
        _print_json(thread)
        return
    _echo(printable(f"{thread.subject}  ({thread.message_count} messages)").replace("\n", " "))
    for message in thread.messages:
        click.echo(_summary_line(message))
    if thread.next_cursor:
        click.echo("(more messages: use the API or the SDK with the cursor)", err=True)


@click.command("search")
@click.argument("query")
@click.option("--mailbox", default=None, help="Search this inbox (id or address) only.")
@click.option(
    "--sort",
    type=click.Choice(["newest", "relevance"]),
    default="newest",
    show_default=True,
)
@click.option("--spam", is_flag=True, help="Search only the mail agent inboxes hide as spam.")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@_json_option
@_connection
def search_command(
    client: InboxKit,
    query: str,
    mailbox: str | None,
    sort: str,
    spam: bool,
    limit: int,
    as_json: bool,
) -> None:
    """Search every inbox you can read (or --mailbox) with the query language: words,
    "phrases", from:, to:, subject:, has:attachment, is:unread, after:YYYY-MM-DD, -word."""
    page = client.search(query, mailbox=mailbox, sort=sort, spam=spam, limit=limit)
    if as_json:
        _print_json(page.items)
        return
    for message in page:
        click.echo(_summary_line(message))
        for highlight in message.highlights:
            # Fragments are HTML for pages; a terminal gets the text with hits in brackets.
            text = html.unescape(highlight.fragment.replace("<mark>", "[").replace("</mark>", "]"))
            click.echo(printable(f"    {highlight.field}: {text}").replace("\n", " "))
    if not page.items:
        click.echo("no messages", err=True)


@click.command("read")
@click.argument("mailbox")
@click.argument("message_id", required=False)
@click.option("--html", "part", flag_value="html", help="Print the HTML part as received.")
@click.option(
    "--raw",
    "part",
    flag_value="raw",
    help="Print the exact bytes received (to a terminal: as text, control characters removed).",
)
@click.option("--keep-unread", is_flag=True, help="Do not mark the message read.")
@_json_option
@_connection
def read_command(
    client: InboxKit,
    mailbox: str,
    message_id: str | None,
    part: str | None,
    keep_unread: bool,
    as_json: bool,
) -> None:
    """Print a message (default: the newest): headers and text, or --html, or --raw."""
    if message_id is None:
        newest = client.list_messages(mailbox, limit=1).items
        if not newest:
            raise click.ClickException(f"{mailbox} has no messages yet.")
        message_id = newest[0].id
    if part == "raw":
        raw = client.get_raw(mailbox, message_id)
        if sys.stdout.isatty():
            _echo(printable_bytes(raw), nl=False)
        else:
            click.echo(raw, nl=False)  # byte-exact into a pipe or a file
        return
    message = client.get_message(mailbox, message_id, mark_read=not keep_unread)
    if as_json:
        _print_json(message)
    elif part == "html":
        if message.html is None:
            raise click.ClickException("This message has no HTML part.")
        _echo(message.html)
    else:
        _show_message(message)


@click.command("wait")
@click.argument("mailbox", required=False)
@_capture_option
@click.option(
    "--timeout", type=click.FloatRange(min=0), default=60.0, show_default=True, help="Seconds."
)
@click.option("--from", "sender", default=None, help="Sender contains this.")
@click.option("--subject", default=None, help="Subject contains this.")
@click.option("--to", default=None, help="A recipient contains this.")
@click.option(
    "--thread",
    "thread_id",
    default=None,
    help="Only a message of this conversation (a thread id, `inboxkit threads`).",
)
@click.option("--code", "want_code", is_flag=True, help="Print only the one-time code.")
@click.option(
    "--link",
    "link_kind",
    is_flag=False,
    flag_value="any",
    default=None,
    help="Print only the URL of the best link; optionally of a kind (verify, login, reset).",
)
@click.option("--keep-unread", is_flag=True, help="Do not mark the message read.")
@_json_option
@_connection
def wait_command(
    client: InboxKit,
    mailbox: str | None,
    use_capture: bool,
    timeout: float,
    want_code: bool,
    link_kind: str | None,
    keep_unread: bool,
    as_json: bool,
    **filters: Any,
) -> None:
    """Wait for the next unread message (that matches) and print it; exit 3 on timeout.

    \b
    CODE=$(inboxkit wait --code "$ADDRESS")
    URL=$(inboxkit wait --link verify "$ADDRESS")
    CODE=$(inboxkit wait --capture --to alice@example.com --code)
    """
    if want_code and link_kind:
        raise click.UsageError("Choose one of --code and --link.")
    thread_id = filters.pop("thread_id")
    if thread_id and (want_code or link_kind):
        raise click.UsageError("--thread waits for a whole message: drop --code / --link.")
    mailbox = _which_mailbox(client, mailbox, use_capture)
    with Spinner(f"waiting for mail at {mailbox}"):
        if want_code:
            result: Any = client.wait_for_code(mailbox, timeout=timeout, **filters)
        elif link_kind:
            kind = None if link_kind == "any" else link_kind
            result = client.wait_for_link(mailbox, kind, timeout=timeout, **filters)
        else:
            result = client.wait_for_message(
                mailbox, timeout=timeout, mark_read=not keep_unread, thread_id=thread_id, **filters
            )
    if want_code:
        _print_json({"code": result}) if as_json else _echo(result)
    elif link_kind:
        _print_json({"url": result}) if as_json else _echo(result)
    elif as_json:
        _print_json(result)
    else:
        _show_message(result)


@click.command("send")
@click.argument("mailbox")
@click.option("--to", multiple=True, required=True, help="Recipient; repeatable.")
@click.option("--cc", multiple=True, help="Repeatable.")
@click.option("--bcc", multiple=True, help="Repeatable.")
@click.option("--subject", default="", help="The subject line.")
@click.option("--text", default=None, help="Plain-text body; '-' reads it from stdin.")
@click.option("--html", default=None, help="HTML body.")
@click.option(
    "--attach",
    "attachments",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file to attach; repeatable.",
)
@click.option("--idempotency-key", default=None, help="Retrying with the same key sends once.")
@_json_option
@_connection
def send_command(
    client: InboxKit, mailbox: str, text: str | None, as_json: bool, **options: Any
) -> None:
    """Send mail from one of your inboxes (MAILBOX is its address or id)."""
    sent = client.send(mailbox, text=_body_text(text, options["html"]), **options)
    _show_sent(sent, as_json)


@click.command("reply")
@click.argument("mailbox")
@click.argument("message_id")
@click.option("--text", default=None, help="Plain-text body; '-' reads it from stdin.")
@click.option("--html", default=None, help="HTML body.")
@click.option("--all", "reply_all", is_flag=True, help="Reply to every recipient too.")
@_json_option
@_connection
def reply_command(
    client: InboxKit, mailbox: str, message_id: str, text: str | None, as_json: bool, **options: Any
) -> None:
    """Reply to a message in one of your inboxes, threaded."""
    sent = client.reply(mailbox, message_id, text=_body_text(text, options["html"]), **options)
    _show_sent(sent, as_json)


@click.command("forward")
@click.argument("mailbox")
@click.argument("message_id")
@click.option("--to", multiple=True, required=True, help="Recipient; repeatable.")
@click.option("--cc", multiple=True, help="Repeatable.")
@click.option("--bcc", multiple=True, help="Repeatable.")
@click.option("--text", default=None, help="Your note above the original; '-' reads stdin.")
@click.option("--html", default=None, help="Your note as HTML.")
@click.option("--idempotency-key", default=None, help="Retrying with the same key sends once.")
@_json_option
@_connection
def forward_command(
    client: InboxKit, mailbox: str, message_id: str, text: str | None, as_json: bool, **options: Any
) -> None:
    """Forward a message of one of your inboxes, inline with its attachments ("Fwd:")."""
    if text == "-":
        text = sys.stdin.read()
    sent = client.forward(mailbox, message_id, text=text, **options)
    _show_sent(sent, as_json)


@click.command("label")
@click.argument("mailbox")
@click.argument("message_ids", nargs=-1, required=True)
@click.option("--add", multiple=True, help="A label to add; repeatable.")
@click.option("--remove", multiple=True, help="A label to remove; repeatable.")
@click.option("--read/--unread", "is_read", default=None, help="Also mark them read or unread.")
@_json_option
@_connection
def label_command(
    client: InboxKit,
    mailbox: str,
    message_ids: tuple[str, ...],
    add: tuple[str, ...],
    remove: tuple[str, ...],
    is_read: bool | None,
    as_json: bool,
) -> None:
    """Add or remove labels on messages of an inbox (up to 100 at once, all or nothing)."""
    result = client.update_messages(
        mailbox, message_ids, is_read=is_read, add_labels=add or None, remove_labels=remove or None
    )
    if as_json:
        _print_json(result)
        return
    for message in result.messages:
        click.echo(_summary_line(message))


# -- mail over HTTP ------------------------------------------------------------------------


@click.command("ingest")
@click.argument("file", type=click.File("rb"))
@click.option("--to", multiple=True, required=True, help="Recipient; repeatable.")
@click.option("--mail-from", default=None, help="Envelope sender (default: the From header).")
@_json_option
@_connection
def ingest_command(
    client: InboxKit, file: Any, to: tuple[str, ...], mail_from: str | None, as_json: bool
) -> None:
    """Deliver a message file (FILE, or - for stdin) to hosted mailboxes as received mail,
    byte for byte, as SMTP would. Needs an API key with the `ingest` scope. Exits 1 when a
    recipient was refused."""
    result = client.ingest_raw(file.read(), list(to), mail_from=mail_from)
    if as_json:
        _print_json(result)
    else:
        for delivered in result.delivered:
            _echo(f"delivered  {delivered.address}  {delivered.message_id}")
        for refused in result.refused:
            _echo(
                f"refused    {refused.address}  {refused.smtp} {refused.reason}: {refused.message}"
            )
    if result.refused:
        raise click.exceptions.Exit(1)


# -- capture -------------------------------------------------------------------------------


@click.command("capture")
@click.option(
    "--smtp-host",
    envvar="INBOXKIT_SMTP_HOST",
    default=None,
    help="[INBOXKIT_SMTP_HOST] The server's SMTP host as your application reaches it; "
    "default: the host of --url.",
)
@click.option(
    "--smtp-port",
    envvar="INBOXKIT_SMTP_PORT",
    type=click.IntRange(1, 65535),
    default=DEFAULT_SMTP_PORT,
    show_default=True,
    help="[INBOXKIT_SMTP_PORT] The server's SMTP port.",
)
@_json_option
@_connection
def capture_command(client: InboxKit, smtp_host: str | None, smtp_port: int, as_json: bool) -> None:
    """Show your account's capture mailbox and the SMTP settings that send mail into it.

    Point your application's SMTP at these settings: everything it sends, to any address,
    lands in the capture mailbox. Then, for example:

    \b
    CODE=$(inboxkit wait --capture --to alice@example.com --code)
    """
    mailbox = client.capture_mailbox()
    smtp = {
        "host": smtp_host_for(client.url, smtp_host),
        "port": smtp_port,
        "username": "anything",
        "password": "an API key with the capture scope",
    }
    if as_json:
        _print_json({**mailbox.to_json(), "smtp": smtp})
        return
    _table(
        [
            ("address", mailbox.address),
            ("id", mailbox.id),
            ("messages", f"{mailbox.message_count} ({mailbox.unread_count} unread)"),
        ]
    )
    click.echo("\nSMTP settings for your application:")
    _table([(f"  {name}", str(value)) for name, value in smtp.items()])
    click.echo(
        "\nA key with the capture scope: inboxkit keys create --name my-app --scope capture",
        err=True,
    )


# -- plans, accounts and usage ---------------------------------------------------------------

# The plan fields by kind, from the SDK's model (the order the API shows them in).
_PLAN_FIELDS = tuple(PlanLimits.model_fields)
_FLAG_FIELDS = tuple(
    name for name, field in PlanLimits.model_fields.items() if field.annotation is bool
)
_NUMBER_FIELDS = tuple(name for name in _PLAN_FIELDS if name not in _FLAG_FIELDS + ("send",))
_UNLIMITED_WORDS = ("none", "unlimited")


class _LimitValue(click.ParamType):
    """A number limit: a whole number, or `none` / `unlimited` to lift it."""

    name = "N|none"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int) or value in _UNLIMITED_WORDS:
            return value
        text = str(value).strip().lower()
        if text in _UNLIMITED_WORDS:
            return "none"
        try:
            number = int(text.replace("_", ""))
        except ValueError:
            self.fail(f"{value!r} is not a whole number, 'none' or 'unlimited'.", param, ctx)
        if number < 0:
            self.fail(f"{value!r} is negative.", param, ctx)
        return number


_LIMIT_HELP = {
    "max_mailboxes": "Live mailboxes at once.",
    "max_messages_per_mailbox": "Messages one mailbox holds; more mail is refused (452).",
    "max_ttl_minutes": "Longest life of a test mailbox.",
    "retention_days": "Messages older than this are purged.",
    "received_per_month": "Messages received a month (UTC); more is refused (452).",
    "sent_per_month": "Messages sent a month (UTC).",
    "max_message_bytes": "Largest message received or sent (552 over it).",
    "max_webhooks": "Webhooks at once.",
    "max_domains": "Custom domains at once.",
    "create_per_minute": "Mailbox creations a minute.",
    "read_per_minute": "Reads a minute.",
    "write_per_minute": "Writes a minute.",
    "send_per_minute": "Sends a minute.",
    "concurrent_waits": "Open waits, WebSockets and event streams at once.",
}


def _field_names(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    """Plan field names as given to --unlimited, in either spelling (max-mailboxes,
    max_mailboxes)."""
    names = tuple(value.strip().lower().replace("-", "_") for value in values)
    for value, name in zip(values, names, strict=True):
        if name not in _PLAN_FIELDS:
            raise click.BadParameter(
                f"{value!r} is not a plan field; one of: "
                + ", ".join(f.replace("_", "-") for f in _PLAN_FIELDS),
                ctx,
                param,
            )
    return names


def _show_limit(value: Any) -> str:
    if value is None:
        return "unlimited"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _table(rows: Sequence[tuple[str, ...]], header: tuple[str, ...] | None = None) -> None:
    """Rows in aligned columns (the last one left ragged)."""
    lines = ([header] if header else []) + list(rows)
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]) - 1)]
    for line in lines:
        cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=False)]
        _echo("  ".join([*cells, line[-1]]).rstrip())


def _plan_options(fn: F) -> F:
    """A flag per plan field (`--max-mailboxes 5`, `--send local`, `--agent-mode/--no-agent-mode`)
    and `--unlimited FIELD`; the command gets the fields given as `limits`."""
    for name in reversed(_PLAN_FIELDS):
        flag = name.replace("_", "-")
        if name in _FLAG_FIELDS:
            option = click.option(
                f"--{flag}/--no-{flag}", name, default=None, help=f"Allow {flag.replace('-', ' ')}."
            )
        elif name == "send":
            option = click.option(
                "--send",
                "send",
                type=click.Choice(["none", "local", "any"]),
                default=None,
                help="Whom its mailboxes may send to: nobody, mailboxes hosted here, anybody.",
            )
        else:
            option = click.option(
                f"--{flag}", name, type=_LimitValue(), default=None, help=_LIMIT_HELP.get(name)
            )
        fn = option(fn)
    fn = click.option(
        "--unlimited",
        "unlimited",
        multiple=True,
        callback=_field_names,
        metavar="FIELD",
        help="Lift this limit, e.g. --unlimited max-mailboxes (for flags: allow; for send: "
        "any); repeatable.",
    )(fn)

    @functools.wraps(fn)
    def wrapper(unlimited: tuple[str, ...], **options: Any) -> Any:
        limits: dict[str, Any] = {}
        for name in _PLAN_FIELDS:
            value = options.pop(name)
            if value is not None:
                limits[name] = None if value == "none" and name != "send" else value
        for name in unlimited:
            if name in limits:
                flag = name.replace("_", "-")
                raise click.UsageError(f"--{flag} and --unlimited {flag} clash; give one.")
            limits[name] = None
        return fn(limits=limits, **options)

    return wrapper  # type: ignore[return-value]


def _show_plan(plan: Plan) -> None:
    _table(
        [("name", plan.name)] + [(name, _show_limit(getattr(plan, name))) for name in _PLAN_FIELDS]
    )


@click.command("usage")
@_json_option
@_connection
def usage_command(client: InboxKit, as_json: bool) -> None:
    """Show your plan, this month's usage and the plan's limits."""
    usage: Usage = client.usage()
    if as_json:
        _print_json(usage)
        return
    figures, limits = usage.usage, usage.limits
    start = usage.period.start.strftime("%Y-%m-%d")
    end = usage.period.end.strftime("%Y-%m-%d")
    plan = usage.plan or "- (never limited)"
    click.echo(f"plan {plan}, period {start} to {end} (UTC)\n")
    rows = [
        ("mailboxes", str(figures.mailboxes), _show_limit(limits.max_mailboxes)),
        (
            "received this month",
            str(figures.received_this_month),
            _show_limit(limits.received_per_month),
        ),
        ("sent this month", str(figures.sent_this_month), _show_limit(limits.sent_per_month)),
        ("storage bytes", str(figures.storage_bytes), "-"),
    ]
    _table(rows, ("", "used", "limit"))
    click.echo(
        f"\nsend: {limits.send}  agent mode: {_show_limit(limits.agent_mode)}  "
        f"message size: {_show_limit(limits.max_message_bytes)}  "
        f"mailbox TTL minutes: {_show_limit(limits.max_ttl_minutes)}"
    )


def _show_account(account: Account, as_json: bool) -> None:
    if as_json:
        _print_json(account)
        return
    _table(
        [
            ("id", account.id or "-"),
            ("name", account.name or "-"),
            ("plan", account.plan or "- (never limited)"),
            ("created", _when(account.created_at)),
        ]
    )


@click.command("account")
@_json_option
@_connection
def account_command(client: InboxKit, as_json: bool) -> None:
    """Show the account your API key belongs to, and its plan's limits."""
    account: Account = client.account()
    _show_account(account, as_json)
    if account.limits is not None and not as_json:
        click.echo("")
        _table([(name, _show_limit(getattr(account.limits, name))) for name in _PLAN_FIELDS])


@click.group("plans")
def plans_group() -> None:
    """Manage plans (needs an API key with the admin scope).

    \b
    inboxkit plans create free --max-mailboxes 5 --sent-per-month 100 --send local
    inboxkit plans update free --max-mailboxes none     # or: --unlimited max-mailboxes
    """


@plans_group.command("create")
@click.argument("name")
@_plan_options
@_json_option
@_connection
def plans_create(client: InboxKit, name: str, limits: dict[str, Any], as_json: bool) -> None:
    """Create a plan; limits not given are unlimited."""
    plan = client.create_plan(name, **limits)
    _print_json(plan) if as_json else _show_plan(plan)


@plans_group.command("list")
@_json_option
@_connection
def plans_list(client: InboxKit, as_json: bool) -> None:
    """List every plan."""
    plans = client.list_plans()
    if as_json:
        _print_json(plans)
        return
    columns = ("max_mailboxes", "sent_per_month", "received_per_month", "send", "agent_mode")
    _table(
        [(p.name, *(_show_limit(getattr(p, c)) for c in columns)) for p in plans],
        ("name", *columns),
    )


@plans_group.command("show")
@click.argument("name")
@_json_option
@_connection
def plans_show(client: InboxKit, name: str, as_json: bool) -> None:
    """Show one plan's limits."""
    plan = client.get_plan(name)
    _print_json(plan) if as_json else _show_plan(plan)


@plans_group.command("update")
@click.argument("name")
@_plan_options
@_json_option
@_connection
def plans_update(client: InboxKit, name: str, limits: dict[str, Any], as_json: bool) -> None:
    """Change a plan's limits; every account on it is held to them at once."""
    if not limits:
        raise click.UsageError("Give at least one limit to change, e.g. --max-mailboxes 10.")
    plan = client.update_plan(name, **limits)
    _print_json(plan) if as_json else _show_plan(plan)


@plans_group.command("delete")
@click.argument("name")
@_connection
def plans_delete(client: InboxKit, name: str) -> None:
    """Delete a plan no account is on (the built-in ones cannot be)."""
    client.delete_plan(name)
    click.echo(f"deleted plan {name}", err=True)


@click.group("accounts")
def accounts_group() -> None:
    """Manage accounts and their plans (needs an API key with the admin scope).

    \b
    ID=$(inboxkit accounts create "Acme" --plan free)
    inboxkit keys create --name acme-ci --account "$ID"
    """


@accounts_group.command("create")
@click.argument("name")
@click.option("--plan", default=None, help="Its plan (default: the 'default' plan).")
@_json_option
@_connection
def accounts_create(client: InboxKit, name: str, plan: str | None, as_json: bool) -> None:
    """Create an account and print its id."""
    account = client.create_account(name, plan=plan)
    if as_json:
        _print_json(account)
    else:
        click.echo(account.id)
        _echo(f"account {account.name!r} on plan {account.plan}", err=True)


@accounts_group.command("list")
@_json_option
@_connection
def accounts_list(client: InboxKit, as_json: bool) -> None:
    """List every account."""
    accounts: list[Account] = []
    cursor = None
    while True:
        page = client.list_accounts(limit=200, cursor=cursor)
        accounts += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    if as_json:
        _print_json(accounts)
        return
    if accounts:
        _table([(a.id or "-", a.plan or "-", _when(a.created_at), a.name or "") for a in accounts])
    else:
        click.echo("no accounts", err=True)


@accounts_group.command("show")
@click.argument("account_id")
@_json_option
@_connection
def accounts_show(client: InboxKit, account_id: str, as_json: bool) -> None:
    """Show one account."""
    _show_account(client.get_account(account_id), as_json)


@accounts_group.command("set-plan")
@click.argument("account_id")
@click.argument("plan")
@_json_option
@_connection
def accounts_set_plan(client: InboxKit, account_id: str, plan: str, as_json: bool) -> None:
    """Move an account to another plan; its limits change at once."""
    _show_account(client.update_account(account_id, plan=plan), as_json)


@accounts_group.command("delete")
@click.argument("account_id")
@_connection
def accounts_delete(client: InboxKit, account_id: str) -> None:
    """Delete an account."""
    client.delete_account(account_id)
    click.echo(f"deleted account {account_id}", err=True)


@click.group("faults")
def faults_group() -> None:
    """Make SMTP refuse your account's mail on cue, to test how an application retries
    (needs an API key; docs/faults.md).

    \b
    inboxkit faults add rcpt 451 --count 2      # the next two recipients get 451 4.3.0
    inboxkit faults add data 554 --mailbox ADDRESS --probability 0.5
    """


def _show_fault(fault: Fault) -> None:
    left = "no limit" if fault.remaining is None else str(fault.remaining)
    rows = [
        ("id", fault.id),
        ("stage", fault.stage),
        ("reply", fault.reply),
        ("mailbox", fault.mailbox_id or "all of the account's"),
        ("probability", f"{fault.probability:g}"),
        ("fired", str(fault.fired)),
        ("remaining", left + (" (exhausted)" if fault.exhausted else "")),
        ("created", _when(fault.created_at)),
    ]
    _table(rows)


@faults_group.command("add")
@click.argument("stage", type=click.Choice(["connect", "mail", "rcpt", "data"]))
@click.argument("code", type=int)
@click.option("--message", default=None, help="The reply text (default: the code's standard).")
@click.option(
    "--probability",
    type=click.FloatRange(0, 1),
    default=None,
    help="The chance each matching message fires it (default 1).",
)
@click.option(
    "--count", type=click.IntRange(1), default=None, help="Fire this many times, then stop."
)
@click.option("--mailbox", default=None, help="Only this mailbox (id or address).")
@_json_option
@_connection
def faults_add(
    client: InboxKit,
    stage: str,
    code: int,
    message: str | None,
    probability: float | None,
    count: int | None,
    mailbox: str | None,
    as_json: bool,
) -> None:
    """Add a fault: SMTP answers CODE at STAGE (connect, mail, rcpt or data); prints its id."""
    fault = client.create_fault(
        stage, code, message=message, probability=probability, count=count, mailbox=mailbox
    )
    if as_json:
        _print_json(fault)
    else:
        click.echo(fault.id)
        _echo(f"SMTP answers {fault.reply!r} at {fault.stage}", err=True)


@faults_group.command("list")
@_json_option
@_connection
def faults_list(client: InboxKit, as_json: bool) -> None:
    """List the account's faults, newest first, with how often each fired."""
    faults = client.list_faults()
    if as_json:
        _print_json(faults)
        return
    if not faults:
        click.echo("no faults", err=True)
        return
    _table(
        [
            (
                f.id,
                f.stage,
                str(f.fired),
                "-" if f.remaining is None else str(f.remaining),
                f.mailbox_id or "all",
                f.reply,
            )
            for f in faults
        ],
        ("id", "stage", "fired", "left", "mailbox", "reply"),
    )


@faults_group.command("show")
@click.argument("fault_id")
@_json_option
@_connection
def faults_show(client: InboxKit, fault_id: str, as_json: bool) -> None:
    """Show one fault: its reply, how often it fired and what is left."""
    fault = client.get_fault(fault_id)
    _print_json(fault) if as_json else _show_fault(fault)


@faults_group.command("delete")
@click.argument("fault_ids", metavar="FAULT_ID...", nargs=-1, required=True)
@_connection
def faults_delete(client: InboxKit, fault_ids: tuple[str, ...]) -> None:
    """Delete faults; SMTP stops answering with them."""
    for fault_id in fault_ids:
        client.delete_fault(fault_id)
        click.echo(f"deleted fault {fault_id}", err=True)


@click.group("lists")
def lists_group() -> None:
    """Allow or block senders for your account's mailboxes (needs an API key). Mail from a
    blocked sender is stored with verdict "blocked" and hidden from agent inboxes; mail from
    an allowed one is never spam.

    \b
    inboxkit lists add block spam.example --subdomains
    inboxkit lists add allow alerts@bank.example --mailbox ADDRESS
    """


def _applies_to(entry: ListEntry) -> str:
    what = entry.entry + (" and its subdomains" if entry.subdomains else "")
    where = f"mailbox {entry.mailbox_id}" if entry.mailbox_id else "all of the account's mailboxes"
    return f"{what}, for {where}"


def _show_entry(entry: ListEntry) -> None:
    _table(
        [
            ("id", entry.id),
            ("type", entry.type),
            ("entry", entry.entry),
            ("kind", entry.kind),
            ("subdomains", "yes" if entry.subdomains else "no"),
            ("mailbox", entry.mailbox_id or "all of the account's"),
            ("created", _when(entry.created_at)),
        ]
    )


@lists_group.command("add")
@click.argument("list_type", metavar="allow|block", type=click.Choice(["allow", "block"]))
@click.argument("entry")
@click.option("--mailbox", default=None, help="Only this mailbox (id or address).")
@click.option("--subdomains", is_flag=True, help="A domain entry covers its subdomains too.")
@_json_option
@_connection
def lists_add(
    client: InboxKit,
    list_type: str,
    entry: str,
    mailbox: str | None,
    subdomains: bool,
    as_json: bool,
) -> None:
    """Allow or block ENTRY (an address, or a domain) as a sender; prints the entry's id."""
    added = client.add_list_entry(list_type, entry, mailbox=mailbox, subdomains=subdomains)
    if as_json:
        _print_json(added)
    else:
        click.echo(added.id)
        verb = "allowing" if added.type == "allow" else "blocking"
        _echo(f"{verb} {_applies_to(added)}", err=True)


@lists_group.command("list")
@click.option(
    "--type", "list_type", type=click.Choice(["allow", "block"]), default=None, help="One list."
)
@click.option("--mailbox", default=None, help="Only this mailbox's own entries.")
@_json_option
@_connection
def lists_list(client: InboxKit, list_type: str | None, mailbox: str | None, as_json: bool) -> None:
    """List the account's allow and block list entries, newest first."""
    entries = client.list_entries(type=list_type, mailbox=mailbox)
    if as_json:
        _print_json(entries)
        return
    if not entries:
        click.echo("no entries", err=True)
        return
    _table(
        [
            (
                e.id,
                e.type,
                e.mailbox_id or "all",
                "yes" if e.subdomains else "no",
                e.entry,
            )
            for e in entries
        ],
        ("id", "type", "mailbox", "subdomains", "entry"),
    )


@lists_group.command("show")
@click.argument("entry_id")
@_json_option
@_connection
def lists_show(client: InboxKit, entry_id: str, as_json: bool) -> None:
    """Show one entry."""
    entry = client.get_list_entry(entry_id)
    _print_json(entry) if as_json else _show_entry(entry)


@lists_group.command("delete")
@click.argument("entry_ids", metavar="ID...", nargs=-1, required=True)
@_connection
def lists_delete(client: InboxKit, entry_ids: tuple[str, ...]) -> None:
    """Remove entries; mail received afterwards is judged without them."""
    for entry_id in entry_ids:
        client.delete_list_entry(entry_id)
        click.echo(f"deleted list entry {entry_id}", err=True)


COMMANDS = (
    inbox_group,
    messages_command,
    threads_command,
    thread_command,
    search_command,
    read_command,
    wait_command,
    capture_command,
    send_command,
    ingest_command,
    reply_command,
    forward_command,
    label_command,
    usage_command,
    account_command,
    plans_group,
    accounts_group,
    faults_group,
    lists_group,
)


def register(group: click.Group) -> None:
    """Add the client commands to the `inboxkit` command group."""
    # Imported here: the domain commands use this module's plumbing.
    from inboxkit.client.domain_commands import domains_group
    from inboxkit.client.draft_commands import drafts_group

    for command in (*COMMANDS, domains_group, drafts_group):
        group.add_command(command)
