"""Custom domains (DESIGN §10, docs/domains.md): an account adds a domain, publishes the records
it is given, and verifies it; from then on the domain is served like a configured one, but only
for that account's mailboxes, and mail sent from it is signed with its own DKIM key.

Who holds a domain. Any number of accounts may have the same domain pending; the first to
verify it holds it (a partial unique index makes a second verified row impossible, however
many processes race), and the others' verify answers 409 until the holder deletes it. A
verified domain whose `_inboxkit` TXT record disappears returns to `pending` at once and
emits `domain.unverified`; for `INBOXKIT_DOMAIN_GRACE_HOURS` afterwards it still receives mail
for its existing mailboxes and nobody else may verify it, so a DNS mistake bounces nothing
while it is put right. Then it receives nothing until verified again.

The recipient lookup asks `serving` for every address outside INBOXKIT_DOMAINS: it reads a
snapshot of the held domains, refreshed at most every DIRECTORY_SECONDS and dropped at once by
a change in this process, so SMTP never makes a query per RCPT for domains it does not serve
(and none at all for the configured ones).
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict

import dns.asyncresolver
import dns.exception
import dns.resolver
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxkit.config import Settings
from inboxkit.errors import (
    BadRequest,
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
from inboxkit.services.domain_records import (
    VERIFY_PREFIX,
    DnsRecord,
    new_dkim_key,
    normalise_domain,
    records,
    verification_name,
    zone_file,
)
from inboxkit.store import domains as rows
from inboxkit.store.db import Database
from inboxkit.store.tables import utcnow

__all__ = [
    "DIRECTORY_SECONDS",
    "DomainEventHook",
    "DomainInfo",
    "DomainService",
    "MAX_RETIRED_SELECTORS",
    "ServedDomain",
    "SigningKey",
]

log = logging.getLogger(__name__)

# How long a process trusts its snapshot of served domains: a domain verified or deleted in
# another process is seen within this long (this process's own changes at once).
DIRECTORY_SECONDS = 2.0
# One DNS lookup of a verification may take this long (the resolver's servers together).
LOOKUP_SECONDS = 5.0
# Retired DKIM selectors a domain keeps published at once: a rotation needs one; a few more
# cover rotations close together. Past it, removing one is asked for first.
MAX_RETIRED_SELECTORS = 4
# Domains one re-check pass claims.
RECHECK_BATCH = 20
# How much of a wrong record a refusal quotes (it is the caller's own DNS, but bounded).
QUOTED_VALUES = 3
QUOTED_CHARS = 80

# Called inside the transaction that changed a domain, with the account, the event name
# (`domain.unverified`) and its payload, so whatever announces it (webhooks) commits with it.
DomainEventHook = Callable[[AsyncConnection, str, str, dict[str, Any]], Awaitable[None]]


class Verification(TypedDict):
    name: str
    type: str
    value: str


class DomainInfo(TypedDict):
    """A domain as the surfaces show it."""

    id: str
    domain: str
    wildcard: bool
    status: str
    verification: Verification
    records: list[DnsRecord]
    dkim_selector: str
    retired_selectors: list[str]
    created_at: datetime
    verified_at: datetime | None
    last_checked_at: datetime | None
    unverified_since: datetime | None


@dataclass(frozen=True, slots=True)
class ServedDomain:
    """A custom domain mail is accepted for: its owner, and whether it is verified (else it is
    within the grace period after its TXT record disappeared)."""

    id: str
    domain: str
    account_id: str
    wildcard: bool
    verified: bool


@dataclass(frozen=True, slots=True)
class SigningKey:
    """What signs mail sent from a custom domain: `d=`, `s=` and the private key (PEM)."""

    domain: str
    selector: str
    private_pem: bytes


def _parents(name: str) -> builtins.list[str]:
    """`a.b.example.com` -> [`b.example.com`, `example.com`, `com`]: the names whose wildcard
    would cover it (bounded: a name has at most 127 labels)."""
    labels = name.split(".")
    return [".".join(labels[i:]) for i in range(1, len(labels))]


def _covers(row: Any, name: str) -> bool:
    return bool(row.domain == name or (row.wildcard and name.endswith("." + row.domain)))


def _quote(values: builtins.list[str]) -> str:
    shown = [
        f'"{value[:QUOTED_CHARS]}{"…" if len(value) > QUOTED_CHARS else ""}"'
        for value in values[:QUOTED_VALUES]
    ]
    return ", ".join(shown) + (" …" if len(values) > QUOTED_VALUES else "")


class DomainService:
    """The account's custom domains (see module doc)."""

    def __init__(self, settings: Settings, db: Database):
        self.settings = settings
        self.db = db
        # Called when a domain starts or stops being served here (the recipient cache).
        self.changed_hooks: builtins.list[Callable[[], None]] = []
        self.event_hooks: builtins.list[DomainEventHook] = []
        self._served: dict[str, ServedDomain] = {}
        self._served_until = 0.0
        self._refresh = asyncio.Lock()

    # -- who may ---------------------------------------------------------------------------

    @staticmethod
    def _account(principal: Principal, scope: str) -> str:
        if principal.kind is PrincipalKind.ANONYMOUS:
            raise Unauthorized("Domains belong to an account: send its API key.")
        if principal.kind is not PrincipalKind.API_KEY or principal.account_id is None:
            raise Forbidden("Domains belong to an account: use its API key, not a mailbox token.")
        principal.require(scope)
        return principal.account_id

    def _grace_start(self, now: datetime) -> datetime:
        return now - timedelta(hours=self.settings.domain_grace_hours)

    def _info(self, row: Any) -> DomainInfo:
        retired = builtins.list(row.dkim_retired or [])
        return {
            "id": row.id,
            "domain": row.domain,
            "wildcard": bool(row.wildcard),
            "status": row.status,
            "verification": {
                "name": verification_name(row.domain),
                "type": "TXT",
                "value": VERIFY_PREFIX + row.token,
            },
            "records": records(
                domain_id=row.id,
                domain=row.domain,
                wildcard=bool(row.wildcard),
                token=row.token,
                mx_host=self.settings.effective_mx_host,
                selector=row.dkim_selector,
                dkim_public=row.dkim_public,
                retired=retired,
            ),
            "dkim_selector": row.dkim_selector,
            "retired_selectors": [old["selector"] for old in retired],
            "created_at": row.created_at,
            "verified_at": row.verified_at,
            "last_checked_at": row.last_checked_at,
            "unverified_since": row.unverified_since,
        }

    async def _find(self, account_id: str, domain_id: str, conn: AsyncConnection) -> Any:
        row = await rows.find(conn, account_id, domain_id) if is_id(domain_id) else None
        if row is None:  # another account's domain is indistinguishable from none
            raise NotFound("No such domain.", resource=Resource.DOMAIN)
        return row

    def _changed(self) -> None:
        """A domain started or stopped being served: forget what this process remembers."""
        self._served_until = 0.0
        for hook in self.changed_hooks:
            hook()

    # -- the routes' use cases ---------------------------------------------------------------

    async def create(
        self, principal: Principal, *, domain: str, wildcard: bool = False
    ) -> DomainInfo:
        """Add a domain (pending) with its verification token and a fresh DKIM key."""
        account_id = self._account(principal, "mailboxes:write")
        name = normalise_domain(domain, self.settings.domains)
        # Refusals first, so a refused request costs no key generation; repeated in the
        # writing transaction, which alone is exact.
        async with self.db.read() as conn:
            await self._admit(conn, principal, account_id, name)
        now = utcnow()
        key = await asyncio.to_thread(new_dkim_key, now)
        new = rows.NewDomain(
            id=new_id(),
            account_id=account_id,
            domain=name,
            wildcard=wildcard,
            status=rows.PENDING,
            token=secrets.token_hex(16),
            created_at=now,
            dkim_selector=key.selector,
            dkim_private_key=key.private_pem,
            dkim_public=key.public_record,
            dkim_retired=[],
        )
        try:
            async with self.db.write() as conn:
                await rows.lock_account(conn, account_id)
                await self._admit(conn, principal, account_id, name)
                await rows.insert(conn, new)
                row = await rows.find(conn, account_id, new.id)
        except IntegrityError:  # the same name added by a concurrent request of the account
            raise self._added_already(name) from None
        return self._info(row)

    @staticmethod
    def _added_already(name: str) -> Conflict:
        return Conflict(
            f"{name} is already one of this account's domains; GET /api/v1/domains lists it.",
            resource=Resource.DOMAIN,
        )

    async def _admit(
        self, conn: AsyncConnection, principal: Principal, account_id: str, name: str
    ) -> None:
        """Refuse a domain the account has already, one another account holds, or one past
        the plan's `max_domains` (counted with pending ones)."""
        if await rows.named(conn, account_id, [name]):
            raise self._added_already(name)
        for holder in await rows.holders(conn, [name], self._grace_start(utcnow())):
            if holder.account_id != account_id:
                raise Conflict(
                    f"{name} is verified by another account; it can be added here once that "
                    "account deletes it.",
                    resource=Resource.DOMAIN,
                )
        plan = principal.plan
        if plan is not None and plan.max_domains is not None:
            used = await rows.count(conn, account_id)
            if used >= plan.max_domains:
                raise QuotaExceeded(
                    f"This account may hold {plan.max_domains} custom domains on plan "
                    f"'{plan.name}'; delete one or ask for a larger plan.",
                    limit="max_domains",
                    allowed=plan.max_domains,
                    used=used,
                    resource=Resource.DOMAIN,
                )

    async def list(
        self, principal: Principal, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[builtins.list[DomainInfo], str | None]:
        account_id = self._account(principal, "mailboxes:read")
        if cursor is not None and not is_id(cursor):
            raise BadRequest("The cursor is not valid; pass back `meta.next_cursor` unchanged.")
        async with self.db.read() as conn:
            found = await rows.list_for_account(conn, account_id, before=cursor, limit=limit + 1)
        page = found[:limit]
        next_cursor = page[-1].id if len(found) > limit else None
        return [self._info(row) for row in page], next_cursor

    async def get(self, principal: Principal, domain_id: str) -> DomainInfo:
        account_id = self._account(principal, "mailboxes:read")
        async with self.db.read() as conn:
            return self._info(await self._find(account_id, domain_id, conn))

    async def zone_file(self, principal: Principal, domain_id: str) -> str:
        info = await self.get(principal, domain_id)
        return zone_file(info["domain"], info["records"])

    async def delete(self, principal: Principal, domain_id: str) -> None:
        """Remove the domain: its mailboxes stay readable but receive nothing (and, being
        the account's, can be deleted with `DELETE /mailboxes/{id}`)."""
        account_id = self._account(principal, "mailboxes:write")
        deleted = False
        if is_id(domain_id):
            async with self.db.write() as conn:
                deleted = await rows.delete(conn, account_id, domain_id)
        if not deleted:
            raise NotFound("No such domain.", resource=Resource.DOMAIN)
        self._changed()

    async def verify(self, principal: Principal, domain_id: str) -> DomainInfo:
        """Check the TXT and MX records through the configured resolver; verified, or
        ValidationFailed naming each record that is missing or wrong and what to publish."""
        account_id = self._account(principal, "mailboxes:write")
        async with self.db.read() as conn:
            row = await self._find(account_id, domain_id, conn)
            await self._refuse_if_held_elsewhere(conn, row, utcnow())
        problems = await self._problems(row)
        if problems:
            raise ValidationFailed(" ".join(problems), resource=Resource.DOMAIN)
        now = utcnow()
        try:
            async with self.db.write() as conn:
                row = await self._find(account_id, domain_id, conn)
                await self._refuse_if_held_elsewhere(conn, row, now)
                await rows.mark_verified(conn, row.id, now)
                row = await rows.find(conn, account_id, row.id)
        except IntegrityError:  # another account verified it between the check and here
            raise self._held_elsewhere(row.domain) from None
        self._changed()
        return self._info(row)

    @staticmethod
    def _held_elsewhere(name: str) -> Conflict:
        return Conflict(
            f"{name} is verified by another account, which holds it until it deletes it.",
            resource=Resource.DOMAIN,
        )

    async def _refuse_if_held_elsewhere(
        self, conn: AsyncConnection, row: Any, now: datetime
    ) -> None:
        for holder in await rows.holders(conn, [row.domain], self._grace_start(now)):
            if holder.account_id != row.account_id:
                raise self._held_elsewhere(row.domain)

    async def rotate_dkim(self, principal: Principal, domain_id: str) -> DomainInfo:
        """A new key and selector sign from now on; the old selector stays in `records` as
        retired (still to be published) until it is removed."""
        account_id = self._account(principal, "mailboxes:write")
        key = await asyncio.to_thread(new_dkim_key, utcnow())
        async with self.db.write() as conn:
            row = await self._find(account_id, domain_id, conn)
            retired = builtins.list(row.dkim_retired or [])
            if len(retired) >= MAX_RETIRED_SELECTORS:
                raise Conflict(
                    f"{row.domain} already publishes {len(retired)} retired DKIM selectors; "
                    "remove one from DNS and DELETE /api/v1/domains/{id}/dkim/retired/{selector} first.",
                    resource=Resource.DOMAIN,
                )
            retired.insert(
                0,
                {
                    "selector": row.dkim_selector,
                    "value": row.dkim_public,
                    "retired_at": utcnow().isoformat(),
                },
            )
            await rows.set_keys(
                conn,
                row.id,
                selector=key.selector,
                private_key=key.private_pem,
                public=key.public_record,
                retired=retired,
            )
            row = await rows.find(conn, account_id, row.id)
        return self._info(row)

    async def drop_selector(
        self, principal: Principal, domain_id: str, selector: str
    ) -> DomainInfo:
        """Forget a retired selector (once its record is gone from DNS)."""
        account_id = self._account(principal, "mailboxes:write")
        async with self.db.write() as conn:
            row = await self._find(account_id, domain_id, conn)
            if selector == row.dkim_selector:
                raise Conflict(
                    f"{selector} is the key that signs {row.domain}'s mail now; rotate "
                    "(POST /api/v1/domains/{id}/dkim/rotate) before removing it.",
                    resource=Resource.DOMAIN,
                )
            retired = builtins.list(row.dkim_retired or [])
            kept = [old for old in retired if old["selector"] != selector]
            if len(kept) == len(retired):
                raise NotFound(
                    f"{row.domain} has no retired DKIM selector {selector!r}.",
                    resource=Resource.DOMAIN,
                )
            await rows.set_retired(conn, row.id, kept)
            row = await rows.find(conn, account_id, row.id)
        return self._info(row)

    # -- DNS ---------------------------------------------------------------------------------

    def _resolver(self) -> dns.asyncresolver.Resolver:
        """A resolver without a cache: the owner has just published the records, and an
        answer remembered from before would hide them for its TTL."""
        server = self.settings.dns_resolver_address
        try:
            resolver = dns.asyncresolver.Resolver(configure=server is None)
        except dns.resolver.NoResolverConfiguration:
            resolver = dns.asyncresolver.Resolver(configure=False)
            resolver.nameservers = ["127.0.0.1"]
        if server is not None:
            resolver.nameservers = [server[0]]
            resolver.port = server[1]
        return resolver

    async def _lookup(
        self, resolver: dns.asyncresolver.Resolver, name: str, rdtype: str
    ) -> builtins.list[str] | None:
        """TXT strings or MX hosts at `name`; [] when there are none, None when DNS did not
        answer."""
        try:
            answer = await resolver.resolve(name, rdtype, lifetime=LOOKUP_SECONDS, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException:
            return None
        if rdtype == "TXT":
            return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]
        return [record.exchange.to_text(omit_final_dot=True).lower() for record in answer]

    async def _txt_problem(self, resolver: dns.asyncresolver.Resolver, row: Any) -> str | None:
        name = verification_name(row.domain)
        wanted = VERIFY_PREFIX + row.token
        found = await self._lookup(resolver, name, "TXT")
        if found is None:
            return (
                f"The TXT record at {name} could not be looked up (DNS did not answer); try again."
            )
        if wanted in (value.strip() for value in found):
            return None
        if not found:
            return f'No TXT record at {name}: publish TXT {name} "{wanted}".'
        return f'The TXT record at {name} is {_quote(found)}, not "{wanted}": publish TXT {name} "{wanted}".'

    async def _problems(self, row: Any) -> builtins.list[str]:
        """What is missing or wrong in the domain's DNS, each saying what to publish."""
        resolver = self._resolver()
        mx_host = self.settings.effective_mx_host
        txt, hosts = await asyncio.gather(
            self._txt_problem(resolver, row), self._lookup(resolver, row.domain, "MX")
        )
        problems = [txt] if txt else []
        if hosts is None:
            problems.append(
                f"The MX record of {row.domain} could not be looked up (DNS did not answer); try again."
            )
        elif not hosts:
            problems.append(f"No MX record at {row.domain}: publish MX {row.domain} 10 {mx_host}.")
        elif mx_host not in hosts:
            problems.append(
                f"The MX record of {row.domain} points at {_quote(hosts)}, not {mx_host}: "
                f"publish MX {row.domain} 10 {mx_host}."
            )
        if problems:
            problems.append("DNS changes can take a few minutes to appear.")
        return problems

    # -- the periodic re-check (workers/loop.py) -----------------------------------------------

    async def recheck_due(
        self, batch: int = RECHECK_BATCH, *, interval: float | None = None
    ) -> int:
        """Re-check the TXT record of held domains whose last check is older than
        INBOXKIT_DOMAIN_RECHECK_INTERVAL. Safe in any number of processes: each domain is
        claimed by the UPDATE that stamps `last_checked_at`. A verified domain whose record is
        gone returns to pending and `domain.unverified` is queued in the same transaction; one
        within its grace period whose record is back is verified again. A lookup DNS does not
        answer changes nothing. Returns how many domains were checked. `interval` overrides
        the setting (0: every held domain is due)."""
        now = utcnow()
        every = self.settings.domain_recheck_interval if interval is None else interval
        due_before = now - timedelta(seconds=every)
        async with self.db.write() as conn:
            claimed = await rows.claim_due(conn, now, due_before, self._grace_start(now), batch)
        if not claimed:
            return 0
        resolver = self._resolver()
        changed = False
        for row in claimed:
            found = await self._lookup(resolver, verification_name(row.domain), "TXT")
            if found is None:
                continue
            present = VERIFY_PREFIX + row.token in (value.strip() for value in found)
            if present and row.status == rows.PENDING:
                changed |= await self._reverify(row)
            elif not present and row.status == rows.VERIFIED:
                changed |= await self._unverify(row, "missing" if not found else "wrong")
        if changed:
            self._changed()
        return len(claimed)

    async def _reverify(self, row: Any) -> bool:
        try:
            async with self.db.write() as conn:
                await rows.mark_verified(conn, row.id, utcnow())
        except IntegrityError:  # cannot happen while the grace period holds it; be safe
            return False
        return True

    async def _unverify(self, row: Any, state: str) -> bool:
        name = verification_name(row.domain)
        reason = (
            f"The TXT record at {name} is gone."
            if state == "missing"
            else f"The TXT record at {name} no longer holds this domain's verification token."
        )
        now = utcnow()
        grace_ends = now + timedelta(hours=self.settings.domain_grace_hours)
        async with self.db.write() as conn:
            if not await rows.mark_unverified(conn, row.id, now):
                return False
            data = {
                "domain": {"id": row.id, "domain": row.domain, "status": rows.PENDING},
                "reason": reason,
                "grace_ends_at": grace_ends,
            }
            for hook in self.event_hooks:
                await hook(conn, row.account_id, "domain.unverified", data)
        log.info("domain %s returned to pending: %s", row.domain, reason)
        return True

    # -- for mailboxes, SMTP and sending -------------------------------------------------------

    async def _snapshot(self) -> dict[str, ServedDomain]:
        if self._served_until > time.monotonic():
            return self._served
        async with self._refresh:
            if self._served_until > time.monotonic():
                return self._served
            async with self.db.read() as conn:
                found = await rows.served(conn, self._grace_start(utcnow()))
            served: dict[str, ServedDomain] = {}
            for row in found:
                entry = ServedDomain(
                    row.id,
                    row.domain,
                    row.account_id,
                    bool(row.wildcard),
                    row.status == rows.VERIFIED,
                )
                # A verified holder beats one within its grace period (a name has at most one
                # of each: verify refuses while another account's grace period holds it).
                if row.domain not in served or entry.verified:
                    served[row.domain] = entry
            self._served = served
            self._served_until = time.monotonic() + DIRECTORY_SECONDS
            return served

    async def serving(self, name: str) -> ServedDomain | None:
        """The custom domain that mail for `name` (a lower-case domain) is accepted for: the
        domain itself, or a wildcard domain above it; None when nobody holds it."""
        served = await self._snapshot()
        exact = served.get(name)
        if exact is not None:
            return exact
        for parent in _parents(name):
            found = served.get(parent)
            if found is not None and found.wildcard:
                return found
        return None

    async def check_mailbox_domain(self, principal: Principal, name: str) -> None:
        """May `principal` create (or ask about) a mailbox on `name`, which is not one of the
        configured domains? Read fresh, not from the snapshot: a mailbox is a lasting claim.
        Only the holding account may, and only while the domain is verified."""
        now = utcnow()
        names = [name, *_parents(name)]
        async with self.db.read() as conn:
            held = [
                row
                for row in await rows.holders(conn, names, self._grace_start(now))
                if _covers(row, name)
            ]
            own = (
                [
                    row
                    for row in await rows.named(conn, principal.account_id, names)
                    if _covers(row, name)
                ]
                if principal.account_id is not None and not held
                else []
            )
        mine = [row for row in held if row.account_id == principal.account_id]
        if any(row.status == rows.VERIFIED for row in mine):
            return
        if mine:
            raise ValidationFailed(
                f"{name} is not verified at the moment (its TXT record was not found); publish "
                f"it again and POST /api/v1/domains/{mine[0].id}/verify before creating mailboxes "
                "on it.",
                resource=Resource.DOMAIN,
            )
        if held:
            raise Forbidden(
                f"{name} is another account's verified domain; only that account may create "
                "mailboxes on it."
            )
        if own:
            raise ValidationFailed(
                f"{name} is not verified yet; publish its records and POST "
                f"/api/v1/domains/{own[0].id}/verify before creating mailboxes on it.",
                resource=Resource.DOMAIN,
            )
        served = ", ".join(self.settings.domains)
        raise ValidationFailed(
            f"Domain '{name}' is not served here; choose one of: {served}, or one of this "
            "account's verified domains (POST /api/v1/domains adds one).",
            resource=Resource.DOMAIN,
        )

    async def signing_key(self, account_id: str | None, name: str) -> SigningKey | None:
        """The key that signs mail From `name` (a custom domain, or a subdomain of a wildcard
        one) for `account_id`; None when the account does not hold it."""
        if account_id is None:
            return None
        async with self.db.read() as conn:
            held = await rows.holders(conn, [name, *_parents(name)], self._grace_start(utcnow()))
        for row in held:
            if row.account_id == account_id and _covers(row, name):
                return SigningKey(row.domain, row.dkim_selector, row.dkim_private_key.encode())
        return None
