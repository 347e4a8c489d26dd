"""Tokens, principals and scopes.

Tokens carry at least 128 random bits (we use 192), are shown once, and only their SHA-256
digest is stored. A lookup by digest finds the row; the digest comparison that follows is
constant-time so response timing says nothing about how much of a guess was right.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from inboxkit.config import Settings
from inboxkit.errors import (
    Forbidden,
    NotFound,
    QuotaExceeded,
    Resource,
    Unauthorized,
    ValidationFailed,
)
from inboxkit.ids import is_id, new_id
from inboxkit.services.plans import ANONYMOUS_PLAN, DEFAULT_PLAN, Plan, PlanService
from inboxkit.store import keys
from inboxkit.store import plans as plan_rows
from inboxkit.store.db import Database
from inboxkit.store.tables import utcnow

__all__ = [
    "PrincipalKind",
    "SCOPES",
    "ADMIN_GRANTED",
    "MAILBOX_TOKEN_SCOPES",
    "Principal",
    "AuthService",
    "digest",
    "new_token",
    "sigv4_digest",
]

SCOPES = (
    "mailboxes:read",
    "mailboxes:write",
    "messages:read",
    "messages:write",
    "send",
    "webhooks",
    # Hand mail to the account's capture mailbox (SMTP AUTH, the emulated send APIs).
    "capture",
    # Hand mail to any hosted mailbox over HTTP (`POST /inbound/raw`), as an MTA would over
    # SMTP: an operator's credential, so only an admin grants it and no key gets it by default.
    "ingest",
    "admin",
)
# Scopes only a caller with `admin` may put on a key, and which a key gets only when named.
ADMIN_GRANTED = frozenset({"admin", "ingest"})
MAILBOX_TOKEN_SCOPES = frozenset(
    {"mailboxes:read", "mailboxes:write", "messages:read", "messages:write", "send"}
)
ADMIN_ACCOUNT_ID = "0" * 26
MODES = ("test", "agent")


def new_token(prefix: str) -> str:
    return f"{prefix}{secrets.token_urlsafe(24)}"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def sigv4_digest(token: str) -> str:
    """SHA-256 of "AWS4" + token: the first HMAC key of AWS SigV4's signing-key derivation
    for a secret this long (HMAC hashes keys longer than 64 bytes), kept instead of the token."""
    return hashlib.sha256(b"AWS4" + token.encode()).hexdigest()


class PrincipalKind(StrEnum):
    """Who a bearer token stands for: an account's API key, one mailbox's token, or no token."""

    API_KEY = "api_key"
    MAILBOX = "mailbox"
    ANONYMOUS = "anonymous"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an account's API key, one mailbox's token, or nobody."""

    kind: PrincipalKind
    account_id: str | None = None
    mailbox_id: str | None = None
    key_id: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    # The plan that limits this caller; None only for the bootstrap admin key (never limited).
    plan: Plan | None = None
    # For a mailbox token: the account its mailbox belongs to (None for an anonymous one).
    owner_account_id: str | None = None
    # The mailbox modes an API key may create and use; None for every mode.
    modes: frozenset[str] | None = None
    # Set by the surface: the client's address (after trusted proxies) and which surface.
    client_ip: str | None = None
    via: str = "api"

    def require(self, scope: str) -> None:
        if self.kind is PrincipalKind.ANONYMOUS:
            raise Unauthorized()
        if scope not in self.scopes:
            raise Forbidden(f"This token lacks the '{scope}' scope.")

    def owns_mailbox(self, mailbox: Any) -> bool:
        if self.kind is PrincipalKind.MAILBOX:
            return mailbox.id == self.mailbox_id
        if self.kind is PrincipalKind.API_KEY:
            return mailbox.account_id is not None and mailbox.account_id == self.account_id
        return False

    def require_mode(self, mode: str) -> None:
        """Refuse a mode outside a mode-limited key's modes (which name test and agent
        mailboxes; the account's capture mailbox is governed by scopes alone)."""
        if self.modes is not None and mode != "capture" and mode not in self.modes:
            allowed = " and ".join(sorted(self.modes)) or "no"
            raise Forbidden(
                f"This key is limited to {allowed} mailboxes; use a key whose modes include "
                f"'{mode}'."
            )

    def require_access(self, surface: str) -> None:
        """Refuse a surface ("api" or "mcp") the caller's plan does not include."""
        plan = self.plan
        flag = "mcp_access" if surface == "mcp" else "api_access"
        if plan is not None and not plan.allows(flag):
            what = "MCP" if surface == "mcp" else "the REST API"
            raise QuotaExceeded(
                f"Plan '{plan.name}' has no access to {what}; ask for a plan with {flag}.",
                limit=flag,
                allowed=False,
            )

    @property
    def billed_account(self) -> str | None:
        """The account whose usage this caller's actions count towards."""
        if self.kind is PrincipalKind.MAILBOX:
            return self.owner_account_id
        return self.account_id


ANONYMOUS = Principal(kind=PrincipalKind.ANONYMOUS)


class AuthService:
    """Turns bearer tokens into Principals, and creates, lists and revokes API keys."""

    def __init__(self, settings: Settings, db: Database, plans: PlanService | None = None):
        self.settings = settings
        self.db = db
        self.plans = plans or PlanService(db)

    async def ensure_admin_account(self) -> None:
        await self.plans.ensure_seeded()
        if not self.settings.admin_key:
            return
        async with self.db.write() as conn:
            if not await keys.account_exists(conn, ADMIN_ACCOUNT_ID):
                await keys.insert_account(conn, ADMIN_ACCOUNT_ID, "admin", utcnow())

    async def authenticate(self, token: str | None) -> Principal:
        """The principal a bearer token stands for, with its plan read now; the anonymous
        principal (on the `anonymous` plan) when there is no token."""
        if not token:
            return Principal(
                kind=PrincipalKind.ANONYMOUS, plan=await self.plans.plan(ANONYMOUS_PLAN)
            )
        token = token.strip()
        admin_key = self.settings.admin_key
        if admin_key and hmac.compare_digest(token.encode(), admin_key.encode()):
            return Principal(
                kind=PrincipalKind.API_KEY, account_id=ADMIN_ACCOUNT_ID, scopes=frozenset(SCOPES)
            )
        wanted = digest(token)
        async with self.db.read() as conn:
            if token.startswith("ikm_"):
                row = await keys.mailbox_token(conn, wanted)
                if row and hmac.compare_digest(row.token_digest, wanted):
                    return Principal(
                        kind=PrincipalKind.MAILBOX,
                        mailbox_id=row.id,
                        scopes=MAILBOX_TOKEN_SCOPES,
                        owner_account_id=row.account_id,
                        plan=_plan_of(row, row.account_id),
                    )
            elif token.startswith("ik_"):
                row = await keys.active_key(conn, wanted)
                if row and hmac.compare_digest(row.digest, wanted):
                    return Principal(
                        kind=PrincipalKind.API_KEY,
                        account_id=row.account_id,
                        key_id=row.id,
                        scopes=frozenset(row.scopes),
                        plan=_plan_of(row, row.account_id),
                        modes=frozenset(row.modes) if row.modes is not None else None,
                    )
        raise Unauthorized("The token is not valid (unknown, revoked, or its mailbox is gone).")

    async def sigv4_key(self, key_id: str) -> tuple[bytes, Principal] | None:
        """For a request signed with AWS SigV4 whose access key id is an API key's id: the
        first HMAC key of the signing-key derivation (`sigv4_digest`) and the key's principal,
        or None if there is no such live key or it was made before signing keys were kept."""
        async with self.db.read() as conn:
            row = await keys.active_key_by_id(conn, key_id)
        if row is None or not row.sigv4_digest:
            return None
        principal = Principal(
            kind=PrincipalKind.API_KEY,
            account_id=row.account_id,
            key_id=row.id,
            scopes=frozenset(row.scopes),
            plan=_plan_of(row, row.account_id),
            modes=frozenset(row.modes) if row.modes is not None else None,
        )
        return bytes.fromhex(row.sigv4_digest), principal

    async def create_key(
        self,
        *,
        name: str,
        scopes: list[str] | None = None,
        account_id: str | None = None,
        modes: list[str] | None = None,
        granted_by: Principal | None = None,
    ) -> dict[str, Any]:
        """Create an API key (and a new account on the default plan unless `account_id` is
        given), limited to `modes` if given. The token is shown once. `granted_by` is the
        caller over HTTP (None for the operator's command line): only an admin may grant the
        `admin` and `ingest` scopes."""
        chosen = list(dict.fromkeys(scopes or [s for s in SCOPES if s not in ADMIN_GRANTED]))
        unknown = [s for s in chosen if s not in SCOPES]
        if unknown:
            raise ValidationFailed(
                f"Unknown scope(s): {', '.join(unknown)}. Valid: {', '.join(SCOPES)}."
            )
        reserved = [s for s in chosen if s in ADMIN_GRANTED]
        if reserved and granted_by is not None and "admin" not in granted_by.scopes:
            raise Forbidden(
                f"Only a key with the 'admin' scope may grant {', '.join(reserved)}; ask an "
                "administrator for such a key."
            )
        if modes is not None:
            modes = list(dict.fromkeys(modes))
            if not modes or any(m not in MODES for m in modes):
                raise ValidationFailed("modes must list one or both of 'test' and 'agent'.")
        # 64 characters after the prefix: long enough that "AWS4" + token exceeds HMAC's block
        # and `sigv4_digest` can verify SigV4 signatures (see store/tables.py).
        token = f"ik_{secrets.token_urlsafe(48)}"
        now = utcnow()
        key_id = new_id()
        async with self.db.write() as conn:
            if account_id is None:
                account_id = new_id()
                await plan_rows.insert_account(conn, account_id, name, DEFAULT_PLAN, now)
            elif not is_id(account_id) or not await keys.account_exists(conn, account_id):
                raise NotFound("No such account.", resource=Resource.ACCOUNT)
            await keys.insert_key(
                conn,
                keys.NewKey(
                    id=key_id,
                    account_id=account_id,
                    name=name,
                    digest=digest(token),
                    prefix=token[:10],
                    scopes=chosen,
                    created_at=now,
                    modes=modes,
                    sigv4_digest=sigv4_digest(token),
                ),
            )
        return {
            "id": key_id,
            "account_id": account_id,
            "name": name,
            "scopes": chosen,
            "modes": modes or list(MODES),
            "prefix": token[:10],
            "created_at": now,
            "revoked_at": None,
            "token": token,
        }

    async def list_keys(self, account_id: str | None = None) -> list[dict[str, Any]]:
        if account_id and not is_id(account_id):
            return []
        async with self.db.read() as conn:
            rows = await keys.list_keys(conn, account_id)
        return [
            {
                "id": r.id,
                "account_id": r.account_id,
                "name": r.name,
                "scopes": r.scopes,
                "modes": r.modes or list(MODES),
                "prefix": r.prefix,
                "created_at": r.created_at,
                "revoked_at": r.revoked_at,
            }
            for r in rows
        ]

    async def revoke_key(self, key_id: str) -> None:
        if not is_id(key_id):
            raise NotFound("No such active key.", resource=Resource.KEY)
        async with self.db.write() as conn:
            revoked = await keys.revoke_key(conn, key_id)
        if not revoked:
            raise NotFound("No such active key.", resource=Resource.KEY)


def _plan_of(row: Any, account_id: str | None) -> Plan | None:
    """The plan joined into an authentication row: None for the bootstrap admin's account
    (never limited), the `anonymous` plan for a mailbox without an account."""
    if account_id == ADMIN_ACCOUNT_ID:
        return None
    if row.plan_name is None:
        return Plan(name=ANONYMOUS_PLAN if account_id is None else DEFAULT_PLAN)
    return Plan.from_row(row, prefix="plan_")
