"""Every API operation, written once as a flow; `InboxKit` and `AsyncInboxKit` drive them."""

from __future__ import annotations

import base64
import copy
import mimetypes
import os
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx

from inboxkit.client.errors import InboxKitError, WaitTimeout
from inboxkit.client.models import (
    Account,
    ApiKey,
    ApiKeyCreated,
    Attachment,
    BatchResult,
    Domain,
    Draft,
    Fault,
    HandleAvailability,
    Ingested,
    ListEntry,
    Mailbox,
    MailboxCreated,
    Message,
    MessageSummary,
    Model,
    Page,
    PendingDraft,
    Plan,
    PlanLimits,
    SearchResult,
    SentMessage,
    Thread,
    Usage,
    WaitResult,
    Webhook,
    WebhookCreated,
    WebhookDelivery,
)
from inboxkit.client.protocol import Flow, Request, data, exchange, operation, query, segment
from inboxkit.client.rounds import WaitRounds

__all__ = ["ClientOperations", "DEFAULT_URL", "SERVER_MAX_WAIT", "AttachmentInput"]

DEFAULT_URL = "http://127.0.0.1:8025"
# The server answers one long-poll after at most this long; longer waits are several polls.
SERVER_MAX_WAIT = 60.0

M = TypeVar("M", bound=MessageSummary)
P = TypeVar("P", bound=Model)
InboxT = TypeVar("InboxT")  # Inbox or AsyncInbox
HttpT = TypeVar("HttpT", httpx.Client, httpx.AsyncClient)

# What `send(attachments=…)` takes: a path, (filename, bytes[, content_type]) or a mapping with
# filename, content (bytes) and optionally content_type and content_id (an inline image).
AttachmentInput = str | os.PathLike[str] | tuple[Any, ...] | Mapping[str, Any]


def _describe(filters: Mapping[str, Any], kind: str | None = None) -> str:
    """What a wait was looking for, for the timeout message."""
    parts = []
    for name, label in (
        ("from_contains", "from"),
        ("subject_contains", "subject"),
        ("to_contains", "to"),
    ):
        if filters.get(name):
            parts.append(f"{label} containing {filters[name]!r}")
    if filters.get("since"):
        parts.append(f"received since {filters['since']}")
    if filters.get("after"):
        parts.append(f"after message {filters['after']}")
    what = "message"
    if filters.get("has_code") == "true":
        what = "message with a code"
    if kind is not None:
        what = f"message with a {kind!r} link" if kind else "message with a link"
    return what + (" (" + ", ".join(parts) + ")" if parts else "")


def _attachment_payload(item: AttachmentInput) -> dict[str, str]:
    content_id = None
    if isinstance(item, Mapping):
        filename, content = item["filename"], item["content"]
        content_type = item.get("content_type")
        content_id = item.get("content_id")
    elif isinstance(item, tuple):
        filename, content, *rest = item
        content_type = rest[0] if rest else None
    else:
        path = Path(item)
        filename, content, content_type = path.name, path.read_bytes(), None
    if isinstance(content, str):
        content = content.encode()
    payload = {
        "filename": filename,
        "content_type": content_type
        or mimetypes.guess_type(filename)[0]
        or "application/octet-stream",
        "content": base64.b64encode(content).decode("ascii"),
    }
    if content_id:
        payload["content_id"] = content_id
    return payload


def _page(response: httpx.Response, model: type[P]) -> Page[P]:
    body = response.json()
    items = [model.model_validate(item) for item in body["data"]]
    return Page(items, (body.get("meta") or {}).get("next_cursor"))


def _a_label(domain: str) -> str:
    """A domain name as the API takes it: ASCII, an internationalised name in its xn-- form
    (the stdlib's codec; the server checks the result)."""
    name = domain.strip()
    if name.isascii():
        return name
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        return name  # the server answers what is wrong with it


def _as_list(value: str | Iterable[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def _wait_query(
    sender: str | None,
    subject: str | None,
    to: str | None,
    *,
    has_code: bool | None = None,
    since: datetime | None = None,
    after: str | None = None,
    mark_read: bool | None = None,
    thread_id: str | None = None,
) -> dict[str, str]:
    """The wait filters in the server's spelling (unset ones left out)."""
    return query(
        from_contains=sender,
        subject_contains=subject,
        to_contains=to,
        has_code=has_code,
        since=since,
        after=after,
        thread_id=thread_id,
        mark_read=mark_read,
    )


def _content(
    text: str | None, html: str | None, attachments: Iterable[AttachmentInput] | None
) -> dict[str, Any]:
    """The body parts of a message to send (send and reply), without the unset ones."""
    body: dict[str, Any] = {}
    if text is not None:
        body["text"] = text
    if html is not None:
        body["html"] = html
    if attachments:
        body["attachments"] = [_attachment_payload(item) for item in attachments]
    return body


def _change(
    is_read: bool | None,
    add_labels: str | Iterable[str] | None,
    remove_labels: str | Iterable[str] | None,
) -> dict[str, Any]:
    """The body of a message change: only the fields given."""
    body: dict[str, Any] = {}
    if is_read is not None:
        body["is_read"] = is_read
    for key, value in (
        ("add_labels", _as_list(add_labels)),
        ("remove_labels", _as_list(remove_labels)),
    ):
        if value:
            body[key] = value
    return body


def _idempotency(key: str | None) -> dict[str, str] | None:
    return {"Idempotency-Key": key} if key else None


def _plan_fields(limits: Mapping[str, Any]) -> dict[str, Any]:
    """Plan limit keyword arguments as the request body; a misspelt one is a TypeError here,
    not a field the server is left to refuse."""
    unknown = sorted(set(limits) - set(PlanLimits.model_fields))
    if unknown:
        raise TypeError(
            f"Unknown plan field(s): {', '.join(unknown)}. "
            f"Valid: {', '.join(PlanLimits.model_fields)}."
        )
    return dict(limits)


class ClientOperations(Generic[InboxT, HttpT]):
    """Configuration and the operations shared by `InboxKit` and `AsyncInboxKit`.

    `url` defaults to `INBOXKIT_URL`, then http://127.0.0.1:8025; `api_key` to
    `INBOXKIT_API_KEY`. Without a key, inboxes are created anonymously and each `Inbox` uses
    its own mailbox token. `max_poll` is the longest single long-poll (the server's cap is
    60 s); longer waits are made of several polls. An `http_client` passed in is used as it is
    and not closed with the client.
    """

    _UNSET: Any = object()

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        max_retry_wait: float = 60.0,
        max_poll: float = SERVER_MAX_WAIT,
        http_client: HttpT | None = None,
    ):
        base = (url or os.environ.get("INBOXKIT_URL") or DEFAULT_URL).strip().rstrip("/")
        self.url = base.removesuffix("/api/v1")
        self.api_key = api_key if api_key is not None else os.environ.get("INBOXKIT_API_KEY")
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        if max_poll <= 0:
            raise ValueError("max_poll must be more than 0 seconds")
        self.max_poll = min(max_poll, SERVER_MAX_WAIT)
        self._http: HttpT = http_client or self._open_http(timeout)
        self._owns_http = http_client is None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v1"

    def with_token(self, token: str | None) -> Any:
        """A client of the same kind using `token` (an API key or a mailbox token), sharing this
        one's connections. Closing it does not close them."""
        clone = copy.copy(self)
        clone.api_key = token
        clone._owns_http = False
        return clone

    def _inbox(self, mailbox: Mailbox, token: str | None) -> InboxT:
        raise NotImplementedError  # sync and async clients make their own kind of Inbox

    def _open_http(self, timeout: float) -> HttpT:
        raise NotImplementedError  # sync and async clients use their own kind of httpx client

    # -- plumbing ------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | list[str]] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        content: bytes | None = None,
    ) -> Flow[httpx.Response]:
        request = Request(
            method, path, params, json, headers or {}, timeout, self.api_key, content=content
        )
        return (
            yield from exchange(
                request, max_retries=self.max_retries, max_retry_wait=self.max_retry_wait
            )
        )

    def _bind(self, message: M) -> M:
        message._client = self
        return message

    def _long_poll(
        self, mailbox: str, params: dict[str, str], timeout: float
    ) -> Flow[MessageSummary | None]:
        """Wait up to `timeout` seconds in polls of at most `max_poll`, carrying on after each
        poll the server ends at its cap. None if nothing matched in time.

        A poll a closing server cuts short is followed by another: behind a load balancer the
        next one may reach a process that is not shutting down."""
        path = f"/mailboxes/{segment(mailbox)}/wait"
        for poll in WaitRounds(timeout, self.max_poll, stop_when_cut_short=False):
            response = yield from self._call(
                "GET", path, params={**params, **query(timeout=poll)}, timeout=poll + self.timeout
            )
            result = WaitResult.model_validate(data(response))
            if result.message is not None:
                return self._bind(result.message)
        return None

    def _timed_out(
        self,
        mailbox: str,
        timeout: float,
        params: dict[str, str],
        looking_for: str,
        started: datetime,
    ) -> Flow[WaitTimeout]:
        """The timeout error, listing what the inbox received, for a useful failure message."""
        try:
            recent: list[MessageSummary] | None = list(
                (yield from self.list_messages.flow(mailbox, limit=10))
            )
        except InboxKitError:
            recent = None
        return WaitTimeout(
            mailbox=mailbox,
            timeout=timeout,
            looking_for=looking_for,
            started_at=started,
            recent=recent,
            skips_read="since" not in params and "after" not in params,
        )

    # -- mailboxes -----------------------------------------------------------------------------

    @operation
    def create_mailbox(
        self,
        *,
        mode: str = "test",
        handle: str | None = None,
        domain: str | None = None,
        ttl_minutes: int | None = None,
        name: str | None = None,
    ) -> Flow[MailboxCreated]:
        """Create a mailbox. Test mode (default): a random address that expires. Agent mode: a
        persistent identity that may claim a `handle`. `token` is only in this answer."""
        body = {
            key: value
            for key, value in {
                "mode": mode,
                "handle": handle,
                "domain": domain,
                "ttl_minutes": ttl_minutes,
                "name": name,
            }.items()
            if value is not None
        }
        response = yield from self._call("POST", "/mailboxes", json=body)
        return MailboxCreated.model_validate(data(response))

    @operation
    def create_inbox(
        self,
        *,
        mode: str = "test",
        handle: str | None = None,
        domain: str | None = None,
        ttl_minutes: int | None = None,
        name: str | None = None,
    ) -> Flow[InboxT]:
        """Create a mailbox and return it as an Inbox (`with` it to delete it afterwards)."""
        created = yield from self.create_mailbox.flow(
            mode=mode, handle=handle, domain=domain, ttl_minutes=ttl_minutes, name=name
        )
        return self._inbox(created, created.token)

    @operation
    def get_inbox(self, mailbox: str, *, token: str | None = None) -> Flow[InboxT]:
        """An Inbox for an existing mailbox (id or address), reached with its mailbox `token`
        if given, else with this client's API key."""
        client = self.with_token(token) if token else self
        found = yield from client.get_mailbox.flow(mailbox)
        return client._inbox(found, token)

    @operation
    def list_mailboxes(self, *, limit: int = 50, cursor: str | None = None) -> Flow[Page[Mailbox]]:
        """The caller's live mailboxes, newest first, one page at a time."""
        response = yield from self._call(
            "GET", "/mailboxes", params=query(limit=limit, cursor=cursor)
        )
        return _page(response, Mailbox)

    @operation
    def get_mailbox(self, mailbox: str) -> Flow[Mailbox]:
        """One mailbox by id or address, with `message_count` and `unread_count`."""
        response = yield from self._call("GET", f"/mailboxes/{segment(mailbox)}")
        return Mailbox.model_validate(data(response))

    @operation
    def update_mailbox(
        self,
        mailbox: str,
        *,
        name: str | None = _UNSET,
        ttl_minutes: int | None = None,
        outbound_review: bool | None = None,
    ) -> Flow[Mailbox]:
        """Rename a mailbox, extend its life to `ttl_minutes` from now, and/or turn outbound
        review on or off (an account's API key only: the mailbox's own token may not)."""
        body: dict[str, Any] = {}
        if name is not self._UNSET:
            body["name"] = name
        if ttl_minutes is not None:
            body["ttl_minutes"] = ttl_minutes
        if outbound_review is not None:
            body["outbound_review"] = outbound_review
        response = yield from self._call("PATCH", f"/mailboxes/{segment(mailbox)}", json=body)
        return Mailbox.model_validate(data(response))

    @operation
    def delete_mailbox(self, mailbox: str) -> Flow[None]:
        """Delete a mailbox and purge its messages; its address then refuses mail for good."""
        yield from self._call("DELETE", f"/mailboxes/{segment(mailbox)}")

    # -- capture -------------------------------------------------------------------------------

    @operation
    def capture_mailbox(self) -> Flow[Mailbox]:
        """The account's capture mailbox (`mode: "capture"`, never expires), made on first use:
        mail your application hands to inboxkit with an API key that has the `capture` scope
        (SMTP AUTH, or a provider's send API) lands there, whatever address it was sent to."""
        response = yield from self._call("GET", "/capture")
        return Mailbox.model_validate(data(response))

    @operation
    def capture(self) -> Flow[InboxT]:
        """The account's capture mailbox as an Inbox, to wait for and read what your
        application sent, by the address it sent to:

            code = client.capture().wait_for_code(to="alice@example.com")

        Needs an API key (`mailboxes:read` or `capture` scope to find it; `messages:read` to
        read it). Leaving a `with` block deletes the mailbox with its mail; the next capture
        makes a new one."""
        found = yield from self.capture_mailbox.flow()
        return self._inbox(found, None)

    @operation
    def check_handle(self, handle: str, *, domain: str | None = None) -> Flow[HandleAvailability]:
        """Whether an agent-mode handle can still be claimed, and if not, why."""
        response = yield from self._call(
            "GET", f"/handles/{segment(handle)}", params=query(domain=domain)
        )
        return HandleAvailability.model_validate(data(response))

    # -- messages ------------------------------------------------------------------------------

    @operation
    def list_messages(
        self,
        mailbox: str,
        *,
        limit: int = 50,
        cursor: str | None = None,
        unread: bool | None = None,
        since: datetime | None = None,
        sender: str | None = None,
        subject: str | None = None,
        q: str | None = None,
        direction: str | None = None,
        to: str | None = None,
        spam: bool = False,
        label: str | None = None,
    ) -> Flow[Page[MessageSummary]]:
        """Message summaries, newest first. Text filters are case-insensitive substrings:
        `sender` (address or name), `subject`, `to` (a To or Cc address, or an envelope
        recipient: the address an application sent captured mail to). `q` is a search query
        (docs/search.md: words, "phrases", from:, subject:, is:unread, …) over the full-text
        index. An agent mailbox leaves out spam and blocked senders; `spam=True` lists only
        those (the spam folder). `label` keeps the messages carrying that label (user, or the
        system labels `sent` and `spam`)."""
        params = query(
            limit=limit,
            cursor=cursor,
            unread=unread,
            since=since,
            subject=subject,
            to=to,
            q=q,
            direction=direction,
            spam=True if spam else None,
            label=label,
            **{"from": sender},
        )
        response = yield from self._call(
            "GET", f"/mailboxes/{segment(mailbox)}/messages", params=params
        )
        page = _page(response, MessageSummary)
        for item in page:
            self._bind(item)
        return page

    @operation
    def list_threads(
        self, mailbox: str, *, limit: int = 50, cursor: str | None = None, spam: bool = False
    ) -> Flow[Page[Thread]]:
        """The mailbox's conversations, newest activity first, with message and unread counts;
        `spam=True`: those of the mail hidden as spam."""
        params = query(limit=limit, cursor=cursor, spam=True if spam else None)
        response = yield from self._call(
            "GET", f"/mailboxes/{segment(mailbox)}/threads", params=params
        )
        page = _page(response, Thread)
        for thread in page:
            for message in thread.messages:
                self._bind(message)
        return page

    @operation
    def get_thread(
        self,
        mailbox: str,
        thread_id: str,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        spam: bool = False,
    ) -> Flow[Thread]:
        """A conversation with its messages, oldest first (at most `limit`, 500 by default;
        `next_cursor` pages on)."""
        response = yield from self._call(
            "GET",
            f"/mailboxes/{segment(mailbox)}/threads/{segment(thread_id)}",
            params=query(limit=limit, cursor=cursor, spam=True if spam else None),
        )
        body = response.json()
        thread = Thread.model_validate(
            {**body["data"], "next_cursor": (body.get("meta") or {}).get("next_cursor")}
        )
        for message in thread.messages:
            self._bind(message)
        return thread

    @operation
    def search(
        self,
        q: str,
        *,
        mailbox: str | None = None,
        sort: str = "newest",
        spam: bool = False,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Flow[Page[SearchResult]]:
        """Messages matching the query `q` (docs/search.md) in every mailbox this token may
        read, or in `mailbox` only; newest first, or `sort="relevance"`. Each result carries
        `highlights`. Mail hidden as spam is searched only with `spam=True`."""
        params = query(
            q=q,
            mailbox=mailbox,
            sort=None if sort == "newest" else sort,
            spam=True if spam else None,
            limit=limit,
            cursor=cursor,
        )
        response = yield from self._call("GET", "/search", params=params)
        page = _page(response, SearchResult)
        for item in page:
            self._bind(item)
        return page

    @operation
    def all_messages(
        self,
        mailbox: str,
        *,
        unread: bool | None = None,
        since: datetime | None = None,
        sender: str | None = None,
        subject: str | None = None,
        q: str | None = None,
        direction: str | None = None,
        to: str | None = None,
        spam: bool = False,
        label: str | None = None,
        max_items: int | None = None,
    ) -> Flow[list[MessageSummary]]:
        """Every matching message (following the cursor), newest first, up to `max_items`;
        with `spam=True`, those hidden as spam instead."""
        items: list[MessageSummary] = []
        cursor = None
        while True:
            page = yield from self.list_messages.flow(
                mailbox,
                limit=200,
                cursor=cursor,
                unread=unread,
                since=since,
                sender=sender,
                subject=subject,
                q=q,
                direction=direction,
                to=to,
                spam=spam,
                label=label,
            )
            items.extend(page.items)
            cursor = page.next_cursor
            if cursor is None or (max_items is not None and len(items) >= max_items):
                return items[:max_items] if max_items is not None else items

    @operation
    def get_message(
        self, mailbox: str, message_id: str, *, mark_read: bool = True
    ) -> Flow[Message]:
        """The whole message: text, HTML, headers, attachments, envelope, codes and links.
        Marks it read unless `mark_read=False`."""
        response = yield from self._call(
            "GET",
            f"/mailboxes/{segment(mailbox)}/messages/{segment(message_id)}",
            params=query(mark_read=mark_read),
        )
        return self._bind(Message.model_validate(data(response)))

    @operation
    def get_raw(self, mailbox: str, message_id: str) -> Flow[bytes]:
        """The exact bytes received (an RFC 5322 message)."""
        response = yield from self._call(
            "GET", f"/mailboxes/{segment(mailbox)}/messages/{segment(message_id)}/raw"
        )
        return response.content

    @operation
    def get_attachment(
        self, mailbox: str, message_id: str, attachment: Attachment | str
    ) -> Flow[bytes]:
        """An attachment's decoded bytes, by `Attachment` or attachment id."""
        attachment_id = attachment.id if isinstance(attachment, Attachment) else attachment
        response = yield from self._call(
            "GET",
            f"/mailboxes/{segment(mailbox)}/messages/{segment(message_id)}"
            f"/attachments/{segment(attachment_id)}",
        )
        return response.content

    @operation
    def update_message(
        self,
        mailbox: str,
        message_id: str,
        *,
        is_read: bool | None = None,
        add_labels: str | Iterable[str] | None = None,
        remove_labels: str | Iterable[str] | None = None,
    ) -> Flow[Message]:
        """Mark a message read or unread, and add or remove labels (give at least one)."""
        response = yield from self._call(
            "PATCH",
            f"/mailboxes/{segment(mailbox)}/messages/{segment(message_id)}",
            json=_change(is_read, add_labels, remove_labels),
        )
        return self._bind(Message.model_validate(data(response)))

    @operation
    def label(
        self,
        mailbox: str,
        message_id: str,
        *,
        add: str | Iterable[str] | None = None,
        remove: str | Iterable[str] | None = None,
    ) -> Flow[Message]:
        """Add and/or remove labels on one message (case-insensitive; stored lower-case);
        returns the message as it is now."""
        return (
            yield from self.update_message.flow(
                mailbox, message_id, add_labels=add, remove_labels=remove
            )
        )

    @operation
    def update_messages(
        self,
        mailbox: str,
        ids: Iterable[str],
        *,
        is_read: bool | None = None,
        add_labels: str | Iterable[str] | None = None,
        remove_labels: str | Iterable[str] | None = None,
    ) -> Flow[BatchResult]:
        """One change to up to 100 messages of the mailbox, all or nothing: if one id is not
        a message of the mailbox, NotFound and no message changes."""
        response = yield from self._call(
            "POST",
            f"/mailboxes/{segment(mailbox)}/messages/batch",
            json={"ids": list(ids), **_change(is_read, add_labels, remove_labels)},
        )
        result = BatchResult.model_validate(data(response))
        for item in result.messages:
            self._bind(item)
        return result

    @operation
    def delete_message(self, mailbox: str, message_id: str) -> Flow[None]:
        """Delete a message; its content is purged."""
        yield from self._call(
            "DELETE", f"/mailboxes/{segment(mailbox)}/messages/{segment(message_id)}"
        )

    # -- waiting -------------------------------------------------------------------------------

    @operation
    def wait(
        self,
        mailbox: str,
        *,
        timeout: float = 30.0,
        sender: str | None = None,
        subject: str | None = None,
        to: str | None = None,
        has_code: bool | None = None,
        since: datetime | None = None,
        after: str | None = None,
        mark_read: bool = True,
        thread_id: str | None = None,
    ) -> Flow[MessageSummary | None]:
        """The oldest unread matching message (with `since`/`after`: the oldest matching one after
        that point), waiting up to `timeout` seconds for it; None if none came. Marks it read
        unless `mark_read=False`, so successive waits walk the inbox in order. With
        `thread_id`, only a message of that conversation (the next reply)."""
        params = _wait_query(
            sender,
            subject,
            to,
            has_code=has_code,
            since=since,
            after=after,
            mark_read=mark_read,
            thread_id=thread_id,
        )
        return (yield from self._long_poll(mailbox, params, timeout))

    @operation
    def wait_for_message(
        self,
        mailbox: str,
        *,
        timeout: float = 30.0,
        sender: str | None = None,
        subject: str | None = None,
        to: str | None = None,
        has_code: bool | None = None,
        since: datetime | None = None,
        after: str | None = None,
        mark_read: bool = True,
        thread_id: str | None = None,
    ) -> Flow[Message]:
        """Like `wait`, but returns the whole message, and raises `WaitTimeout` (listing what
        did arrive) when no matching message comes within `timeout` seconds."""
        started = datetime.now(UTC)
        params = _wait_query(
            sender,
            subject,
            to,
            has_code=has_code,
            since=since,
            after=after,
            mark_read=mark_read,
            thread_id=thread_id,
        )
        found = yield from self._long_poll(mailbox, params, timeout)
        if found is None:
            raise (yield from self._timed_out(mailbox, timeout, params, _describe(params), started))
        return (yield from self.get_message.flow(mailbox, found.id, mark_read=False))

    @operation
    def wait_for_code(
        self,
        mailbox: str,
        *,
        timeout: float = 30.0,
        sender: str | None = None,
        subject: str | None = None,
        to: str | None = None,
        since: datetime | None = None,
        after: str | None = None,
    ) -> Flow[str]:
        """The one-time code (e.g. "482913") from the next message that has one; `WaitTimeout`
        if none comes within `timeout` seconds."""
        started = datetime.now(UTC)
        params = _wait_query(sender, subject, to, has_code=True, since=since, after=after)
        found = yield from self._long_poll(mailbox, params, timeout)
        if found is None or not found.codes:
            raise (yield from self._timed_out(mailbox, timeout, params, _describe(params), started))
        return found.codes[0]

    @operation
    def wait_for_link(
        self,
        mailbox: str,
        kind: str | None = None,
        *,
        timeout: float = 30.0,
        sender: str | None = None,
        subject: str | None = None,
        to: str | None = None,
        since: datetime | None = None,
        after: str | None = None,
    ) -> Flow[str]:
        """The URL of the best link of `kind` ("verify", "login", "reset", "unsubscribe",
        "other"; any if None) in the next message that has one. Messages without such a link
        are passed over (and marked read). `WaitTimeout` if none comes in time."""
        started = datetime.now(UTC)
        deadline = time.monotonic() + timeout
        params = _wait_query(sender, subject, to, since=since)
        cursor = after
        while True:
            remaining = max(0.0, deadline - time.monotonic())
            found = yield from self._long_poll(
                mailbox, {**params, **query(after=cursor)}, remaining
            )
            if found is None:
                asked = {**params, **query(after=after)}
                looking_for = _describe(asked, kind or "")
                raise (yield from self._timed_out(mailbox, timeout, asked, looking_for, started))
            link = found.link(kind)
            if link is not None:
                return link.url
            cursor = found.id

    # -- sending -------------------------------------------------------------------------------

    @operation
    def send(
        self,
        mailbox: str,
        *,
        to: str | Iterable[str],
        subject: str = "",
        text: str | None = None,
        html: str | None = None,
        cc: str | Iterable[str] | None = None,
        bcc: str | Iterable[str] | None = None,
        attachments: Iterable[AttachmentInput] | None = None,
        idempotency_key: str | None = None,
    ) -> Flow[SentMessage | PendingDraft]:
        """Send mail From the mailbox's address. Returns the stored outbound message, whose
        `delivery_status` is `queued` until it is delivered; for a mailbox under review, a
        `PendingDraft` instead (nothing sent; it awaits approval). With `idempotency_key`,
        retrying the same request sends once."""
        body: dict[str, Any] = {"to": _as_list(to), "subject": subject}
        for key, value in (("cc", _as_list(cc)), ("bcc", _as_list(bcc))):
            if value:
                body[key] = value
        body.update(_content(text, html, attachments))
        response = yield from self._call(
            "POST",
            f"/mailboxes/{segment(mailbox)}/send",
            json=body,
            headers=_idempotency(idempotency_key),
        )
        return self._sent(response)

    @operation
    def reply(
        self,
        mailbox: str,
        message_id: str,
        *,
        text: str | None = None,
        html: str | None = None,
        reply_all: bool = False,
        attachments: Iterable[AttachmentInput] | None = None,
        idempotency_key: str | None = None,
    ) -> Flow[SentMessage | PendingDraft]:
        """Reply to a message: to its Reply-To or From (with `reply_all`, also to its other
        recipients), threaded with `In-Reply-To`, `References` and a "Re:" subject (a
        `PendingDraft` for a mailbox under review)."""
        response = yield from self._call(
            "POST",
            f"/mailboxes/{segment(mailbox)}/messages/{segment(message_id)}/reply",
            json={"reply_all": reply_all, **_content(text, html, attachments)},
            headers=_idempotency(idempotency_key),
        )
        return self._sent(response)

    def _sent(self, response: httpx.Response) -> SentMessage | PendingDraft:
        body = response.json()
        if body.get("review"):
            return PendingDraft(draft=Draft.model_validate(body["data"]), review=body["review"])
        return self._bind(SentMessage.model_validate(body["data"]))

    # -- drafts (DESIGN §13) ---------------------------------------------------------------------

    @operation
    def create_draft(
        self,
        mailbox: str,
        *,
        to: str | Iterable[str] | None = None,
        subject: str = "",
        text: str | None = None,
        html: str | None = None,
        cc: str | Iterable[str] | None = None,
        bcc: str | Iterable[str] | None = None,
        attachments: Iterable[AttachmentInput] | None = None,
        in_reply_to: str | None = None,
        reply_all: bool = False,
        send_at: datetime | str | None = None,
    ) -> Flow[Draft]:
        """Keep a message to send later; `in_reply_to` (a message id of the mailbox) makes it a
        reply, `send_at` (aware datetime or RFC 3339) schedules it."""
        body: dict[str, Any] = {"subject": subject, "reply_all": reply_all}
        for key, value in (("to", _as_list(to)), ("cc", _as_list(cc)), ("bcc", _as_list(bcc))):
            if value:
                body[key] = value
        body.update(_content(text, html, attachments))
        if in_reply_to is not None:
            body["in_reply_to"] = in_reply_to
        if send_at is not None:
            body["send_at"] = send_at.isoformat() if isinstance(send_at, datetime) else send_at
        response = yield from self._call("POST", f"/mailboxes/{segment(mailbox)}/drafts", json=body)
        return Draft.model_validate(data(response))

    @operation
    def drafts(
        self,
        mailbox: str,
        *,
        status: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Flow[Page[Draft]]:
        """The mailbox's drafts, newest first; `status` keeps one status."""
        params = query(status=status, limit=str(limit), cursor=cursor)
        response = yield from self._call(
            "GET", f"/mailboxes/{segment(mailbox)}/drafts", params=params
        )
        return _page(response, Draft)

    @operation
    def draft(self, mailbox: str, draft_id: str) -> Flow[Draft]:
        """One draft."""
        response = yield from self._call(
            "GET", f"/mailboxes/{segment(mailbox)}/drafts/{segment(draft_id)}"
        )
        return Draft.model_validate(data(response))

    @operation
    def update_draft(self, mailbox: str, draft_id: str, **changes: Any) -> Flow[Draft]:
        """Change a draft's fields (to, cc, bcc, subject, text, html, attachments,
        in_reply_to, reply_all, send_at; `send_at=None` unschedules it)."""
        body = dict(changes)
        if isinstance(body.get("send_at"), datetime):
            body["send_at"] = body["send_at"].isoformat()
        for key in ("to", "cc", "bcc"):
            if key in body and body[key] is not None:
                body[key] = _as_list(body[key])
        if body.get("attachments"):
            body["attachments"] = [_attachment_payload(item) for item in body["attachments"]]
        response = yield from self._call(
            "PATCH", f"/mailboxes/{segment(mailbox)}/drafts/{segment(draft_id)}", json=body
        )
        return Draft.model_validate(data(response))

    @operation
    def delete_draft(self, mailbox: str, draft_id: str) -> Flow[None]:
        """Discard a draft; a scheduled one is then never sent."""
        yield from self._call("DELETE", f"/mailboxes/{segment(mailbox)}/drafts/{segment(draft_id)}")

    @operation
    def send_draft(self, mailbox: str, draft_id: str) -> Flow[Draft]:
        """Send a draft now (under review: submit it for approval; see its `status`)."""
        response = yield from self._call(
            "POST", f"/mailboxes/{segment(mailbox)}/drafts/{segment(draft_id)}/send"
        )
        return Draft.model_validate(data(response))

    @operation
    def approve_draft(
        self, mailbox: str, draft_id: str, *, updated_at: datetime | str | None = None
    ) -> Flow[Draft]:
        """Approve a draft awaiting review (an account's API key only): sent now, or at its
        `send_at`. Pass the `updated_at` of the draft you reviewed (`draft.updated_at`) and an
        edit made since is refused (`Conflict`) instead of sent."""
        body: dict[str, Any] = {}
        if updated_at is not None:
            body["updated_at"] = (
                updated_at.isoformat() if isinstance(updated_at, datetime) else updated_at
            )
        response = yield from self._call(
            "POST",
            f"/mailboxes/{segment(mailbox)}/drafts/{segment(draft_id)}/approve",
            json=body or None,
        )
        return Draft.model_validate(data(response))

    @operation
    def forward(
        self,
        mailbox: str,
        message_id: str,
        *,
        to: str | Iterable[str],
        text: str | None = None,
        html: str | None = None,
        cc: str | Iterable[str] | None = None,
        bcc: str | Iterable[str] | None = None,
        idempotency_key: str | None = None,
    ) -> Flow[SentMessage | PendingDraft]:
        """Forward a message of the mailbox as mail clients do: "Fwd:" subject, your `text`
        (or `html`) above the original inline, and the original's attachments (a
        `PendingDraft` for a mailbox under review)."""
        body: dict[str, Any] = {"to": _as_list(to)}
        for key, value in (("cc", _as_list(cc)), ("bcc", _as_list(bcc))):
            if value:
                body[key] = value
        if text is not None:
            body["text"] = text
        if html is not None:
            body["html"] = html
        response = yield from self._call(
            "POST",
            f"/mailboxes/{segment(mailbox)}/messages/{segment(message_id)}/forward",
            json=body,
            headers=_idempotency(idempotency_key),
        )
        return self._sent(response)

    # -- webhooks ------------------------------------------------------------------------------

    @operation
    def create_webhook(
        self,
        url: str,
        *,
        mailbox: str | None = None,
        events: Iterable[str] | None = None,
        description: str | None = None,
    ) -> Flow[WebhookCreated]:
        """Register a webhook (for one mailbox, or all of the account's). The signing secret
        (`whsec_…`) is only in this answer."""
        body: dict[str, Any] = {"url": url}
        if mailbox is not None:
            body["mailbox"] = mailbox
        if events is not None:
            body["events"] = list(events)
        if description is not None:
            body["description"] = description
        response = yield from self._call("POST", "/webhooks", json=body)
        return WebhookCreated.model_validate(data(response))

    @operation
    def list_webhooks(self, *, limit: int = 50, cursor: str | None = None) -> Flow[Page[Webhook]]:
        """The account's webhooks, newest first (secrets are never shown again)."""
        response = yield from self._call(
            "GET", "/webhooks", params=query(limit=limit, cursor=cursor)
        )
        return _page(response, Webhook)

    @operation
    def get_webhook(self, webhook_id: str) -> Flow[Webhook]:
        """One webhook."""
        response = yield from self._call("GET", f"/webhooks/{segment(webhook_id)}")
        return Webhook.model_validate(data(response))

    @operation
    def delete_webhook(self, webhook_id: str) -> Flow[None]:
        """Remove a webhook; deliveries still queued for it are dropped."""
        yield from self._call("DELETE", f"/webhooks/{segment(webhook_id)}")

    @operation
    def list_webhook_deliveries(
        self,
        webhook_id: str,
        *,
        limit: int = 50,
        cursor: str | None = None,
        status: str | None = None,
    ) -> Flow[Page[WebhookDelivery]]:
        """Deliveries to a webhook, newest first, each with its attempts (`status`: pending,
        delivered or failed)."""
        response = yield from self._call(
            "GET",
            f"/webhooks/{segment(webhook_id)}/deliveries",
            params=query(limit=limit, cursor=cursor, status=status),
        )
        return _page(response, WebhookDelivery)

    @operation
    def test_webhook(self, webhook_id: str) -> Flow[WebhookDelivery]:
        """Send a signed `webhook.test` event now; the delivery shows the first attempt."""
        response = yield from self._call("POST", f"/webhooks/{segment(webhook_id)}/test")
        return WebhookDelivery.model_validate(data(response))

    # -- fault injection -----------------------------------------------------------------------

    @operation
    def create_fault(
        self,
        stage: str,
        code: int,
        *,
        message: str | None = None,
        probability: float | None = None,
        count: int | None = None,
        mailbox: str | None = None,
    ) -> Flow[Fault]:
        """Make SMTP answer `code` at `stage` ("connect", "mail", "rcpt" or "data") for mail
        to the account's mailboxes (or `mailbox`): with `count`, for the next `count` matches;
        with `probability`, each match fires with that chance. E.g.
        `create_fault("rcpt", 451, count=2)` makes the next two recipients get `451 4.3.0`."""
        body: dict[str, Any] = {"stage": stage, "code": code}
        for name, value in (
            ("message", message),
            ("probability", probability),
            ("count", count),
            ("mailbox", mailbox),
        ):
            if value is not None:
                body[name] = value
        response = yield from self._call("POST", "/faults", json=body)
        return Fault.model_validate(data(response))

    @operation
    def list_faults(self) -> Flow[list[Fault]]:
        """The account's faults, newest first, with how many times each fired."""
        response = yield from self._call("GET", "/faults")
        return [Fault.model_validate(item) for item in data(response)]

    @operation
    def get_fault(self, fault_id: str) -> Flow[Fault]:
        """One fault, with `fired` and `remaining`."""
        response = yield from self._call("GET", f"/faults/{segment(fault_id)}")
        return Fault.model_validate(data(response))

    @operation
    def delete_fault(self, fault_id: str) -> Flow[None]:
        """Remove a fault; SMTP stops answering with it."""
        yield from self._call("DELETE", f"/faults/{segment(fault_id)}")

    # -- allow and block lists ------------------------------------------------------------------

    @operation
    def add_list_entry(
        self,
        type: str,
        entry: str,
        *,
        mailbox: str | None = None,
        subdomains: bool = False,
    ) -> Flow[ListEntry]:
        """Put a sender on the account's allow or block list (`type` "allow" or "block"), or
        only `mailbox`'s. `entry` is an address (matched exactly) or a domain (with
        `subdomains`, its subdomains too), compared with the envelope sender and the From
        header. Allowed mail is never spam; blocked mail is stored with verdict "blocked" and
        hidden from agent inboxes. The same entry twice is `Conflict`."""
        body: dict[str, Any] = {"type": type, "entry": entry, "subdomains": subdomains}
        if mailbox is not None:
            body["mailbox"] = mailbox
        response = yield from self._call("POST", "/lists", json=body)
        return ListEntry.model_validate(data(response))

    @operation
    def allow(
        self, entry: str, *, mailbox: str | None = None, subdomains: bool = False
    ) -> Flow[ListEntry]:
        """Trust a sender (address or domain): its mail is never treated as spam."""
        return (
            yield from self.add_list_entry.flow(
                "allow", entry, mailbox=mailbox, subdomains=subdomains
            )
        )

    @operation
    def block(
        self, entry: str, *, mailbox: str | None = None, subdomains: bool = False
    ) -> Flow[ListEntry]:
        """Block a sender (address or domain): its mail is stored with verdict "blocked",
        which agent inboxes hide from their default views (`list_messages(..., spam=True)`
        lists it; test inboxes hide nothing)."""
        return (
            yield from self.add_list_entry.flow(
                "block", entry, mailbox=mailbox, subdomains=subdomains
            )
        )

    @operation
    def list_entries(
        self, *, type: str | None = None, mailbox: str | None = None
    ) -> Flow[list[ListEntry]]:
        """The account's allow and block list entries, newest first; `type` keeps one list,
        `mailbox` that mailbox's own entries."""
        response = yield from self._call("GET", "/lists", params=query(type=type, mailbox=mailbox))
        return [ListEntry.model_validate(item) for item in data(response)]

    @operation
    def get_list_entry(self, entry_id: str) -> Flow[ListEntry]:
        """One allow or block list entry."""
        response = yield from self._call("GET", f"/lists/{segment(entry_id)}")
        return ListEntry.model_validate(data(response))

    @operation
    def delete_list_entry(self, entry_id: str) -> Flow[None]:
        """Remove an entry; mail received from then on is judged without it."""
        yield from self._call("DELETE", f"/lists/{segment(entry_id)}")

    # -- custom domains --------------------------------------------------------------------------

    @operation
    def add_domain(self, domain: str, *, wildcard: bool = False) -> Flow[Domain]:
        """Add a custom domain (status "pending"): publish its `records` (or `domain_zone_file`)
        at the DNS host, then `verify_domain`. `wildcard` also serves every subdomain. A name
        in Unicode is sent in its IDNA (xn--) form."""
        body = {"domain": _a_label(domain), "wildcard": wildcard}
        response = yield from self._call("POST", "/domains", json=body)
        return Domain.model_validate(data(response))

    @operation
    def list_domains(self, *, limit: int = 50, cursor: str | None = None) -> Flow[Page[Domain]]:
        """The account's custom domains, newest first, one page at a time."""
        response = yield from self._call(
            "GET", "/domains", params=query(limit=limit, cursor=cursor)
        )
        return _page(response, Domain)

    @operation
    def get_domain(self, domain_id: str) -> Flow[Domain]:
        """One custom domain with its records."""
        response = yield from self._call("GET", f"/domains/{segment(domain_id)}")
        return Domain.model_validate(data(response))

    @operation
    def verify_domain(self, domain_id: str) -> Flow[Domain]:
        """Check the domain's TXT and MX records and mark it verified; `ValidationError` (422)
        names each record that is missing or wrong and what to publish."""
        response = yield from self._call("POST", f"/domains/{segment(domain_id)}/verify")
        return Domain.model_validate(data(response))

    @operation
    def domain_zone_file(self, domain_id: str) -> Flow[str]:
        """The domain's records as BIND zone text (no SOA or NS: the DNS host keeps its own)."""
        response = yield from self._call("GET", f"/domains/{segment(domain_id)}/zone-file")
        return response.text

    @operation
    def rotate_dkim(self, domain_id: str) -> Flow[Domain]:
        """A new DKIM key signs the domain's mail from now on; publish its record. The old
        selector stays in `records` (retired) until `drop_dkim_selector`."""
        response = yield from self._call("POST", f"/domains/{segment(domain_id)}/dkim/rotate")
        return Domain.model_validate(data(response))

    @operation
    def drop_dkim_selector(self, domain_id: str, selector: str) -> Flow[Domain]:
        """Forget a retired DKIM selector, once its record is gone from DNS."""
        response = yield from self._call(
            "DELETE", f"/domains/{segment(domain_id)}/dkim/retired/{segment(selector)}"
        )
        return Domain.model_validate(data(response))

    @operation
    def delete_domain(self, domain_id: str) -> Flow[None]:
        """Remove a custom domain: its mail is refused from then on; its mailboxes stay
        readable but receive nothing."""
        yield from self._call("DELETE", f"/domains/{segment(domain_id)}")

    # -- plans, accounts and usage -------------------------------------------------------------

    @operation
    def usage(self) -> Flow[Usage]:
        """The caller's plan, this month's figures (mailboxes, mail received and sent, storage)
        and the plan's limits. With a mailbox token: its account's, or for an anonymous
        mailbox, that mailbox's own."""
        response = yield from self._call("GET", "/usage")
        return Usage.model_validate(data(response))

    @operation
    def account(self) -> Flow[Account]:
        """The caller's own account, with its plan and the plan's limits."""
        response = yield from self._call("GET", "/account")
        return Account.model_validate(data(response))

    @operation
    def create_plan(self, name: str, **limits: Any) -> Flow[Plan]:
        """Create a plan (admin scope). Limits not given are unlimited, e.g.
        `create_plan("free", max_mailboxes=5, sent_per_month=100, send="local")`."""
        body = {"name": name, **_plan_fields(limits)}
        response = yield from self._call("POST", "/plans", json=body)
        return Plan.model_validate(data(response))

    @operation
    def list_plans(self) -> Flow[list[Plan]]:
        """Every plan, the built-in `anonymous` and `default` included (admin scope)."""
        response = yield from self._call("GET", "/plans")
        return [Plan.model_validate(item) for item in data(response)]

    @operation
    def get_plan(self, name: str) -> Flow[Plan]:
        """One plan by name (admin scope)."""
        response = yield from self._call("GET", f"/plans/{segment(name)}")
        return Plan.model_validate(data(response))

    @operation
    def update_plan(self, name: str, **limits: Any) -> Flow[Plan]:
        """Change some of a plan's limits (admin scope); `None` makes one unlimited. It applies
        at once to every account on the plan."""
        response = yield from self._call(
            "PATCH", f"/plans/{segment(name)}", json=_plan_fields(limits)
        )
        return Plan.model_validate(data(response))

    @operation
    def delete_plan(self, name: str) -> Flow[None]:
        """Delete a plan no account is on (admin scope); the built-in ones cannot be."""
        yield from self._call("DELETE", f"/plans/{segment(name)}")

    @operation
    def create_account(self, name: str, *, plan: str | None = None) -> Flow[Account]:
        """Create an account (admin scope), on `plan` or the `default` plan; give it keys with
        `create_key(..., account_id=account.id)`."""
        body: dict[str, Any] = {"name": name}
        if plan is not None:
            body["plan"] = plan
        response = yield from self._call("POST", "/accounts", json=body)
        return Account.model_validate(data(response))

    @operation
    def list_accounts(self, *, limit: int = 50, cursor: str | None = None) -> Flow[Page[Account]]:
        """Accounts, one page at a time (admin scope)."""
        response = yield from self._call(
            "GET", "/accounts", params=query(limit=limit, cursor=cursor)
        )
        return _page(response, Account)

    @operation
    def get_account(self, account_id: str) -> Flow[Account]:
        """One account (admin scope)."""
        response = yield from self._call("GET", f"/accounts/{segment(account_id)}")
        return Account.model_validate(data(response))

    @operation
    def update_account(
        self, account_id: str, *, plan: str | None = None, name: str | None = None
    ) -> Flow[Account]:
        """Move an account to another plan (effective at once) and/or rename it (admin scope)."""
        body: dict[str, Any] = {}
        if plan is not None:
            body["plan"] = plan
        if name is not None:
            body["name"] = name
        response = yield from self._call("PATCH", f"/accounts/{segment(account_id)}", json=body)
        return Account.model_validate(data(response))

    @operation
    def delete_account(self, account_id: str) -> Flow[None]:
        """Delete an account (admin scope)."""
        yield from self._call("DELETE", f"/accounts/{segment(account_id)}")

    # -- mail over HTTP --------------------------------------------------------------------------

    @operation
    def ingest_raw(
        self, raw: bytes, to: Iterable[str], *, mail_from: str | None = None
    ) -> Flow[Ingested]:
        """Deliver a message, byte for byte, to the hosted mailboxes in `to`, as SMTP would
        (`ingest` scope, which only an admin grants). Each recipient comes back delivered (with
        its message id) or refused with SMTP's reason; `mail_from` is the envelope sender to
        record (default: the From header's address)."""
        params: dict[str, str | list[str]] = {"to": list(to)}
        if mail_from is not None:
            params["mail_from"] = mail_from
        response = yield from self._call(
            "POST",
            "/inbound/raw",
            params=params,
            headers={"Content-Type": "message/rfc822"},
            content=bytes(raw),
        )
        return Ingested.model_validate(data(response))

    # -- API keys (admin) ----------------------------------------------------------------------

    @operation
    def create_key(
        self,
        name: str,
        *,
        scopes: Iterable[str] | None = None,
        account_id: str | None = None,
        modes: Iterable[str] | None = None,
    ) -> Flow[ApiKeyCreated]:
        """Create an API key (admin scope), in a new account unless `account_id` names one.
        `modes` limits it to test or agent mailboxes (default: both). The token (`ik_…`) is
        only in this answer."""
        body: dict[str, Any] = {"name": name}
        if scopes is not None:
            body["scopes"] = list(scopes)
        if account_id is not None:
            body["account_id"] = account_id
        if modes is not None:
            body["modes"] = _as_list(modes)
        response = yield from self._call("POST", "/keys", json=body)
        return ApiKeyCreated.model_validate(data(response))

    @operation
    def list_keys(self, *, account_id: str | None = None) -> Flow[list[ApiKey]]:
        """Every API key, never the secret (admin scope)."""
        response = yield from self._call("GET", "/keys", params=query(account_id=account_id))
        return [ApiKey.model_validate(item) for item in data(response)]

    @operation
    def revoke_key(self, key_id: str) -> Flow[None]:
        """Revoke an API key; it stops working at once (admin scope)."""
        yield from self._call("DELETE", f"/keys/{segment(key_id)}")
