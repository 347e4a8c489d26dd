"""Plans and accounts: what each account may do, managed by admins.

A `Plan` is a row of `plans` read fresh where it decides something: joined into the query that
authenticates a token (services/auth.py), into the recipient lookup of SMTP, into the storing
transaction. So `PATCH /plans/{name}` or moving an account to another plan takes effect on the
next request in every process, with no cache to invalidate.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from inboxkit.errors import Conflict, Forbidden, NotFound, Resource, ValidationFailed
from inboxkit.plan import BOOL_LIMITS, PLAN_LIMITS, Plan, SendPolicy
from inboxkit.store import plans as rows
from inboxkit.store.db import Database

__all__ = [
    "ANONYMOUS_PLAN",
    "DEFAULT_PLAN",
    "INT_LIMITS",
    "BOOL_LIMITS",
    "Plan",
    "PlanService",
    "SendPolicy",
    "check_limits",
]

ANONYMOUS_PLAN = rows.ANONYMOUS_PLAN
DEFAULT_PLAN = rows.DEFAULT_PLAN
INT_LIMITS = tuple(name for name in PLAN_LIMITS if name not in BOOL_LIMITS and name != "send")
# Bounds for integer limits: large enough for any real plan, small enough for every column.
MAX_LIMIT = 2**31 - 1
PLAN_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")


def check_limits(values: dict[str, Any]) -> dict[str, Any]:
    """Validated limit fields (only those given), or ValidationFailed naming the bad one."""
    checked: dict[str, Any] = {}
    for name, value in values.items():
        if name not in PLAN_LIMITS:
            raise ValidationFailed(f"Unknown plan field '{name}'. Valid: {', '.join(PLAN_LIMITS)}.")
        if value is None:
            checked[name] = None
        elif name == "send":
            if value not in {p.value for p in SendPolicy}:
                raise ValidationFailed("send must be 'none', 'local' or 'any'.")
            checked[name] = value
        elif name in BOOL_LIMITS:
            if not isinstance(value, bool):
                raise ValidationFailed(f"{name} must be true, false or null.")
            checked[name] = value
        else:
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LIMIT:
                raise ValidationFailed(
                    f"{name} must be a whole number from 0 to {MAX_LIMIT}, or null for unlimited."
                )
            checked[name] = value
    return checked


def _shown(plan: Plan, created_at: datetime, updated_at: datetime) -> dict[str, Any]:
    return {"name": plan.name, **plan.limits(), "created_at": created_at, "updated_at": updated_at}


class PlanService:
    """Plan CRUD for admins, and the plan lookups the other services need."""

    def __init__(self, db: Database):
        self.db = db
        # Called after a plan's limits change (the runtime registers whatever remembers plans
        # for a moment: the SMTP recipient lookup).
        self.changed_hooks: list[Callable[[], None]] = []

    async def ensure_seeded(self) -> None:
        async with self.db.write() as conn:
            await rows.ensure_seeded(conn)

    async def plan(self, name: str) -> Plan:
        """The named plan, read now (`anonymous` when a seeded plan was removed by hand)."""
        async with self.db.read() as conn:
            row = await rows.get_plan(conn, name)
        if row is None:
            return Plan(name=name, **rows.SEEDED.get(name, {}))
        return Plan.from_row(row)

    # -- admin ------------------------------------------------------------------------------

    @staticmethod
    def _admin(principal: Any) -> None:
        principal.require("admin")

    async def list(self, principal: Any) -> list[dict[str, Any]]:
        self._admin(principal)
        async with self.db.read() as conn:
            found = await rows.list_plans(conn)
        return [_shown(Plan.from_row(r), r.created_at, r.updated_at) for r in found]

    async def get(self, principal: Any, name: str) -> dict[str, Any]:
        self._admin(principal)
        async with self.db.read() as conn:
            row = await rows.get_plan(conn, name)
        if row is None:
            raise NotFound(f"No plan named '{name}'.", resource=Resource.PLAN)
        return _shown(Plan.from_row(row), row.created_at, row.updated_at)

    async def create(self, principal: Any, name: str, limits: dict[str, Any]) -> dict[str, Any]:
        self._admin(principal)
        name = name.strip().lower()
        if not 1 <= len(name) <= 64 or not set(name) <= PLAN_NAME_CHARS:
            raise ValidationFailed("A plan name is 1-64 characters of a-z, 0-9, '-', '_', '.'.")
        checked = check_limits(limits)
        try:
            async with self.db.write() as conn:
                await rows.insert_plan(conn, name, checked)
        except IntegrityError:
            raise Conflict(f"A plan named '{name}' exists; update it instead.") from None
        return await self.get(principal, name)

    async def update(self, principal: Any, name: str, changes: dict[str, Any]) -> dict[str, Any]:
        self._admin(principal)
        checked = check_limits(changes)
        async with self.db.write() as conn:
            found = await rows.update_plan(conn, name, checked)
        if not found:
            raise NotFound(f"No plan named '{name}'.", resource=Resource.PLAN)
        for hook in self.changed_hooks:
            hook()
        return await self.get(principal, name)

    async def delete(self, principal: Any, name: str) -> None:
        self._admin(principal)
        if name in rows.SEEDED:
            raise Forbidden(f"The '{name}' plan is built in: it can be edited, not deleted.")
        async with self.db.write() as conn:
            if await rows.plan_in_use(conn, name):
                raise Conflict(f"Accounts are on plan '{name}'; move them to another plan first.")
            found = await rows.delete_plan(conn, name)
        if not found:
            raise NotFound(f"No plan named '{name}'.", resource=Resource.PLAN)
