"""The `RateLimit-*` headers on every response to a rate-limited request.

The count itself happens where the caller is known (`deps.admitted`, through
`services/throttle.py`), which keeps its verdict in the request's state. This middleware adds
the verdict's headers as the response starts, so they are on every kind of response: a route's
JSON, a download, an event stream. A refused request raised before any verdict was kept; its
429 carries the headers from the exception.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inboxkit.services.throttle import Verdict

__all__ = ["RateLimitHeaders"]


class RateLimitHeaders:
    """ASGI middleware: the kept rate-limit verdict, if any, as response headers."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                verdict = scope.get("state", {}).get("rate_limit")
                if isinstance(verdict, Verdict):
                    headers = MutableHeaders(scope=message)
                    for name, value in verdict.headers().items():
                        if name not in headers:
                            headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
