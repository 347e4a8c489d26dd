"""Allow and block lists (DESIGN §9): an account's senders to trust or to block, account-wide or
for one mailbox; and the lookup the spam filter makes for each inbound message
(`spam.ListSource`).

An allowed sender is never spam; a blocked one is stored with verdict `blocked` (hidden in
agent mailboxes). Another account's entries never apply: every query is by account.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any, TypedDict

from inboxkit.errors import (
    Conflict,
    Forbidden,
    NotFound,
    QuotaExceeded,
    Resource,
    Unauthorized,
    ValidationFailed,
)
from inboxkit.ids import is_id, new_id
from inboxkit.services.auth import Principal, PrincipalKind
from inboxkit.services.mailboxes import MailboxService
from inboxkit.spam import ListEntry, ListType, normalise_entry
from inboxkit.store import sender_lists as rows
from inboxkit.store.db import Database
from inboxkit.store.tables import utcnow

__all__ = ["MAX_ENTRIES", "ListInfo", "ListService"]

# Entries per account: a list is for senders a person or agent names, not a feed; matching
# costs one indexed lookup whatever the count, so this bounds storage, not speed.
MAX_ENTRIES = 1000


class ListInfo(TypedDict):
    """An entry as the surfaces show it."""

    id: str
    type: str
    entry: str
    kind: str  # "address" | "domain"
    subdomains: bool
    mailbox_id: str | None
    created_at: datetime


def _info(row: Any) -> ListInfo:
    return {
        "id": row.id,
        "type": row.type,
        "entry": row.entry,
        "kind": "address" if "@" in row.entry else "domain",
        "subdomains": bool(row.subdomains),
        "mailbox_id": row.mailbox_id,
        "created_at": row.created_at,
    }


class ListService:
    """The account's lists (see module doc)."""

    def __init__(self, db: Database, mailboxes: MailboxService):
        self.db = db
        self.mailboxes = mailboxes

    @staticmethod
    def _account(principal: Principal, scope: str) -> str:
        if principal.kind is PrincipalKind.ANONYMOUS:
            raise Unauthorized("Allow and block lists belong to an account: send its API key.")
        if principal.kind is not PrincipalKind.API_KEY or principal.account_id is None:
            raise Forbidden(
                "Allow and block lists belong to an account: use its API key, not a mailbox token."
            )
        principal.require(scope)
        return principal.account_id

    async def create(
        self,
        principal: Principal,
        *,
        type: str,
        entry: str,
        mailbox: str | None = None,
        subdomains: bool = False,
    ) -> ListInfo:
        """Add an address or domain to the account's allow or block list (or one mailbox's)."""
        account_id = self._account(principal, "mailboxes:write")
        if type not in {t.value for t in ListType}:
            raise ValidationFailed("type must be 'allow' or 'block'.")
        normalised = normalise_entry(entry)
        if normalised is None:
            raise ValidationFailed(
                "entry must be an email address (alice@example.com) or a domain (example.com)."
            )
        value, is_address = normalised
        subdomains = subdomains and not is_address  # an address has no subdomains
        mailbox_id = None
        if mailbox is not None:
            found = await self.mailboxes.find(principal, mailbox)
            if found.account_id != account_id:  # an anonymous mailbox the key can see
                raise NotFound("No such mailbox.", resource=Resource.MAILBOX)
            mailbox_id = found.id
        new = rows.NewEntry(
            id=new_id(),
            account_id=account_id,
            mailbox_id=mailbox_id,
            type=type,
            entry=value,
            subdomains=subdomains,
            created_at=utcnow(),
        )
        async with self.db.write() as conn:
            existing = await rows.same(conn, account_id, mailbox_id, type, value)
            if existing is not None:
                raise Conflict(
                    f"{value} is already on this {type} list (entry {existing.id}).",
                    resource=Resource.LIST_ENTRY,
                )
            used = await rows.count(conn, account_id)
            if used >= MAX_ENTRIES:
                raise QuotaExceeded(
                    f"An account may have at most {MAX_ENTRIES} allow and block list entries; "
                    "delete some first (DELETE /api/v1/lists/{id}).",
                    limit="max_list_entries",
                    allowed=MAX_ENTRIES,
                    used=used,
                    resource=Resource.LIST_ENTRY,
                )
            await rows.insert(conn, new)
            row = await rows.find(conn, account_id, new.id)
        return _info(row)

    async def list(
        self, principal: Principal, *, type: str | None = None, mailbox: str | None = None
    ) -> builtins.list[ListInfo]:
        """The account's entries, newest first; `mailbox` narrows to that mailbox's own."""
        account_id = self._account(principal, "mailboxes:read")
        mailbox_id = (await self.mailboxes.find(principal, mailbox)).id if mailbox else None
        async with self.db.read() as conn:
            found = await rows.list_for_account(conn, account_id, type_=type, mailbox_id=mailbox_id)
        return [_info(row) for row in found]

    async def get(self, principal: Principal, entry_id: str) -> ListInfo:
        account_id = self._account(principal, "mailboxes:read")
        row = None
        if is_id(entry_id):
            async with self.db.read() as conn:
                row = await rows.find(conn, account_id, entry_id)
        if row is None:  # another account's entry is indistinguishable from none
            raise NotFound("No such list entry.", resource=Resource.LIST_ENTRY)
        return _info(row)

    async def delete(self, principal: Principal, entry_id: str) -> None:
        account_id = self._account(principal, "mailboxes:write")
        deleted = False
        if is_id(entry_id):
            async with self.db.write() as conn:
                deleted = await rows.delete(conn, account_id, entry_id)
        if not deleted:
            raise NotFound("No such list entry.", resource=Resource.LIST_ENTRY)

    # -- for the spam filter -------------------------------------------------------------------

    async def entries_for(self, account_ids: set[str], keys: set[str]) -> builtins.list[ListEntry]:
        async with self.db.read() as conn:
            found = await rows.matching(conn, account_ids, keys)
        return [
            ListEntry(
                id=row.id,
                account_id=row.account_id,
                mailbox_id=row.mailbox_id,
                type=row.type,
                entry=row.entry,
                subdomains=bool(row.subdomains),
            )
            for row in found
        ]
