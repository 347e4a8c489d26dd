"""An inbox: one mailbox and the client (with the right token) to work with it.

`InboxOperations` holds what you do with an inbox, written once; `Inbox` (sync) and
`AsyncInbox` add only how each is used as a context manager that deletes the inbox on exit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar

from inboxkit.client.errors import NotFound, Unauthorized
from inboxkit.client.models import (
    BatchResult,
    Mailbox,
    Message,
    MessageSummary,
    Page,
    SentMessage,
    Thread,
    Usage,
)
from inboxkit.client.operations import AttachmentInput
from inboxkit.client.protocol import AsyncCall, AsyncDriver, Flow, SyncDriver, operation

__all__ = ["InboxOperations", "Inbox", "AsyncInbox"]

T = TypeVar("T")


class InboxOperations:
    """What you do with one inbox (wait for mail, read it, send, extend, delete), written once
    for both `Inbox` and `AsyncInbox`."""

    def __init__(self, client: Any, mailbox: Mailbox, token: str | None = None):
        self.mailbox = mailbox
        self.token = token
        # An inbox made without an API key can only be reached with its own mailbox token.
        self._client = client if client.api_key or token is None else client.with_token(token)

    @property
    def id(self) -> str:
        return self.mailbox.id

    @property
    def address(self) -> str:
        return self.mailbox.address

    @property
    def expires_at(self) -> datetime | None:
        return self.mailbox.expires_at

    def __str__(self) -> str:
        return self.address

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.address}>"

    def _drive(self, flow: Flow[T]) -> Any:
        return self._client._drive(flow)

    @operation
    def wait(
        self,
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
        """The next unread matching message's summary, or None after `timeout` seconds; with
        `thread_id`, the next one of that conversation."""
        return (
            yield from self._client.wait.flow(
                self.address,
                timeout=timeout,
                sender=sender,
                subject=subject,
                to=to,
                has_code=has_code,
                since=since,
                after=after,
                mark_read=mark_read,
                thread_id=thread_id,
            )
        )

    @operation
    def threads(self, *, limit: int = 50, cursor: str | None = None) -> Flow[Page[Thread]]:
        """The inbox's conversations, newest activity first."""
        return (yield from self._client.list_threads.flow(self.address, limit=limit, cursor=cursor))

    @operation
    def thread(self, thread_id: str) -> Flow[Thread]:
        """One conversation with its messages, oldest first."""
        return (yield from self._client.get_thread.flow(self.address, thread_id))

    @operation
    def wait_for_message(
        self,
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
        """The next unread matching message, whole; `WaitTimeout` (saying what did arrive) if
        none comes within `timeout` seconds. Text filters are case-insensitive substrings;
        `to` matches a To or Cc address or an envelope recipient, so on the capture mailbox
        `wait_for_message(to="alice@example.com")` finds what your application sent Alice."""
        return (
            yield from self._client.wait_for_message.flow(
                self.address,
                timeout=timeout,
                sender=sender,
                subject=subject,
                to=to,
                has_code=has_code,
                since=since,
                after=after,
                mark_read=mark_read,
                thread_id=thread_id,
            )
        )

    @operation
    def wait_for_code(
        self,
        *,
        timeout: float = 30.0,
        sender: str | None = None,
        subject: str | None = None,
        to: str | None = None,
    ) -> Flow[str]:
        """The one-time code from the next message that has one, e.g. "482913"; with `to`,
        from the next one sent to that address (`kit.capture().wait_for_code(to=…)`)."""
        return (
            yield from self._client.wait_for_code.flow(
                self.address, timeout=timeout, sender=sender, subject=subject, to=to
            )
        )

    @operation
    def wait_for_link(
        self,
        kind: str | None = None,
        *,
        timeout: float = 30.0,
        sender: str | None = None,
        subject: str | None = None,
        to: str | None = None,
    ) -> Flow[str]:
        """The URL of the best link of `kind` ("verify", "login", "reset", …; any if None)
        from the next message that has one."""
        return (
            yield from self._client.wait_for_link.flow(
                self.address, kind, timeout=timeout, sender=sender, subject=subject, to=to
            )
        )

    @operation
    def messages(
        self,
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
        """The inbox's messages (summaries), newest first, optionally filtered. Text filters
        are case-insensitive substrings; `to` matches a To or Cc address or an envelope
        recipient (in the capture mailbox: the address your application sent to). An agent
        inbox leaves out spam and blocked senders; `spam=True` lists only those. `label`
        keeps the messages carrying that label."""
        return (
            yield from self._client.all_messages.flow(
                self.address,
                unread=unread,
                since=since,
                sender=sender,
                subject=subject,
                q=q,
                direction=direction,
                to=to,
                spam=spam,
                label=label,
                max_items=max_items,
            )
        )

    @operation
    def label(
        self,
        message_ids: str | Iterable[str],
        add: str | Iterable[str] | None = None,
        *,
        remove: str | Iterable[str] | None = None,
        is_read: bool | None = None,
    ) -> Flow[BatchResult]:
        """Add and/or remove labels (and set the read state) on messages of this inbox, all or
        nothing."""
        ids = [message_ids] if isinstance(message_ids, str) else list(message_ids)
        return (
            yield from self._client.update_messages.flow(
                self.address, ids, is_read=is_read, add_labels=add, remove_labels=remove
            )
        )

    def stream(self, *, after: str | None = None) -> Any:
        """Each message as it arrives, until the inbox is deleted (`for` over it with `Inbox`,
        `async for` with `AsyncInbox`)."""
        return self._client.stream(self.address, after=after)

    @operation
    def message(self, message_id: str, *, mark_read: bool = True) -> Flow[Message]:
        """One whole message by id."""
        return (
            yield from self._client.get_message.flow(self.address, message_id, mark_read=mark_read)
        )

    @operation
    def send(
        self,
        to: str | Iterable[str],
        subject: str = "",
        text: str | None = None,
        *,
        html: str | None = None,
        cc: str | Iterable[str] | None = None,
        bcc: str | Iterable[str] | None = None,
        attachments: Iterable[AttachmentInput] | None = None,
        idempotency_key: str | None = None,
    ) -> Flow[SentMessage]:
        """Send mail from this inbox's address (`delivery_status` is queued, then sent)."""
        return (
            yield from self._client.send.flow(
                self.address,
                to=to,
                subject=subject,
                text=text,
                html=html,
                cc=cc,
                bcc=bcc,
                attachments=attachments,
                idempotency_key=idempotency_key,
            )
        )

    @operation
    def refresh(self) -> Flow[Mailbox]:
        """Re-read the mailbox (message and unread counts, expiry)."""
        self.mailbox = yield from self._client.get_mailbox.flow(self.address)
        return self.mailbox

    @operation
    def extend(self, ttl_minutes: int) -> Flow[Mailbox]:
        """Keep the inbox alive until `ttl_minutes` from now."""
        self.mailbox = yield from self._client.update_mailbox.flow(
            self.address, ttl_minutes=ttl_minutes
        )
        return self.mailbox

    @operation
    def usage(self) -> Flow[Usage]:
        """The usage this inbox counts towards and its plan's limits: its account's, or for an
        inbox created anonymously, its own."""
        return (yield from self._client.usage.flow())

    @operation
    def delete(self) -> Flow[None]:
        """Delete the inbox and its messages."""
        yield from self._client.delete_mailbox.flow(self.address)

    def _delete_quietly(self) -> Flow[None]:
        try:
            yield from self._client.delete_mailbox.flow(self.address)
        except NotFound:
            pass  # already deleted (by the test, or it expired): the goal is reached
        except Unauthorized:
            # A mailbox token stops working when its mailbox is deleted: same outcome.
            if self._client.api_key != self.token:
                raise


class Inbox(InboxOperations, SyncDriver):
    """An inbox for the sync client. `with client.create_inbox() as inbox:` deletes it after."""

    def _drive(self, flow: Flow[T]) -> T:
        return self._client._drive(flow)

    def __enter__(self) -> Inbox:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._drive(self._delete_quietly())


class AsyncInbox(InboxOperations, AsyncDriver):
    """An inbox for the async client; `async with` deletes it after. Await its methods."""

    def _drive(self, flow: Flow[T]) -> AsyncCall[T]:
        return self._client._drive(flow)

    async def __aenter__(self) -> AsyncInbox:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._drive(self._delete_quietly())
