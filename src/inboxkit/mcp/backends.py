"""Where the MCP tools get their answers: the service layer in this process, or a running server.

The tools are written once against `Backend`. `ServiceBackend` calls the services directly with
the caller's Principal (the HTTP endpoint inside the API server, and `inboxkit mcp --embedded`);
`RestBackend` calls a running server with an API key (`inboxkit mcp --url`) through the SDK's
`AsyncInboxKit`, so its requests, query encoding and error parsing are the SDK's own.
Both return plain JSON values shaped like the REST API's `data`, and both raise the exceptions
of `inboxkit.errors`, so a tool cannot tell them apart.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Protocol

import httpx

from inboxkit import client as sdk
from inboxkit.client.models import Model
from inboxkit.client.operations import SERVER_MAX_WAIT
from inboxkit.errors import (
    InboxKitError,
    NotFound,
    QuotaExceeded,
    RateLimited,
    Resource,
    error_class,
)
from inboxkit.mcp.present import SERVER_UNREACHABLE
from inboxkit.records import jsonable
from inboxkit.runtime import Runtime
from inboxkit.services.auth import Principal
from inboxkit.services.messages import MessageChange, MessageFilter
from inboxkit.services.outbound import DraftFields, Held
from inboxkit.services.throttle import Bucket
from inboxkit.services.wait import MAX_WAIT_SECONDS

__all__ = [
    "Backend",
    "ServiceBackend",
    "RestBackend",
    "ServerUnreachable",
    "CLIENT_HEADER",
    "DOMAINS_LISTED",
]

# The domains `list_domains` shows a model: one page (an account has a few; the plan's
# `max_domains` bounds it).
DOMAINS_LISTED = 200


class ServerUnreachable(InboxKitError):
    """The server `RestBackend` talks to did not answer; a code of its own so the tool tells the
    model to check the server, not the request."""

    code, status = SERVER_UNREACHABLE, 503
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

    async def search(
        self, q: str, *, inbox: str | None, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]: ...

    async def list_threads(
        self, inbox: str, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]: ...

    async def read_thread(
        self, inbox: str, thread_id: str, *, limit: int, cursor: str | None
    ) -> tuple[dict[str, Any], str | None]: ...

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

    async def forward(self, inbox: str, message_id: str, **fields: Any) -> dict[str, Any]: ...

    async def update_messages(
        self, inbox: str, ids: list[str], change: MessageChange
    ) -> dict[str, Any]: ...

    # A send or reply from an inbox under review answers {"draft": …, "review": …} instead.

    async def create_draft(self, inbox: str, **fields: Any) -> dict[str, Any]:
        """`POST …/drafts`: {"draft": …, "review": … or None}."""
        ...

    async def send_draft(self, inbox: str, draft_id: str) -> dict[str, Any]:
        """`POST …/drafts/{id}/send`: the draft (`pending_review` under review)."""
        ...

    async def list_drafts(
        self, inbox: str, *, status: str | None, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]: ...

    async def delete_inbox(self, inbox: str) -> None: ...

    async def capture_inbox(self) -> dict[str, Any]:
        """The caller's account's capture mailbox (`GET /capture`), made on first use."""
        ...

    async def usage(self) -> dict[str, Any]:
        """The caller's plan, usage this period and the plan's limits (`GET /usage`)."""
        ...

    async def add_list_entry(self, **fields: Any) -> dict[str, Any]:
        """Allow or block a sender (`POST /lists`: type, entry, mailbox, subdomains)."""
        ...

    async def list_entries(
        self, *, type: str | None, mailbox: str | None
    ) -> list[dict[str, Any]]: ...

    async def delete_list_entry(self, entry_id: str) -> None: ...

    async def list_domains(self) -> list[dict[str, Any]]:
        """The account's custom domains, newest first (`GET /domains`, first 200)."""
        ...

    async def add_domain(self, domain: str, *, wildcard: bool) -> dict[str, Any]: ...

    async def verify_domain(self, domain_id: str) -> dict[str, Any]: ...

    async def domain_zone_file(self, domain_id: str) -> str: ...


class ServiceBackend:
    """The services of this process, called with one caller's Principal. Each call counts
    against the caller's plan's rate limit for its kind (create, read, write, send), as the
    REST request for the same operation would."""

    max_wait = MAX_WAIT_SECONDS

    def __init__(self, runtime: Runtime, principal: Principal):
        self.runtime = runtime
        self.principal = principal

    async def _count(self, bucket: Bucket) -> None:
        await self.runtime.throttle.admit(self.principal, bucket)

    async def create_inbox(self, **fields: Any) -> dict[str, Any]:
        await self._count(Bucket.CREATE)
        return jsonable(await self.runtime.mailboxes.create(self.principal, **fields))

    async def list_inboxes(
        self, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        await self._count(Bucket.READ)
        items, next_cursor = await self.runtime.mailboxes.list(
            self.principal, limit=limit, cursor=cursor
        )
        return jsonable(items), next_cursor

    async def list_messages(
        self, inbox: str, flt: MessageFilter, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        await self._count(Bucket.READ)
        items, next_cursor = await self.runtime.messages.list(
            self.principal, inbox, flt, limit=limit, cursor=cursor
        )
        return jsonable(items), next_cursor

    async def search(
        self, q: str, *, inbox: str | None, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        await self._count(Bucket.READ)
        items, next_cursor = await self.runtime.search.search(
            self.principal, q, mailbox=inbox, limit=limit, cursor=cursor
        )
        return jsonable(items), next_cursor

    async def list_threads(
        self, inbox: str, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        await self._count(Bucket.READ)
        items, next_cursor = await self.runtime.threads.list(
            self.principal, inbox, limit=limit, cursor=cursor
        )
        return jsonable(items), next_cursor

    async def read_thread(
        self, inbox: str, thread_id: str, *, limit: int, cursor: str | None
    ) -> tuple[dict[str, Any], str | None]:
        await self._count(Bucket.READ)
        view, next_cursor = await self.runtime.threads.get(
            self.principal, inbox, thread_id, limit=limit, cursor=cursor
        )
        return jsonable(view), next_cursor

    async def read_message(self, inbox: str, message_id: str, *, mark_read: bool) -> dict[str, Any]:
        await self._count(Bucket.READ)
        message = await self.runtime.messages.get(
            self.principal, inbox, message_id, mark_read=mark_read
        )
        return jsonable(message)

    async def wait(
        self, inbox: str, flt: MessageFilter, *, timeout: float, mark_read: bool
    ) -> dict[str, Any]:
        await self._count(Bucket.READ)
        result = await self.runtime.waits.wait(
            self.principal, inbox, flt, timeout=timeout, mark_read=mark_read
        )
        return jsonable(result)

    async def attachment(
        self, inbox: str, message_id: str, attachment_id: str, *, max_bytes: int
    ) -> tuple[bytes | None, dict[str, Any]]:
        await self._count(Bucket.READ)
        data, meta = await self.runtime.messages.attachment(
            self.principal, inbox, message_id, attachment_id
        )
        return (data if len(data) <= max_bytes else None), jsonable(meta)

    async def send(self, inbox: str, **fields: Any) -> dict[str, Any]:
        await self._count(Bucket.SEND)
        return _sent(await self.runtime.outbound.send(self.principal, inbox, **fields))

    async def reply(self, inbox: str, message_id: str, **fields: Any) -> dict[str, Any]:
        await self._count(Bucket.SEND)
        result = await self.runtime.outbound.reply(self.principal, inbox, message_id, **fields)
        return _sent(result)

    async def create_draft(self, inbox: str, **fields: Any) -> dict[str, Any]:
        await self._count(Bucket.WRITE)
        send_at = fields.pop("send_at", None)
        draft, review = await self.runtime.drafts.create(
            self.principal, inbox, DraftFields(**fields), send_at=send_at
        )
        return {"draft": jsonable(draft), "review": review}

    async def send_draft(self, inbox: str, draft_id: str) -> dict[str, Any]:
        await self._count(Bucket.SEND)
        draft, _review = await self.runtime.drafts.send(self.principal, inbox, draft_id)
        return jsonable(draft)

    async def list_drafts(
        self, inbox: str, *, status: str | None, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        await self._count(Bucket.READ)
        items, next_cursor = await self.runtime.drafts.list(
            self.principal, inbox, status=status, limit=limit, cursor=cursor
        )
        return jsonable(items), next_cursor

    async def forward(self, inbox: str, message_id: str, **fields: Any) -> dict[str, Any]:
        await self._count(Bucket.SEND)
        result = await self.runtime.outbound.forward(self.principal, inbox, message_id, **fields)
        return _sent(result)

    async def update_messages(
        self, inbox: str, ids: list[str], change: MessageChange
    ) -> dict[str, Any]:
        await self._count(Bucket.WRITE)
        result = await self.runtime.messages.update_many(self.principal, inbox, ids, change)
        return jsonable(result)

    async def delete_inbox(self, inbox: str) -> None:
        await self._count(Bucket.WRITE)
        await self.runtime.mailboxes.delete(self.principal, inbox)

    async def capture_inbox(self) -> dict[str, Any]:
        await self._count(Bucket.READ)
        return jsonable(await self.runtime.capture.mailbox(self.principal))

    async def usage(self) -> dict[str, Any]:
        await self._count(Bucket.READ)
        return jsonable(await self.runtime.usage.usage(self.principal))

    async def add_list_entry(self, **fields: Any) -> dict[str, Any]:
        await self._count(Bucket.WRITE)
        return jsonable(await self.runtime.lists.create(self.principal, **fields))

    async def list_entries(self, *, type: str | None, mailbox: str | None) -> list[dict[str, Any]]:
        await self._count(Bucket.READ)
        return jsonable(await self.runtime.lists.list(self.principal, type=type, mailbox=mailbox))

    async def delete_list_entry(self, entry_id: str) -> None:
        await self._count(Bucket.WRITE)
        await self.runtime.lists.delete(self.principal, entry_id)

    async def list_domains(self) -> list[dict[str, Any]]:
        await self._count(Bucket.READ)
        found, _ = await self.runtime.domains.list(self.principal, limit=DOMAINS_LISTED)
        return jsonable(found)

    async def add_domain(self, domain: str, *, wildcard: bool) -> dict[str, Any]:
        await self._count(Bucket.WRITE)
        return jsonable(
            await self.runtime.domains.create(self.principal, domain=domain, wildcard=wildcard)
        )

    async def verify_domain(self, domain_id: str) -> dict[str, Any]:
        await self._count(Bucket.WRITE)
        return jsonable(await self.runtime.domains.verify(self.principal, domain_id))

    async def domain_zone_file(self, domain_id: str) -> str:
        await self._count(Bucket.READ)
        return await self.runtime.domains.zone_file(self.principal, domain_id)


def _error_from_sdk(exc: sdk.InboxKitError, url: str, resource: Resource | None) -> InboxKitError:
    """The SDK's exception as the one the services would have raised, about `resource`.

    The REST envelope carries only the code and the message, so what a not-found is about is
    the resource the operation addressed (the innermost one of its path)."""
    if isinstance(exc, sdk.ConnectionFailed):
        cause = type(exc.transport_error or exc).__name__
        return ServerUnreachable(
            f"The inboxkit server at {url} could not be reached ({cause}); "
            "check that it is running and that the URL is right."
        )
    if isinstance(exc, sdk.RateLimited):
        retry_after = int(exc.retry_after) if exc.retry_after is not None else 1
        return RateLimited(
            exc.message, retry_after=retry_after, resource=resource, details=exc.details or None
        )
    if isinstance(exc, sdk.QuotaExceeded):
        return QuotaExceeded(
            exc.message,
            limit=exc.limit,
            allowed=exc.allowed,
            used=exc.used,
            retry_after=int(exc.retry_after) if exc.retry_after is not None else None,
            resource=resource,
        )
    cls = error_class(exc.code)
    if cls is None:
        cls = NotFound if exc.status == 404 else InboxKitError
    return cls(exc.message, resource=resource)


def _sent(result: dict[str, Any] | Held) -> dict[str, Any]:
    return result.jsonable() if isinstance(result, Held) else jsonable(result)


def _json(model: Model) -> dict[str, Any]:
    """A model as the JSON the server sent: the fields it had (no defaults filled in)."""
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


_HELD = "The inbox is under review: the draft awaits approval by an account (not this token)."

# Sent with every request of `RestBackend`: the API holds MCP use to the plan's `mcp_access`,
# as it does for the `/mcp` endpoint, and records `created_via: "mcp"`.
CLIENT_HEADER = {"X-InboxKit-Client": "mcp"}


class RestBackend:
    """A running inboxkit server, reached with one API key or mailbox token through the SDK."""

    max_wait = SERVER_MAX_WAIT

    def __init__(self, url: str, token: str, *, transport: httpx.AsyncBaseTransport | None = None):
        self.url = url.rstrip("/")
        self._http = httpx.AsyncClient(timeout=30.0, transport=transport, headers=CLIENT_HEADER)
        # No retries on 429: the tool error tells the model how long to wait instead of the
        # call hanging for up to a minute.
        self.client = sdk.AsyncInboxKit(self.url, token, max_retries=0, http_client=self._http)

    async def __aenter__(self) -> RestBackend:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._http.aclose()

    @contextlib.contextmanager
    def _errors(self, resource: Resource | None) -> Iterator[None]:
        try:
            yield
        except sdk.InboxKitError as exc:
            raise _error_from_sdk(exc, self.url, resource) from None

    async def create_inbox(self, **fields: Any) -> dict[str, Any]:
        with self._errors(Resource.MAILBOX):
            return _json(await self.client.create_mailbox(**fields))

    async def list_inboxes(
        self, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        with self._errors(Resource.MAILBOX):
            page = await self.client.list_mailboxes(limit=limit, cursor=cursor)
        return [_json(box) for box in page], page.next_cursor

    async def list_messages(
        self, inbox: str, flt: MessageFilter, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        with self._errors(Resource.MAILBOX):
            page = await self.client.list_messages(
                inbox,
                limit=limit,
                cursor=cursor,
                unread=flt.unread,
                since=flt.since,
                sender=flt.from_contains,
                subject=flt.subject_contains,
                q=flt.q,
                direction=flt.direction,
                to=flt.to_contains,
                spam=flt.spam,
                label=flt.label,
            )
        return [_json(message) for message in page], page.next_cursor

    async def search(
        self, q: str, *, inbox: str | None, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        with self._errors(Resource.MAILBOX):
            page = await self.client.search(q, mailbox=inbox, limit=limit, cursor=cursor)
        return [_json(message) for message in page], page.next_cursor

    async def list_threads(
        self, inbox: str, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        with self._errors(Resource.MAILBOX):
            page = await self.client.list_threads(inbox, limit=limit, cursor=cursor)
        return [_json(thread) for thread in page], page.next_cursor

    async def read_thread(
        self, inbox: str, thread_id: str, *, limit: int, cursor: str | None
    ) -> tuple[dict[str, Any], str | None]:
        with self._errors(Resource.THREAD):
            thread = await self.client.get_thread(inbox, thread_id, limit=limit, cursor=cursor)
        shaped = _json(thread)
        shaped.pop("next_cursor", None)
        return shaped, thread.next_cursor

    async def read_message(self, inbox: str, message_id: str, *, mark_read: bool) -> dict[str, Any]:
        with self._errors(Resource.MESSAGE):
            return _json(await self.client.get_message(inbox, message_id, mark_read=mark_read))

    async def wait(
        self, inbox: str, flt: MessageFilter, *, timeout: float, mark_read: bool
    ) -> dict[str, Any]:
        # One long-poll: the tool makes the rounds (`timeout` is at most `max_wait`).
        with self._errors(Resource.MAILBOX):
            found = await self.client.wait(
                inbox,
                timeout=timeout,
                sender=flt.from_contains,
                subject=flt.subject_contains,
                to=flt.to_contains,
                has_code=flt.has_code,
                since=flt.since,
                after=flt.after,
                mark_read=mark_read,
                thread_id=flt.thread_id,
            )
        if found is None:
            return {"message": None, "timed_out": True}
        return {"message": _json(found), "timed_out": False}

    async def attachment(
        self, inbox: str, message_id: str, attachment_id: str, *, max_bytes: int
    ) -> tuple[bytes | None, dict[str, Any]]:
        message = await self.read_message(inbox, message_id, mark_read=False)
        meta = next((a for a in message["attachments"] if a["id"] == attachment_id), None)
        if meta is None:
            raise NotFound("No such attachment on this message.", resource=Resource.ATTACHMENT)
        if (meta.get("size") or 0) > max_bytes:
            return None, meta
        with self._errors(Resource.ATTACHMENT):
            data = await self.client.get_attachment(inbox, message_id, attachment_id)
        return (data if len(data) <= max_bytes else None), meta

    async def send(self, inbox: str, **fields: Any) -> dict[str, Any]:
        with self._errors(Resource.MAILBOX):
            return _json(await self.client.send(inbox, **fields))

    async def reply(self, inbox: str, message_id: str, **fields: Any) -> dict[str, Any]:
        with self._errors(Resource.MESSAGE):
            return _json(await self.client.reply(inbox, message_id, **fields))

    async def forward(self, inbox: str, message_id: str, **fields: Any) -> dict[str, Any]:
        with self._errors(Resource.MESSAGE):
            return _json(await self.client.forward(inbox, message_id, **fields))

    async def update_messages(
        self, inbox: str, ids: list[str], change: MessageChange
    ) -> dict[str, Any]:
        with self._errors(Resource.MESSAGE):
            result = await self.client.update_messages(
                inbox,
                ids,
                is_read=change.is_read,
                add_labels=list(change.add_labels) or None,
                remove_labels=list(change.remove_labels) or None,
            )
        return _json(result)

    async def create_draft(self, inbox: str, **fields: Any) -> dict[str, Any]:
        fields.pop("forward_of", None)
        with self._errors(Resource.DRAFT):
            draft = await self.client.create_draft(inbox, **fields)
        review = None
        if draft.status == "pending_review":
            review = {"state": "pending", "sent": False, "message": _HELD}
        return {"draft": _json(draft), "review": review}

    async def send_draft(self, inbox: str, draft_id: str) -> dict[str, Any]:
        with self._errors(Resource.DRAFT):
            return _json(await self.client.send_draft(inbox, draft_id))

    async def list_drafts(
        self, inbox: str, *, status: str | None, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        with self._errors(Resource.MAILBOX):
            page = await self.client.drafts(inbox, status=status, limit=limit, cursor=cursor)
        return [_json(item) for item in page.items], page.next_cursor

    async def delete_inbox(self, inbox: str) -> None:
        with self._errors(Resource.MAILBOX):
            await self.client.delete_mailbox(inbox)

    async def capture_inbox(self) -> dict[str, Any]:
        with self._errors(Resource.MAILBOX):
            return _json(await self.client.capture_mailbox())

    async def usage(self) -> dict[str, Any]:
        with self._errors(Resource.ACCOUNT):
            return _json(await self.client.usage())

    @contextlib.contextmanager
    def _list_errors(self, mailbox: str | None) -> Iterator[None]:
        """As `_errors`, about what the service would name: a not-found while a mailbox is
        named is that mailbox; anything else (a duplicate, the quota) is about the entry."""
        try:
            yield
        except sdk.InboxKitError as exc:
            about = Resource.MAILBOX if mailbox and exc.status == 404 else Resource.LIST_ENTRY
            raise _error_from_sdk(exc, self.url, about) from None

    async def add_list_entry(self, **fields: Any) -> dict[str, Any]:
        with self._list_errors(fields.get("mailbox")):
            return _json(await self.client.add_list_entry(**fields))

    async def list_entries(self, *, type: str | None, mailbox: str | None) -> list[dict[str, Any]]:
        with self._list_errors(mailbox):
            entries = await self.client.list_entries(type=type, mailbox=mailbox)
        return [_json(entry) for entry in entries]

    async def delete_list_entry(self, entry_id: str) -> None:
        with self._errors(Resource.LIST_ENTRY):
            await self.client.delete_list_entry(entry_id)

    async def list_domains(self) -> list[dict[str, Any]]:
        with self._errors(Resource.DOMAIN):
            page = await self.client.list_domains(limit=DOMAINS_LISTED)
        return [_json(domain) for domain in page]

    async def add_domain(self, domain: str, *, wildcard: bool) -> dict[str, Any]:
        with self._errors(Resource.DOMAIN):
            return _json(await self.client.add_domain(domain, wildcard=wildcard))

    async def verify_domain(self, domain_id: str) -> dict[str, Any]:
        with self._errors(Resource.DOMAIN):
            return _json(await self.client.verify_domain(domain_id))

    async def domain_zone_file(self, domain_id: str) -> str:
        with self._errors(Resource.DOMAIN):
            return await self.client.domain_zone_file(domain_id)
