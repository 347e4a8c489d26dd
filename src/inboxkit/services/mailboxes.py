"""Mailboxes: create, look up, list, change, delete, expire; and recipient resolution for SMTP."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.bus import Bus
from inboxkit.config import Settings
from inboxkit.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    HandleTaken,
    NotFound,
    QuotaExceeded,
    Resource,
    ValidationFailed,
)
from inboxkit.ids import is_id, new_id
from inboxkit.mail.addresses import handle_problem, random_local_part, split_address
from inboxkit.netaddr import peer_key
from inboxkit.pipeline.recipients import Recipient, RecipientStatus
from inboxkit.plan import Plan
from inboxkit.records import Mailbox
from inboxkit.services.auth import Principal, PrincipalKind, digest, new_token
from inboxkit.services.domains import DomainService
from inboxkit.store import mailboxes as rows
from inboxkit.store import messages, usage
from inboxkit.store.db import Database
from inboxkit.store.tables import utcnow

__all__ = [
    "EndHook",
    "ReviewHook",
    "MailboxService",
    "encode_cursor",
    "decode_cursor",
]

# Called inside the transaction that deletes or expires mailboxes, with the event name
# ("mailbox.deleted" / "mailbox.expired") and the rows (id, address, account_id), so whatever
# announces it (webhooks) is queued in the same commit.
EndHook = Callable[[AsyncConnection, str, list[Any]], Awaitable[None]]
# Called inside the transaction that turns a mailbox's outbound review on, with its id: what
# was scheduled to go out unreviewed is held for review in the same commit (the drafts
# service). It returns how many drafts it held; after the commit, `draft.created` on the bus
# wakes the webhook dispatcher for them.
ReviewHook = Callable[[AsyncConnection, str], Awaitable[int]]


RECIPIENT_CACHE_SECONDS = 1.0
RECIPIENT_CACHE_SIZE = 10_000


def encode_cursor(last_id: str) -> str:
    """A page cursor: the last id of the page. Ids are time-sortable, so the next page is
    `id < cursor`; the format is documented (a 26-character id) so a client can tell a
    valid cursor from a damaged one."""
    return last_id


def decode_cursor(cursor: str) -> str:
    if not is_id(cursor):
        raise BadRequest("The cursor is not valid; pass back `meta.next_cursor` unchanged.")
    return cursor


def _mailbox(row: Any, *, message_count: int, unread_count: int) -> Mailbox:
    return {
        "id": row.id,
        "address": row.address,
        "mode": row.mode,
        "name": row.name,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
        "message_count": message_count,
        "unread_count": unread_count,
        "outbound_review": bool(row.outbound_review),
    }


def _recipient_plan(row: Any) -> Plan | None:
    """The plan joined into a recipient lookup: None (never limited) for the bootstrap admin's
    account, which is on no plan."""
    if row.plan_name is None:
        return None
    return Plan.from_row(row, prefix="plan_")


class MailboxService:
    """Mailbox use cases; also the pipeline's `RecipientResolver` (pipeline/recipients.py)."""

    def __init__(
        self, settings: Settings, db: Database, bus: Bus, domains: DomainService | None = None
    ):
        self.settings = settings
        self.db = db
        self.bus = bus
        # Custom domains (DESIGN §10); None serves the configured domains alone.
        self.domains = domains
        self.end_hooks: list[EndHook] = []
        self.review_hook: ReviewHook | None = None
        # address -> (what it resolved to, fresh until (monotonic))
        self._directory: dict[str, tuple[Recipient, float]] = {}

    # -- lookups -------------------------------------------------------------------------

    async def find(
        self, principal: Principal, ref: str, conn: AsyncConnection | None = None
    ) -> Any:
        """The caller's live mailbox by id or address. Anything else is a 404, never a 403:
        another tenant's mailbox must be indistinguishable from one that does not exist."""
        if principal.kind is PrincipalKind.ANONYMOUS:
            principal.require("mailboxes:read")
        address: str | None = None
        if "@" in ref:
            parsed = split_address(ref)
            if parsed is None:
                raise NotFound("No such mailbox.", resource=Resource.MAILBOX)
            address = parsed.address
        mailbox_id = None if address else ref
        if mailbox_id is not None and not is_id(mailbox_id):
            # Not an id's shape: nothing to look up (and PostgreSQL refuses a NUL in a query).
            raise NotFound("No such mailbox.", resource=Resource.MAILBOX)
        if conn is None:
            async with self.db.read() as own:
                row = await rows.find_live(own, mailbox_id=mailbox_id, address=address)
        else:
            row = await rows.find_live(conn, mailbox_id=mailbox_id, address=address)
        if row is None or not principal.owns_mailbox(row):
            raise NotFound("No such mailbox.", resource=Resource.MAILBOX)
        principal.require_mode(row.mode)
        return row

    async def resolve_recipient(self, address: str) -> Recipient:
        """What an SMTP RCPT address resolves to.

        Live mailboxes are remembered for RECIPIENT_CACHE_SECONDS: a database round trip per
        RCPT was the largest single cost of ingest. Only hits are cached (a new mailbox gets
        mail at once), an entry carries its expiry time (an expired mailbox is refused at
        once), and deletion in this process forgets the entry at once. A deletion in another
        process can go unseen for at most the cache lifetime, and even then nothing is stored
        for the deleted mailbox: the storing transaction checks again
        (`store.mailboxes.lock_undeleted`).
        """
        parsed = split_address(address)
        if parsed is None:
            return Recipient(RecipientStatus.FOREIGN)
        # A configured domain costs nothing more; any other is looked up in the custom
        # domains' in-memory snapshot (services/domains.py), never with a query per RCPT.
        custom = None
        if parsed.domain not in self.settings.domains:
            custom = await self.domains.serving(parsed.domain) if self.domains else None
            if custom is None:
                return Recipient(RecipientStatus.FOREIGN)
        now = utcnow()
        cached = self._directory.get(parsed.address)
        if cached is not None:
            found, fresh_until = cached
            if fresh_until > time.monotonic() and (
                found.expires_at is None or found.expires_at > now
            ):
                return dataclasses.replace(found, tag=parsed.tag)
            del self._directory[parsed.address]
        async with self.db.read() as conn:
            row = await rows.live_recipient(conn, parsed.address, now)
        # On a custom domain only the holding account's mailboxes receive: one left from an
        # earlier holder (who deleted the domain) is unreachable.
        if row is None or (custom is not None and row.account_id != custom.account_id):
            return Recipient(RecipientStatus.UNKNOWN)
        found = Recipient(
            RecipientStatus.OK,
            row.id,
            row.address,
            parsed.tag,
            account_id=row.account_id,
            plan=_recipient_plan(row),
            expires_at=row.expires_at,
            mode=row.mode,
        )
        if len(self._directory) >= RECIPIENT_CACHE_SIZE:
            self._directory.clear()
        self._directory[parsed.address] = (found, time.monotonic() + RECIPIENT_CACHE_SECONDS)
        return found

    def forget(self, addresses: list[str]) -> None:
        for address in addresses:
            self._directory.pop(address, None)

    def forget_all(self) -> None:
        """Drop every remembered recipient (a plan, an account's plan or a custom domain
        changed)."""
        self._directory.clear()

    async def hosts(self, domain: str) -> bool:
        """Whether mail for `domain` is received here: a configured domain, or a custom one
        that is held (the outbox delivers such recipients through the pipeline)."""
        domain = domain.lower().rstrip(".")
        if domain in self.settings.domains:
            return True
        return self.domains is not None and await self.domains.serving(domain) is not None

    # -- create ----------------------------------------------------------------------------

    async def _check_domain(self, principal: Principal, domain: str | None) -> str:
        """The domain a new mailbox (or a handle question) is on: a configured one, or a
        custom domain the caller's account has verified (DESIGN §10; another account's is
        403, see `DomainService.check_mailbox_domain`)."""
        chosen = (domain or self.settings.default_domain).strip().lower().rstrip(".")
        if chosen in self.settings.domains:
            return chosen
        if self.domains is None or len(chosen) > 253:
            raise ValidationFailed(
                f"Domain '{chosen[:253]}' is not served here; choose one of: "
                f"{', '.join(self.settings.domains)}."
            )
        await self.domains.check_mailbox_domain(principal, chosen)
        return chosen

    def _expiry(
        self,
        mode: str,
        ttl_minutes: int | None,
        now: datetime,
        *,
        owned: bool = True,
        plan: Plan | None = None,
    ) -> datetime | None:
        if ttl_minutes is not None and not 1 <= ttl_minutes <= self.settings.max_ttl_minutes:
            raise ValidationFailed(
                f"ttl_minutes must be between 1 and {self.settings.max_ttl_minutes}."
            )
        ceiling = plan.max_ttl_minutes if plan is not None else None
        if (
            plan is not None
            and ceiling is not None
            and ttl_minutes is not None
            and ttl_minutes > ceiling
        ):
            raise QuotaExceeded(
                f"Mailboxes on plan '{plan.name}' live at most {ceiling} minutes; ask for "
                f"ttl_minutes of {ceiling} or less, or use a larger plan.",
                limit="max_ttl_minutes",
                allowed=ceiling,
                used=ttl_minutes,
            )
        # Only an account's agent mailboxes live forever: an anonymous one would let anybody
        # squat handles for good with nobody to answer for them.
        if mode == "agent" and ttl_minutes is None and owned:
            return None
        minutes = ttl_minutes or self.settings.default_ttl_minutes
        if ceiling is not None:
            minutes = min(minutes, ceiling)
        return now + timedelta(minutes=max(1, minutes))

    async def create(
        self,
        principal: Principal,
        *,
        mode: str = "test",
        handle: str | None = None,
        domain: str | None = None,
        ttl_minutes: int | None = None,
        name: str | None = None,
    ) -> Mailbox:
        if principal.kind is PrincipalKind.ANONYMOUS:
            if not self.settings.allow_anonymous:
                raise Forbidden(
                    "Anonymous inbox creation is disabled here; send an API key with 'mailboxes:write'."
                )
            # An agent inbox is a persistent identity whose handle is never reissued: without
            # an account to answer for it, anybody could claim (and so burn) any handle.
            if mode == "agent":
                raise Forbidden(
                    "Agent inboxes need an account: send an API key with 'mailboxes:write'. "
                    "Without a token only test inboxes can be created."
                )
        elif principal.kind is PrincipalKind.MAILBOX:
            raise Forbidden("A mailbox token cannot create mailboxes; use an API key.")
        else:
            principal.require("mailboxes:write")
        if mode not in ("test", "agent"):
            raise ValidationFailed("mode must be 'test' or 'agent'.")
        principal.require_mode(mode)
        plan = principal.plan
        if mode == "agent" and plan is not None and not plan.allows("agent_mode"):
            raise QuotaExceeded(
                f"Plan '{plan.name}' has no agent mode: create a test inbox, or ask for a plan "
                "with agent mode.",
                limit="agent_mode",
                allowed=False,
            )
        if handle is not None and mode != "agent":
            raise ValidationFailed(
                "Only agent-mode mailboxes choose a handle; test addresses are random."
            )
        chosen_domain = await self._check_domain(principal, domain)
        if handle is not None:
            handle = handle.strip().lower()
            problem = handle_problem(handle)
            if problem == "invalid":
                raise ValidationFailed(
                    "A handle is 1-64 characters of a-z, 0-9, '.', '-', '_', starting and ending "
                    "with a letter or digit."
                )
            if problem == "reserved":
                raise HandleTaken(f"'{handle}' is a reserved role name; choose another handle.")
        now = utcnow()
        expires_at = self._expiry(
            mode, ttl_minutes, now, owned=principal.account_id is not None, plan=plan
        )
        anonymous = principal.kind is PrincipalKind.ANONYMOUS
        created_ip = peer_key(principal.client_ip) if anonymous and principal.client_ip else None
        token = new_token("ikm_")
        for _attempt in range(8):
            local = handle or random_local_part()
            new = rows.NewMailbox(
                id=new_id(),
                account_id=principal.account_id,
                address=f"{local}@{chosen_domain}",
                local_part=local,
                domain=chosen_domain,
                mode=mode,
                name=name,
                token_digest=digest(token),
                created_at=now,
                expires_at=expires_at,
                # An anonymous API call is "anonymous"; the UI and MCP name themselves.
                created_via="anonymous" if anonymous and principal.via == "api" else principal.via,
                created_ip=created_ip,
            )
            try:
                async with self.db.write() as conn:
                    await rows.insert(conn, new)
                    await self._count_created(conn, principal, new)
            except IntegrityError:
                if handle:
                    raise HandleTaken() from None
                continue
            return {
                "id": new.id,
                "address": new.address,
                "mode": mode,
                "name": name,
                "created_at": now,
                "expires_at": expires_at,
                "token": token,
                "message_count": 0,
                "unread_count": 0,
                "outbound_review": False,
            }
        raise HandleTaken("Could not find a free random address; try again.")

    async def _count_created(
        self, conn: AsyncConnection, principal: Principal, new: rows.NewMailbox
    ) -> None:
        """Count a new mailbox in the transaction that inserts it, refusing it (and so rolling
        the insert back) past the plan's `max_mailboxes`: the count and the check are one
        locked row, so concurrent creations in any number of processes cannot overshoot."""
        if new.account_id is not None:
            subject = usage.account_subject(new.account_id)
        elif new.created_ip is not None:
            subject = usage.ip_subject(new.created_ip)
        else:
            return
        figures = await usage.add(conn, subject, usage.ALL, mailboxes=1)
        plan = principal.plan
        if plan is not None and plan.max_mailboxes is not None:
            if figures["mailboxes"] > plan.max_mailboxes:
                who = "This address" if new.account_id is None else "This account"
                raise QuotaExceeded(
                    f"{who} may hold {plan.max_mailboxes} live mailboxes on plan "
                    f"'{plan.name}'; delete one or ask for a larger plan.",
                    limit="max_mailboxes",
                    allowed=plan.max_mailboxes,
                    used=figures["mailboxes"] - 1,
                )

    async def handle_availability(
        self, principal: Principal, handle: str, domain: str | None
    ) -> dict[str, Any]:
        """Whether a handle can be claimed. Asked with a token only: answering anybody would
        make the server an oracle for which addresses exist."""
        principal.require("mailboxes:read")
        chosen_domain = await self._check_domain(principal, domain)
        handle = handle.strip().lower()
        address = f"{handle}@{chosen_domain}"
        problem = handle_problem(handle)
        if problem is None:
            async with self.db.read() as conn:
                taken = await rows.address_taken(conn, address)
            problem = "taken" if taken else None
        return {"available": problem is None, "address": address, "reason": problem}

    # -- read ------------------------------------------------------------------------------

    async def get(self, principal: Principal, ref: str) -> Mailbox:
        principal.require("mailboxes:read")
        async with self.db.read() as conn:
            row = await self.find(principal, ref, conn)
            total, unread = await messages.counts(conn, row.id)
        return _mailbox(row, message_count=total, unread_count=unread)

    async def list(
        self, principal: Principal, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[Mailbox], str | None]:
        principal.require("mailboxes:read")
        # A mailbox token sees its own mailbox; an API key sees its account's.
        own_box = principal.mailbox_id if principal.kind is PrincipalKind.MAILBOX else None
        before = decode_cursor(cursor) if cursor else None
        async with self.db.read() as conn:
            found = await rows.list_live(
                conn,
                account_id=principal.account_id,
                mailbox_id=own_box,
                before=before,
                limit=limit + 1,
            )
            page = found[:limit]
            items: list[Mailbox] = []
            for row in page:
                total, unread = await messages.counts(conn, row.id)
                items.append(_mailbox(row, message_count=total, unread_count=unread))
        next_cursor = encode_cursor(page[-1].id) if len(found) > limit else None
        return items, next_cursor

    # -- change ----------------------------------------------------------------------------

    async def update(
        self,
        principal: Principal,
        ref: str,
        *,
        name: str | None = None,
        ttl_minutes: int | None = None,
        outbound_review: bool | None = None,
        fields: set[str] = frozenset(),  # type: ignore[assignment]
    ) -> Mailbox:
        principal.require("mailboxes:write")
        async with self.db.write() as conn:
            row = await self.find(principal, ref, conn)
            changes: rows.MailboxChanges = {}
            if "outbound_review" in fields and outbound_review is not None:
                if principal.kind is not PrincipalKind.API_KEY:
                    # The gate is on the agent: the mailbox's own token must not lift it.
                    raise Forbidden(
                        "Only an account's API key (with mailboxes:write) or the web UI may "
                        "change outbound_review; a mailbox's own token cannot."
                    )
                changes["outbound_review"] = outbound_review
            held = 0
            if outbound_review and not row.outbound_review and self.review_hook is not None:
                held = await self.review_hook(conn, row.id)
            if "name" in fields:
                changes["name"] = name
            if "ttl_minutes" in fields and ttl_minutes is not None and row.mode == "capture":
                # 409: the request is well formed, the mailbox's kind refuses it.
                raise Conflict(
                    "The capture mailbox never expires while its account exists; it takes no "
                    "ttl_minutes."
                )
            if "ttl_minutes" in fields and ttl_minutes is not None:
                changes["expires_at"] = self._expiry(
                    row.mode, ttl_minutes, utcnow(), plan=principal.plan
                )
            await rows.update(conn, row.id, changes)
        self.forget([row.address])
        if held:
            await self.bus.publish({"event": "draft.created"})
        return await self.get(principal, row.id)

    async def delete(self, principal: Principal, ref: str) -> None:
        principal.require("mailboxes:write")
        async with self.db.write() as conn:
            row = await self.find(principal, ref, conn)
            await rows.mark_deleted(conn, row.id)
            await messages.purge_mailboxes(conn, [row.id])
            for hook in self.end_hooks:
                await hook(conn, "mailbox.deleted", [row])
        await self.announce_ended("mailbox.deleted", [row])

    async def end_account(self, conn: AsyncConnection, account_id: str) -> Sequence[Any]:
        """In the caller's transaction, end every mailbox of an account being deleted (messages
        purged, rows kept so addresses are never reissued); announce them with
        `announce_ended` once committed."""
        ended = await rows.mark_account_deleted(conn, account_id)
        await messages.purge_mailboxes(conn, [row.id for row in ended])
        return ended

    async def announce_ended(
        self, event: Literal["mailbox.deleted", "mailbox.expired"], ended: Sequence[Any]
    ) -> None:
        """After the commit: forget the addresses and tell every listener."""
        self.forget([row.address for row in ended])
        for row in ended:
            await self.bus.publish({"event": event, "mailbox_id": row.id, "mailbox": row.address})

    async def sweep_expired(self, batch: int = 100) -> int:
        """Purge mailboxes whose time is up. Safe to run in many processes at once: each
        mailbox is claimed by the UPDATE that marks it deleted, which only one process wins."""
        now = utcnow()
        swept = 0
        while True:
            async with self.db.write() as conn:
                candidates, claimed = await rows.claim_expired(conn, now, batch)
                if not candidates:
                    return swept
                await messages.purge_mailboxes(conn, [row.id for row in claimed])
                for hook in self.end_hooks:
                    await hook(conn, "mailbox.expired", list(claimed))
            await self.announce_ended("mailbox.expired", claimed)
            swept += len(claimed)
            if candidates < batch:
                return swept
