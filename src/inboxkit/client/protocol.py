"""The wire protocol, written once for the sync and the async client (sans-IO).

Every API operation is a *flow*: a generator that yields what it needs done — a `Request` to
send or a `Sleep` (a `Retry-After` pause) — and receives the `httpx.Response` back, finally
returning its parsed result. Flows build requests, interpret responses, retry, paginate and
stitch long-polls together, but never touch a socket or a clock's sleep. A *driver* runs them:
`InboxKit` with a blocking `httpx.Client` and `time.sleep`, `AsyncInboxKit` with an
`httpx.AsyncClient` and `asyncio.sleep`. So both clients share every line of protocol logic.

Operations are declared with `@operation` on a shared base class; reading the attribute from a
sync object gives a plain call, from an async one an awaitable (see `BoundOperation`).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Coroutine, Generator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload
from urllib.parse import quote

import httpx

from inboxkit import __version__
from inboxkit.client.errors import (
    ConnectionFailed,
    InboxKitError,
    QuotaExceeded,
    RateLimited,
    error_from_response,
    retry_after_seconds,
)

__all__ = [
    "Request",
    "Sleep",
    "Flow",
    "operation",
    "BoundOperation",
    "AsyncCall",
    "SyncDriver",
    "AsyncDriver",
    "EventStream",
    "exchange",
    "retryable",
    "IDEMPOTENT_METHODS",
    "data",
    "segment",
    "query",
    "build_request",
    "connection_failed",
    "USER_AGENT",
]

P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")

USER_AGENT = f"inboxkit-python/{__version__}"


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request, relative to the API base (`/api/v1`)."""

    method: str
    path: str
    # A list value repeats the parameter (`?to=a&to=b`).
    params: Mapping[str, str | list[str]] | None = None
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # Read timeout for this request; long polls need longer than the client default.
    timeout: float | None = None
    # The token of the client whose operation this is (whichever client's driver sends it).
    bearer: str | None = None
    # A body sent as it is (with its Content-Type in `headers`) instead of `json`.
    content: bytes | None = None


@dataclass(frozen=True, slots=True)
class Sleep:
    """A pause a flow asks its driver for (before retrying a 429), so flows do no I/O themselves
    and run under both the sync and the async client."""

    seconds: float


Step = Request | Sleep
Flow = Generator[Step, httpx.Response | None, T]


def segment(value: str) -> str:
    """A path segment: mailbox addresses contain '@' (and may contain '/' or '+')."""
    return quote(value, safe="")


def query(**params: Any) -> dict[str, str]:
    """Query parameters without the unset ones, in the server's spelling."""
    out: dict[str, str] = {}
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, datetime):
            out[name] = value.isoformat()
        elif isinstance(value, float):
            out[name] = f"{value:.3f}".rstrip("0").rstrip(".")
        else:
            out[name] = str(value)
    return out


# Methods a server may receive twice with the effect of once (RFC 9110 §9.2.2); a POST joins
# them when it carries an Idempotency-Key (the server then answers a repeat with the first
# result instead of acting again).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def retryable(request: Request) -> bool:
    """Whether sending `request` again cannot do something twice."""
    return request.method in IDEMPOTENT_METHODS or "Idempotency-Key" in request.headers


def retry_delay(error: InboxKitError, response: httpx.Response, attempt: int) -> float | None:
    """How long to pause before sending a refused request again, or None not to.

    `rate_limited` lifts after `Retry-After` (a short backoff when the server did not say);
    a `quota_exceeded` with `Retry-After` (a period's ceiling) lifts when the period ends;
    one without it (a standing ceiling) never lifts by waiting."""
    delay = retry_after_seconds(response)
    if isinstance(error, RateLimited):
        return delay if delay is not None else min(0.5 * 2**attempt, 8.0)
    if isinstance(error, QuotaExceeded):
        return delay
    return None


def exchange(request: Request, *, max_retries: int, max_retry_wait: float) -> Flow[httpx.Response]:
    """Send `request`; on a 429 it may be sent again after the pause the server asks for, at
    most `max_retries` times and never after a pause longer than `max_retry_wait`, and only if
    sending it twice cannot act twice (`retryable`): a POST without an Idempotency-Key is
    never retried. Any other error response, or a 429 not retried, raises its
    `InboxKitError`."""
    attempt = 0
    while True:
        response = yield request
        assert response is not None
        if not response.is_error:
            return response
        error = error_from_response(response)
        if response.status_code == 429 and attempt < max_retries and retryable(request):
            delay = retry_delay(error, response, attempt)
            if delay is not None and delay <= max_retry_wait:
                attempt += 1
                yield Sleep(delay)
                continue
        raise error


def data(response: httpx.Response) -> Any:
    """The `data` member of a JSON envelope."""
    try:
        body = response.json()
    except ValueError:
        raise InboxKitError(
            f"Expected JSON from {response.request.url}, got {response.headers.get('content-type')}"
        ) from None
    return body["data"]


def build_request(
    http: httpx.Client | httpx.AsyncClient, base: str, request: Request
) -> httpx.Request:
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **request.headers}
    if request.bearer:
        headers["Authorization"] = f"Bearer {request.bearer}"
    return http.build_request(
        request.method,
        f"{base}{request.path}",
        params=request.params,
        json=request.json,
        content=request.content,
        headers=headers,
        timeout=(
            httpx.Timeout(request.timeout, connect=10.0)
            if request.timeout is not None
            else httpx.USE_CLIENT_DEFAULT
        ),
    )


def connection_failed(exc: httpx.TransportError, base: str) -> ConnectionFailed:
    if isinstance(exc, httpx.TimeoutException):
        return ConnectionFailed(
            f"inboxkit at {base} did not answer in time ({exc!r}).", transport_error=exc
        )
    return ConnectionFailed(
        f"Could not reach inboxkit at {base} ({exc}). Is it running (`inboxkit serve`), and is "
        "INBOXKIT_URL right?",
        transport_error=exc,
    )


class EventStream:
    """Following a mailbox over Server-Sent Events, minus the I/O: the request to (re)open the
    stream with, and the SSE framing (WHATWG HTML, "server-sent events") turned into messages.
    The last message id is kept, so a dropped stream resumes where it left off."""

    def __init__(self, mailbox: str, after: str | None = None):
        self.mailbox = mailbox
        self.last_id = after
        self.finished = False
        self._event = ""
        self._data: list[str] = []

    def request(self, bearer: str | None) -> Request:
        headers = {"Accept": "text/event-stream"}
        if self.last_id:
            headers["Last-Event-ID"] = self.last_id
        # Pings come every 30 s; a read that waits much longer means the connection is dead.
        path = f"/mailboxes/{segment(self.mailbox)}/events"
        return Request("GET", path, headers=headers, timeout=90.0, bearer=bearer)

    def feed(self, line: str) -> dict[str, Any] | None:
        """One line of the stream; returns a message summary (as JSON) when one is complete."""
        if line.startswith(":"):
            return None
        if line:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                self._event = value
            elif name == "data":
                self._data.append(value)
            return None
        event, payload = self._event, "\n".join(self._data)
        self._event, self._data = "", []
        if event in ("mailbox.deleted", "mailbox.expired"):
            self.finished = True
        if event != "message.received" or not payload:
            return None
        message = json.loads(payload)["message"]
        self.last_id = message["id"]
        return message


class SyncDriver:
    """Marker: objects whose operations return their results directly."""

    def _drive(self, flow: Flow[T]) -> T:
        raise NotImplementedError


class AsyncDriver:
    """Marker: objects whose operations return awaitables."""

    def _drive(self, flow: Flow[T]) -> AsyncCall[T]:
        raise NotImplementedError


class AsyncCall(Awaitable[T]):
    """What an async operation returns: await it for the result. If the result is an async
    context manager (an `AsyncInbox`), `async with client.create_inbox() as inbox:` works too."""

    __slots__ = ("_coro", "_result")

    def __init__(self, coro: Coroutine[Any, Any, T]):
        self._coro = coro
        self._result: Any = None

    def __await__(self) -> Generator[Any, None, T]:
        return self._coro.__await__()

    async def __aenter__(self) -> T:
        self._result = await self._coro
        return await self._result.__aenter__()

    async def __aexit__(self, *exc_info: Any) -> Any:
        return await self._result.__aexit__(*exc_info)


class BoundOperation(Generic[P, T, R]):
    """An operation read from an object: call it to run it through the object's driver, or
    use `.flow(...)` to compose it into another flow with `yield from`."""

    def __init__(self, owner: Any, fn: Callable[..., Flow[T]]):
        self._owner = owner
        self._fn = fn
        self.__name__ = fn.__name__
        self.__doc__ = fn.__doc__

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._owner._drive(self._fn(self._owner, *args, **kwargs))

    def flow(self, *args: P.args, **kwargs: P.kwargs) -> Flow[T]:
        return self._fn(self._owner, *args, **kwargs)

    @property
    def __signature__(self) -> inspect.Signature:
        signature = inspect.signature(self._fn)
        return signature.replace(parameters=list(signature.parameters.values())[1:])

    def __repr__(self) -> str:
        return f"<operation {type(self._owner).__name__}.{self.__name__}>"


class operation(Generic[S, P, T]):  # noqa: N801  (used as a decorator, like `property`)
    """Declare a flow as an operation of a class shared by the sync and async variants."""

    def __init__(self, fn: Callable[Concatenate[S, P], Flow[T]]):
        self._fn = fn
        self.__name__ = fn.__name__
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Self: ...
    @overload
    def __get__(
        self, obj: AsyncDriver, owner: type | None = None
    ) -> BoundOperation[P, T, AsyncCall[T]]: ...
    @overload
    def __get__(self, obj: SyncDriver, owner: type | None = None) -> BoundOperation[P, T, T]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> BoundOperation[P, T, Any]: ...
    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return BoundOperation(obj, self._fn)
