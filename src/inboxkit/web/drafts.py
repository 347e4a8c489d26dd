"""The web UI for reviewed sending (DESIGN §13 "Drafts and review", docs/ui.md).

`/inbox/{id}/drafts` lists a mailbox's drafts that are waiting: those awaiting review (with
**Approve** and **Discard**) and scheduled ones (with **Discard**). Under `/ui/`, the form posts:
approve, discard, and turning the mailbox's outbound review on or off.

Approving and changing the review are an account's acts: review exists to keep an agent that
holds the mailbox's token from sending on its own, so those posts act with the key the person
signed in with, never an inbox token the session holds, and `DraftService.approve` /
`MailboxService.update` decide (a mailbox token is refused there, another account's mailbox is
404). Viewing and discarding go with the session's usual token for the mailbox.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from inboxkit.errors import BadRequest
from inboxkit.ids import is_id
from inboxkit.mail.htmltext import html_to_text
from inboxkit.services.auth import Principal, PrincipalKind
from inboxkit.services.drafts import draft_preview
from inboxkit.services.sessions import Session
from inboxkit.web.routes import (
    PAGE_SIZE,
    _for_mailbox,
    _form,
    _page,
    _principal,
    _refusals,
    _runtime,
    _see,
    _session,
    _signed_in_account,
)

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

# The drafts that wait, in the order they are listed.
_WAITING = ("pending_review", "scheduled")


def _drafts_url(mailbox_id: str) -> str:
    return f"/inbox/{mailbox_id}/drafts"


async def _as_account(request: Request, session: Session | None, mailbox_id: str) -> Principal:
    """The signed-in account's key for this mailbox when the session has one; else the
    session's token for it (which the service then refuses for approving or the review)."""
    if session is not None and session.key is not None and is_id(mailbox_id):
        principal = await _principal(request, session.key)
        if principal.kind is PrincipalKind.API_KEY:
            return principal
    return await _for_mailbox(request, session, mailbox_id)


def _version(value: str | None) -> datetime | None:
    """The `updated_at` the page showed the draft at (the form's hidden field)."""
    if not value:
        return None
    try:
        version = datetime.fromisoformat(value[:64])
    except ValueError:
        raise BadRequest("The form's updated_at is not a time; reload the page.") from None
    if version.tzinfo is None:
        raise BadRequest("The form's updated_at has no time zone; reload the page.")
    return version


@router.get("/inbox/{mailbox_id}/drafts")
@_refusals
async def drafts_page(request: Request, mailbox_id: str) -> Response:
    """The mailbox's drafts awaiting review and scheduled ones, with its review switch."""
    runtime = _runtime(request)
    session = await _session(request)
    principal = await _for_mailbox(request, session, mailbox_id)
    assert session is not None
    box = await runtime.mailboxes.get(principal, mailbox_id)
    groups = []
    for status in _WAITING:
        items, more = await runtime.drafts.list(
            principal, mailbox_id, status=status, limit=PAGE_SIZE
        )
        for item in items:
            item["preview"] = draft_preview(item["text"], item["html"]) or "(no text)"
            # A reviewer reads the HTML part as text: never rendered here, where it could
            # style or script the page.
            item["html_text"] = html_to_text(item["html"]) if item["html"] else ""
        groups.append({"status": status, "drafts": items, "more": more is not None})
    return _page(
        "drafts.html",
        title=f"Drafts · {box['address']}",
        csrf=session.csrf,
        box=box,
        pending=groups[0],
        scheduled=groups[1],
        account_user=await _signed_in_account(request, session),
    )


@router.post("/ui/inbox/{mailbox_id}/drafts/{draft_id}/approve")
@_refusals
async def approve_draft(request: Request, mailbox_id: str, draft_id: str) -> Response:
    """Approve a draft awaiting review: sent now (or at its `send_at`), as `POST …/approve`,
    and only as the page showed it (its `updated_at`): edited since, it is refused."""
    session = await _session(request)
    fields = await _form(request, session)
    principal = await _as_account(request, session, mailbox_id)
    await _runtime(request).drafts.approve(
        principal, mailbox_id, draft_id, version=_version(fields.get("updated_at"))
    )
    return _see(_drafts_url(mailbox_id))


@router.post("/ui/inbox/{mailbox_id}/drafts/{draft_id}/discard")
@_refusals
async def discard_draft(request: Request, mailbox_id: str, draft_id: str) -> Response:
    """Discard a waiting draft: it is never sent (as `DELETE …/drafts/{id}`)."""
    session = await _session(request)
    await _form(request, session)
    principal = await _for_mailbox(request, session, mailbox_id)
    await _runtime(request).drafts.delete(principal, mailbox_id, draft_id)
    return _see(_drafts_url(mailbox_id))


@router.post("/ui/inbox/{mailbox_id}/review")
@_refusals
async def set_review(request: Request, mailbox_id: str) -> Response:
    """Turn the mailbox's outbound review on (`on=1`) or off (`on=0`), as `PATCH` with
    `outbound_review`; back to the page the form was on."""
    session = await _session(request)
    fields = await _form(request, session)
    principal = await _as_account(request, session, mailbox_id)
    on = fields.get("on")
    if on not in ("0", "1"):
        raise BadRequest("Say whether review is to be on or off: on=1 or on=0.")
    await _runtime(request).mailboxes.update(
        principal, mailbox_id, outbound_review=on == "1", fields={"outbound_review"}
    )
    back = fields.get("back")
    return _see(_drafts_url(mailbox_id) if back == "drafts" else f"/inbox/{mailbox_id}")
