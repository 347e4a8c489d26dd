"""Push: WebSocket /ws/inbox/{address} and Server-Sent Events …/events.

Both are thin loops over `WaitService.follow`. The WebSocket refuses a cross-site Origin:
browsers attach no credentials check to WebSocket upgrades, so without it any page a developer
visits could read their inboxes (cross-site WebSocket hijacking).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Header, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse

from inboxkit.api.deps import PrincipalDep, RuntimeDep
from inboxkit.errors import InboxKitError
from inboxkit.ids import is_id, new_id
from inboxkit.runtime import Runtime
from inboxkit.services.messages import jsonable
from inboxkit.services.wait import StreamEnd

router = APIRouter(tags=["push"])
ws_router = APIRouter()


def _event(name: str, address: str, message: dict | None = None) -> dict:
    event: dict = {"event": name, "mailbox": address}
    if message is not None:
        event["message"] = jsonable(message)
    return event


def _same_origin(origin: str | None, host: str | None, runtime: Runtime) -> bool:
    if not origin:
        return True  # not a browser: non-browser clients send no Origin
    allowed = {host} if host else set()
    if runtime.settings.public_url:
        allowed.add(urlsplit(runtime.settings.public_url).netloc)
    return urlsplit(origin).netloc in allowed


@ws_router.websocket("/ws/inbox/{address}")
async def inbox_socket(websocket: WebSocket, address: str):
    runtime: Runtime = websocket.app.state.runtime
    if not _same_origin(websocket.headers.get("origin"), websocket.headers.get("host"), runtime):
        await websocket.close(code=1008, reason="cross-site origin refused")
        return
    token = websocket.query_params.get("token")
    authorization = websocket.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        token = authorization[7:]
    try:
        principal = await runtime.auth.authenticate(token)
        principal.require("messages:read")
        box = await runtime.mailboxes.find(principal, address)
    except InboxKitError as exc:
        await websocket.close(code=1008, reason=exc.code)
        return
    after = websocket.query_params.get("after")
    # The starting point is fixed before the handshake completes, so mail delivered after the
    # client sees the connection open is always sent.
    cursor = after if after and is_id(after) else new_id()
    await websocket.accept()
    try:
        async for item in runtime.waits.follow(principal, box.id, after=cursor):
            if item is None:
                await websocket.send_json({"event": "ping"})
            else:
                await websocket.send_json(_event("message.received", box.address, item))
    except StreamEnd as end:
        await websocket.send_json(_event(end.event, box.address))
        await websocket.close(code=1000)
    except WebSocketDisconnect:
        return


@router.get(
    "/mailboxes/{mailbox}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "An SSE stream."}},
)
async def mailbox_events(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    mailbox: str,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
):
    """Server-Sent Events for one mailbox: `message.received` (id = message id, so a client
    reconnecting with Last-Event-ID gets what it missed, replayed from the database), `ping`
    every 30 s, and a final `mailbox.deleted` or `mailbox.expired`."""
    principal.require("messages:read")
    box = await runtime.mailboxes.find(principal, mailbox)
    cursor = last_event_id if last_event_id and is_id(last_event_id) else new_id()

    async def stream() -> AsyncIterator[str]:
        yield ": connected\n\n"
        try:
            async for item in runtime.waits.follow(principal, box.id, after=cursor):
                if item is None:
                    yield f"event: ping\ndata: {json.dumps({'event': 'ping'})}\n\n"
                else:
                    data = json.dumps(_event("message.received", box.address, item))
                    yield f"id: {item['id']}\nevent: message.received\ndata: {data}\n\n"
        except StreamEnd as end:
            yield f"event: {end.event}\ndata: {json.dumps(_event(end.event, box.address))}\n\n"

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
