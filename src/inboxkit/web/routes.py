"""The web UI's routes: pages (GET) and form posts (POST, CSRF-checked, answered with 303).

Pages: `/` (sign in, "New inbox", the inbox list, the capture mailbox first), `/inbox/{id}`
(the live message list), `/inbox/{id}/{message}` (a message). Under `/ui/`: the way to the
account's capture mailbox (`/ui/capture`, made on first use), the form posts, the same-origin
event stream (`/ui/inbox/{id}/events`, so no token is ever put in a URL), and a message's HTML,
raw source and attachments. Every mailbox is reached with a token the session holds: the inbox's own
token when it was made here with "New inbox", else the key the person signed in with.
"""

from __future__ import annotations

import dataclasses
import functools
import hmac
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from inboxkit.api.deps import admitted
from inboxkit.api.downloads import download
from inboxkit.api.stream import event_stream, start_after
from inboxkit.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    InboxKitError,
    NotFound,
    PayloadTooLarge,
    QuotaExceeded,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)
from inboxkit.ids import is_id
from inboxkit.labels import SYSTEM_LABELS
from inboxkit.runtime import Runtime
from inboxkit.search.query import MAX_QUERY
from inboxkit.services.auth import Principal, PrincipalKind
from inboxkit.services.messages import MessageChange, MessageFilter
from inboxkit.services.origins import same_origin
from inboxkit.services.sessions import Session
from inboxkit.web.security import html_frame_csp

__all__ = ["install", "COOKIE"]

HERE = Path(__file__).parent
COOKIE = "inboxkit_session"
# Before a session exists (nobody signed in, no inbox made), the front page's forms are
# protected by a random double-submit cookie, so a visit writes nothing to the database.
PRE_COOKIE = "inboxkit_csrf"
CSRF_FIELD = "csrf"
MAX_FORM_FIELD = 512
# The send and reply forms' longer fields: a recipient list and a plain-text body.
MAX_ADDRESS_LIST = 4096
MAX_BODY_CHARS = 65536
PAGE_SIZE = 100

_templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


_templates.filters["when"] = _when

router = APIRouter(include_in_schema=False)


# -- sessions ---------------------------------------------------------------------------------


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def _secure(request: Request, runtime: Runtime) -> bool:
    public = runtime.settings.public_url or ""
    return request.url.scheme == "https" or public.startswith("https://")


def _set_cookie(response: Response, request: Request, runtime: Runtime, session: Session) -> None:
    response.set_cookie(
        COOKIE,
        runtime.sessions.seal(session),
        httponly=True,
        samesite="strict",
        secure=_secure(request, runtime),
        path="/",
    )
    response.delete_cookie(PRE_COOKIE, path="/", httponly=True, samesite="strict")


async def _started(request: Request, session: Session | None) -> Session:
    """The session a sign-in or "New inbox" continues, or a new one (its row written now)."""
    return session if session is not None else await _runtime(request).sessions.open()


async def _session(request: Request) -> Session | None:
    return await _runtime(request).sessions.load(request.cookies.get(COOKIE))


def _same_site(request: Request) -> bool:
    """Whether a request comes from a page of this site. The browser's `Sec-Fetch-Site` says
    so when present (pages cannot forge it); our pages' `Referrer-Policy: no-referrer` makes a
    form post's `Origin` "null", so a "null" origin is accepted only with `same-origin` there."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site != "same-origin":
        return False
    origin = request.headers.get("origin")
    if origin == "null":
        return fetch_site == "same-origin"
    return same_origin(request.scope, _runtime(request).settings)


async def _form(
    request: Request,
    session: Session | None,
    *,
    before_session: bool = False,
    longer: dict[str, int] | None = None,
) -> dict[str, str]:
    """A same-origin form post's fields, once its CSRF token matched the session's (or, for
    the posts that start a session, `before_session`, the visitor's pre-session cookie's).
    Every field is at most MAX_FORM_FIELD characters, but those `longer` names."""
    if not _same_site(request):
        raise Forbidden("Cross-site form posts are refused; use the page on this site.")
    limits = longer or {}
    largest = max([MAX_FORM_FIELD, *limits.values()])
    form = await request.form(max_files=0, max_fields=20, max_part_size=largest * 4)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    token = fields.get(CSRF_FIELD, "")
    if session is not None:
        expected = session.csrf
    elif before_session:
        expected = request.cookies.get(PRE_COOKIE, "")
    else:
        expected = ""
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Forbidden("The form's security token is missing or stale; reload the page and retry.")
    for name, value in fields.items():
        limit = limits.get(name, MAX_FORM_FIELD)
        if len(value) > limit:
            raise BadRequest(f"The field '{name}' is too long (at most {limit} characters).")
    return fields


async def _principal(request: Request, token: str | None) -> Principal:
    runtime = _runtime(request)
    # Without a token this is the anonymous principal on the `anonymous` plan: the UI's "New
    # inbox" is held to the same creation rate and mailboxes-per-address as the API.
    principal = await runtime.auth.authenticate(token)
    principal = await admitted(request, principal)
    return dataclasses.replace(principal, via="ui")


async def _for_mailbox(request: Request, session: Session | None, mailbox_id: str) -> Principal:
    """Who the session is for this mailbox: the inbox's own token, else the signed-in key."""
    if session is None:
        raise Unauthorized("Sign in first.")
    if not is_id(mailbox_id):
        raise NotFound("No such mailbox.")
    token = session.inboxes.get(mailbox_id) or session.key
    if token is None:
        raise NotFound("No such mailbox.")
    return await _principal(request, token)


async def _signed_in_account(request: Request, session: Session) -> bool:
    """Whether the person signed in with an account's key: who may approve drafts and switch a
    mailbox's outbound review (web/drafts.py). Only decides what a page offers; the posts are
    decided by the services."""
    if session.key is None:
        return False
    try:
        principal = await _runtime(request).auth.authenticate(session.key)
    except Unauthorized:  # revoked since signing in
        return False
    return principal.kind is PrincipalKind.API_KEY


def _page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_templates.get_template(template).render(**context), status_code=status)


def _see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


Handler = Callable[..., Awaitable[Response]]


def _refusals(handler: Handler) -> Handler:
    """A refusal as a page that says what happened and what to do (its status and code)."""

    async def wrapped(request: Request, **kwargs: Any) -> Response:
        try:
            return await handler(request, **kwargs)
        except InboxKitError as exc:
            response = _page(
                "error.html", exc.status, code=exc.code, message=exc.message, title="Refused"
            )
            for name, value in (exc.headers or {}).items():
                response.headers[name] = value
            return response

    return functools.wraps(handler)(wrapped)


# -- the front page, sign in and out, new inbox -----------------------------------------------


@router.get("/")
@_refusals
async def front(request: Request) -> Response:
    runtime = _runtime(request)
    session = await _session(request)
    pre_token = request.cookies.get(PRE_COOKIE) or ""
    if session is None and not re.fullmatch(r"[A-Za-z0-9_-]{43}", pre_token):
        pre_token = secrets.token_urlsafe(32)
    inboxes: list[dict[str, Any]] = []
    seen: set[str] = set()
    for mailbox_id, token in (session.inboxes if session else {}).items():
        try:
            box = await runtime.mailboxes.get(await _principal(request, token), mailbox_id)
        except (NotFound, Unauthorized):
            continue  # deleted or expired
        inboxes.append({**box, "own_token": True})
        seen.add(box["id"])
    capture: dict[str, Any] | None = None
    has_capture = False  # an account's key, whose account has a capture mailbox
    if session is not None and session.key:
        principal = await _principal(request, session.key)
        has_capture = principal.kind is PrincipalKind.API_KEY
        listed, _ = await runtime.mailboxes.list(principal, limit=PAGE_SIZE)
        for box in listed:
            if box["mode"] == "capture":
                capture = dict(box)  # shown first, on its own line
            elif box["id"] not in seen:
                inboxes.append(dict(box))
    unread = sum(box["unread_count"] for box in inboxes) + (capture or {}).get("unread_count", 0)
    response = _page(
        "index.html",
        title=f"({unread}) inboxkit" if unread else "inboxkit",
        csrf=session.csrf if session else pre_token,
        signed_in=session is not None and session.key is not None,
        inboxes=inboxes,
        capture=capture,
        has_capture=has_capture,
        anonymous_allowed=runtime.settings.allow_anonymous,
        max_ttl=runtime.settings.max_ttl_minutes,
    )
    if session is None:
        response.set_cookie(
            PRE_COOKIE,
            pre_token,
            httponly=True,
            samesite="strict",
            secure=_secure(request, runtime),
            path="/",
        )
    return response


@router.post("/ui/signin")
@_refusals
async def sign_in(request: Request) -> Response:
    runtime = _runtime(request)
    session = await _session(request)
    fields = await _form(request, session, before_session=True)
    token = fields.get("token", "").strip()
    if not token:
        raise BadRequest("Paste an API key (ik_…) or a mailbox token (ikm_…) to sign in.")
    principal = await runtime.auth.authenticate(token)  # Unauthorized when it is not valid
    principal.require_access("api")
    # A new session id on sign-in: a cookie planted before signing in is worth nothing after.
    fresh = await runtime.sessions.open()
    if session is not None:
        fresh = dataclasses.replace(fresh, inboxes=session.inboxes)
        await runtime.sessions.close(session)
    fresh = fresh.with_key(token)
    response = _see("/")
    _set_cookie(response, request, runtime, fresh)
    return response


@router.post("/ui/signout")
@_refusals
async def sign_out(request: Request) -> Response:
    runtime = _runtime(request)
    session = await _session(request)
    await _form(request, session)
    assert session is not None
    await runtime.sessions.close(session)
    response = _see("/")
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.post("/ui/inboxes")
@_refusals
async def create_inbox(request: Request) -> Response:
    """The "New inbox" button: with the signed-in key, or (no key) anonymously, keeping the
    inbox's token in the session."""
    runtime = _runtime(request)
    session = await _session(request)
    fields = await _form(request, session, before_session=True)
    ttl = fields.get("ttl_minutes", "").strip()
    options: dict[str, Any] = {
        "mode": fields.get("mode") or "test",
        "handle": fields.get("handle", "").strip() or None,
        "name": fields.get("name", "").strip() or None,
        "ttl_minutes": int(ttl) if ttl.isdigit() else None,
    }
    key = session.key if session is not None else None
    principal = await _principal(request, key)
    box = await runtime.mailboxes.create(principal, **options)
    if box.get("token") or session is None:
        session = await _started(request, session)
        if box.get("token"):
            session = session.with_inbox(box["id"], box["token"])
    response = _see(f"/inbox/{box['id']}")
    _set_cookie(response, request, runtime, session)
    return response


@router.post("/ui/inbox/{mailbox_id}/extend")
@_refusals
async def extend_inbox(request: Request, mailbox_id: str) -> Response:
    session = await _session(request)
    fields = await _form(request, session)
    principal = await _for_mailbox(request, session, mailbox_id)
    ttl = fields.get("ttl_minutes", "")
    if not ttl.isdigit():
        raise BadRequest("Give the new lifetime in whole minutes.")
    await _runtime(request).mailboxes.update(
        principal, mailbox_id, ttl_minutes=int(ttl), fields={"ttl_minutes"}
    )
    return _see(f"/inbox/{mailbox_id}")


@router.post("/ui/inbox/{mailbox_id}/delete")
@_refusals
async def delete_inbox(request: Request, mailbox_id: str) -> Response:
    session = await _session(request)
    await _form(request, session)
    principal = await _for_mailbox(request, session, mailbox_id)
    await _runtime(request).mailboxes.delete(principal, mailbox_id)
    return _see("/")


# -- the capture mailbox ---------------------------------------------------------------------


@router.get("/ui/capture")
@_refusals
async def capture(request: Request) -> Response:
    """The signed-in account's capture mailbox, made on first use (as `GET /api/v1/capture`)."""
    session = await _session(request)
    if session is None or session.key is None:
        raise Unauthorized("Sign in with an API key: the capture mailbox belongs to an account.")
    box = await _runtime(request).capture.mailbox(await _principal(request, session.key))
    return _see(f"/inbox/{box['id']}")


# -- an inbox ---------------------------------------------------------------------------------


@router.get("/inbox/{mailbox_id}")
@_refusals
async def inbox(request: Request, mailbox_id: str) -> Response:
    session = await _session(request)
    principal = await _for_mailbox(request, session, mailbox_id)
    assert session is not None
    return await _inbox_page(request, session, principal, mailbox_id)


async def _inbox_page(
    request: Request,
    session: Session,
    principal: Principal,
    mailbox_id: str,
    *,
    status: int = 200,
    send_error: InboxKitError | None = None,
    draft: dict[str, str] | None = None,
) -> Response:
    """An inbox's page; after a refused send, with the refusal and the form as it was."""
    runtime = _runtime(request)
    q = request.query_params.get("q", "")[:MAX_QUERY].strip()
    unread_only = request.query_params.get("unread") == "1"
    box = await runtime.mailboxes.get(principal, mailbox_id)
    # The spam view: what an agent inbox hides from its list (DESIGN §9). Other modes hide
    # nothing, so they have no such view.
    spam = box["mode"] == "agent" and request.query_params.get("spam") == "1"
    search_error: str | None = None
    messages: Sequence[Any]
    if q:
        # The search box takes the query language (docs/search.md); results show where they
        # matched. A query that cannot be read is said on the page, with the list left empty.
        try:
            messages, _ = await runtime.search.search(
                principal,
                f"{q} is:unread" if unread_only else q,
                mailbox=mailbox_id,
                spam=spam,
                limit=PAGE_SIZE,
            )
        except BadRequest as exc:
            messages, search_error = [], exc.message
    else:
        flt = MessageFilter(unread=True if unread_only else None, spam=spam)
        messages, _ = await runtime.messages.list(principal, mailbox_id, flt, limit=PAGE_SIZE)
    # In the capture mailbox, what matters about each message is whom the application sent
    # it to: the envelope's recipients (a Bcc is there alone).
    recipients: dict[str, Sequence[str]] = {}
    if box["mode"] == "capture":
        ids = [m["id"] for m in messages]
        recipients = await runtime.messages.envelope_recipients(principal, mailbox_id, ids)
    title = f"({box['unread_count']}) {box['address']}" if box["unread_count"] else box["address"]
    return _page(
        "inbox.html",
        status,
        title=title,
        csrf=session.csrf,
        box=box,
        messages=messages,
        recipients=recipients,
        q=q,
        search_error=search_error,
        unread_only=unread_only,
        spam=spam,
        # Streams push only what the list shows by default, so filtered views stay still.
        live=not q and not unread_only and not spam,
        max_ttl=runtime.settings.max_ttl_minutes,
        send_error=send_error,
        draft=draft or {},
        account_user=await _signed_in_account(request, session),
    )


@router.get("/ui/inbox/{mailbox_id}/events")
async def inbox_events(request: Request, mailbox_id: str) -> Response:
    """The inbox's events over SSE for this session: the browser never holds a token."""
    runtime = _runtime(request)
    if not _same_site(request):
        return Response("Cross-site requests may not open event streams.", status_code=403)
    try:
        principal = await _for_mailbox(request, await _session(request), mailbox_id)
        after = start_after(request.headers.get("last-event-id"))
        stream = await runtime.waits.follow(principal, mailbox_id, after=after).open()
    except InboxKitError as exc:
        return Response(exc.message, status_code=exc.status, media_type="text/plain")
    return event_stream(stream)


@router.post("/ui/inbox/{mailbox_id}/{message_id}/read")
@_refusals
async def mark(request: Request, mailbox_id: str, message_id: str) -> Response:
    session = await _session(request)
    fields = await _form(request, session)
    principal = await _for_mailbox(request, session, mailbox_id)
    is_read = fields.get("is_read") == "1"
    await _runtime(request).messages.set_read(principal, mailbox_id, message_id, is_read)
    if fields.get("back") == "message":
        return _see(f"/inbox/{mailbox_id}/{message_id}")
    return _see(_list_url(mailbox_id, fields))


@router.post("/ui/inbox/{mailbox_id}/{message_id}/delete")
@_refusals
async def delete_message(request: Request, mailbox_id: str, message_id: str) -> Response:
    session = await _session(request)
    fields = await _form(request, session)
    principal = await _for_mailbox(request, session, mailbox_id)
    await _runtime(request).messages.delete(principal, mailbox_id, message_id)
    return _see(_list_url(mailbox_id, fields))


def _list_url(mailbox_id: str, fields: dict[str, str]) -> str:
    """Where a row's form post returns to: the list it was posted from (the spam view, when
    its rows said so with `back=spam`)."""
    return f"/inbox/{mailbox_id}?spam=1" if fields.get("back") == "spam" else f"/inbox/{mailbox_id}"


# -- a message --------------------------------------------------------------------------------


# Registered before a message's page, whose path would otherwise take "threads" for an id.
@router.get("/inbox/{mailbox_id}/threads")
@_refusals
async def threads_page(request: Request, mailbox_id: str) -> Response:
    """A mailbox's conversations, newest activity first."""
    session = await _session(request)
    principal = await _for_mailbox(request, session, mailbox_id)
    runtime = _runtime(request)
    cursor = request.query_params.get("cursor") or None
    box = await runtime.mailboxes.get(principal, mailbox_id)
    threads, next_cursor = await runtime.threads.list(
        principal, mailbox_id, limit=PAGE_SIZE, cursor=cursor
    )
    return _page(
        "threads.html",
        title=f"Conversations · {box['address']}",
        box=box,
        threads=threads,
        next_cursor=next_cursor,
    )


@router.get("/inbox/{mailbox_id}/threads/{thread_id}")
@_refusals
async def thread_page(request: Request, mailbox_id: str, thread_id: str) -> Response:
    """One conversation's messages, oldest first."""
    session = await _session(request)
    principal = await _for_mailbox(request, session, mailbox_id)
    runtime = _runtime(request)
    cursor = request.query_params.get("cursor") or None
    box = await runtime.mailboxes.get(principal, mailbox_id)
    thread, next_cursor = await runtime.threads.get(
        principal, mailbox_id, thread_id, limit=PAGE_SIZE, cursor=cursor
    )
    return _page(
        "thread.html",
        title=thread["subject"] or "(no subject)",
        box=box,
        thread=thread,
        next_cursor=next_cursor,
    )


@router.get("/inbox/{mailbox_id}/{message_id}")
@_refusals
async def message(request: Request, mailbox_id: str, message_id: str) -> Response:
    session = await _session(request)
    principal = await _for_mailbox(request, session, mailbox_id)
    assert session is not None
    return await _message_page(request, session, principal, mailbox_id, message_id)


async def _message_page(
    request: Request,
    session: Session,
    principal: Principal,
    mailbox_id: str,
    message_id: str,
    *,
    status: int = 200,
    reply_error: InboxKitError | None = None,
    draft: dict[str, str] | None = None,
    label_error: InboxKitError | None = None,
) -> Response:
    """A message's page; after a refused reply, with the refusal and the form as it was."""
    runtime = _runtime(request)
    box = await runtime.mailboxes.get(principal, mailbox_id)
    found = await runtime.messages.get(
        principal, mailbox_id, message_id, mark_read=reply_error is None and label_error is None
    )
    raw = await runtime.messages.raw(principal, mailbox_id, message_id)
    images = request.query_params.get("images") == "1"
    frame = f"/ui/inbox/{mailbox_id}/{message_id}/html" + ("?images=1" if images else "")
    return _page(
        "message.html",
        status,
        title=found["subject"] or "(no subject)",
        csrf=session.csrf,
        box=box,
        m=found,
        raw=raw.decode("utf-8", "replace"),
        frame=frame,
        images=images,
        first_link=found["links"][0] if found["links"] else None,
        allow_images_url=f"/inbox/{mailbox_id}/{message_id}?" + urlencode({"images": "1"}),
        reply_error=reply_error,
        draft=draft or {},
        label_error=label_error,
        system_labels=SYSTEM_LABELS,
    )


@router.post("/ui/inbox/{mailbox_id}/{message_id}/labels")
@_refusals
async def labels(request: Request, mailbox_id: str, message_id: str) -> Response:
    """The message page's label forms: add one label (`add`) or remove one (`remove`). A
    refused label (a system label's name, too long, control characters) is shown on the page."""
    session = await _session(request)
    fields = await _form(request, session)
    principal = await _for_mailbox(request, session, mailbox_id)
    assert session is not None
    add, remove = fields.get("add", ""), fields.get("remove", "")
    change = MessageChange(
        add_labels=[add] if add else (), remove_labels=[remove] if remove else ()
    )
    try:
        await _runtime(request).messages.update(principal, mailbox_id, message_id, change)
    except (BadRequest, ValidationFailed) as exc:
        return await _message_page(
            request, session, principal, mailbox_id, message_id, status=exc.status, label_error=exc
        )
    return _see(f"/inbox/{mailbox_id}/{message_id}")


# -- sending and replying (agent inboxes) -----------------------------------------------------


# What a send or reply can be refused for that the person can fix on the form itself (the
# plan's policy, a rate or quota, a bad address or body, a message too large): shown above it.
_SEND_REFUSALS = (
    BadRequest,
    Conflict,
    Forbidden,
    PayloadTooLarge,
    QuotaExceeded,
    RateLimited,
    ValidationFailed,
)


def _addresses(value: str) -> list[str]:
    """A comma-separated list of addresses as typed: each trimmed, blanks dropped."""
    return [part.strip() for part in value.split(",") if part.strip()]


@router.post("/ui/inbox/{mailbox_id}/send")
@_refusals
async def send(request: Request, mailbox_id: str) -> Response:
    """The send form: a new message from the inbox's address, through the outbound service.
    A refusal (the plan's sending policy, a rate, a bad address) is shown on the inbox's page
    above the form, which keeps what was typed."""
    session = await _session(request)
    fields = await _form(
        request,
        session,
        longer={"to": MAX_ADDRESS_LIST, "cc": MAX_ADDRESS_LIST, "text": MAX_BODY_CHARS},
    )
    principal = await _for_mailbox(request, session, mailbox_id)
    assert session is not None
    draft = {name: fields.get(name, "") for name in ("to", "cc", "subject", "text")}
    try:
        to = _addresses(draft["to"])
        if not to:
            raise BadRequest("Give at least one recipient in To (addresses separated by commas).")
        await _runtime(request).outbound.send(
            principal,
            mailbox_id,
            to=to,
            cc=_addresses(draft["cc"]),
            subject=draft["subject"],
            text=draft["text"],
        )
    except _SEND_REFUSALS as exc:
        page = await _inbox_page(
            request, session, principal, mailbox_id, status=exc.status, send_error=exc, draft=draft
        )
        for name, value in (exc.headers or {}).items():
            page.headers[name] = value
        return page
    return _see(f"/inbox/{mailbox_id}")


@router.post("/ui/inbox/{mailbox_id}/{message_id}/reply")
@_refusals
async def reply(request: Request, mailbox_id: str, message_id: str) -> Response:
    """The reply form: threaded onto the message by the outbound service (`Re:`, In-Reply-To,
    References); to its sender, or with "reply all" to everyone it was addressed to."""
    session = await _session(request)
    fields = await _form(request, session, longer={"text": MAX_BODY_CHARS})
    principal = await _for_mailbox(request, session, mailbox_id)
    assert session is not None
    draft = {"text": fields.get("text", ""), "reply_all": fields.get("reply_all", "")}
    try:
        await _runtime(request).outbound.reply(
            principal,
            mailbox_id,
            message_id,
            text=draft["text"],
            reply_all=draft["reply_all"] == "1",
        )
    except _SEND_REFUSALS as exc:
        page = await _message_page(
            request,
            session,
            principal,
            mailbox_id,
            message_id,
            status=exc.status,
            reply_error=exc,
            draft=draft,
        )
        for name, value in (exc.headers or {}).items():
            page.headers[name] = value
        return page
    return _see(f"/inbox/{mailbox_id}")


@router.get("/ui/inbox/{mailbox_id}/{message_id}/html")
@_refusals
async def message_html(request: Request, mailbox_id: str, message_id: str) -> Response:
    """The sanitised HTML, for `<iframe sandbox>` only: its own CSP allows no script, no
    network but remote images (once allowed), and no framing but by our page."""
    runtime = _runtime(request)
    principal = await _for_mailbox(request, await _session(request), mailbox_id)
    found = await runtime.messages.get(principal, mailbox_id, message_id, mark_read=False)
    images = request.query_params.get("images") == "1"
    body = found["html_sanitized"] or ""
    return HTMLResponse(
        f"<!doctype html><meta charset=utf-8>{body}",
        headers={"Content-Security-Policy": html_frame_csp(images)},
    )


@router.get("/ui/inbox/{mailbox_id}/{message_id}/raw")
@_refusals
async def message_raw(request: Request, mailbox_id: str, message_id: str) -> Response:
    principal = await _for_mailbox(request, await _session(request), mailbox_id)
    raw = await _runtime(request).messages.raw(principal, mailbox_id, message_id)
    name = f"{message_id}.eml"
    return download(raw, content_type="message/rfc822", filename=name, fallback=name)


@router.get("/ui/inbox/{mailbox_id}/{message_id}/attachments/{attachment_id}")
@_refusals
async def attachment(
    request: Request, mailbox_id: str, message_id: str, attachment_id: str
) -> Response:
    principal = await _for_mailbox(request, await _session(request), mailbox_id)
    data, meta = await _runtime(request).messages.attachment(
        principal, mailbox_id, message_id, attachment_id
    )
    # Saved, never rendered: the API's download rules (inert type, cleaned name, sandbox).
    return download(
        data,
        content_type=meta.get("content_type"),
        filename=str(meta.get("filename") or ""),
        fallback=attachment_id,
    )


def install(app: FastAPI) -> None:
    """Serve the UI from `app`: the pages, the static files, the headers middleware."""
    from inboxkit.web.drafts import router as drafts_router
    from inboxkit.web.security import UiHeaders

    # First: its `/inbox/{id}/drafts` page would otherwise be taken for a message's page.
    app.include_router(drafts_router)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(UiHeaders)
