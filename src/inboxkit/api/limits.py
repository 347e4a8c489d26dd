"""Refuse oversized request bodies before anything reads them (413, in our error shape, or in
an emulated provider's own shape on its routes)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inboxkit.api.errors import error_response

__all__ = ["BodySizeLimit"]


class _TooLarge(HTTPException):
    """Raised from `receive`; FastAPI lets HTTPException through to our error handler."""

    def __init__(self, max_bytes: int):
        super().__init__(413, f"The request body exceeds {max_bytes} bytes.")


class BodySizeLimit:
    """ASGI middleware answering 413 for a request body over `max_bytes`, by its Content-Length
    or by counting a streamed body, before any route reads it."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        answer_for: Callable[[str, str], Response | None] | None = None,
    ):
        self.app = app
        self.max_bytes = max_bytes
        # (path, message) -> the 413 a route answers in its own shape, or None for ours.
        self.answer_for = answer_for

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"The request body exceeds {self.max_bytes} bytes."
        answer = self.answer_for(scope.get("path", ""), message) if self.answer_for else None
        if answer is None:
            answer = error_response(413, "payload_too_large", message)
        await answer(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    if int(value) > self.max_bytes:
                        await self._reject(scope, receive, send)
                        return
                except ValueError:
                    pass
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        await self.app(scope, counting_receive, send)
