"""`InboxKit`: the blocking client, driving the shared flows with `httpx.Client`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, TypeVar

import httpx

from inboxkit.client.errors import error_from_response
from inboxkit.client.inbox import Inbox
from inboxkit.client.models import Mailbox, MessageSummary
from inboxkit.client.operations import ClientOperations
from inboxkit.client.protocol import (
    EventStream,
    Flow,
    Sleep,
    SyncDriver,
    build_request,
    connection_failed,
)

__all__ = ["InboxKit"]

T = TypeVar("T")


class InboxKit(ClientOperations[Inbox, httpx.Client], SyncDriver):
    """The inboxkit API, blocking. Use it as a context manager, or call `close()`.

    >>> client = InboxKit()                  # INBOXKIT_URL / INBOXKIT_API_KEY from the environment
    >>> with client.create_inbox() as inbox:  # deleted again at the end of the block
    ...     code = inbox.wait_for_code(timeout=60)

    Pass `http_client` to use your own `httpx.Client` (proxies, TLS, event hooks); it is not
    closed by `close()`.
    """

    def _inbox(self, mailbox: Mailbox, token: str | None) -> Inbox:
        return Inbox(self, mailbox, token)

    def _open_http(self, timeout: float) -> httpx.Client:
        return httpx.Client(timeout=timeout)

    def _drive(self, flow: Flow[T]) -> T:
        reply: Any = None
        error: BaseException | None = None
        try:
            while True:
                step = flow.throw(error) if error is not None else flow.send(reply)
                reply = error = None
                if isinstance(step, Sleep):
                    time.sleep(step.seconds)
                    continue
                request = build_request(self._http, self.api_url, step)
                try:
                    reply = self._http.send(request)
                except httpx.TransportError as exc:
                    error = connection_failed(exc, self.url)
        except StopIteration as done:
            return done.value

    def stream(self, mailbox: str, *, after: str | None = None) -> Iterator[MessageSummary]:
        """Yield each message (summary) as it arrives, oldest first, until the mailbox is
        deleted or expires. With `after` (a message id), first the messages since that one.
        A dropped connection is resumed where it left off."""
        events = EventStream(mailbox, after)
        while not events.finished:
            request = build_request(self._http, self.api_url, events.request(self.api_key))
            try:
                response = self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                raise connection_failed(exc, self.url) from None
            try:
                if response.is_error:
                    response.read()
                    raise error_from_response(response)
                for line in response.iter_lines():
                    message = events.feed(line)
                    if message is not None:
                        yield self._bind(MessageSummary.model_validate(message))
                    if events.finished:
                        return
            except httpx.TransportError:
                continue  # resume from the last message seen
            finally:
                response.close()

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> InboxKit:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
