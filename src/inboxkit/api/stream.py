"""Push: WebSocket /ws/inbox/{address} and Server-Sent Events …/mailboxes/{mailbox}/events.

Both are thin loops over `WaitService.follow`. The stream is opened (access checked, starting
point fixed) before the client is told it is connected, so mail delivered after that is always
sent. Both accept the token as `Authorization: Bearer` or `?token=` (browsers cannot set headers
on WebSocket or EventSource) and refuse a cross-site `Origin`: a page on another site could
otherwise use a token it embeds in the URL, or the browser's connection, to read the inbox
(cross-site WebSocket hijacking).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse
from starlette.requests import HTTPConnection
from starlette.types import Receive, Scope, Send

from inboxkit.api.deps import RuntimeDep, admitted
from inboxkit.api.disconnect import unless_disconnected
from inboxkit.api.errors import error_response
from inboxkit.api.schemas import STREAMS_EXCEEDED, ErrorResponse
from inboxkit.bus.base import SHUTDOWN
from inboxkit.errors import Forbidden, InboxKitError, RateLimited
from inboxkit.ids import is_id
from inboxkit.records import jsonable
from inboxkit.runtime import Runtime
from inboxkit.services.auth import Principal
from inboxkit.services.origins import same_origin
from inboxkit.services.wait import Follow, StreamEnd

router = APIRouter(tags=["push"])
ws_router = APIRouter()

# RFC 6455 §7.4.1: 1008 policy violation (refused), 1012 service restart (reconnect later).
WS_POLICY_VIOLATION = 1008
WS_SERVICE_RESTART = 1012


def _event(name: str, address: str, message: Mapping[str, Any] | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"event": name, "mailbox": address}
    if message is not None:
        event["message"] = jsonable(message)
    return event


def _same_origin(connection: HTTPConnection, runtime: Runtime) -> bool:
    return same_origin(connection.scope, runtime.settings)


def _token(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    authorization = headers.get("authorization", "")
    if authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return query.get("token")


def start_after(after: str | None) -> str | None:
    return after if after and is_id(after) else None


async def stream_principal(request: Request) -> Principal:
    """The caller of a push route: same-site (or non-browser), token in header or query."""
    runtime: Runtime = request.app.state.runtime
    if not _same_origin(request, runtime):
        raise Forbidden("Cross-site requests may not open event streams.")
    principal = await runtime.auth.authenticate(_token(request.headers, request.query_params))
    principal.require_access("api")
    return await admitted(request, principal)


# -- WebSocket --------------------------------------------------------------------------------


@ws_router.websocket("/ws/inbox/{address}")
async def inbox_socket(websocket: WebSocket, address: str) -> None:
    """Events for one mailbox as JSON text frames: `message.received` with the summary (codes
    and links included), `ping` when quiet for `ping_interval`, and a final `mailbox.deleted`
    or `mailbox.expired` before a normal close. `?after=<message id>` replays what came after
    that message first."""
    runtime: Runtime = websocket.app.state.runtime
    if not _same_origin(websocket, runtime):
        await websocket.close(code=WS_POLICY_VIOLATION, reason="cross-site origin refused")
        return
    try:
        principal = await runtime.auth.authenticate(
            _token(websocket.headers, websocket.query_params)
        )
        principal.require_access("api")
        stream = await runtime.waits.follow(
            principal, address, after=start_after(websocket.query_params.get("after"))
        ).open()
    except RateLimited as exc:
        await _refuse_handshake(websocket, exc)
        return
    except InboxKitError as exc:
        await websocket.close(code=WS_POLICY_VIOLATION, reason=exc.code)
        return
    try:
        await websocket.accept()
        await unless_disconnected(websocket.receive, _send_events(websocket, stream), None)
    finally:
        stream.close()


async def _refuse_handshake(websocket: WebSocket, exc: InboxKitError) -> None:
    """Answer the handshake with a plain HTTP error (status, envelope and headers such as
    Retry-After), so a client can tell "too many streams" from "not allowed". Servers without
    the ASGI denial-response extension get a 1008 close instead."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(
            error_response(exc.status, exc.code, exc.message, exc.headers)
        )
    else:
        await websocket.close(code=WS_POLICY_VIOLATION, reason=exc.code)


async def _send_events(websocket: WebSocket, stream: Follow) -> None:
    address = stream.mailbox.address
    try:
        async for item in stream:
            if item is None:
                await websocket.send_json({"event": "ping"})
            else:
                await websocket.send_json(_event("message.received", address, item))
    except StreamEnd as end:
        if end.event == SHUTDOWN:
            await websocket.close(code=WS_SERVICE_RESTART, reason="server restarting")
        else:
            await websocket.send_json(_event(end.event, address))
            await websocket.close(code=1000)
    except (WebSocketDisconnect, OSError, RuntimeError):
        return  # the client went away while we were sending


# -- Server-Sent Events -----------------------------------------------------------------------


class _EventStream(StreamingResponse):
    """A streaming response that closes its stream however the response ends, even if the
    client left before the first byte was sent."""

    def __init__(self, stream: Follow, content: AsyncIterator[str]):
        super().__init__(
            content,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self._stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._stream.close()


def _sse(event: str, data: dict[str, Any], event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: {json.dumps(data)}\n\n"


async def _sse_lines(stream: Follow) -> AsyncIterator[str]:
    address = stream.mailbox.address
    yield ": connected\n\n"
    try:
        async for item in stream:
            if item is None:
                yield _sse("ping", {"event": "ping"})
            else:
                yield _sse(
                    "message.received", _event("message.received", address, item), item["id"]
                )
    except StreamEnd as end:
        if end.event != SHUTDOWN:  # on shutdown just end: the client reconnects with Last-Event-ID
            yield _sse(end.event, _event(end.event, address))


@router.get(
    "/mailboxes/{mailbox}/events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "An SSE stream."},
        429: {"model": ErrorResponse, "description": STREAMS_EXCEEDED},
    },
)
async def mailbox_events(
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(stream_principal)],
    mailbox: str,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    token: Annotated[
        str | None, Query(description="The token, for clients that cannot set headers.")
    ] = None,
):
    """Server-Sent Events for one mailbox: `message.received` (the event id is the message id,
    so a client reconnecting with `Last-Event-ID` first gets what it missed, replayed from the
    database), `ping` when quiet for 30 s, and a final `mailbox.deleted` or `mailbox.expired`.
    The token may be given as `?token=` for clients (EventSource) that cannot set headers."""
    stream = await runtime.waits.follow(principal, mailbox, after=start_after(last_event_id)).open()
    return event_stream(stream)


def event_stream(stream: Follow) -> StreamingResponse:
    """The SSE response for an opened stream (also the web UI's same-origin event route)."""
    return _EventStream(stream, _sse_lines(stream))
