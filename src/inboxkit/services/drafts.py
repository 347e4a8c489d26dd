"""Drafts, scheduled sending and reviewed sending (DESIGN §13, docs/conversations.md).

A draft is a send request kept in the `drafts` table (`store/drafts.py`): the same fields as
`POST …/send`, or a reply's (`in_reply_to`), plus an optional `send_at`. Its states:

- `draft`: kept, editable, sent only when asked (`send`);
- `pending_review`: its mailbox is under review (`outbound_review`); nothing is sent until an
  account approves it (`approve`), and an edit keeps it waiting;
- `scheduled`: due at `next_attempt_at` (its `send_at`, or now once approved, or a retry);
  shown as `sending` while somebody holds its lease;
- `sent` (with `sent_message_id`) or `failed` (with `error`; edit and send it again).

Every send of a draft goes through `OutboundService.send_draft`, so it meets the rules, quotas,
rates, DKIM, local delivery and relay of any send. Scheduled drafts are a lease queue like the
outbox (`store/queue.py`): the drafts worker (`workers/drafts.py`) claims due rows in any number
of processes, and a send in a request (`send`, `approve`) leases its draft the same way first,
so a process dying mid-send leaves a scheduled row the worker sends once the lease runs out.
Cancelling is a conditional delete that fails while a lease is held, and the send marks its
draft sent in the transaction that stores the message only while its lease token still holds
it, so a draft is sent at most once and a cancelled one never.

Why the mailbox's own token cannot approve: review exists to keep an agent (which holds that
token) from sending on its own, so approval, and turning review off, need an account's key.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.bus import Bus, EventKind
from inboxkit.config import Settings
from inboxkit.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    InboxKitError,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Resource,
    ValidationFailed,
)
from inboxkit.ids import is_id, new_id
from inboxkit.mail.htmltext import html_to_text
from inboxkit.plan import Plan
from inboxkit.services.auth import MAILBOX_TOKEN_SCOPES, Principal, PrincipalKind
from inboxkit.services.mailboxes import MailboxService, decode_cursor, encode_cursor
from inboxkit.services.messages import message_in
from inboxkit.services.outbound import (
    IDEMPOTENCY_TTL,
    DraftFields,
    Held,
    OutboundService,
    Remember,
)
from inboxkit.services.webhooks import WebhookService
from inboxkit.store import drafts as rows
from inboxkit.store import mailboxes as mailbox_rows
from inboxkit.store import sends
from inboxkit.store.db import Database
from inboxkit.store.tables import DraftStatus, utcnow

__all__ = [
    "DRAFT_SPACE_SENDS",
    "LISTED_STATUSES",
    "PREVIEW_CHARS",
    "MAX_DRAFTS_PER_MAILBOX",
    "MAX_SEND_AHEAD",
    "PAST_GRACE",
    "DraftService",
]

# Drafts a mailbox may hold that are not sent yet.
MAX_DRAFTS_PER_MAILBOX = 1000
# And what they may hold together: this many times the send size limit (`max_send_bytes`) of
# bodies and attachments as stored, so a mailbox's drafts cannot fill the disk.
DRAFT_SPACE_SENDS = 8
# How much of a draft's text its preview shows (webhooks, the web UI's list): payloads carry
# summaries, and the whole draft is one GET away.
PREVIEW_CHARS = 300
# How much of a body a preview is made from: enough for PREVIEW_CHARS after collapsing
# whitespace and dropping markup, and bounded whatever the draft holds.
_PREVIEW_SOURCE_CHARS = 20_000
# A `send_at` this little in the past is "now" (a clock a little behind, a slow request);
# further back it is refused, since it is most likely a mistake.
PAST_GRACE = timedelta(seconds=60)
MAX_SEND_AHEAD = timedelta(days=366)
# Sent drafts' records are forgotten after this (the sent messages stay in the mailbox).
SENT_KEPT = timedelta(days=30)
# What `?status=` takes: the stored states (a draft being sent is listed as scheduled).
LISTED_STATUSES = tuple(status.value for status in DraftStatus)
# The fields a send request and a draft share, as they are stored.
_COLUMNS = {"to": "to_addrs", "cc": "cc_addrs", "bcc": "bcc_addrs"}


class _Cancelled(Exception):
    """The draft stopped being this sender's before the message was stored (deleted, or taken
    over after the lease ran out): roll the send back."""


def _attachment_size(content: str) -> int:
    """The decoded size of base64 text, from its length alone."""
    padding = len(content) - len(content.rstrip("="))
    return len(content) * 3 // 4 - padding


def _fields(row: Any) -> DraftFields:
    return DraftFields(
        to=list(row.to_addrs),
        cc=list(row.cc_addrs),
        bcc=list(row.bcc_addrs),
        subject=row.subject,
        text=row.text,
        html=row.html,
        attachments=list(row.attachments),
        in_reply_to=row.in_reply_to,
        reply_all=bool(row.reply_all),
        forward_of=row.forward_of,
    )


def draft_json(row: Any, now: datetime | None = None) -> dict[str, Any]:
    """A draft as every surface shows it; attachments by name, type and size only."""
    now = now or utcnow()
    status = row.status
    if status == DraftStatus.SCHEDULED and row.locked_until is not None and row.locked_until > now:
        status = "sending"
    review = None
    if row.approved_at is not None:
        review = {
            "state": "approved",
            "approved_at": row.approved_at,
            "approved_by": row.approved_by,
        }
    elif row.status == DraftStatus.PENDING_REVIEW:
        review = {"state": "pending", "approved_at": None, "approved_by": None}
    return {
        "id": row.id,
        "mailbox_id": row.mailbox_id,
        "status": status,
        "to": list(row.to_addrs),
        "cc": list(row.cc_addrs),
        "bcc": list(row.bcc_addrs),
        "subject": row.subject,
        "text": row.text,
        "html": row.html,
        "attachments": [
            {
                "filename": item["filename"],
                "content_type": item.get("content_type") or "application/octet-stream",
                "size": _attachment_size(item["content"]),
                "content_id": item.get("content_id"),
            }
            for item in row.attachments
        ],
        "in_reply_to": row.in_reply_to,
        "reply_all": bool(row.reply_all),
        "forward_of": row.forward_of,
        "send_at": row.send_at,
        "review": review,
        "sent_message_id": row.sent_message_id,
        "error": row.error,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def draft_preview(text: str | None, html: str | None) -> str:
    """The start of a draft's text (its HTML part as text when it has none) on one line, at
    most PREVIEW_CHARS characters and `…` when cut; empty when it has no body."""
    if text:
        source = text[:_PREVIEW_SOURCE_CHARS]
    else:
        source = html_to_text(html[:_PREVIEW_SOURCE_CHARS]) if html else ""
    flat = " ".join(source.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[:PREVIEW_CHARS].rstrip() + "…"


def draft_summary(row: Any, now: datetime | None = None) -> dict[str, Any]:
    """A draft as webhooks carry it: `draft_json` without the bodies, with its `preview`
    instead (payloads stay small; `GET …/drafts/{id}` has the rest)."""
    shown = draft_json(row, now)
    shown["preview"] = draft_preview(shown.pop("text"), shown.pop("html"))
    return shown


def _sender(box: Any) -> Principal:
    """Who a kept draft is sent as: its mailbox, limited by its account's current plan (the
    same as the agent's own token, so a draft gets no more than a direct send would)."""
    plan = Plan.from_row(box, prefix="plan_") if box.plan_name is not None else None
    return Principal(
        kind=PrincipalKind.MAILBOX,
        mailbox_id=box.id,
        owner_account_id=box.account_id,
        scopes=MAILBOX_TOKEN_SCOPES,
        plan=plan,
        via="drafts",
    )


def _retry_time(schedule: list[float], attempts: int, after: int | None) -> datetime | None:
    """When to try a draft again after `attempts` tries, the way the outbox does (the delay
    after the nth failure is `schedule[n]`, ±20% so failures spread out); None when spent."""
    if after is not None:
        return utcnow() + timedelta(seconds=after)
    if attempts >= len(schedule):
        return None
    return utcnow() + timedelta(seconds=schedule[attempts] * random.uniform(0.8, 1.2))


def _require_any(principal: Principal, *scopes: str) -> None:
    if not any(scope in principal.scopes for scope in scopes):
        principal.require(scopes[0])


class DraftService:
    """Drafts of a mailbox (by principal), the review gate `OutboundService` hands held sends
    to (`hold`), and sending a leased draft (`send_leased`, also the drafts worker's job)."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        bus: Bus,
        mailboxes: MailboxService,
        outbound: OutboundService,
        webhooks: WebhookService,
    ):
        self.settings = settings
        self.db = db
        self.bus = bus
        self.mailboxes = mailboxes
        self.outbound = outbound
        self.webhooks = webhooks

    # -- checks --------------------------------------------------------------------------------

    def _send_at(self, send_at: datetime | None) -> datetime | None:
        """A requested send time: aware, not more than PAST_GRACE ago (then it is now), at most
        MAX_SEND_AHEAD ahead."""
        if send_at is None:
            return None
        if send_at.tzinfo is None:
            raise ValidationFailed(
                "send_at needs a time zone (RFC 3339, e.g. 2030-01-01T09:00:00Z)."
            )
        now = utcnow()
        if send_at < now - PAST_GRACE:
            raise BadRequest("send_at is in the past; omit it to send now.")
        if send_at > now + MAX_SEND_AHEAD:
            raise BadRequest("send_at is more than a year ahead; choose a time within a year.")
        return max(send_at, now)

    def _check_size(self, fields: DraftFields) -> None:
        """What a send is allowed, roughly, before it is composed: bodies and decoded files."""
        size = len((fields.text or "").encode()) + len((fields.html or "").encode())
        size += sum(_attachment_size(item["content"]) for item in fields.attachments)
        if size > self.settings.max_send_bytes:
            raise PayloadTooLarge(
                f"The draft holds {size} bytes of bodies and attachments; a message may be at "
                f"most {self.settings.max_send_bytes} bytes."
            )

    async def _check_sendable(self, principal: Principal, box: Any, fields: DraftFields) -> None:
        """What sending would refuse, as a 400 that says what is missing."""
        try:
            await self.outbound.check_draft(principal, box, fields)
        except ValidationFailed as exc:
            raise BadRequest(f"This draft cannot be sent yet: {exc.message}") from None

    async def _check_room(
        self,
        conn: AsyncConnection,
        mailbox_id: str,
        fields: DraftFields,
        *,
        replacing: str | None = None,
    ) -> None:
        """Whether the mailbox can keep `fields` as a new draft (or as `replacing`'s new
        content): at most MAX_DRAFTS_PER_MAILBOX unsent drafts, holding together at most
        DRAFT_SPACE_SENDS times the send size limit."""
        # The mailbox row is locked first (on PostgreSQL; SQLite's write transactions are
        # serialised already), so concurrent creations take turns at the count and the caps
        # are exact; a mailbox deleted meanwhile takes no draft.
        if not await mailbox_rows.lock_undeleted(conn, [mailbox_id]):
            raise NotFound("No such mailbox.", resource=Resource.MAILBOX)
        if replacing is None and await rows.count_open(conn, mailbox_id) >= MAX_DRAFTS_PER_MAILBOX:
            raise Conflict(
                f"This mailbox already holds {MAX_DRAFTS_PER_MAILBOX} unsent drafts; send or "
                "delete some before creating more."
            )
        room = DRAFT_SPACE_SENDS * self.settings.max_send_bytes
        size = rows.stored_size(fields.text, fields.html, fields.attachments)
        if await rows.open_size(conn, mailbox_id, excluding=replacing) + size > room:
            raise Conflict(
                f"This mailbox's unsent drafts would hold more than {room} bytes of bodies and "
                "attachments; send or delete some drafts before keeping more."
            )

    async def _find(self, conn: AsyncConnection, box: Any, draft_id: str) -> Any:
        row = await rows.find(conn, box.id, draft_id) if is_id(draft_id) else None
        if row is None:
            raise NotFound("No such draft in this mailbox.", resource=Resource.DRAFT)
        return row

    def _review_note(self, box: Any, draft_id: str) -> dict[str, Any]:
        path = f"/api/v1/mailboxes/{box.id}/drafts/{draft_id}/approve"
        return {
            "state": "pending",
            "sent": False,
            "message": (
                f"Not sent: {box.address} is under review, so the message was kept as draft "
                f"{draft_id} awaiting approval. An account's API key with mailboxes:write "
                f"approves it (POST {path}), or a person in the web UI; the mailbox's own "
                "token cannot."
            ),
            "approve_url": f"{self.settings.base_url}{path}",
        }

    async def _announce(self, *events: EventKind) -> None:
        """After a commit: wake the webhook dispatcher and the drafts worker (any process).
        No mailbox in the event, so it reaches the workers' subscriptions, not the streams."""
        for event in events:
            await self.bus.publish({"event": event})

    async def _queue_event(
        self, conn: AsyncConnection, event: str, row: Any, now: datetime | None = None
    ) -> None:
        await self.webhooks.on_draft_event(conn, event, row.mailbox_id, draft_summary(row, now))

    # -- the review gate (OutboundService) -----------------------------------------------------

    async def hold(
        self, principal: Principal, box: Any, fields: DraftFields, remember: Remember | None
    ) -> Held:
        """Keep a send or reply of a mailbox under review as a draft awaiting approval; the
        Idempotency-Key, if any, is recorded with it so a replay answers the same draft."""
        self._check_size(fields)
        now = utcnow()
        async with self.db.write() as conn:
            await self._check_room(conn, box.id, fields)
            row = await rows.insert(
                conn, self._values(box.id, fields, DraftStatus.PENDING_REVIEW, None, now)
            )
            held = Held(draft_json(row, now), self._review_note(box, row.id))
            if remember is not None:
                await sends.remember_response(
                    conn,
                    remember.key_id,
                    remember.fingerprint,
                    held.remembered(),
                    now=now,
                    expired_at_or_before=now - IDEMPOTENCY_TTL,
                )
            await self._queue_event(conn, "draft.created", row, now)
        await self._announce("draft.created")
        return held

    # -- drafts of a mailbox -------------------------------------------------------------------

    @staticmethod
    def _values(
        mailbox_id: str,
        fields: DraftFields,
        status: DraftStatus,
        send_at: datetime | None,
        now: datetime,
    ) -> dict[str, Any]:
        return {
            "id": new_id(),
            "mailbox_id": mailbox_id,
            "status": status,
            "to_addrs": fields.to,
            "cc_addrs": fields.cc,
            "bcc_addrs": fields.bcc,
            "subject": fields.subject,
            "text": fields.text,
            "html": fields.html,
            "attachments": fields.attachments,
            "in_reply_to": fields.in_reply_to,
            "reply_all": fields.reply_all,
            "forward_of": fields.forward_of,
            "send_at": send_at,
            "next_attempt_at": send_at or now,
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
        }

    async def create(
        self,
        principal: Principal,
        ref: str,
        fields: DraftFields,
        *,
        send_at: datetime | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """A new draft; with `send_at`, scheduled (or, under review, awaiting approval first).
        Returns the draft and, when it awaits review, the note saying so."""
        principal.require("send")
        box = await self.mailboxes.find(principal, ref)
        # A mailbox that may not send keeps no drafts either (an anonymous inbox, say).
        self.outbound.may_send(principal, box)
        send_at = self._send_at(send_at)
        self._check_size(fields)
        if fields.in_reply_to is not None:
            async with self.db.read() as conn:
                await message_in(conn, box.id, fields.in_reply_to)
        status = DraftStatus.DRAFT
        if send_at is not None:
            await self._check_sendable(principal, box, fields)
            status = DraftStatus.PENDING_REVIEW if box.outbound_review else DraftStatus.SCHEDULED
        now = utcnow()
        async with self.db.write() as conn:
            await self._check_room(conn, box.id, fields)
            row = await rows.insert(conn, self._values(box.id, fields, status, send_at, now))
            if status is DraftStatus.PENDING_REVIEW:
                await self._queue_event(conn, "draft.created", row, now)
        if status is DraftStatus.PENDING_REVIEW:
            await self._announce("draft.created")
            return draft_json(row, now), self._review_note(box, row.id)
        if status is DraftStatus.SCHEDULED:
            await self._announce("draft.scheduled")
        return draft_json(row, now), None

    async def list(
        self,
        principal: Principal,
        ref: str,
        *,
        status: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The mailbox's drafts, newest first, optionally in one status."""
        _require_any(principal, "messages:read", "send")
        if status is not None and status not in LISTED_STATUSES:
            raise ValidationFailed(f"status must be one of: {', '.join(LISTED_STATUSES)}.")
        before = decode_cursor(cursor) if cursor else None
        async with self.db.read() as conn:
            box = await self.mailboxes.find(principal, ref, conn)
            found = await rows.page(
                conn,
                box.id,
                statuses=[status] if status else None,
                before=before,
                limit=limit + 1,
            )
        now = utcnow()
        page = found[:limit]
        next_cursor = encode_cursor(page[-1].id) if len(found) > limit else None
        return [draft_json(row, now) for row in page], next_cursor

    async def get(self, principal: Principal, ref: str, draft_id: str) -> dict[str, Any]:
        _require_any(principal, "messages:read", "send")
        async with self.db.read() as conn:
            box = await self.mailboxes.find(principal, ref, conn)
            return draft_json(await self._find(conn, box, draft_id))

    async def update(
        self, principal: Principal, ref: str, draft_id: str, changes: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Change a draft that is not sent and not being sent. `send_at: null` unschedules it.
        An edit takes back any approval: under review the draft waits for one again. A
        `send_at` kept from before that has passed (a failed draft's, say) is dropped unless
        the draft is still scheduled: an edit alone never sends a draft that was not due."""
        principal.require("send")
        box = await self.mailboxes.find(principal, ref)
        self.outbound.may_send(principal, box)
        async with self.db.read() as conn:
            row = await self._find(conn, box, draft_id)
        self._refuse_sent(row)
        fields = _fields(row)
        updates: dict[str, Any] = {
            name: changes[name]
            for name in ("to", "cc", "bcc", "subject", "text", "html", "attachments")
            if name in changes
        }
        if "in_reply_to" in changes:
            updates["in_reply_to"] = changes["in_reply_to"]
        if "reply_all" in changes:
            updates["reply_all"] = bool(changes["reply_all"])
        fields = dataclasses.replace(fields, **updates)
        now = utcnow()
        if "send_at" in changes:
            send_at = self._send_at(changes["send_at"])
        elif row.send_at is not None and row.send_at <= now and row.status != DraftStatus.SCHEDULED:
            send_at = None
        else:
            send_at = row.send_at
        self._check_size(fields)
        if fields.in_reply_to is not None and "in_reply_to" in changes:
            async with self.db.read() as conn:
                await message_in(conn, box.id, fields.in_reply_to)
        if send_at is not None:
            await self._check_sendable(principal, box, fields)
            status = DraftStatus.PENDING_REVIEW if box.outbound_review else DraftStatus.SCHEDULED
        elif row.status == DraftStatus.PENDING_REVIEW:
            status = DraftStatus.PENDING_REVIEW
        else:
            status = DraftStatus.DRAFT
        values = {
            _COLUMNS.get(name, name): value for name, value in dataclasses.asdict(fields).items()
        }
        values.update(
            status=status,
            send_at=send_at,
            next_attempt_at=send_at or now,
            approved_at=None,
            approved_by=None,
            error=None,
            attempts=0,
        )
        # A reviewer hears of a draft entering review, and of every change to one that awaits
        # it, so what they approve is what they were shown (approving names that version).
        event: EventKind | None = None
        if status is DraftStatus.PENDING_REVIEW:
            was_waiting = row.status == DraftStatus.PENDING_REVIEW
            event = "draft.updated" if was_waiting else "draft.created"
        async with self.db.write() as conn:
            await self._check_room(conn, box.id, fields, replacing=row.id)
            updated = await rows.update_idle(conn, box.id, row.id, values)
            if updated is None:
                raise await self._busy(conn, box, row.id)
            if event is not None:
                await self._queue_event(conn, event, updated, now)
        if event is not None:
            await self._announce(event)
        if status is DraftStatus.SCHEDULED:
            await self._announce("draft.scheduled")
        note = self._review_note(box, row.id) if status is DraftStatus.PENDING_REVIEW else None
        return draft_json(updated, now), note

    async def delete(self, principal: Principal, ref: str, draft_id: str) -> None:
        """Discard a draft: a scheduled one is then never sent. Refused while it is being sent
        (its lease is held), so a cancel either wins or clearly loses."""
        _require_any(principal, "send", "mailboxes:write")
        box = await self.mailboxes.find(principal, ref)
        async with self.db.write() as conn:
            if not await rows.delete_idle(conn, box.id, draft_id if is_id(draft_id) else ""):
                raise await self._busy(conn, box, draft_id)

    async def _busy(
        self, conn: AsyncConnection, box: Any, draft_id: str, *, version: datetime | None = None
    ) -> InboxKitError:
        """Why a conditional change found nothing: no such draft, sent, being sent, or (when
        the change was of `version`) edited meanwhile."""
        row = await rows.find(conn, box.id, draft_id) if is_id(draft_id) else None
        if row is None:
            return NotFound("No such draft in this mailbox.", resource=Resource.DRAFT)
        if row.status == DraftStatus.SENT:
            return self._sent_conflict(row)
        if version is not None and row.updated_at != version:
            return self._changed_conflict(row)
        return Conflict(
            "This draft is being sent right now, so it can no longer be changed or cancelled; "
            "read it again in a moment to see how it went."
        )

    @staticmethod
    def _sent_conflict(row: Any) -> Conflict:
        return Conflict(
            f"This draft was already sent (message {row.sent_message_id}); it cannot be changed "
            "or sent again. Create a new draft instead."
        )

    @staticmethod
    def _changed_conflict(row: Any) -> Conflict:
        return Conflict(
            f"This draft was changed after you read it (it was updated at "
            f"{row.updated_at.isoformat()}); read it again and approve what you reviewed."
        )

    def _refuse_sent(self, row: Any) -> None:
        if row.status == DraftStatus.SENT:
            raise self._sent_conflict(row)

    # -- sending ---------------------------------------------------------------------------------

    async def send(
        self, principal: Principal, ref: str, draft_id: str
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Send a draft now (its `send_at` aside). Under review it is submitted for approval
        instead, and the note says so."""
        principal.require("send")
        box = await self.mailboxes.find(principal, ref)
        async with self.db.read() as conn:
            row = await self._find(conn, box, draft_id)
        self._refuse_sent(row)
        fields = _fields(row)
        await self._check_sendable(principal, box, fields)
        if box.outbound_review:
            return await self._submit_for_review(box, row)
        return await self._send_now(box, row, {}), None

    async def _submit_for_review(
        self, box: Any, row: Any
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        now = utcnow()
        async with self.db.write() as conn:
            if row.status == DraftStatus.PENDING_REVIEW:
                updated = row
            else:
                updated = await rows.update_idle(
                    conn,
                    box.id,
                    row.id,
                    {
                        "status": DraftStatus.PENDING_REVIEW,
                        "approved_at": None,
                        "approved_by": None,
                        "error": None,
                    },
                )
                if updated is None:
                    raise await self._busy(conn, box, row.id)
                await self._queue_event(conn, "draft.created", updated, now)
        if updated is not row:
            await self._announce("draft.created")
        return draft_json(updated, now), self._review_note(box, row.id)

    async def approve(
        self,
        principal: Principal,
        ref: str,
        draft_id: str,
        *,
        version: datetime | None = None,
    ) -> dict[str, Any]:
        """Approve a draft awaiting review: sent now, or at its `send_at` if that is ahead.
        Only an account's key (or the web UI) may: never the mailbox's own token.

        `version` is the draft's `updated_at` as the reviewer read it: if the draft was edited
        since, nothing is approved (409), so what is sent is what was reviewed. Without it the
        draft as read here is approved, and an edit racing the approval still loses."""
        principal.require("mailboxes:write")
        box = await self.mailboxes.find(principal, ref)  # another tenant's: 404 first
        if principal.kind is not PrincipalKind.API_KEY:
            raise Forbidden(
                "A mailbox's own token cannot approve its drafts: an account's API key with "
                "mailboxes:write, or a person in the web UI, must approve them."
            )
        async with self.db.read() as conn:
            row = await self._find(conn, box, draft_id)
        self._refuse_sent(row)
        if row.status != DraftStatus.PENDING_REVIEW:
            raise Conflict(
                f"This draft is {draft_json(row)['status']}, not awaiting review; only drafts "
                "awaiting review are approved."
            )
        if version is not None and version != row.updated_at:
            raise self._changed_conflict(row)
        approval = {"approved_at": utcnow(), "approved_by": f"key:{principal.key_id}"}
        now = utcnow()
        if row.send_at is not None and row.send_at > now:
            async with self.db.write() as conn:
                updated = await rows.update_idle(
                    conn,
                    box.id,
                    row.id,
                    {
                        "status": DraftStatus.SCHEDULED,
                        "next_attempt_at": row.send_at,
                        **approval,
                    },
                    statuses=[DraftStatus.PENDING_REVIEW],
                    version=row.updated_at,
                )
                if updated is None:
                    raise await self._busy(conn, box, row.id, version=row.updated_at)
                await self._queue_event(conn, "draft.approved", updated, now)
            await self._announce("draft.approved", "draft.scheduled")
            return draft_json(updated, now)
        return await self._send_now(box, row, approval, version=row.updated_at)

    async def _send_now(
        self,
        box: Any,
        row: Any,
        approval: dict[str, Any],
        *,
        version: datetime | None = None,
    ) -> dict[str, Any]:
        """Lease the draft and send it in this request. A refusal that editing can fix puts it
        back as it was and is raised; one that passes (rates, a failed store) leaves it
        scheduled for the worker to retry."""
        token = new_id()
        async with self.db.write() as conn:
            taken = await rows.take(
                conn,
                box.id,
                row.id,
                [row.status],
                token=token,
                lease_seconds=self.settings.outbox_lease_seconds,
                values=approval,
                version=version,
            )
            if taken is None:
                raise await self._busy(conn, box, row.id, version=version)
            if approval:
                await self._queue_event(conn, "draft.approved", taken)
        if approval:
            await self._announce("draft.approved")
        restore = {
            "status": row.status,
            "next_attempt_at": row.next_attempt_at,
            "approved_at": row.approved_at,
            "approved_by": row.approved_by,
        }
        final = await self.send_leased(taken, token, restore=restore)
        return draft_json(final if final is not None else taken)

    async def send_leased(
        self, row: Any, token: str, *, restore: dict[str, Any] | None = None
    ) -> Any:
        """Send a draft leased under `token` (by a request, or claimed by the worker) and
        record the outcome; returns its row afterwards (None when it was cancelled).

        With `restore` (a request sending it), a refusal is raised after putting the draft
        back as `restore` says; without (the worker), it fails the draft with the reason.
        Either way a passing failure reschedules it on the outbox's retry schedule."""
        async with self.db.read() as conn:
            box = await rows.mailbox_with_plan(conn, row.mailbox_id)
        if box is None:  # the mailbox is gone or expired: nothing will ever send this draft
            await rows.delete_held(self.db, row.id, token)
            return None
        if box.outbound_review and row.approved_at is None:
            # Scheduled before the mailbox came under review (or while it was being turned
            # on): it waits for an approval like any other send from there.
            return await self._hold_leased(row, token)
        sent_row: Any = None

        async def mark_sent(conn: AsyncConnection, message_id: str) -> None:
            nonlocal sent_row
            sent_row = await rows.mark_sent(conn, row.id, token, message_id)
            if sent_row is None:
                raise _Cancelled()
            await self._queue_event(conn, "draft.sent", sent_row)

        try:
            await self.outbound.send_draft(_sender(box), box, _fields(row), mark_sent)
        except _Cancelled:
            return None
        except RateLimited as exc:
            return await self._retry(row, token, exc.message, exc.retry_after)
        except InboxKitError as exc:
            if exc.status >= 500:
                return await self._retry(row, token, exc.message, None)
            if restore is not None:
                await rows.release(self.db, row.id, token, {**restore, "error": None})
                if isinstance(exc, ValidationFailed):
                    raise BadRequest(f"This draft cannot be sent: {exc.message}") from None
                raise
            return await rows.release(
                self.db, row.id, token, {"status": DraftStatus.FAILED, "error": exc.message}
            )
        except Exception:
            return await self._retry(row, token, "The send failed on the server; will retry.", None)
        await self._announce("draft.sent")
        return sent_row

    async def _hold_leased(self, row: Any, token: str) -> Any:
        async with self.db.write() as conn:
            held = await rows.release_in(
                conn, row.id, token, {"status": DraftStatus.PENDING_REVIEW, "error": None}
            )
            if held is not None:
                await self._queue_event(conn, "draft.created", held)
        if held is not None:
            await self._announce("draft.created")
        return held

    async def hold_scheduled(self, conn: AsyncConnection, mailbox_id: str) -> int:
        """In the transaction that turns the mailbox's review on: its scheduled drafts nobody
        approved await review from now on (`draft.created` for each). Returns how many; the
        caller publishes `draft.created` after its commit when there were any."""
        now = utcnow()
        held = await rows.hold_unapproved(conn, mailbox_id)
        for row in held:
            await self._queue_event(conn, "draft.created", row, now)
        return len(held)

    async def _retry(self, row: Any, token: str, reason: str, after: int | None) -> Any:
        """Try again later: after `after` seconds (a rate limit's Retry-After), else on the
        outbox's retry schedule; fail the draft once that is spent."""
        at = _retry_time(self.settings.outbox_retry_schedule, row.attempts, after)
        if at is None:
            return await rows.release(
                self.db,
                row.id,
                token,
                {
                    "status": DraftStatus.FAILED,
                    "error": f"{reason} (gave up after {row.attempts} attempts)",
                },
            )
        released = await rows.release(
            self.db, row.id, token, {"next_attempt_at": at, "error": reason}
        )
        await self._announce("draft.scheduled")
        return released

    async def prune(self) -> None:
        await rows.prune_sent(self.db, SENT_KEPT)
