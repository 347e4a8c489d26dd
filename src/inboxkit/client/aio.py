"""`AsyncInboxKit`: the asyncio client, driving the shared flows with `httpx.AsyncClient`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import httpx

from inboxkit.client.errors import error_from_response
from inboxkit.client.inbox import AsyncInbox
from inboxkit.client.models import Mailbox, MessageSummary
from inboxkit.client.operations import ClientOperations
from inboxkit.client.protocol import (
    AsyncCall,
    AsyncDriver,
    EventStream,
    Flow,
    Sleep,
    build_request,
    connection_failed,
)

__all__ = ["AsyncInboxKit"]

T = TypeVar("T")


class AsyncInboxKit(ClientOperations[AsyncInbox, httpx.AsyncClient], AsyncDriver):
    """The inboxkit API for asyncio: the same methods as `InboxKit`, awaited.

    >>> async with AsyncInboxKit() as client:
    ...     async with client.create_inbox() as inbox:
    ...         code = await inbox.wait_for_code(timeout=60)

    Pass `http_client` to use your own `httpx.AsyncClient`; it is not closed by `aclose()`.
    """

    def _inbox(self, mailbox: Mailbox, token: str | None) -> AsyncInbox:
        return AsyncInbox(self, mailbox, token)

    def _open_http(self, timeout: float) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=timeout)

    def _drive(self, flow: Flow[T]) -> AsyncCall[T]:
        return AsyncCall(self._run(flow))

    async def _run(self, flow: Flow[T]) -> T:
        reply: Any = None
        error: BaseException | None = None
        try:
            while True:
                step = flow.throw(error) if error is not None else flow.send(reply)
                reply = error = None
                if isinstance(step, Sleep):
                    await asyncio.sleep(step.seconds)
                    continue
                request = build_request(self._http, self.api_url, step)
                try:
                    reply = await self._http.send(request)
                except httpx.TransportError as exc:
                    error = connection_failed(exc, self.url)
        except StopIteration as done:
            return done.value

    async def stream(
        self, mailbox: str, *, after: str | None = None
    ) -> AsyncIterator[MessageSummary]:
        """Yield each message (summary) as it arrives, oldest first, until the mailbox is
        deleted or expires. With `after` (a message id), first the messages since that one.
        A dropped connection is resumed where it left off."""
        events = EventStream(mailbox, after)
        while not events.finished:
            request = build_request(self._http, self.api_url, events.request(self.api_key))
            try:
                response = await self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                raise connection_failed(exc, self.url) from None
            try:
                if response.is_error:
                    await response.aread()
                    raise error_from_response(response)
                async for line in response.aiter_lines():
                    message = events.feed(line)
                    if message is not None:
                        yield self._bind(MessageSummary.model_validate(message))
                    if events.finished:
                        return
            except httpx.TransportError:
                continue  # resume from the last message seen
            finally:
                await response.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncInboxKit:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()
