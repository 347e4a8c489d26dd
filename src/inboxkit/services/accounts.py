"""Accounts (admin CRUD and the caller's own) and usage: what a caller has used of its plan.

Usage figures are running counters (store/usage.py) kept in the transactions that store, queue
and delete, so `GET /usage` is two indexed reads however much an account holds.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from inboxkit.bus import Bus
from inboxkit.errors import Forbidden, NotFound, Resource, Unauthorized, ValidationFailed
from inboxkit.ids import is_id, new_id
from inboxkit.plan import Plan
from inboxkit.services.auth import ADMIN_ACCOUNT_ID, Principal, PrincipalKind
from inboxkit.services.mailboxes import MailboxService, decode_cursor, encode_cursor
from inboxkit.services.plans import DEFAULT_PLAN, PlanService
from inboxkit.store import messages, usage
from inboxkit.store import plans as rows
from inboxkit.store.db import Database
from inboxkit.store.tables import utcnow

__all__ = ["AccountService", "UsageService"]

RETENTION_BATCH = 500


def _account(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "plan": row.plan, "created_at": row.created_at}


def _name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise ValidationFailed("An account name is 1-200 characters.")
    return name


class AccountService:
    """Accounts for admins (`admin` scope), and `mine` for any caller."""

    def __init__(self, db: Database, bus: Bus, plans: PlanService, mailboxes: MailboxService):
        self.db = db
        self.bus = bus
        self.plans = plans
        self.mailboxes = mailboxes

    async def _plan_exists(self, conn: Any, plan: str) -> None:
        if await rows.get_plan(conn, plan) is None:
            raise NotFound(f"No plan named '{plan}'; see GET /plans.", resource=Resource.PLAN)

    async def create(self, principal: Principal, *, name: str, plan: str | None) -> dict[str, Any]:
        principal.require("admin")
        chosen = plan or DEFAULT_PLAN
        account_id, now = new_id(), utcnow()
        async with self.db.write() as conn:
            await self._plan_exists(conn, chosen)
            await rows.insert_account(conn, account_id, _name(name), chosen, now)
        return {"id": account_id, "name": _name(name), "plan": chosen, "created_at": now}

    async def list(
        self, principal: Principal, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        principal.require("admin")
        before = decode_cursor(cursor) if cursor else None
        async with self.db.read() as conn:
            found = await rows.list_accounts(conn, before=before, limit=limit + 1)
        page = found[:limit]
        next_cursor = encode_cursor(page[-1].id) if len(found) > limit else None
        return [_account(row) for row in page], next_cursor

    async def get(self, principal: Principal, account_id: str) -> dict[str, Any]:
        principal.require("admin")
        async with self.db.read() as conn:
            row = await rows.get_account(conn, account_id) if is_id(account_id) else None
        if row is None:
            raise NotFound("No such account.", resource=Resource.ACCOUNT)
        return _account(row)

    async def update(
        self,
        principal: Principal,
        account_id: str,
        *,
        name: str | None = None,
        plan: str | None = None,
    ) -> dict[str, Any]:
        """Rename the account or move it to another plan; a new plan applies to its very next
        request, delivery and send (plans are read fresh, never cached)."""
        principal.require("admin")
        await self.get(principal, account_id)
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = _name(name)
        async with self.db.write() as conn:
            if plan is not None:
                if account_id == ADMIN_ACCOUNT_ID:
                    raise Forbidden("The bootstrap admin account is on no plan and stays so.")
                await self._plan_exists(conn, plan)
                changes["plan"] = plan
            if changes:
                await rows.update_account(conn, account_id, changes)
        # Recipient lookups are remembered for a second; forget them so SMTP sees it at once.
        for hook in self.plans.changed_hooks:
            hook()
        return await self.get(principal, account_id)

    async def delete(self, principal: Principal, account_id: str) -> None:
        """Delete the account with its keys and webhooks; its mailboxes end (messages purged,
        addresses never reissued)."""
        principal.require("admin")
        await self.get(principal, account_id)
        if account_id == ADMIN_ACCOUNT_ID:
            raise Forbidden("The bootstrap admin account cannot be deleted.")
        async with self.db.write() as conn:
            ended = await self.mailboxes.end_account(conn, account_id)
            await rows.delete_account(conn, account_id)
            await usage.forget(conn, usage.account_subject(account_id))
        await self.mailboxes.announce_ended("mailbox.deleted", ended)

    async def mine(self, principal: Principal) -> dict[str, Any]:
        """The caller's own account and its plan's limits (`GET /account`)."""
        if principal.kind is PrincipalKind.ANONYMOUS:
            raise Unauthorized()
        account_id = principal.billed_account
        if account_id is None:
            plan = principal.plan or Plan(name="anonymous")
            return {
                "id": None,
                "name": None,
                "plan": plan.name,
                "created_at": None,
                "limits": plan.limits(),
            }
        async with self.db.read() as conn:
            row = await rows.get_account(conn, account_id) if is_id(account_id) else None
        if row is None:
            raise NotFound("No such account.", resource=Resource.ACCOUNT)
        shown = _account(row)
        shown["limits"] = (principal.plan or Plan(name="unlimited")).limits()
        return shown


class UsageService:
    """The caller's figures against its plan, and the retention sweep."""

    def __init__(self, db: Database, plans: PlanService):
        self.db = db
        self.plans = plans

    def _subject(self, principal: Principal) -> str:
        account_id = principal.billed_account
        if account_id is not None:
            return usage.account_subject(account_id)
        assert principal.mailbox_id is not None
        return f"mailbox:{principal.mailbox_id}"

    async def usage(self, principal: Principal) -> dict[str, Any]:
        """`GET /usage`: the plan, this month, and the figures (an API key's account; a
        mailbox token's account, or an anonymous mailbox's own)."""
        if principal.kind is PrincipalKind.ANONYMOUS:
            raise Unauthorized()
        now = utcnow()
        start, end = usage.month_bounds(now)
        period = usage.month(now)
        subject = self._subject(principal)
        async with self.db.read() as conn:
            figures = await usage.figures(conn, subject, [period, usage.ALL])
        standing, monthly = figures[usage.ALL], figures[period]
        mailboxes = standing["mailboxes"]
        if subject.startswith("mailbox:"):
            mailboxes = 1  # an anonymous mailbox's own figures: itself
        plan = principal.plan
        return {
            "plan": plan.name if plan is not None else None,
            "period": {"start": start, "end": end},
            "usage": {
                "mailboxes": mailboxes,
                "received_this_month": monthly["received"],
                "sent_this_month": monthly["sent"],
                "storage_bytes": standing["storage_bytes"],
            },
            "limits": (plan or Plan(name="unlimited")).limits(),
        }

    async def purge_retention(self) -> int:
        """Delete messages older than their plan's `retention_days` (mailboxes stay). Safe in
        many processes: each message is removed, and counted off, by one DELETE."""
        async with self.db.read() as conn:
            plans = [Plan.from_row(row) for row in await rows.list_plans(conn)]
        purged = 0
        now = utcnow()
        for plan in plans:
            if plan.retention_days is None:
                continue
            try:
                cutoff = now - timedelta(days=plan.retention_days)
            except OverflowError:
                # A retention reaching back past year 1 (a plan may allow up to 2**31-1 days):
                # no message is that old, and the other plans' sweeps must still run.
                continue
            while True:
                async with self.db.write() as conn:
                    done = await messages.purge_older(conn, plan.name, cutoff, RETENTION_BATCH)
                purged += done
                if done < RETENTION_BATCH:
                    break
        return purged
