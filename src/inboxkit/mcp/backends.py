"""Where the MCP tools get their answers: the service layer in this process, or a running server.

The tools are written once against `Backend`. `ServiceBackend` calls the services directly with
the caller's Principal (the HTTP endpoint inside the API server, and `inboxkit mcp --embedded`);
`RestBackend` calls the REST API of a running server with an API key (`inboxkit mcp --url`).
Both return plain JSON values shaped like the REST API's `data`, and both raise the exceptions
of `inboxkit.errors`, so a tool cannot tell them apart.
"""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import quote

import httpx

from inboxkit import errors
from inboxkit.errors import InboxKitError, NotFound
from inboxkit.records import jsonable
from inboxkit.runtime import Runtime
from inboxkit.services.auth import Principal
from inboxkit.services.messages import MessageFilter
from inboxkit.services.wait import MAX_WAIT_SECONDS

__all__ = [
    "Backend",
    "ServiceBackend",
    "RestBackend",
    "ServerUnreachable",
]


class ServerUnreachable(InboxKitError):
    code, status = "internal_error", 503
    default_message = "The inboxkit server could not be reached."


class Backend(Protocol):
    """One call per operation, each matching one service method (and one REST route)."""

    max_wait: float  # the longest single wait the backend accepts, in seconds

    async def create_inbox(self, **fields: Any) -> dict[str, Any]: ...

    async def list_inboxes(
        self, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]: ...

    async def list_messages(
        self, inbox: str, flt: MessageFilter, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]: ...

    async def read_message(
        self, inbox: str, message_id: str, *, mark_read: bool
    ) -> dict[str, Any]: ...

    async def wait(
        self, inbox: str, flt: MessageFilter, *, timeout: float, mark_read: bool
    ) -> dict[str, Any]: ...

    async def attachment(
        self, inbox: str, message_id: str, attachment_id: str, *, max_bytes: int
    ) -> tuple[bytes | None, dict[str, Any]]:
        """The attachment's bytes (None when larger than `max_bytes`) and its metadata."""
        ...

    async def send(self, inbox: str, **fields: Any) -> dict[str, Any]: ...

    async def reply(self, inbox: str, message_id: str, **fields: Any) -> dict[str, Any]: ...

    async def delete_inbox(self, inbox: str) -> None: ...


class ServiceBackend:
    """The services of this process, called with one caller's Principal."""

    max_wait = MAX_WAIT_SECONDS

    def __init__(self, runtime: Runtime, principal: Principal):
        self.runtime = runtime
        self.principal = principal

    async def create_inbox(self, **fields: Any) -> dict[str, Any]:
        return jsonable(await self.runtime.mailboxes.create(self.principal, **fields))

    async def list_inboxes(
        self, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        items, next_cursor = await self.runtime.mailboxes.list(
            self.principal, limit=limit, cursor=cursor
        )
        return jsonable(items), next_cursor

    async def list_messages(
        self, inbox: str, flt: MessageFilter, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        items, next_cursor = await self.runtime.messages.list(
            self.principal, inbox, flt, limit=limit, cursor=cursor
        )
        return jsonable(items), next_cursor

    async def read_message(self, inbox: str, message_id: str, *, mark_read: bool) -> dict[str, Any]:
        message = await self.runtime.messages.get(
            self.principal, inbox, message_id, mark_read=mark_read
        )
        return jsonable(message)

    async def wait(
        self, inbox: str, flt: MessageFilter, *, timeout: float, mark_read: bool
    ) -> dict[str, Any]:
        result = await self.runtime.waits.wait(
            self.principal, inbox, flt, timeout=timeout, mark_read=mark_read
        )
        return jsonable(result)

    async def attachment(
        self, inbox: str, message_id: str, attachment_id: str, *, max_bytes: int
    ) -> tuple[bytes | None, dict[str, Any]]:
        data, meta = await self.runtime.messages.attachment(
            self.principal, inbox, message_id, attachment_id
        )
        return (data if len(data) <= max_bytes else None), jsonable(meta)

    async def send(self, inbox: str, **fields: Any) -> dict[str, Any]:
        return jsonable(await self.runtime.outbound.send(self.principal, inbox, **fields))

    async def reply(self, inbox: str, message_id: str, **fields: Any) -> dict[str, Any]:
        result = await self.runtime.outbound.reply(self.principal, inbox, message_id, **fields)
        return jsonable(result)

    async def delete_inbox(self, inbox: str) -> None:
        await self.runtime.mailboxes.delete(self.principal, inbox)


# REST error codes back into the exceptions the services raise, so errors read the same.
_ERRORS: dict[str, type[InboxKitError]] = {
    cls.code: cls
    for cls in (
        errors.BadRequest,
        errors.Unauthorized,
        errors.Forbidden,
        errors.NotFound,
        errors.Conflict,
        errors.HandleTaken,
        errors.PayloadTooLarge,
        errors.ValidationFailed,
        errors.QuotaExceeded,
    )
}


def _error_from_response(response: httpx.Response) -> InboxKitError:
    try:
        body = response.json()["error"]
        code, message = str(body["code"]), str(body["message"])
    except (ValueError, KeyError, TypeError):
        code, message = "", f"The server answered HTTP {response.status_code}."
    if code == "rate_limited":
        retry_after = response.headers.get("retry-after", "1")
        return errors.RateLimited(
            message, retry_after=int(retry_after) if retry_after.isdigit() else 1
        )
    if code in _ERRORS:
        return _ERRORS[code](message)
    if response.status_code == 404:
        return NotFound(message)
    return InboxKitError(message)


def _query(flt: MessageFilter, names: dict[str, str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for attr, param in names.items():
        value = getattr(flt, attr)
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        params[param] = value
    return params


_LIST_FILTERS = {
    "unread": "unread",
    "since": "since",
    "from_contains": "from",
    "subject_contains": "subject",
    "q": "q",
    "direction": "direction",
}
_WAIT_FILTERS = {
    "from_contains": "from_contains",
    "subject_contains": "subject_contains",
    "to_contains": "to_contains",
    "has_code": "has_code",
    "since": "since",
    "after": "after",
}


class RestBackend:
    """A running inboxkit server's REST API, called with one API key or mailbox token."""

    max_wait = MAX_WAIT_SECONDS

    def __init__(self, url: str, token: str, *, transport: httpx.AsyncBaseTransport | None = None):
        self.url = url.rstrip("/")
        self.client = httpx.AsyncClient(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"Bearer {token}", "User-Agent": "inboxkit-mcp"},
            # A long-poll holds the response for up to max_wait seconds.
            timeout=httpx.Timeout(30.0, read=self.max_wait + 30.0),
            transport=transport,
        )

    async def __aenter__(self) -> RestBackend:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.client.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self.client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ServerUnreachable(
                f"The inboxkit server at {self.url} could not be reached ({type(exc).__name__}); "
                "check that it is running and that the URL is right."
            ) from None
        if response.status_code >= 400:
            raise _error_from_response(response)
        return response

    async def _data(self, method: str, path: str, **kwargs: Any) -> Any:
        return (await self._call(method, path, **kwargs)).json()["data"]

    async def _page(self, path: str, params: dict[str, Any]) -> tuple[list[dict[str, Any]], Any]:
        body = (await self._call("GET", path, params=params)).json()
        return body["data"], body.get("meta", {}).get("next_cursor")

    @staticmethod
    def _box(inbox: str) -> str:
        return f"/mailboxes/{quote(inbox, safe='@')}"

    async def create_inbox(self, **fields: Any) -> dict[str, Any]:
        body = {k: v for k, v in fields.items() if v is not None}
        return await self._data("POST", "/mailboxes", json=body)

    async def list_inboxes(
        self, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        return await self._page("/mailboxes", params)

    async def list_messages(
        self, inbox: str, flt: MessageFilter, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        params = {"limit": limit, **_query(flt, _LIST_FILTERS)}
        if cursor:
            params["cursor"] = cursor
        return await self._page(f"{self._box(inbox)}/messages", params)

    async def read_message(self, inbox: str, message_id: str, *, mark_read: bool) -> dict[str, Any]:
        return await self._data(
            "GET",
            f"{self._box(inbox)}/messages/{quote(message_id, safe='')}",
            params={"mark_read": "true" if mark_read else "false"},
        )

    async def wait(
        self, inbox: str, flt: MessageFilter, *, timeout: float, mark_read: bool
    ) -> dict[str, Any]:
        params = {
            "timeout": timeout,
            "mark_read": "true" if mark_read else "false",
            **_query(flt, _WAIT_FILTERS),
        }
        return await self._data("GET", f"{self._box(inbox)}/wait", params=params)

    async def attachment(
        self, inbox: str, message_id: str, attachment_id: str, *, max_bytes: int
    ) -> tuple[bytes | None, dict[str, Any]]:
        message = await self.read_message(inbox, message_id, mark_read=False)
        meta = next((a for a in message["attachments"] if a["id"] == attachment_id), None)
        if meta is None:
            raise NotFound("No such attachment on this message.")
        if (meta.get("size") or 0) > max_bytes:
            return None, meta
        path = (
            f"{self._box(inbox)}/messages/{quote(message_id, safe='')}"
            f"/attachments/{quote(attachment_id, safe='')}"
        )
        data = (await self._call("GET", path)).content
        return (data if len(data) <= max_bytes else None), meta

    async def send(self, inbox: str, **fields: Any) -> dict[str, Any]:
        body = {k: v for k, v in fields.items() if v is not None}
        return await self._data("POST", f"{self._box(inbox)}/send", json=body)

    async def reply(self, inbox: str, message_id: str, **fields: Any) -> dict[str, Any]:
        body = {k: v for k, v in fields.items() if v is not None}
        path = f"{self._box(inbox)}/messages/{quote(message_id, safe='')}/reply"
        return await self._data("POST", path, json=body)

    async def delete_inbox(self, inbox: str) -> None:
        await self._call("DELETE", self._box(inbox))
