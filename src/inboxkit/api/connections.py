"""Connection guards for the HTTP server: a deadline for each request head, a connection cap.

uvicorn bounds the idle time between keep-alive requests, but not the time a client may take
to send a request head: a client that opens hundreds of connections and dribbles one header
byte at a time holds each of them for ever (slowloris). These protocol classes wrap uvicorn's
own (httptools when installed, h11 otherwise) and

- close a connection whose request line and headers are not complete within `header_timeout`
  seconds of it being ready for them (when it opens, and after each response). If part of a
  head came, `408` is answered first so an honest but slow client learns why; a connection
  that sent nothing is closed silently, as an idle keep-alive one is (a 408 there could be
  read by a client as the answer to the request it is just sending);
- refuse a connection beyond `max_connections` open ones (WebSockets included) with `429
  rate_limited` before reading anything from it, instead of letting the process run out of
  file descriptors.

Both answers are written straight to the socket in our error envelope: no request was parsed,
so there is no ASGI app to answer them.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from inboxkit.api.errors import error_response

__all__ = ["guarded_http_protocol"]

CONNECTION_RETRY_AFTER = 1


def _raw_error(status: int, code: str, message: str, **headers: str) -> bytes:
    """The envelope response of `error_response`, serialised as HTTP/1.1 bytes."""
    response = error_response(status, code, message, {**headers, "connection": "close"})
    head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}".encode()]
    head += [name + b": " + value for name, value in response.raw_headers]
    return b"\r\n".join(head) + b"\r\n\r\n" + bytes(response.body)


class _Guarded:
    """Mixed in before a uvicorn HTTP protocol class; see the module docstring.

    "Waiting for a head" is recognised without hooking the parsers: uvicorn makes a new
    request cycle only once a head is complete, and hands the transport to a WebSocket
    protocol on an upgrade. So a deadline that finds the same cycle it was armed with, no
    response in flight, and the transport still ours, caught a head that never finished.
    """

    header_timeout: float = 10.0
    max_connections: int = 10_000

    # Provided by the uvicorn protocol this is mixed into.
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    connections: set[Any]
    cycle: Any

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._head_deadline: asyncio.TimerHandle | None = None
        self._received_since_armed = False
        if len(self.connections) > self.max_connections:
            transport.write(
                _raw_error(
                    429,
                    "rate_limited",
                    "The server is at its connection limit; retry in a moment.",
                    **{"retry-after": str(CONNECTION_RETRY_AFTER)},
                )
            )
            transport.close()
            return
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        self._received_since_armed = True
        super().data_received(data)  # type: ignore[misc]

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing():
            self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_deadline()
        super().connection_lost(exc)  # type: ignore[misc]

    def _arm_head_deadline(self) -> None:
        self._cancel_head_deadline()
        self._received_since_armed = False
        self._head_deadline = self.loop.call_later(
            self.header_timeout, self._head_overdue, self.cycle
        )

    def _cancel_head_deadline(self) -> None:
        deadline = getattr(self, "_head_deadline", None)
        if deadline is not None:
            deadline.cancel()
            self._head_deadline = None

    def _head_overdue(self, armed_with: Any) -> None:
        self._head_deadline = None
        transport = self.transport
        if transport.is_closing() or transport.get_protocol() is not self:
            return  # closed already, or upgraded to a WebSocket
        if self.cycle is not armed_with:
            return  # a head arrived; its response re-arms the deadline
        if self.cycle is not None and not self.cycle.response_complete:
            return  # the last request is still being answered
        if not self._received_since_armed:
            transport.close()  # idle: nothing to explain
            return
        transport.write(
            _raw_error(
                408,
                "bad_request",
                f"The request line and headers did not arrive within {self.header_timeout:g} "
                "seconds; send the whole request head at once.",
            )
        )
        transport.close()


def _base_protocol() -> type[asyncio.Protocol]:
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # httptools is optional (uvicorn[standard] brings it)
        return H11Protocol
    return HttpToolsProtocol


def guarded_http_protocol(
    header_timeout: float, max_connections: int, base: type[asyncio.Protocol] | None = None
) -> type[asyncio.Protocol]:
    """A uvicorn HTTP protocol class (pass it as `uvicorn.Config(http=...)`) with the guards."""
    parent = base or _base_protocol()
    return type(
        f"Guarded{parent.__name__}",
        (_Guarded, parent),
        {"header_timeout": header_timeout, "max_connections": max_connections},
    )
